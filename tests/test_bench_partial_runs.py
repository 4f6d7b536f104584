"""Partial `pytest bench` sessions: written, but marked, and never a reference run (-k,
--skip-instructions, pytest-benchmark's flags, two sessions at once; tests/helpers.py runs
them)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pipeline.results import COLUMNS, read_results
from tests.helpers import (
    REPO_ROOT,
    SAMPLE,
    Session,
    bench_command,
    bench_env,
    only_run,
    partial_line,
    results_files,
    run_bench,
    written_by,
)

#: Every test here runs `pytest bench` in a subprocess: the slow lane (tests/conftest.py).
pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------
# Partial sessions: written, but marked, and never a reference run
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_k_baseline_sessions(tmp_path_factory: pytest.TempPathFactory) -> list[Session]:
    """Two `pytest bench -k baseline` sessions started at once into one results folder: the
    smallest selection (the baseline only), and two writers racing."""
    folder = tmp_path_factory.mktemp("concurrent")
    selection = ["-k", "baseline", "--mnist", str(SAMPLE)]
    processes = [subprocess.Popen(
        bench_command(folder / "results", "--run-dir", str(folder / f"run{i}"), *selection),
        cwd=REPO_ROOT, env=bench_env(folder), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    return [Session(p.returncode, out, folder) for p, out in zip(processes, outputs, strict=True)]


def test_two_concurrent_sessions_write_two_intact_files(
        two_k_baseline_sessions: list[Session]) -> None:
    # The sample is too small to reach the real accuracy floor: exit 1 is expected and still
    # writes its results, as a failed threshold is history worth keeping.
    assert [s.returncode for s in two_k_baseline_sessions] == [1, 1], \
        [s.output for s in two_k_baseline_sessions]
    files = results_files(two_k_baseline_sessions[0].folder)
    assert len(files) == 2 and files[0].name != files[1].name, files
    for path in files:
        frame = read_results(path).rows
        assert list(frame.columns) == list(COLUMNS)
        # Lazy fixtures: a test that needs only the baseline never triggers pruning.
        assert set(frame["model"]) == {"baseline"}
        assert set(frame["metric"]) == {"accuracy", "zipped_bytes", "raw_bytes",
                                        "stage_seconds"}
        assert frame["run_id"].nunique() == 1 and frame["run_id"][0] == path.stem
    # They shared the machine, and each says with which session.
    ids = [path.stem for path in files]
    for path, other in zip(files, reversed(ids), strict=True):
        info = read_results(path).info
        assert (info.machine_shared, info.machine_shared_by) == (
            True, f"bench session {other}"), info.machine_shared_by
    for session in two_k_baseline_sessions:
        assert any(line.startswith("shared:    bench session ") and
                   line.endswith(" ran meanwhile (latency never compared)")
                   for line in session.output.splitlines()), session.output


def test_k_selection_writes_a_partial_run_and_says_so(
        two_k_baseline_sessions: list[Session]) -> None:
    for session in two_k_baseline_sessions:
        info = read_results(written_by(session)).info
        reason = info.incomplete_reason or ""
        assert info.complete is False
        assert re.fullmatch(r"-k 'baseline'; \d+ test\(s\) deselected", reason), reason
        assert partial_line(reason) in session.output.splitlines(), session.output


@pytest.mark.parametrize("flag", ["--benchmark-disable", "--benchmark-skip"])
def test_pytest_benchmark_flags_keep_working_and_make_the_run_partial(tmp_path: Path,
                                                                      flag: str) -> None:
    """Disabled (one latency test selected): invoke runs once, untimed, and the CSV holds the
    other rows but no latency. Skipped (whole selection): every latency test skips and
    everything else runs. Either way the run did not time latency, so it is partial."""
    if flag == "--benchmark-disable":
        keyword = "latency and pruned_quantized_tflite and tf.lite-1"
        done = run_bench(tmp_path, "--mnist", str(SAMPLE), flag, "-k", keyword)
    else:
        done = run_bench(tmp_path, "--mnist", str(SAMPLE), flag)
    output = done.stdout + done.stderr
    read = only_run(tmp_path)
    run, info = read.rows, read.info
    metrics = set(run["metric"])
    assert "accuracy" in metrics and "latency" not in metrics
    assert info.complete is False
    reason = info.incomplete_reason or ""
    if flag == "--benchmark-disable":
        assert done.returncode == 0, output
        assert "1 passed" in output
        assert re.fullmatch(rf"-k '{keyword}'; --benchmark-disable; \d+ test\(s\) deselected",
                            reason), reason
    else:
        assert done.returncode == 1, output  # the sample misses the size and sparsity bounds
        skipped = re.search(r"(\d+) skipped", output)
        assert skipped and int(skipped.group(1)) == 10, output
        assert reason == "--benchmark-skip; 10 test(s) skipped"
        assert set(run["model"]) == {"baseline", "pruned", "pruned_tflite",
                                     "pruned_quantized_tflite"}
    assert partial_line(reason) in output.splitlines(), output
