"""Seeding and the baseline fit."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.build.models import compile_like_reference
from pipeline.workload import Workload


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic.

    Called at the start of every stage (not once per process), so a stage's result depends on
    the seed alone, not on which other stages ran before it in the session.
    """
    tf = tfenv.tensorflow()
    tfenv.keras().utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def train_baseline(x_train: np.ndarray, y_train: np.ndarray, seed: int, workload: Workload,
                   callbacks: Sequence[Any] = ()) -> Any:
    """Build the workload's model and fit it: `recipe.epochs` epochs, validation_split, default
    batch size.

    `callbacks` are for watching only (pipeline.run.bench_run's epoch lines): none changes the
    weights.
    """
    recipe = workload.recipe
    seed_everything(seed)
    model = workload.build_model()
    compile_like_reference(model, steps_per_execution=recipe.baseline_steps_per_execution)
    model.fit(x_train, y_train, epochs=recipe.epochs, validation_split=recipe.validation_split,
              callbacks=list(callbacks), verbose=0)
    return model


def epoch_lines(say: Callable[[str], None], label: str) -> Any:
    """A Keras callback that says one line per finished epoch (no progress bars in CI logs):
    `label epoch 2/4: loss 0.0712, accuracy 0.9790, val_accuracy 0.9808`."""
    callback = tfenv.keras().callbacks.LambdaCallback()

    def on_epoch_end(epoch: int, logs: dict[str, float] | None = None) -> None:
        shown = ", ".join(f"{name} {value:.4f}" for name, value in (logs or {}).items()
                          if name in ("loss", "accuracy", "val_accuracy"))
        say(f"{label} epoch {epoch + 1}/{callback.params.get('epochs', '?')}: {shown}")

    callback.on_epoch_end = on_epoch_end
    return callback


def evaluate_accuracy(model: Any, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Keras test accuracy, as the reference's `model.evaluate(...)[1]`."""
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    return float(accuracy)
