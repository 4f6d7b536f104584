"""`pytest bench` as a user meets it: bad data, interruption, concurrent sessions.

Each test runs the real suite in a subprocess on the small committed MNIST sample, so these
cover what unit tests cannot: the exit status, the message printed, and what is (not) left in
the results folder. Nothing here reaches the network: proxies point at a closed local port.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from pipeline.results import COLUMNS

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"


def bench_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any MNIST source, and no way out to the network."""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_PATH"}
    env.update(KERAS_HOME=str(tmp_path / "keras_home"), HTTPS_PROXY=CLOSED_PORT_PROXY,
               HTTP_PROXY=CLOSED_PORT_PROXY, TF_CPP_MIN_LOG_LEVEL="2")
    return env


def bench_command(results: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider",
            "--results-dir", str(results), *args]


def run_bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bench_command(tmp_path / "results", "--run-dir",
                                        str(tmp_path / "run"), *args),
                          cwd=REPO_ROOT, env=bench_env(tmp_path), capture_output=True,
                          text=True, timeout=600)


def results_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "results"
    return sorted(folder.iterdir()) if folder.exists() else []


def _truncated_sample(tmp_path: Path) -> Path:
    path = tmp_path / "truncated.npz"
    path.write_bytes(SAMPLE.read_bytes()[:5000])
    return path


def _empty_folder(tmp_path: Path) -> Path:
    path = tmp_path / "idx"
    path.mkdir()
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "nowhere" / "mnist.npz", "as MNIST: nothing exists at this path."),
    (_truncated_sample, "as MNIST: it is a damaged npz archive"),
    (_empty_folder, "as MNIST: it is empty."),
], ids=["missing", "truncated-npz", "empty-folder"])
def test_bad_data_stops_the_session_with_a_reason(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    done = run_bench(tmp_path, "--mnist", str(path))
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "bench: Cannot use " in output and str(path) in output and message in output
    assert "The path was given by the --mnist option, so no other source was tried." in output
    assert results_files(tmp_path) == []


@pytest.mark.parametrize("flag", ["--benchmark-disable", "--benchmark-skip"])
def test_pytest_benchmark_flags_keep_working(tmp_path: Path, flag: str) -> None:
    """Disabled: invoke runs once, untimed, and the CSV holds the other rows but no latency;
    skipped: the test skips before building anything, so there is nothing to write."""
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), flag, "-k",
                     "latency and pruned_quantized_tflite and tf.lite-1")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    if flag == "--benchmark-disable":
        assert "1 passed" in output
        (path,) = results_files(tmp_path)
        metrics = set(pd.read_csv(path)["metric"])
        assert "accuracy" in metrics and "latency" not in metrics
    else:
        assert "1 skipped" in output
        assert results_files(tmp_path) == []


def test_no_data_source_names_the_three_ways(tmp_path: Path) -> None:
    done = run_bench(tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "bench: MNIST could not be loaded" in output
    for way in ("pass --mnist PATH", "set MNIST_PATH=PATH",
                f"caches it at {tmp_path / 'keras_home' / 'datasets' / 'mnist.npz'}"):
        assert way in output
    assert results_files(tmp_path) == []


@pytest.mark.parametrize(("signum", "returncode"), [
    (signal.SIGINT, pytest.ExitCode.INTERRUPTED),  # Ctrl-C: pytest's own clean stop
    (signal.SIGKILL, -signal.SIGKILL),              # kill -9: no Python code runs at all
], ids=["ctrl-c", "kill"])
def test_interrupted_session_changes_nothing_in_results(tmp_path: Path, signum: int,
                                                        returncode: int) -> None:
    results, run_dir = tmp_path / "results", tmp_path / "run"
    results.mkdir()
    history = results / "earlier_run.csv"
    history.write_text("an earlier complete run\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results.iterdir()}
    process = subprocess.Popen(
        bench_command(results, "--run-dir", str(run_dir), "--mnist", str(SAMPLE)),
        cwd=REPO_ROOT, env=bench_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not run_dir.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the run folder appears when the first stage starts
    assert process.poll() is None, f"session ended before it could be interrupted:\n" \
                                   f"{process.communicate()[0]}"
    time.sleep(1.0)  # well inside training
    process.send_signal(signum)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == returncode, output
    if signum == signal.SIGINT:
        assert "results:   none written (session did not run to the end)" in output
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results.iterdir()}
    assert after == before


def test_two_concurrent_sessions_write_two_complete_files(tmp_path: Path) -> None:
    # Only the baseline-sized tests: the point is two writers at once, not the whole recipe.
    selection = ["-k", "baseline_accuracy_floor", "--mnist", str(SAMPLE)]
    processes = [subprocess.Popen(
        bench_command(tmp_path / "results", "--run-dir", str(tmp_path / f"run{i}"), *selection),
        cwd=REPO_ROOT, env=bench_env(tmp_path), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    # The sample is too small to reach the real accuracy floor: exit 1 is expected and still
    # writes its results, as a failed threshold is history worth keeping.
    assert [p.returncode for p in processes] == [1, 1], outputs
    files = results_files(tmp_path)
    assert len(files) == 2 and files[0].name != files[1].name, files
    for path in files:
        frame = pd.read_csv(path)
        assert list(frame.columns) == list(COLUMNS)
        # Lazy fixtures: a test that needs only the baseline never triggers pruning.
        assert set(frame["model"]) == {"baseline"}
        assert set(frame["metric"]) == {"accuracy", "zipped_bytes", "stage_seconds"}
        assert frame["run_id"].nunique() == 1 and frame["run_id"][0] == path.stem


def test_compare_to_fails_the_regressed_measurement_with_its_row(tmp_path: Path) -> None:
    """A model trained on the 1,200-image sample is far less accurate than the frozen history
    run (0.98): the history-gate test of that accuracy must fail, naming the row."""
    history = REPO_ROOT / "tests" / "fixtures" / "results" / "base.csv"
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(history),
                     "-k", "baseline_accuracy_floor or history_gate and baseline-accuracy")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "test_no_regression_against_history[baseline-accuracy] FAILED" in output or \
           "FAILED bench/test_history_gate.py::test_no_regression_against_history" \
           "[baseline-accuracy]" in output, output
    assert "regressed against history:" in output
    assert "baseline 20250601T120000Z-3f2a9c1 (tensorflow 2.20.0" in output


def test_compare_to_an_unusable_history_stops_before_training(tmp_path: Path) -> None:
    bad = REPO_ROOT / "tests" / "fixtures" / "results" / "bad_nan_value.csv"
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(bad))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert f"ERROR: --compare-to: {bad}: " in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []
