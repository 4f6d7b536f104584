"""`pytest bench` sessions that stop before anything is measured, or are stopped: bad or missing
data, no valgrind, two TensorFlow distributions, an unknown variant, Ctrl-C and kill; and what
a session imports (tests/helpers.py runs them)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    REPO_ROOT,
    SAMPLE,
    bench_command,
    bench_env,
    only_run,
    results_files,
    run_bench,
)

#: Every test here runs `pytest bench` in a subprocess: the slow lane (tests/conftest.py).
pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------
# Sessions that stop before anything is measured
# ---------------------------------------------------------------------------------------------

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
def test_bad_data_stops_the_session_with_a_reason(tmp_path: Path, make: Callable[[Path], Path],
                                                  message: str) -> None:
    path = make(tmp_path)
    done = run_bench(tmp_path, "--mnist", str(path))
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "bench: Cannot use " in output and str(path) in output and message in output
    assert "The path was given by the --data option, so no other source was tried." in output
    assert results_files(tmp_path) == []


def test_a_machine_without_valgrind_stops_the_session_at_once_with_what_to_do(
        tmp_path: Path) -> None:
    """Never a run without instruction rows written as if complete: the session stops before
    any training, and --skip-instructions is the named way out (an incomplete run)."""
    env = bench_env(tmp_path)
    env["PATH"] = str(Path(sys.executable).parent)  # this venv's tools, no /usr/bin/valgrind
    done = subprocess.run(bench_command(tmp_path / "results", "--mnist", str(SAMPLE)),
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert ("bench: valgrind is not installed, so instructions cannot be counted; install it "
            "from the system's packages (Debian/Ubuntu: apt-get install valgrind); or pass "
            "--skip-instructions to run without instruction counts (the run is then marked "
            "incomplete, never a reference)") in output, output
    assert "train baseline" not in output and results_files(tmp_path) == []


def test_skip_instructions_writes_a_partial_run_without_counts(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--skip-instructions",
                     "--benchmark-disable", "-k", "instruction or baseline")
    output = done.stdout + done.stderr
    run = only_run(tmp_path)
    info = run.info
    assert info.complete is False, output
    assert "--skip-instructions" in (info.incomplete_reason or "")
    assert (info.valgrind, info.instructions_tool) == ("", "")
    assert not run.rows["metric"].str.startswith("instructions_").any()


def test_no_data_source_names_the_three_ways(tmp_path: Path) -> None:
    done = run_bench(tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "bench: MNIST could not be loaded" in output
    for way in ("pass --data PATH", "set MNIST_PATH=PATH",
                f"caches it at {tmp_path / 'keras_home' / 'datasets' / 'mnist.npz'}"):
        assert way in output
    assert results_files(tmp_path) == []


#: Ctrl-C: pytest's own clean stop (exit 2). CPython then exits by SIGINT itself (status -2)
#: when the KeyboardInterrupt passed through code run by eval() or exec() of a string, as it
#: does inside `import tensorflow` (namedtuple, scipy's array-api clone): CPython's "unhandled
#: KeyboardInterrupt" flag is set there and survives pytest catching the exception. Both say
#: "interrupted" to the caller; 2 of 14 interrupts taken 0-5 s into a session exited by SIGINT.
CTRL_C_STATUSES = (pytest.ExitCode.INTERRUPTED, -signal.SIGINT)


@pytest.mark.parametrize(("signum", "returncodes"), [
    (signal.SIGINT, CTRL_C_STATUSES),
    (signal.SIGKILL, (-signal.SIGKILL,)),  # kill -9: no Python code runs at all
], ids=["ctrl-c", "kill"])
def test_interrupted_session_changes_nothing_in_results(tmp_path: Path, signum: int,
                                                        returncodes: tuple[int, ...]) -> None:
    results, run_dir = tmp_path / "results", tmp_path / "run"
    results.mkdir()
    history = results / "earlier_run.csv"
    history.write_text("an earlier complete run\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results.iterdir()}
    # The session gets SIGINT's default disposition, as under a terminal's Ctrl-C, however this
    # suite was started: `pytest tests &` in a non-interactive shell runs with SIGINT ignored,
    # which a child would inherit (exec keeps "ignored", resets a handler to the default), and
    # then no Ctrl-C could ever reach it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            bench_command(results, "--run-dir", str(run_dir), "--mnist", str(SAMPLE)),
            cwd=REPO_ROOT, env=bench_env(tmp_path), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 300
    while not run_dir.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the run folder appears when the first stage starts
    assert process.poll() is None, f"session ended before it could be interrupted:\n" \
                                   f"{process.communicate()[0]}"
    time.sleep(1.0)  # well inside training
    process.send_signal(signum)
    output, _ = process.communicate(timeout=300)
    assert process.returncode in returncodes, output
    if signum == signal.SIGINT:
        assert "results:   none written (session did not run to the end)" in output
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results.iterdir()}
    assert after == before



def test_two_tensorflow_distributions_stop_the_session_before_anything_runs(
        tmp_path: Path) -> None:
    """A second distribution that unpacks into tensorflow/ (here a fake tensorflow-cpu on the
    path) makes what runs unknowable: the session refuses, saying how to repair it."""
    site = tmp_path / "site"
    info = site / "tensorflow_cpu-2.21.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow-cpu\n"
                                   "Version: 2.21.0\n")
    (info / "RECORD").write_text("tensorflow/__init__.py,,\n")
    env = {**bench_env(tmp_path), "PYTHONPATH": str(site)}
    done = subprocess.run(bench_command(tmp_path / "results", "--mnist", str(SAMPLE)),
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert ("ERROR: bench: 2 distributions provide the tensorflow package: tensorflow 2.21.0, "
            "tensorflow-cpu 2.21.0.") in done.stderr, done.stderr
    assert "pip uninstall -y tensorflow tensorflow-cpu" in done.stderr
    assert results_files(tmp_path) == []


def test_an_unknown_variant_stops_before_training_naming_the_known_ones(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--variants", "int8_tflite,int4_tflite")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert ("ERROR: --variants: unknown variant(s) 'int4_tflite'; known: baseline, pruned, "
            "pruned_tflite, pruned_quantized_tflite, int8_tflite,") in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []


def test_bad_data_stops_the_session_before_tensorflow_is_imported(tmp_path: Path) -> None:
    """The data is loaded before collection looks for the runtimes (tf.lite's check imports
    TensorFlow, 5 s): a session that cannot load its data says so in a second."""
    done = subprocess.run([sys.executable, "-X", "importtime", *bench_command(
        tmp_path / "results", "--mnist", str(tmp_path / "nowhere.npz"))[1:]], cwd=REPO_ROOT,
        env=bench_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert "as MNIST: nothing exists at this path." in done.stdout + done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "pytest" in imported and "tensorflow" not in imported


def test_a_bench_session_does_not_import_hypothesis(tmp_path: Path) -> None:
    """hypothesis' pytest plugin imports all of hypothesis at the end of a session (0.8 s);
    bench/conftest.py leaves the plugin out of sessions without hypothesis tests."""
    done = subprocess.run([sys.executable, "-X", "importtime", *bench_command(
        tmp_path / "results", "--collect-only")[1:]], cwd=REPO_ROOT, env=bench_env(tmp_path),
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "pytest" in imported and "hypothesis" not in imported
