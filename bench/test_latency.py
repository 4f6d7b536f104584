"""How fast each TFLite model's invoke() runs, per runtime and thread count.

Recorded, not gated: an absolute time depends on the machine, so regressions are judged by
`bench compare` against a run on the same machine, or by `bench duel`. The repetitions of
all selected combinations are measured once, interleaved (the `latency_blocks` fixture), and
the session records their rows as it measures them; each test hands its combination's values
to pytest-benchmark, which stays the recorder of its own files (`--benchmark-json`,
`--benchmark-compare`), and checks every timed block computed the right answer.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.data import Dataset
from pipeline.measure.interpreters import (
    RuntimeUnavailable,
    interpreter_class,
)
from pipeline.measure.latency import LATENCY_COMBINATIONS, Block, LatencyKey
from pipeline.run.bench_run import Artifact, BenchRun


class RecordedClock:
    """The clock pytest-benchmark reads in test_invoke_latency, chosen with its public marker
    (`@pytest.mark.benchmark(timer=...)`): it stands still but when `tick` moves it.

    pytest-benchmark times back-to-back rounds of one callable and has no public way to take
    times measured elsewhere (ionelmc/pytest-benchmark#52); the repetitions here are
    interleaved across combinations by pipeline.measure.latency. So `pedantic()` runs one
    round per repetition of `timed_invokes` iterations, and each iteration's call moves this
    clock by that repetition's seconds per call: its statistics are per call, like the CSV's
    (equal to float rounding), and its files (`--benchmark-json`) name this clock as their
    timer.
    """

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def __repr__(self) -> str:  # how pytest-benchmark names the timer in its files
        return "RecordedClock()"

    def ticks(self, seconds_per_call: Sequence[float], timed_invokes: int) -> Callable[[], None]:
        """The callable pedantic() runs: each call moves the clock by the next recorded seconds
        per call, `timed_invokes` calls per repetition (then by nothing: pedantic makes one
        more call for a result after looped rounds)."""
        steps = itertools.chain.from_iterable(itertools.repeat(s, timed_invokes)
                                              for s in seconds_per_call)

        def tick() -> None:
            self.now += next(steps, 0.0)
        return tick


#: One clock for the session; pytest-benchmark keeps the callable it is given.
CLOCK = RecordedClock()


def record_in_pytest_benchmark(benchmark: Any, seconds_per_call: Sequence[float],
                               timed_invokes: int) -> None:
    """Give pytest-benchmark one round per repetition, through its public pedantic()."""
    benchmark.pedantic(CLOCK.ticks(seconds_per_call, timed_invokes),
                       rounds=len(seconds_per_call), iterations=timed_invokes)


@pytest.mark.parametrize(("runtime", "threads"), LATENCY_COMBINATIONS)
@pytest.mark.variants(kind="tflite")
@pytest.mark.benchmark(timer=CLOCK)
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
