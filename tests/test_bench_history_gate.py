"""`pytest bench --compare-to`: the session's history gate against a reference run chosen from a
history of real runs (tests/helpers.py runs the sessions)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.data import load_npz
from pipeline.identity import recipe_sha256
from pipeline.judge.compare import ReferenceQuery, SelectionError, load_reference
from pipeline.measure.environment import package_version
from pipeline.results import COLUMNS, SCHEMA_VERSION, read_results
from pipeline.workloads import MNIST_CNN
from tests.helpers import (
    REPO_ROOT,
    RUNS,
    SAMPLE,
    TFLITE_TWO,
    as_schema4,
    only_run,
    results_files,
    rewrite,
    run_bench,
    tflite_only,
)

#: Every test here runs `pytest bench` in a subprocess: the slow lane (tests/conftest.py).
pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------
# --compare-to: the reference run is the latest complete run of the newest TensorFlow below the
# installed one (or of --compare-tf); partial and schema-1 runs are never chosen.
# ---------------------------------------------------------------------------------------------

#: file in tests/fixtures/runs -> (its timestamp_utc in the test history, whether its
#: dataset_sha256 becomes the sample's). Timestamps are moved into the past so that every run is
#: "written before" a session started now, whatever the clock of the machine says.
HISTORY: dict[str, tuple[str, bool]] = {
    "tf2.15.1.csv": ("2025-01-01T10:00:00+00:00", False),
    "tf2.20.0.csv": ("2025-01-02T10:00:00+00:00", True),
    "tf2.21.0_schema1.csv": ("2025-01-03T09:00:00+00:00", False),
    "tf2.21.0_a.csv": ("2025-01-03T10:00:00+00:00", True),
    "tf2.21.0_partial.csv": ("2025-01-03T11:00:00+00:00", True),
}
#: The run columns schemas 3-7 added, as a session of today's code records them: the history's
#: schema 2 runs are read as if re-made with declared identities (the schema 1 run stays as it
#: is, never chosen).
TODAYS_RUN_CELLS: dict[str, str] = {
    "schema_version": str(SCHEMA_VERSION), "variants": "", "source_run_id": "",
    "machine_shared": "False", "machine_shared_by": "", "valgrind": "", "instructions_tool": "",
    "tensorflow_distribution": "tensorflow", "tf_keras_distribution": "tf-keras",
    "workload": "mnist_cnn", "workload_sha256": "", "identities": "declared",
    "workload_version": "1", "litert_distribution": "ai-edge-litert",
    "runtimes_unavailable": ""}
#: A partial 2.20.0 run written after the complete one: the latest 2.20.0 run, never chosen.
LATER_PARTIAL_RUN_ID = "20250104T100000Z_tf2.20.0_5a7e11"


@pytest.fixture(scope="module")
def gate_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history of real runs. The sample's dataset is put on the 2.20.0 and 2.21.0 runs, so a
    session on the sample may be compared with them; the 2.15.1 run keeps full MNIST's. All get
    today's recipe_sha256: they were made before later variants joined the registry, with the
    four reference models built exactly as today, and read as runs of today's schema."""
    folder = tmp_path_factory.mktemp("history")
    sample_sha256 = load_npz(SAMPLE).sha256
    recipe = recipe_sha256(MNIST_CNN)
    for name, (timestamp, sample_data) in HISTORY.items():
        today = {} if "schema1" in name else TODAYS_RUN_CELLS
        rewrite(RUNS / name, folder / name, lambda rows, t=timestamp, s=sample_data, c=today: [
            {**r, **c, "timestamp_utc": t, "recipe_sha256": recipe,
             **({"dataset_sha256": sample_sha256} if s else {})} for r in rows],
            fieldnames=list(COLUMNS) if today else None)
    rewrite(folder / "tf2.20.0.csv", folder / "tf2.20.0_later_partial.csv", lambda rows: [
        {**r, "run_id": LATER_PARTIAL_RUN_ID, "timestamp_utc": "2025-01-04T10:00:00+00:00",
         "complete": "False", "incomplete_reason": "-k 'pruned'; 9 test(s) deselected"}
        for r in rows])
    return folder


def run_id_in(history: Path, name: str) -> str:
    return read_results(history / name).run_id


@pytest.mark.skipif(not package_version("tensorflow").startswith("2.21."),
                    reason="the test history's versions are chosen around TensorFlow 2.21 "
                           "(requirements/tf-2.21.txt): 2.20.0 is the newest below it")
def test_compare_to_fails_the_regressed_measurement_against_the_reference_run(
        tmp_path: Path, gate_history: Path) -> None:
    """A model trained on the 1,200-image sample is far less accurate than the real 2.20.0 run
    (0.98): its history-gate test must fail, naming the row. The reference is the complete
    2.20.0 run: not the later partial 2.20.0 run, not a run of the installed version."""
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(gate_history),
                     "-k", "accuracy_floor or history_gate and baseline-accuracy")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "FAILED bench/test_history_gate.py::test_no_regression_against_history" \
           "[baseline-accuracy]" in output, output
    assert "regressed against history (beyond -0.50 pt):" in output
    reference = run_id_in(gate_history, "tf2.20.0.csv")
    assert f"reference run {reference} (tensorflow 2.20.0, cpu " in output, output
    assert LATER_PARTIAL_RUN_ID not in output


def test_compare_tf_chooses_the_version_and_a_refused_comparison_keeps_the_run_whole(
        tmp_path: Path, gate_history: Path) -> None:
    """--compare-tf 2.15.1 picks that run; it was made on full MNIST, so the gate refuses to
    compare it with a run on the sample and fails its test with the reason. A refused
    comparison is a failed check, not a missing measurement: the only reason the run is partial
    is its -k."""
    keyword = "history_gate and baseline-accuracy"
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(gate_history),
                     "--compare-tf", "2.15.1", "-k", keyword)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    candidate = only_run(tmp_path).info
    reference = read_results(gate_history / "tf2.15.1.csv").info
    assert (f"cannot compare: runs differ in dataset_sha256: reference run "
            f"{reference.run_id} has '{reference.dataset_sha256}', candidate run "
            f"{candidate.run_id} has '{candidate.dataset_sha256}'") in output, output
    assert candidate.complete is False
    assert re.fullmatch(rf"-k '{keyword}'; \d+ test\(s\) deselected",
                        candidate.incomplete_reason or ""), candidate.incomplete_reason


def test_compare_skip_latency_gates_accuracy_and_size_and_names_the_reference(
        tmp_path: Path, gate_history: Path) -> None:
    """The one-step gate off the history's machine, as CI runs it: with
    --compare-skip-latency no latency or heap test is collected (the history was measured on
    another machine, where each would fail as "not compared"), the session names its
    reference run at the start and at the end, and a failing row says why."""
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(gate_history),
                     "--compare-tf", "2.20.0", "--compare-skip-latency", "-k", "history_gate")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    reference = run_id_in(gate_history, "tf2.20.0.csv")
    named = (f"reference run {reference} (tensorflow 2.20.0, cpu AMD EPYC (AuthenticAMD family "
             f"25 model 17 stepping 1)): the latest complete run of tensorflow 2.20.0 written "
             f"before the candidate (2 partial runs and 1 schema-1 run, whose completeness is "
             f"unknown, never chosen)")
    lines = output.splitlines()
    assert any(re.fullmatch(rf"bench \[ *[\d.]+ s\] history gate: {re.escape(named)}", line)
               for line in lines), output
    assert f"history:   {named}" in lines, output
    assert "latency" not in "".join(line for line in lines if line.startswith("FAILED"))
    assert "heap_growth_bytes" not in output
    assert ("FAILED bench/test_history_gate.py::test_no_regression_against_history"
            "[baseline-accuracy]") in output
    assert "regressed against history (beyond -0.50 pt):" in output
    # The test history's runs are schema 2, from before raw_bytes and each interpreter's
    # accuracy were recorded: nothing judges this session's raw sizes and per-interpreter
    # accuracies, and the coverage test says so.
    assert ("8 gated measurement(s) of this session have no reference measurement in run "
            f"{reference}, so nothing judged them: baseline (raw_bytes), pruned (raw_bytes), "
            "pruned_tflite (accuracy ai_edge_litert, accuracy tf.lite, raw_bytes), "
            "pruned_quantized_tflite (accuracy ai_edge_litert, accuracy tf.lite, raw_bytes)"
            ) in output, output


def test_compare_to_a_reuse_run_fails_the_measurements_it_never_made(
        tmp_path: Path, gate_history: Path) -> None:
    """A --reuse-run reference holds only .tflite models: the session says, before training,
    what the reference lacks, and its coverage test fails naming every gated measurement
    nothing judged (was: those measurements silently passed)."""
    history = tmp_path / "history"
    history.mkdir()
    reuse = as_schema4(gate_history / "tf2.20.0.csv", history / "reuse.csv",
                       variants=TFLITE_TWO, source_run_id="20250102T090000Z_tf2.20.0_000000",
                       edit=tflite_only, schema_version=str(SCHEMA_VERSION))
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(history),
                     "--compare-skip-latency", "-k", "history_gate and not no_regression")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert ("this one lacks baseline, pruned (not measured)") in output, output
    reference = read_results(reuse).run_id
    assert (f"gated measurement(s) of this session have no reference measurement in run "
            f"{reference}, so nothing judged them: baseline (accuracy, zipped_bytes, "
            f"raw_bytes), pruned (accuracy, zipped_bytes, raw_bytes, sparsity), pruned_tflite "
            f"(accuracy ai_edge_litert, accuracy tf.lite, raw_bytes), pruned_quantized_tflite "
            f"(accuracy ai_edge_litert, accuracy tf.lite, raw_bytes)") in output, output


def test_compare_to_without_an_eligible_run_stops_before_training(tmp_path: Path,
                                                                  gate_history: Path) -> None:
    """Only partial and schema-1 runs: none may be a reference, and the session says so before
    any training, with the selection's own message."""
    history = tmp_path / "history"
    history.mkdir()
    for name in ("tf2.21.0_partial.csv", "tf2.21.0_schema1.csv", "tf2.20.0_later_partial.csv"):
        shutil.copy(gate_history / name, history / name)
    with pytest.raises(SelectionError) as expected:
        load_reference(history, ReferenceQuery(candidate_tf=package_version("tensorflow"),
                                               before=pd.Timestamp.now(tz="UTC")))
    assert "never chosen" in str(expected.value)
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(history))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert f"ERROR: --compare-to: {history}: {expected.value}" in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []


def test_compare_to_an_unusable_history_stops_before_training(tmp_path: Path) -> None:
    bad = REPO_ROOT / "tests" / "fixtures" / "results" / "bad_nan_value.csv"
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(bad))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert f"ERROR: --compare-to: {bad}: " in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []
