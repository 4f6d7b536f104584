"""What loading and starting each TFLite model costs, per runtime (with and without XNNPACK):
init time, first invoke, heap and peak memory growth, each in fresh processes
(pipeline/measure/footprint.py), as TFLite's benchmark_model reports them.

Recorded for the history and the gate (`heap_growth_bytes` is gated; the two times and the
peak resident set are informational: docs/latency.md). The test checks the figures are real:
every process timed its load and first invoke, and the interpreter allocated memory while the
model was loaded and run.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.measure.footprint import FOOTPRINT_THREADS, Footprint
from pipeline.measure.interpreters import RUNTIMES, RuntimeUnavailable, interpreter_class
from pipeline.measure.latency import LatencyKey
from pipeline.run.bench_run import Artifact, BenchRun


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.variants(kind="tflite")
def test_interpreter_footprint(variant: str, runtime: str,
                               build_variant: Callable[[str], Artifact], bench_run: BenchRun,
                               request: pytest.FixtureRequest) -> None:
    try:
        interpreter_class(runtime)
    except RuntimeUnavailable as exc:
        pytest.skip(f"runtime {runtime} not available: {exc}")
    artifact = build_variant(variant)
    key = LatencyKey(variant, runtime, FOOTPRINT_THREADS)
    footprints: list[Footprint] = request.getfixturevalue("footprints")[key]
    slow = [f for f in footprints if not (f.init_seconds > 0 and f.first_invoke_seconds > 0)]
    assert not slow, f"{variant} on {runtime}: a process timed nothing: {slow}"
    smallest = min(f.heap_growth_bytes for f in footprints)
    assert smallest > 0, (
        f"{variant} on {runtime}: the heap did not grow ({smallest} B) while loading and "
        f"running a {artifact.raw_bytes} B model: the measurement is broken")
