"""`pytest bench` as a user meets it, run in a subprocess: what the tests/test_bench_*.py files
share.

Each of those tests runs the real suite in a subprocess on the small committed MNIST sample, so
they cover what unit tests cannot: the exit status, the message printed, and what is (not) left
in the results folder. Nothing reaches the network: proxies point at a closed local port. A
session costs seconds of CPU, so sessions whose result several tests check run once per module
(module-scoped fixtures), and each file is one area: the xdist workers take a file at a time.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from pipeline.results import Run, read_results

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
RUNS = REPO_ROOT / "tests" / "fixtures" / "runs"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"
#: How the terminal summary ends the line that names a partial run.
PARTIAL_SUFFIX = "(never chosen as a reference run)"


def bench_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any MNIST source, and no way out to the network. Each
    test's sessions register in a registry of their own, so a session of another test (or a
    developer's own `pytest bench`) does not count as sharing the machine here. The variables
    this test's own pytest sets are left out too: under an xdist worker, PYTEST_XDIST_WORKER
    would turn pytest-benchmark off in the session."""
    env = {k: v for k, v in os.environ.items()
           if k != "MNIST_PATH" and not k.startswith("PYTEST_")}
    env.update(KERAS_HOME=str(tmp_path / "keras_home"), HTTPS_PROXY=CLOSED_PORT_PROXY,
               HTTP_PROXY=CLOSED_PORT_PROXY, TF_CPP_MIN_LOG_LEVEL="2",
               BENCH_SESSION_REGISTRY=str(tmp_path / "session_registry"))
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


def only_run(tmp_path: Path) -> Run:
    """The one results CSV a session wrote, read by the strict reader."""
    (path,) = results_files(tmp_path)
    return read_results(path)


def partial_line(reason: str) -> str:
    return f"partial:   {reason} {PARTIAL_SUFFIX}"


def written_by(session: Session) -> Path:
    """The CSV a session's summary names on its `results:` line."""
    found = re.search(r"^results:   (\S+\.csv) \(\d+ rows\)$", session.output, re.MULTILINE)
    assert found, session.output
    return Path(found.group(1))


@dataclass(frozen=True)
class Session:
    """What one finished `pytest bench` subprocess left: its exit code, output and folder."""

    returncode: int
    output: str
    folder: Path


def finished(done: subprocess.CompletedProcess[str], folder: Path) -> Session:
    return Session(done.returncode, done.stdout + done.stderr, folder)
