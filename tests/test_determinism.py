"""Same seed, same TensorFlow, same machine: the same model, bit for bit.

Run on the committed 1,200-image sample so it takes seconds; the full-data equivalent is the
noise check in docs/variants-and-workloads.md ("Determinism"). Also pins the two claims the
suite relies on to stay within the bare recipe's time: steps_per_execution, float32 inputs and
tf.data without autotuning change speed only. One side of each comparison is the test process's
shared sample run (tests/conftest.py, `sample_run`); the other is trained here.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from pipeline import tfenv
from pipeline.data import scale_pixels
from pipeline.recipe import RECIPE
from pipeline.run import bench_run
from pipeline.run.bench_run import BenchRun
from pipeline.variants.pruning import prune
from pipeline.variants.registry import DEFAULT_VARIANTS
from pipeline.variants.training import tf_data_autotune_off, train_baseline
from pipeline.workloads import MNIST_CNN

#: The reference recipe, plus a full-integer conversion and a clustering (cheap on the sample).
CHECKED = DEFAULT_VARIANTS + ("int8_tflite", "clustered")
#: The Keras variants among CHECKED, in the order a run builds them.
CHECKED_KERAS = ("baseline", "pruned", "clustered")


def figures(run: BenchRun) -> dict[str, float]:
    artifacts = [run.artifact(name) for name in CHECKED]
    return {f"{a.name}.{field}": getattr(a, field)
            for a in artifacts for field in ("accuracy", "zipped_bytes", "raw_bytes")} | {
        "sparsity": run.artifact("pruned").sparsity}


def assert_same_weights(expected: list[np.ndarray], actual: list[np.ndarray]) -> None:
    """Two models' weights, array by array, bit for bit."""
    for expected_array, actual_array in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(actual_array, expected_array)


@dataclasses.dataclass(frozen=True)
class WatchedRun:
    """A second run of the shared sample run's seed, built while watching whether each Keras
    stage ran inside tf_data_autotune_off: `entered` holds autotune.enabled as each saw it."""

    run: BenchRun
    entered: list[bool | None]


@pytest.fixture(scope="module")
def watched_run(sample, sample_run: BenchRun,
                tmp_path_factory: pytest.TempPathFactory) -> WatchedRun:
    options = tfenv.tensorflow().data.Options
    entered: list[bool | None] = []

    @contextmanager
    def watched() -> Iterator[None]:
        with tf_data_autotune_off():
            entered.append(options().autotune.enabled)
            yield

    run = BenchRun(sample, tmp_path_factory.mktemp("watched"), seed=sample_run.seed)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bench_run, "tf_data_autotune_off", watched)
        for name in CHECKED:
            run.artifact(name)
    return WatchedRun(run, entered)


@pytest.mark.slow
def test_two_runs_with_the_same_seed_give_the_same_figures(sample_run: BenchRun,
                                                           watched_run: WatchedRun) -> None:
    assert figures(sample_run) == figures(watched_run.run)


@pytest.mark.slow
def test_steps_per_execution_does_not_change_the_trained_weights(sample,
                                                                 sample_run: BenchRun) -> None:
    """The run's baseline fits 32 steps per execution (the recipe's default); one step at a
    time, under the same tf.data options, gives the same weights."""
    x_train = scale_pixels(sample.x_train)
    one_step = dataclasses.replace(MNIST_CNN, recipe=dataclasses.replace(
        RECIPE, baseline_steps_per_execution=1))
    with tf_data_autotune_off():
        reference = train_baseline(x_train, sample.y_train, sample_run.seed,
                                   one_step).get_weights()
    assert_same_weights(reference, sample_run.artifact("baseline").model.get_weights())


@pytest.mark.slow
def test_float32_inputs_train_the_same_weights_as_the_reference_float64(
        sample, sample_run: BenchRun) -> None:
    """The reference fits on `x / 255.0` in float64; the suite on float32 (pipeline.data).
    Keras casts float inputs to float32 before the first layer, so the weights must match."""
    with tf_data_autotune_off():
        reference = train_baseline(sample.x_train / 255.0, sample.y_train, sample_run.seed,
                                   MNIST_CNN).get_weights()
    assert_same_weights(reference, sample_run.artifact("baseline").model.get_weights())


@pytest.mark.slow
def test_tf_data_without_autotuning_trains_the_same_weights(sample, sample_run: BenchRun) -> None:
    """The session fits inside tf_data_autotune_off (pipeline.run.bench_run); Keras' default
    pipelines autotune. The baseline fit and the pruning fit must give the same weights."""
    x_train = scale_pixels(sample.x_train)
    baseline = train_baseline(x_train, sample.y_train, sample_run.seed, MNIST_CNN)
    pruned = prune(baseline, x_train, sample.y_train, sample_run.seed, MNIST_CNN)
    assert_same_weights(baseline.get_weights(),
                        sample_run.artifact("baseline").model.get_weights())
    assert_same_weights(pruned.get_weights(), sample_run.artifact("pruned").model.get_weights())


def test_tf_data_autotune_off_applies_inside_the_block_only() -> None:
    options = tfenv.tensorflow().data.Options
    constructor = options.__init__
    assert options().autotune.enabled is None  # TensorFlow's default: autotuning on
    with tf_data_autotune_off():
        assert options().autotune.enabled is False
        assert options().experimental_optimization.apply_default_optimizations is None
    assert options().autotune.enabled is None
    assert options.__init__ is constructor


@pytest.mark.slow
def test_a_run_fits_and_evaluates_its_keras_variants_without_autotuning(
        watched_run: WatchedRun) -> None:
    assert watched_run.run.built[:2] == ("baseline", "pruned")
    assert [name for name in watched_run.run.built if name in CHECKED_KERAS] == list(
        CHECKED_KERAS)
    assert watched_run.entered == [False] * len(CHECKED_KERAS)  # each Keras stage, in order
