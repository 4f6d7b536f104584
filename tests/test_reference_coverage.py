"""The reference run must cover the candidate: a reuse run or a run that shared the machine
never silently narrows what the gate checks.

Was (issue 15): after `pytest bench --reuse-run`, the reuse run (only the two `.tflite`
models) became the latest complete run of its version, and a full candidate compared with it
answered `PASS: 20 ok, 30 info, 13 candidate only`: baseline and pruned accuracy, size and
sparsity were never compared, so a broken pruning schedule passed. And a `tox p` run, which
shared the CPU, became the latency reference.

Each case is built from the real runs of tests/fixtures/runs/ (schema 2), rewritten as schema 4
would write them, changing only what the case is about. Whole messages are asserted.
"""
from __future__ import annotations

from pathlib import Path

from tests.helpers import (
    ERROR,
    PQT,
    TFLITE_TWO,
    A,
    B,
    Rows,
    as_schema4,
    history,
    last_line,
    run_cli,
    run_id,
    tflite_only,
    verdicts,
)

REUSE_ID = "20261128T005520Z_tf2.21.0_reuse0"
TOX_PARALLEL = "tox parallel: tox p -e tf220,tf221 (pid 4242)"


def reuse_of_a(dst: Path) -> Path:
    """A --reuse-run session that re-measured run A's files, written after A and before B."""
    return as_schema4(A, dst, variants=TFLITE_TWO, source_run_id=run_id(A), edit=tflite_only,
                      run_id=REUSE_ID, timestamp_utc="2026-11-28T00:56:00+00:00")


def broken_pruning(rows: Rows) -> Rows:
    """B with its pruning schedule broken: the pruned kernels 50% zeros, not 80%."""
    return [{**r, "value": "0.5"} if (r["model"], r["metric"]) == ("pruned", "sparsity") else r
            for r in rows]


def reference_line(out: str) -> str:
    return out.splitlines()[0]


def test_a_reuse_run_is_passed_over_and_the_broken_pruning_fails(tmp_path: Path) -> None:
    full = as_schema4(A, tmp_path / "full.csv")
    reuse = reuse_of_a(tmp_path / "reuse.csv")
    candidate = as_schema4(B, tmp_path / "cand.csv", edit=broken_pruning)
    code, out, err = run_cli(history(tmp_path, full, reuse), candidate, "--tf", "2.21.0")
    assert (code, err) == (1, ""), out
    assert reference_line(out).endswith(
        f": the latest complete run of tensorflow 2.21.0 written before the candidate that "
        f"covers every gated measurement of the candidate (1 later run passed over: {REUSE_ID} "
        f"lacks 5 gated measurements: baseline (accuracy, zipped_bytes), pruned (accuracy, "
        f"zipped_bytes, sparsity))")
    assert reference_line(out).startswith(f"reference run {run_id(A)} ")
    assert verdicts(history(tmp_path, full, reuse), candidate, "--tf", "2.21.0")[
        ("pruned", "sparsity", None, None, None)] == "regressed"


def test_only_a_reuse_run_gives_no_plain_pass_and_names_what_went_ungated(
        tmp_path: Path) -> None:
    reuse = reuse_of_a(tmp_path / "reuse.csv")
    candidate = as_schema4(B, tmp_path / "cand.csv")
    code, out, err = run_cli(history(tmp_path, reuse), candidate, "--tf", "2.21.0")
    assert (code, err) == (3, ""), out
    assert reference_line(out) == (
        f"reference run {REUSE_ID} (tensorflow 2.21.0, cpu AMD EPYC (AuthenticAMD family 25 "
        f"model 17 stepping 1)): the latest complete run of tensorflow 2.21.0 written before the "
        f"candidate; no such run covers every gated measurement of the candidate, this one "
        f"lacks 5 gated measurements: baseline (accuracy, zipped_bytes), pruned (accuracy, "
        f"zipped_bytes, sparsity)")
    assert last_line(out) == (
        "INCONCLUSIVE: 5 gated measurements of the candidate have no reference measurement: "
        "baseline (accuracy, zipped_bytes), pruned (accuracy, zipped_bytes, sparsity); 8 ok, "
        "5 no reference, 8 info, 4 candidate only")
    rows = verdicts(history(tmp_path, reuse), candidate, "--tf", "2.21.0")
    assert rows[("baseline", "accuracy", None, None, None)] == "no reference"
    assert rows[("baseline", "stage_seconds", None, None, "train")] == "candidate only"


def test_a_broken_candidate_still_fails_against_a_reuse_reference(tmp_path: Path) -> None:
    """What the reuse run does measure is judged as before: FAIL beats INCONCLUSIVE."""
    reuse = reuse_of_a(tmp_path / "reuse.csv")
    candidate = as_schema4(B, tmp_path / "cand.csv", edit=lambda rows: [
        {**r, "value": "0.5"} if (r["model"], r["metric"]) == (PQT, "accuracy") else r
        for r in rows])
    code, out, _ = run_cli(history(tmp_path, reuse), candidate, "--tf", "2.21.0")
    assert code == 1
    assert last_line(out).startswith("FAIL: 1 regressed, 7 ok, 5 no reference, ")


def test_a_reuse_candidate_says_where_its_keras_models_were_gated(tmp_path: Path) -> None:
    """The hint for models a candidate did not select: a reuse run cannot "run --variants"."""
    full = as_schema4(A, tmp_path / "full.csv")
    candidate = as_schema4(B, tmp_path / "cand.csv", variants=TFLITE_TWO,
                           source_run_id="20261128T005500Z_tf2.21.0_source", edit=tflite_only)
    code, out, _ = run_cli(full, candidate)
    assert code == 0, out
    assert ("not selected by the candidate, not compared: baseline, pruned (the candidate "
            "re-measured the .tflite files of run 20261128T005500Z_tf2.21.0_source "
            "(--reuse-run): compare that run to gate them)") in out.splitlines()


def test_a_run_that_shared_the_machine_is_passed_over_for_latency(tmp_path: Path) -> None:
    alone = as_schema4(A, tmp_path / "alone.csv")
    shared = as_schema4(A, tmp_path / "shared.csv", shared_by=TOX_PARALLEL,
                        run_id="20261128T005530Z_tf2.21.0_shared",
                        timestamp_utc="2026-11-28T00:56:10+00:00")
    candidate = as_schema4(B, tmp_path / "cand.csv")
    code, out, _ = run_cli(history(tmp_path, alone, shared), candidate, "--tf", "2.21.0")
    assert code == 0, out
    assert reference_line(out).startswith(f"reference run {run_id(A)} ")
    assert reference_line(out).endswith(
        "(1 later run passed over: 20261128T005530Z_tf2.21.0_shared lacks comparable latency "
        "and heap (the reference run 20261128T005530Z_tf2.21.0_shared shared the machine (tox "
        "parallel: tox p -e tf220,tf221 (pid 4242))))")


def test_latency_of_a_shared_run_is_never_compared_but_its_sizes_are(tmp_path: Path) -> None:
    shared = as_schema4(A, tmp_path / "shared.csv", shared_by=TOX_PARALLEL)
    candidate = as_schema4(B, tmp_path / "cand.csv")
    code, out, _ = run_cli(shared, candidate)
    assert code == 3, out
    reason = (f"the reference run {run_id(A)} shared the machine ({TOX_PARALLEL})")
    assert last_line(out).startswith(f"INCONCLUSIVE: latency not compared ({reason}); ")
    rows = verdicts(shared, candidate)
    assert rows[(PQT, "latency", "tf.lite", 1, None)] == "not compared"
    assert rows[("pruned", "sparsity", None, None, None)] == "ok"
    code, out, _ = run_cli(shared, candidate, "--skip-latency")
    assert code == 0, out
    assert last_line(out) == ("PASS: 9 ok, 4 not gated, 12 info; latency not gated, by request "
                              "(--skip-latency)")


def test_a_candidate_that_shared_the_machine_is_not_compared_on_latency(tmp_path: Path) -> None:
    reference = as_schema4(A, tmp_path / "ref.csv")
    candidate = as_schema4(B, tmp_path / "cand.csv",
                           shared_by="bench session 20261128T005600Z_tf2.20.0_0a1b2c")
    code, out, _ = run_cli(reference, candidate)
    assert code == 3, out
    assert (f"the candidate run {run_id(B)} shared the machine (bench session "
            f"20261128T005600Z_tf2.20.0_0a1b2c)") in last_line(out)


def test_schema4_runs_that_ran_alone_compare_latency_without_a_warning(tmp_path: Path) -> None:
    reference = as_schema4(A, tmp_path / "ref.csv")
    candidate = as_schema4(B, tmp_path / "cand.csv")
    code, out, err = run_cli(reference, candidate)
    assert (code, err) == (0, ""), out
    assert not any(line.startswith("warning:") for line in out.splitlines())
    assert ERROR not in out


def test_many_unjudged_measurements_are_named_by_their_models() -> None:
    from pipeline.judge.compare.rules import describe_keys
    from pipeline.results import MeasurementKey

    few = [MeasurementKey("pruned", None, None, "sparsity", None),
           MeasurementKey("pruned_tflite", "tf.lite", 1, "latency", None)]
    assert describe_keys(few) == "pruned (sparsity), pruned_tflite (latency tf.lite 1 thread)"
    many = [MeasurementKey(model, None, None, metric, None)
            for model in ("qat", "baseline") for metric in ("accuracy", "zipped_bytes",
                                                            "raw_bytes", "sparsity", "latency")]
    assert describe_keys(many) == "those of baseline, qat (the rows say which)"
