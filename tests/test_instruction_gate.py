"""The gate on instruction counts: compared across machines of one architecture and valgrind,
at `instructions_growth_max` (allocate at `instructions_allocate_growth_max`), and left gated
by --skip-latency.

On a copy of a real schema-5 `pytest bench` run (tests/fixtures/runs/tf2.21.0_counted.csv, TF
2.21.0, valgrind 3.19.0), changed only in what each case is about, as a user's other runner or
an edited file would be. Exit codes and messages are asserted whole where they are the point.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.config import load_config
from tests.helpers import COUNTED, ERROR, Rows, edited, last_line, relabelled, run_cli, verdicts

INSTRUCTION_METRICS = ("instructions_per_invoke", "instructions_first_invoke",
                       "instructions_allocate")
#: Another machine, as the history's runner and a CI runner differ.
ELSEWHERE = {"cpu": "Intel Xeon (GenuineIntel family 6 model 85 stepping 7)", "cpu_count": "4"}


def instruction_verdicts(*args: object) -> dict[tuple[object, ...], str]:
    return {key: verdict for key, verdict in verdicts(*args).items()
            if key[1] in INSTRUCTION_METRICS}


def grown(factor: float, metric: str = "instructions_per_invoke",
          runtime: str = "tf.lite") -> object:
    """The rows with one model's `metric` on `runtime` multiplied by `factor`."""
    def edit(rows: Rows) -> Rows:
        return [{**r, "value": str(round(float(r["value"]) * factor))}
                if (r["model"], r["metric"], r["runtime"]) == ("pruned_tflite", metric, runtime)
                else r for r in rows]
    return edit


def test_the_fixture_holds_every_count_of_a_default_session() -> None:
    table = instruction_verdicts(COUNTED, relabelled(COUNTED, COUNTED.parent / "unused.csv"))
    (COUNTED.parent / "unused.csv").unlink()
    assert len(table) == 2 * 4 * 3  # 2 .tflite models x 4 runtimes x 3 metrics


def test_counts_of_another_machine_are_compared_and_latency_is_not(tmp_path: Path) -> None:
    candidate = relabelled(COUNTED, tmp_path / "cand.csv", **ELSEWHERE)
    table = instruction_verdicts(COUNTED, candidate)
    assert set(table.values()) == {"ok"}
    code, out, _ = run_cli(COUNTED, candidate)
    assert code == 3, out  # the wall clock of another machine cannot be judged
    assert "latency" in out and "not compared" in out
    code, out, _ = run_cli(COUNTED, candidate, "--skip-latency")
    assert code == 0, out
    assert re.search(r"^PASS: \d+ ok, \d+ not gated", last_line(out)), last_line(out)


@pytest.mark.parametrize("skip", [(), ("--skip-latency",)], ids=["gated", "skip-latency"])
def test_more_instructions_per_invoke_than_the_bound_regress_on_any_machine(
        tmp_path: Path, skip: tuple[str, ...]) -> None:
    limit = load_config().compare.instructions_growth_max
    candidate = edited(relabelled(COUNTED, tmp_path / "moved.csv", **ELSEWHERE),
                       tmp_path / "cand.csv", grown(1 + limit + 0.001))
    code, out, _ = run_cli(COUNTED, candidate, *skip)
    assert code == 1, out
    [row] = [line.split() for line in out.splitlines()
             if line.split()[:3] == ["pruned_tflite", "instructions_per_invoke", "tf.lite"]]
    assert row[3:] == ["1", "170484", "172359", "+1.10%", "+1.00%", "regressed"], row
    assert last_line(out).startswith("FAIL: 1 regressed")


@pytest.mark.parametrize(("factor", "verdict"), [(1.0099, "ok"), (1.011, "regressed"),
                                                 (0.989, "improved"), (0.9901, "ok")])
@pytest.mark.parametrize("metric", INSTRUCTION_METRICS[:2])
def test_invoke_counts_are_judged_at_instructions_growth_max(tmp_path: Path, metric: str,
                                                             factor: float,
                                                             verdict: str) -> None:
    assert load_config().compare.instructions_growth_max == 0.01, "the cases sit around it"
    candidate = edited(relabelled(COUNTED, tmp_path / "moved.csv"), tmp_path / "cand.csv",
                       grown(factor, metric, "ai_edge_litert"))
    table = instruction_verdicts(COUNTED, candidate)
    assert table.pop(("pruned_tflite", metric, "ai_edge_litert", 1, None)) == verdict
    assert set(table.values()) == {"ok"}


@pytest.mark.parametrize(("factor", "verdict"), [(1.0235, "ok"), (1.049, "ok"),
                                                 (1.051, "regressed"), (0.949, "improved")])
def test_allocate_is_judged_at_its_own_bound(tmp_path: Path, factor: float,
                                             verdict: str) -> None:
    """allocate_tensors() moved 2.35% between the environments of two TF lines with the same
    runtime wheel (the committed history): that is no regression; 5% is."""
    assert load_config().compare.instructions_allocate_growth_max == 0.05
    candidate = edited(relabelled(COUNTED, tmp_path / "moved.csv"), tmp_path / "cand.csv",
                       grown(factor, "instructions_allocate", "ai_edge_litert"))
    table = instruction_verdicts(COUNTED, candidate)
    assert table.pop(("pruned_tflite", "instructions_allocate", "ai_edge_litert", 1,
                      None)) == verdict
    assert set(table.values()) == {"ok"}


@pytest.mark.parametrize(("changes", "reason"), [
    ({"valgrind": "3.22.0"},
     "counted with another valgrind: valgrind '3.19.0' vs '3.22.0'"),
    ({"platform": "Linux-6.8.0-1021-azure-aarch64"},
     "architectures differ: 'x86_64' vs 'aarch64'"),
], ids=["valgrind", "architecture"])
def test_counts_of_another_valgrind_or_architecture_are_not_compared_naming_both(
        tmp_path: Path, changes: dict[str, str], reason: str) -> None:
    candidate = relabelled(COUNTED, tmp_path / "cand.csv", **changes)
    table = instruction_verdicts(COUNTED, candidate)
    assert set(table.values()) == {"not compared"} and len(table) == 24
    code, out, _ = run_cli(COUNTED, candidate, "--skip-latency", "--format", "json")
    assert code == 3
    rows = [r for r in json.loads(out)["rows"] if r["metric"] in INSTRUCTION_METRICS]
    assert {r["detail"] for r in rows} == {reason}


def test_a_reference_that_counted_nothing_leaves_the_counts_unjudged(tmp_path: Path) -> None:
    """A run of schema 1-4 (or made with --skip-instructions) has no instruction rows: the
    candidate's are 'no reference', so the outcome is INCONCLUSIVE, never a plain PASS."""
    reference = edited(COUNTED, tmp_path / "ref.csv", lambda rows: [
        r for r in rows if r["metric"] not in INSTRUCTION_METRICS])
    candidate = relabelled(COUNTED, tmp_path / "cand.csv")
    code, out, _ = run_cli(reference, candidate, "--skip-latency")
    assert code == 3, out
    assert set(instruction_verdicts(reference, candidate).values()) == {"no reference"}


def test_a_history_gives_the_candidate_the_run_whose_counts_it_can_compare(
        tmp_path: Path) -> None:
    """Of two runs of the reference version, the later one counted with another valgrind: it
    is passed over for the earlier one, and the reason says why."""
    folder = tmp_path / "history"
    folder.mkdir()
    earlier = relabelled(COUNTED, folder / "earlier.csv", run_id="earlier",
                         timestamp_utc="2026-11-30T10:00:00+00:00")
    relabelled(COUNTED, folder / "later.csv", run_id="later", valgrind="3.22.0",
               timestamp_utc="2026-11-30T11:00:00+00:00")
    candidate = relabelled(COUNTED, tmp_path / "cand.csv", run_id="cand", **ELSEWHERE)
    code, out, err = run_cli(folder, candidate, "--tf", "2.21.0", "--skip-latency")
    assert (code, err) == (0, ""), out
    assert ("reference run earlier" in out and "1 later run passed over: later lacks "
            "comparable instruction counts (counted with another valgrind: valgrind '3.22.0' "
            "vs '3.19.0')" in out), out
    assert earlier.exists() and ERROR not in out
