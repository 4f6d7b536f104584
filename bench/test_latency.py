"""How fast each TFLite model's invoke() runs, per runtime and thread count.

Recorded, not gated: an absolute time depends on the machine, so regressions are judged by
`pipeline.compare` against a run on the same machine, or by `pipeline.duel`. The repetitions of
all selected combinations are measured once, interleaved (the `latency_blocks` fixture), and
the session records their rows as it measures them; each test hands its combination's values
to pytest-benchmark, which stays the recorder of its own files (`--benchmark-json`,
`--benchmark-compare`), and checks every timed block computed the right answer.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.data import Dataset
from pipeline.measure.interpreters import (
    INTERPRETERS,
    NO_XNNPACK,
    RuntimeUnavailable,
    interpreter_class,
)
from pipeline.measure.latency import Block, LatencyKey
from pipeline.run.bench_run import Artifact, BenchRun

THREADS = (1, 2)
#: The interpreter timed without XNNPACK too: the maintained one (tf.lite.Interpreter is
#: deprecated, and its builtin kernels are the same code). Without XNNPACK an invoke takes
#: ~4.5x as long, so each combination costs ~0.7 s of the session.
WITHOUT_XNNPACK = "ai_edge_litert"
#: (runtime, threads) timed per model: both interpreters with XNNPACK at 1 and 2 threads, and
#: WITHOUT_XNNPACK with TFLite's builtin kernels only (benchmark_model's --use_xnnpack=false)
#: at 1 thread.
COMBINATIONS: tuple[tuple[str, int], ...] = (
    tuple((runtime, threads) for runtime in INTERPRETERS for threads in THREADS)
    + ((f"{WITHOUT_XNNPACK}{NO_XNNPACK}", 1),))


def record_in_pytest_benchmark(benchmark: Any, seconds_per_call: Sequence[float],
                               timed_invokes: int) -> None:
    """Give pytest-benchmark one round per repetition, as if it had timed them itself.

    Its `pedantic()` times back-to-back rounds of one callable, which cannot interleave
    combinations; so the repetitions are timed by pipeline.measure.latency and recorded here through
    the fixture's stats object (pytest-benchmark 5.3, pinned in requirements/test.txt). Each
    round is a block of `timed_invokes` calls, so its statistics are per call, like the CSV's.
    Its mode says how the fixture was used, as `benchmark()` and `pedantic()` set it; without
    one it warns at teardown that the fixture "was not used at all".
    """
    benchmark._mode = "pipeline.measure.latency (interleaved repetitions)"
    stats = benchmark._make_stats(timed_invokes)
    for value in seconds_per_call:
        stats.update(value * timed_invokes)


@pytest.mark.parametrize(("runtime", "threads"), COMBINATIONS)
@pytest.mark.variants(kind="tflite")
def test_invoke_latency(benchmark: Any, variant: str, runtime: str, threads: int, dataset: Dataset,
                        bench_run: BenchRun, thresholds: Config,
                        build_variant: Callable[[str], Artifact],
                        request: pytest.FixtureRequest) -> None:
    model = variant
    try:
        interpreter_class(runtime)
    except RuntimeUnavailable as exc:
        pytest.skip(f"runtime {runtime} not available: {exc}")
    build_variant(variant)  # a variant that could not be built fails here, with its error
    blocks: list[Block] = request.getfixturevalue("latency_blocks")[
        LatencyKey(model, runtime, threads)]
    benchmark.group = f"{model} invoke"
    benchmark.extra_info.update(model=model, runtime=runtime, threads=threads)
    if not benchmark.disabled:  # --benchmark-disable: one untimed call, nothing recorded
        # The session recorded the CSV's row when it measured; this is pytest-benchmark's.
        values = [block.seconds_per_call for block in blocks]
        record_in_pytest_benchmark(benchmark, values, thresholds.latency.timed_invokes)
    wrong = [i for i, block in enumerate(blocks)
             if int(np.argmax(block.output[0])) != int(dataset.y_test[0])]
    assert not wrong, (
        f"{model} on {runtime} ({threads} threads) misclassified test image 0 while timed, in "
        f"repetition(s) {wrong}")
