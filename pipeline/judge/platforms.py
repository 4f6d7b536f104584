"""What a run's recorded platform label means to the judge: which part of it latency and
instruction counts depend on. Pure (no I/O): measure/environment.py writes the label
(platform_label), this reads it back, for any run, on any machine.
"""
from __future__ import annotations

import re


def comparable_platform(label: str) -> str:
    """The part of a platform label that latency depends on: OS, architecture and kernel
    major.minor ("Linux 6.18 x86_64"). A kernel patch release (6.18.44 -> 6.18.45) does not
    make history incomparable; another minor version, OS or architecture does. A label this
    module did not write is returned whole, so it only matches itself."""
    system, _, rest = label.partition("-")
    release, _, machine = rest.rpartition("-")
    version = re.match(r"(\d+)\.(\d+)", release)
    # An architecture is one word (x86_64, aarch64); anything else, e.g. the "glibc2.39" that
    # ends platform.platform(), means the label is not one of ours.
    if not (system and version and re.fullmatch(r"\w+", machine)):
        return label
    return f"{system} {version.group(1)}.{version.group(2)} {machine}"


def architecture(label: str) -> str:
    """The architecture of a platform label ("x86_64"); a label this module did not write is
    returned whole, so it only matches itself."""
    machine = label.rpartition("-")[2]
    return machine if re.fullmatch(r"\w+", machine) and "-" in label else label
