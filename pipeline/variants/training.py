"""Seeding, the baseline fit, and how Keras feeds the arrays to every fit."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.variants.models import compile_model
from pipeline.workload import FROM_SCRATCH, Workload


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic.

    Called at the start of every stage (not once per process), so a stage's result depends on
    the seed alone, not on which other stages ran before it in the session.
    """
    tf = tfenv.tensorflow()
    tfenv.keras().utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@contextmanager
def tf_data_autotune_off() -> Iterator[None]:
    """Inside the block, every `tf.data.Options()` starts with autotuning disabled, so the
    pipelines Keras builds from in-memory arrays in fit() and evaluate() run without it.

    Why: Keras feeds arrays through tf.data with AUTOTUNE prefetch and parallel map, and
    autotuning starts an optimisation thread ("tf_data_model") per iterator. Destroying the
    iterator when fit() returns waits for that thread to wake: 2.1-6.3 s with no CPU used,
    after 13 of 36 fits measured (py-spy --native: `RootDataset::Iterator::~Iterator` ->
    `LogicalThreadWrapper::~LogicalThreadWrapper` -> `WaitForNotification`). Autotuning only
    sizes buffers and parallelism; it never changes which batch comes next, so the weights are
    bit-identical (tests/test_determinism.py), and the session's time no longer depends on
    which fits stall (docs/speed.md). Keras takes no tf.data options for arrays, hence the class
    patch, undone on leaving the block.
    """
    options_class = tfenv.tensorflow().data.Options
    own_init = vars(options_class).get("__init__")
    inherited_init = options_class.__init__

    def init_without_autotune(self: Any, *args: Any, **kwargs: Any) -> None:
        inherited_init(self, *args, **kwargs)
        self.autotune.enabled = False

    options_class.__init__ = init_without_autotune
    try:
        yield
    finally:
        if own_init is None:
            del options_class.__init__
        else:
            options_class.__init__ = own_init


def train_baseline(x_train: np.ndarray, y_train: np.ndarray, seed: int, workload: Workload,
                   callbacks: Sequence[Any] = ()) -> Any:
    """Build the workload's model and fit it: `recipe.epochs` epochs, validation_split, default
    batch size. A workload that starts from a trained file is loaded instead, not fitted: what
    it was trained to is what its variants start from.

    `callbacks` are for watching only (pipeline.run.bench_run's epoch lines): none changes the
    weights.
    """
    recipe = workload.recipe
    seed_everything(seed)
    model = workload.build_model()
    compile_model(model, workload.compile, steps_per_execution=recipe.baseline_steps_per_execution)
    if workload.start == FROM_SCRATCH:
        model.fit(x_train, y_train, epochs=recipe.epochs,
                  validation_split=recipe.validation_split, callbacks=list(callbacks), verbose=0)
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
