"""What a run was made with: versions, machine, code revision. Recorded on every CSV row.

A comparison is only meaningful between runs whose differences are known; these columns are
how `bench compare` tells a TensorFlow upgrade from a machine change.
"""
from __future__ import annotations

import os
import platform
import secrets
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from pipeline import REPO_ROOT
from pipeline.tfenv import TENSORFLOW_PACKAGE, distributions_providing

#: CSV column -> distribution names to try, first installed wins.
_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "tensorflow": ("tensorflow-cpu", "tensorflow", "tensorflow-intel"),
    "tf_keras": ("tf-keras", "tf_keras"),
    "tfmot": ("tensorflow-model-optimization",),
    "litert": ("ai-edge-litert", "ai-edge-litert-nightly"),
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


#: CSV column -> the import package whose providing distribution the run records.
_PROVIDED_PACKAGES: dict[str, str] = {"tensorflow": TENSORFLOW_PACKAGE, "tf_keras": "tf_keras",
                                      "litert": "ai_edge_litert"}


def provider(column: str, path: Iterable[str] | None = None) -> tuple[str, str]:
    """(distribution, version) that provides the import package of a CSV column (tensorflow,
    tf_keras, litert), whatever the distribution is called: tensorflow, tensorflow-cpu,
    tf-nightly, tf-keras-nightly, ai-edge-litert-nightly, a locally built wheel. ("", "") when
    none does; several (an environment `pytest bench` refuses, pipeline.tfenv) are joined with
    "+". `path`: the folders to search (default sys.path)."""
    found = distributions_providing(_PROVIDED_PACKAGES[column], path)
    return "+".join(name for name, _ in found), "+".join(version for _, version in found)


def installed(column: str, path: Iterable[str] | None = None) -> tuple[str, str]:
    """(distribution, version) a run records for tensorflow, tf_keras or litert: the one that
    provides the package (so a nightly records its own name and version), else ("",
    package_version) when none is found by its files."""
    name, version = provider(column, path)
    return (name, version) if version else ("", package_version(column))


def cpu_model(cpuinfo: str | None = None) -> str:
    """The CPU's full model name plus vendor, family, model and stepping when the kernel reports
    them: latency is only comparable between runs on the same CPU, and virtual machines often
    report a model name as coarse as "AMD EPYC", which alone cannot tell CPU generations apart.
    `cpuinfo` is the text of /proc/cpuinfo (read when None)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() not in fields:  # the first processor's block
            fields[name.strip()] = value.strip()
    name = fields.get("model name") or platform.processor() or platform.machine()
    ids = [f"{label} {fields[key]}" for key, label in (
        ("cpu family", "family"), ("model", "model"), ("stepping", "stepping")) if key in fields]
    if not ids:
        return name
    vendor = fields.get("vendor_id", "")
    return f"{name} ({' '.join(([vendor] if vendor else []) + ids)})"


def cpu_count() -> int:
    """CPUs this process may run on (its affinity), which is what a 2-thread latency can use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def platform_label() -> str:
    """OS-kernel release-architecture, e.g. "Linux-6.18.44-fc-v669-x86_64"."""
    return f"{platform.system()}-{platform.release()}-{platform.machine()}"


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
    tensorflow_version = installed("tensorflow")[1] or "none"
    return f"{now:%Y%m%dT%H%M%SZ}_tf{tensorflow_version}_{secrets.token_hex(3)}"
