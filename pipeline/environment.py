"""What a run was made with: versions, machine, code revision. Recorded on every CSV row.

A comparison is only meaningful between runs whose differences are known; these columns are
how `pipeline.compare` tells a TensorFlow upgrade from a machine change.
"""
from __future__ import annotations

import platform
import secrets
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pipeline.results import RunInfo

REPO_ROOT = Path(__file__).resolve().parent.parent

#: CSV column -> distribution names to try, first installed wins.
_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
    "tf_keras": ("tf-keras", "tf_keras"),
    "tfmot": ("tensorflow-model-optimization",),
    "litert": ("ai-edge-litert",),
    "numpy": ("numpy",),
}


def package_version(column: str) -> str:
    """Installed version for a CSV column, or "" when none of its distributions is installed."""
    for name in _DISTRIBUTIONS[column]:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return ""


def cpu_model() -> str:
    """The CPU's model name: latency is only comparable between runs on the same CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def git_state() -> tuple[str, bool]:
    """(commit, dirty); ("", False) outside a git checkout."""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return "", False
    status = _git("status", "--porcelain", "--untracked-files=no")
    return commit, bool(status)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable, readable, and unique even for two sessions started in the same second."""
    now = now or datetime.now(UTC)
    tensorflow_version = package_version("tensorflow") or "none"
    return f"{now:%Y%m%dT%H%M%SZ}_tf{tensorflow_version}_{secrets.token_hex(3)}"


def collect_run_info(run_id: str, dataset_sha256: str, seed: int) -> RunInfo:
    """Everything about this run except its measurements."""
    commit, dirty = git_state()
    return RunInfo(
        run_id=run_id,
        timestamp_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        git_commit=commit, git_dirty=dirty,
        python=platform.python_version(),
        tensorflow=package_version("tensorflow"), tf_keras=package_version("tf_keras"),
        tfmot=package_version("tfmot"), litert=package_version("litert"),
        numpy=package_version("numpy"),
        platform=f"{platform.system()}-{platform.release()}-{platform.machine()}",
        cpu=cpu_model(), dataset_sha256=dataset_sha256, seed=seed,
    )


