"""Same seed, same TensorFlow, same machine: the same model, bit for bit.

Run on the committed 1,200-image sample so it takes seconds; the full-data equivalent is the
noise check in docs/variants-and-workloads.md ("Determinism"). Also pins the two claims the
suite relies on to stay within the bare recipe's time: steps_per_execution, float32 inputs and
tf.data without autotuning change speed only.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from pipeline import tfenv
from pipeline.build.pruning import prune
from pipeline.build.recipe import RECIPE
from pipeline.build.training import tf_data_autotune_off, train_baseline
from pipeline.build.variants import DEFAULT_VARIANTS
from pipeline.data import load_npz, scale_pixels
from pipeline.run import bench_run
from pipeline.run.bench_run import BenchRun
from pipeline.workloads import MNIST_CNN

SAMPLE = Path(__file__).resolve().parent / "data" / "mnist_sample.npz"


@pytest.fixture(scope="module")
def sample():
    return load_npz(SAMPLE)


#: The reference recipe, plus a full-integer conversion and a clustering (cheap on the sample).
CHECKED = DEFAULT_VARIANTS + ("int8_tflite", "clustered")


def figures(run: BenchRun) -> dict[str, float]:
    artifacts = [run.artifact(name) for name in CHECKED]
    return {f"{a.name}.{field}": getattr(a, field)
            for a in artifacts for field in ("accuracy", "zipped_bytes", "raw_bytes")} | {
        "sparsity": run.artifact("pruned").sparsity}


def assert_same_weights(expected: list[np.ndarray], actual: list[np.ndarray]) -> None:
    """Two models' weights, array by array, bit for bit."""
    for expected_array, actual_array in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(actual_array, expected_array)


def test_two_runs_with_the_same_seed_give_the_same_figures(sample, tmp_path: Path) -> None:
    first = figures(BenchRun(sample, tmp_path / "a", seed=3))
    second = figures(BenchRun(sample, tmp_path / "b", seed=3))
    assert first == second


def test_steps_per_execution_does_not_change_the_trained_weights(sample) -> None:
    x_train = scale_pixels(sample.x_train)
    one_step = dataclasses.replace(MNIST_CNN, recipe=dataclasses.replace(
        RECIPE, baseline_steps_per_execution=1))
    reference = train_baseline(x_train, sample.y_train, 5, one_step).get_weights()
    fast = train_baseline(x_train, sample.y_train, 5, MNIST_CNN).get_weights()
    assert_same_weights(reference, fast)


def test_float32_inputs_train_the_same_weights_as_the_reference_float64(sample) -> None:
    """The reference fits on `x / 255.0` in float64; the suite on float32 (pipeline.data).
    Keras casts float inputs to float32 before the first layer, so the weights must match."""
    reference = train_baseline(sample.x_train / 255.0, sample.y_train, 5, MNIST_CNN).get_weights()
    float32 = train_baseline(scale_pixels(sample.x_train), sample.y_train, 5,
                             MNIST_CNN).get_weights()
    assert_same_weights(reference, float32)


def test_tf_data_without_autotuning_trains_the_same_weights(sample) -> None:
    """The session fits inside tf_data_autotune_off (pipeline.run.bench_run); Keras' default
    pipelines autotune. The baseline fit and the pruning fit must give the same weights."""
    x_train = scale_pixels(sample.x_train)
    baseline = train_baseline(x_train, sample.y_train, 5, MNIST_CNN)
    pruned = prune(baseline, x_train, sample.y_train, 5, MNIST_CNN)
    with tf_data_autotune_off():
        baseline_off = train_baseline(x_train, sample.y_train, 5, MNIST_CNN)
        pruned_off = prune(baseline_off, x_train, sample.y_train, 5, MNIST_CNN)
    assert_same_weights(baseline.get_weights(), baseline_off.get_weights())
    assert_same_weights(pruned.get_weights(), pruned_off.get_weights())


def test_tf_data_autotune_off_applies_inside_the_block_only() -> None:
    options = tfenv.tensorflow().data.Options
    constructor = options.__init__
    assert options().autotune.enabled is None  # TensorFlow's default: autotuning on
    with tf_data_autotune_off():
        assert options().autotune.enabled is False
        assert options().experimental_optimization.apply_default_optimizations is None
    assert options().autotune.enabled is None
    assert options.__init__ is constructor


def test_a_run_fits_and_evaluates_its_keras_variants_without_autotuning(
        sample, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = tfenv.tensorflow().data.Options
    entered: list[bool | None] = []

    @contextmanager
    def watched() -> Iterator[None]:
        with tf_data_autotune_off():
            entered.append(options().autotune.enabled)
            yield

    monkeypatch.setattr(bench_run, "tf_data_autotune_off", watched)
    BenchRun(sample, tmp_path, seed=3).artifact("pruned")
    assert entered == [False, False]  # the baseline, then the pruned model
