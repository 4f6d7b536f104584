"""How many instructions each TFLite model's allocate_tensors(), first invoke() and steady
invoke() execute, per runtime (with and without XNNPACK), at 1 thread, counted under valgrind's
callgrind (pipeline/measure/instructions.py) beside the rest of the session.

Recorded for the history and gated across machines (bench compare: another CI runner counts
the same, where wall-clock latency is comparable only on one machine). The test checks the
count is fit to gate: the steady invokes of one process agree within the gate's own bound
(`instructions_growth_max`), or two sessions could not agree either.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.config import Config
from pipeline.measure.callgrind import InstructionsUnavailable
from pipeline.measure.instructions import wrapper_path
from pipeline.measure.interpreters import RUNTIMES
from pipeline.run.bench_run import Artifact, BenchRun


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.variants(kind="tflite")
def test_instruction_count(variant: str, runtime: str, build_variant: Callable[[str], Artifact],
                           bench_run: BenchRun, thresholds: Config, counting_valgrind: str,
                           request: pytest.FixtureRequest) -> None:
    if not counting_valgrind:
        pytest.skip("--skip-instructions: instructions are not counted")
    try:
        wrapper_path(runtime)
    except InstructionsUnavailable as exc:
        pytest.skip(f"runtime {runtime} cannot be counted: {exc}")
    build_variant(variant)
    count = request.getfixturevalue("instruction_counts")[(variant, runtime)]
    if isinstance(count, InstructionsUnavailable):
        raise count
    limit = thresholds.compare.instructions_growth_max
    spread = max(count.steady) / min(count.steady) - 1
    assert spread <= limit, (
        f"{variant} on {runtime}: the steady invokes of one process counted {count.steady}, "
        f"{spread:+.2%} apart, more than instructions_growth_max ({limit:.2%}): counts this "
        f"unsteady cannot be gated at that bound")
    assert count.first_invoke > 0 and count.allocate > 0
