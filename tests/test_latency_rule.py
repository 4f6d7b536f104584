"""The latency rule of `bench compare` against frozen real samples.

tests/fixtures/latency/ is a recording by `python scripts/latency_validity.py record`: the
TFLite models of one run timed in consecutive fresh processes on the 2-core development machine,
each process measuring every (model, runtime, threads) with the suite's interleaved repetitions
(and the old back-to-back rounds, kept for the side-by-side table of docs/latency.md). The
samples keep their real correlation and their real process-to-process shifts, which i.i.d. draws
would not. Every consecutive pair of processes is an A/A comparison; the same pairs with the
candidate scaled are known slowdowns. The rule runs exactly as the gate runs it: `compare_runs` over
runs built from the samples.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.judge.compare import compare_runs
from pipeline.measure.latency import LatencyKey, latency_measurement
from pipeline.results import read_results, run_of

RECORDING = Path(__file__).parent / "fixtures" / "latency"
#: Any real run's columns will do: both sides of a pair share them, as same-machine runs do.
RUN = read_results(Path(__file__).parent / "fixtures" / "runs" / "tf2.21.0_a.csv").info


def _processes() -> list[dict[str, list[float]]]:
    files = sorted(RECORDING.glob("process_*.json"))
    return [json.loads(f.read_text())["new"] for f in files]


PROCESSES = _processes()
ONE_THREAD = [k for k in PROCESSES[0] if k.endswith("|1")]


def _key(name: str) -> LatencyKey:
    model, runtime, threads = name.split("|")
    return LatencyKey(model, runtime, int(threads))


def verdicts(scale: float) -> list[str]:
    """The gate's verdict on every 1-thread key of every consecutive pair of processes, with
    the candidate's samples multiplied by `scale`."""
    rules = load_config().compare
    out = []
    for index, (reference, candidate) in enumerate(zip(PROCESSES, PROCESSES[1:], strict=False)):
        ref_run = run_of(replace(RUN, run_id=f"reference{index}"),
                         [latency_measurement(_key(k), reference[k]) for k in ONE_THREAD])
        cand_run = run_of(replace(RUN, run_id=f"candidate{index}"),
                          [latency_measurement(_key(k), [v * scale for v in candidate[k]])
                           for k in ONE_THREAD])
        out += [row.verdict for row in compare_runs(ref_run, cand_run, rules)]
    return out


def test_recording_is_big_enough_to_judge_the_rule() -> None:
    assert len(PROCESSES) >= 11, "re-record: at least 10 A/A pairs are needed"
    assert len(ONE_THREAD) == 4


def test_a_a_pairs_raise_no_alarm() -> None:
    """Same code, same files, same machine: not one regression, at most one improvement."""
    found = verdicts(1.0)
    assert found.count("regressed") == 0
    assert found.count("improved") <= 1


@pytest.mark.parametrize(("scale", "flagged_at_least"), [(2.0, 0.90), (3.0, 1.0)])
def test_known_slowdowns_are_flagged(scale: float, flagged_at_least: float) -> None:
    """Between sessions on this machine the gate sees big slowdowns only (docs/latency.md);
    the duel is the instrument for small ones."""
    found = verdicts(scale)
    assert found.count("regressed") / len(found) >= flagged_at_least, found


def test_a_slowdown_within_the_factor_is_not_a_regression() -> None:
    """x1.25 is inside `latency_slowdown_max`: significant or not, it must not fail the gate,
    because host noise moves whole sessions by that much (the recording holds such sessions)."""
    assert verdicts(1.25).count("regressed") == 0
