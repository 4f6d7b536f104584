"""A run records the (TensorFlow, LiteRT) pair it measured, and the gate's reference differs from
the candidate in the package it upgrades only: a TensorFlow candidate is compared within its
LiteRT, a LiteRT candidate (`--upgrade litert`) within its TensorFlow, and a pair the history
does not hold is an error that lists the pairs it does. Real runs (tests/fixtures/runs/),
relabelled as the LiteRT releases of the history would be.
"""
from __future__ import annotations

from pathlib import Path

from tests.helpers import ERROR, TF220, A, B, field, history, relabelled, run_cli, run_id


def litert_line(tmp_path: Path) -> Path:
    """A history of 2.20.0 on LiteRT 2.3.0 and 2.21.0 on LiteRT 2.1.6 and 2.2.0, all written
    before the candidate B (2.21.0 on LiteRT 2.3.0); the 2.2.0 run is the latest."""
    older = relabelled(A, tmp_path / "litert216.csv", litert="2.1.6",
                       run_id="tf2.21.0_litert2.1.6")
    newer = relabelled(A, tmp_path / "litert220.csv", litert="2.2.0",
                       run_id="tf2.21.0_litert2.2.0")
    return history(tmp_path, TF220, older, newer)


def test_a_litert_candidate_is_compared_with_the_newest_litert_below_on_its_tensorflow(
        tmp_path: Path) -> None:
    folder = litert_line(tmp_path)
    code, out, err = run_cli(folder, B, "--upgrade", "litert", "--skip-latency")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"reference run tf2.21.0_litert2.2.0 (tensorflow 2.21.0, cpu {field(A, 'cpu')}): the "
        f"latest complete run of the newest LiteRT below the candidate's 2.3.0 (2.2.0) on "
        f"TensorFlow 2.21.0, written before the candidate")


def test_a_tensorflow_candidate_stays_on_its_litert(tmp_path: Path) -> None:
    """The 2.20.0 run on LiteRT 2.2.0 is the latest of the newest TensorFlow below the
    candidate's, but the candidate measured LiteRT 2.3.0: the 2.20.0 run on 2.3.0 is chosen."""
    other = relabelled(TF220, tmp_path / "tf220_litert220.csv", litert="2.2.0",
                       timestamp_utc=field(A, "timestamp_utc"))
    folder = history(tmp_path, TF220, other)
    code, out, _ = run_cli(folder, B, "--skip-latency")
    assert code in (0, 1)
    assert out.splitlines()[0] == (
        f"reference run {run_id(TF220)} (tensorflow 2.20.0, cpu {field(TF220, 'cpu')}): the "
        f"latest complete run of the newest TensorFlow below the candidate's 2.21.0 (2.20.0) "
        f"on LiteRT 2.3.0, written before the candidate")
    code, out, _ = run_cli(folder, B, "--skip-latency", "--litert", "2.2.0")
    assert out.splitlines()[0].startswith(f"reference run {run_id(TF220)}_copy ")


def test_a_pair_the_history_does_not_hold_lists_the_pairs_it_does(tmp_path: Path) -> None:
    folder = litert_line(tmp_path)
    lowest = relabelled(B, tmp_path / "cand.csv", litert="2.1.6")
    code, _, err = run_cli(folder, lowest, "--upgrade", "litert")
    assert code == 2
    assert err == (f"{ERROR}{folder}: no complete run of a LiteRT version below the "
                   f"candidate's 2.1.6 on TensorFlow 2.21.0 written before it; complete runs: "
                   f"2.20.0 + litert 2.3.0 (1 run), 2.21.0 + litert 2.1.6 (1 run), 2.21.0 + "
                   f"litert 2.2.0 (1 run) (pass --litert VERSION or --tf VERSION to compare "
                   f"with a run of that version)\n")
    code, _, err = run_cli(folder, B, "--tf", "2.20.0", "--litert", "1.4.0")
    assert code == 2
    assert err == (f"{ERROR}{folder}: no complete run of tensorflow '2.20.0' on LiteRT 1.4.0 "
                   f"written before the candidate; complete runs: 2.20.0 + litert 2.3.0 (1 "
                   f"run), 2.21.0 + litert 2.1.6 (1 run), 2.21.0 + litert 2.2.0 (1 run)\n")


def test_the_committed_history_gates_each_litert_release_against_the_one_before() -> None:
    """results/ holds LiteRT 1.4.0, 2.1.6, 2.2.0 (and 2.3.0) under TF 2.21 for both workloads:
    with --upgrade litert each release's run is compared with the release below it, on 2.21."""
    from pipeline import REPO_ROOT
    from pipeline.judge.compare.options import GateOptions
    from pipeline.judge.compare.selection import ReferenceQuery, load_reference
    from pipeline.results import read_history

    results = REPO_ROOT / "results"
    runs = [run for run in read_history(results) if run.info.tensorflow == "2.21.0"]
    for workload in ("mnist_cnn", "ds_cnn"):
        by_litert = {run.info.litert: run for run in runs if run.info.workload == workload}
        assert sorted(by_litert) == ["1.4.0", "2.1.6", "2.2.0", "2.3.0"], workload
        for below, release in (("1.4.0", "2.1.6"), ("2.1.6", "2.2.0")):
            query = ReferenceQuery.of(by_litert[release], GateOptions(upgrade="litert"))
            choice = load_reference(results, query)
            assert choice.run.run_id == by_litert[below].run_id, (workload, release)


def test_a_litert_the_history_lacks_is_answered_with_the_pairs_it_holds(tmp_path: Path) -> None:
    """A TensorFlow candidate on a LiteRT no run of the history has: every run is of one
    LiteRT, and the refusal names it, not the TensorFlow versions alone (which would hide why
    none of them was chosen)."""
    folder = history(tmp_path, A)
    candidate = relabelled(B, tmp_path / "cand.csv", litert="1.0.1")
    code, _, err = run_cli(folder, candidate)
    assert code == 2
    assert err == (f"{ERROR}{folder}: no complete run of a TensorFlow version below the "
                   f"candidate's 2.21.0 on LiteRT 1.0.1 written before it; complete runs: "
                   f"{field(A, 'tensorflow')} + litert {field(A, 'litert')} (1 run) (pass --tf "
                   f"VERSION or --litert VERSION to compare with a run of that version)\n")

