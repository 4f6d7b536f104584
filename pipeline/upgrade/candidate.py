"""What a candidate is (a TensorFlow build or a LiteRT release), and the companions that belong
beside it.

Pure: nothing here installs or imports anything, so every rule is tested on frozen strings.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

#: Distributions built every night: their Keras 2 is tf-keras-nightly, not a tf-keras release.
NIGHTLY_DISTRIBUTIONS = frozenset({"tf-nightly", "tf-nightly-cpu"})
#: Distributions that provide the `ai_edge_litert` package: a candidate of one of them is a
#: LiteRT upgrade, installed beside the current TensorFlow (any other is a TensorFlow build).
LITERT_DISTRIBUTIONS = frozenset({"ai-edge-litert", "ai-edge-litert-nightly"})
#: The import package each kind of candidate provides, by what it upgrades.
PACKAGES = {"tensorflow": "tensorflow", "litert": "ai_edge_litert"}


class CandidateError(ValueError):
    """A candidate that cannot be installed or is not what was asked for; the message says
    what to give instead."""


@dataclass(frozen=True)
class Candidate:
    """A TensorFlow build or a LiteRT release to gate: what was given, what pip installs, what
    must then be importable."""

    #: As the user wrote it: `tf-nightly`, `tensorflow==2.22.0rc1`, `dist/tensorflow-...whl`,
    #: `ai-edge-litert==2.2.0`, `ai-edge-litert-nightly`.
    spec: str
    #: The argument pip installs: the requirement, or the wheel's absolute path.
    requirement: str
    #: The distribution that must then provide the package (`tensorflow`, `ai_edge_litert`),
    #: as pip spells it.
    distribution: str
    #: The versions that distribution may have (empty: any).
    specifier: SpecifierSet
    #: The wheel file, when the candidate is one.
    wheel: Path | None = None

    @property
    def nightly(self) -> bool:
        return self.distribution in NIGHTLY_DISTRIBUTIONS

    @property
    def upgrade(self) -> str:
        """What the candidate upgrades, as bench compare --upgrade names it: `litert` for an
        ai-edge-litert distribution, else `tensorflow`."""
        return "litert" if self.distribution in LITERT_DISTRIBUTIONS else "tensorflow"

    @property
    def package(self) -> str:
        """The import package the candidate must provide: `tensorflow` or `ai_edge_litert`."""
        return PACKAGES[self.upgrade]

    @property
    def slug(self) -> str:
        """A folder name for its environment: `tf-nightly`, `tensorflow-2.22.0rc1`."""
        text = self.wheel.stem if self.wheel is not None else self.spec
        return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()

    def accepts(self, distribution: str, version: str) -> bool:
        """Whether an installed (distribution, version) is this candidate."""
        try:
            parsed = Version(version)
        except InvalidVersion:
            return False
        return (canonicalize_name(distribution) == self.distribution
                and self.specifier.contains(parsed, prereleases=True))


def parse_candidate(spec: str) -> Candidate:
    """The candidate of `spec`: a requirement (`tf-nightly`, `tensorflow==2.22.0rc1`,
    `tensorflow-cpu>=2.22.0rc0`, `ai-edge-litert==2.2.0`, `ai-edge-litert-nightly`) or the path
    of a wheel file (`*.whl`)."""
    text = spec.strip()
    if text.endswith(".whl") and "://" not in text:  # not `name @ https://.../x.whl`
        return _wheel(text)
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise CandidateError(
            f"{spec!r} is neither a requirement nor a .whl file ({exc}); give e.g. tf-nightly, "
            f"tensorflow==2.22.0rc1, ai-edge-litert==2.2.0 or "
            f"path/to/tensorflow-2.22.0-cp311-cp311-linux_x86_64.whl"
        ) from None
    if requirement.url or requirement.marker or requirement.extras:
        raise CandidateError(
            f"{spec!r}: URLs, extras and markers are not supported; give a name with a version "
            f"(tensorflow==2.22.0rc1) or a downloaded .whl file")
    return Candidate(spec, str(requirement), canonicalize_name(requirement.name),
                     requirement.specifier)


def _wheel(text: str) -> Candidate:
    path = Path(text).expanduser().resolve()
    if not path.is_file():
        raise CandidateError(f"wheel {text} not found (looked for {path})")
    try:
        name, version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename as exc:
        raise CandidateError(f"wheel {text}: {exc}") from None
    return Candidate(text, str(path), canonicalize_name(name), SpecifierSet(f"=={version}"),
                     path)


def current_tensorflow(found: Sequence[tuple[str, str]], python: str) -> Candidate:
    """The TensorFlow a LiteRT candidate is installed beside: the one distribution providing
    `tensorflow` in the current environment (`python`), pinned to its version."""
    if len(found) != 1:
        held = ", ".join(f"{name} {version}" for name, version in found) or "none"
        raise CandidateError(f"a LiteRT candidate is installed beside the current environment's "
                             f"TensorFlow, but {python} has {len(found)} distributions "
                             f"providing the tensorflow package ({held}); pass "
                             f"--reference-python with the environment to gate it in")
    name, version = found[0]
    return parse_candidate(f"{name}=={version}")


def tf_keras_requirement(tensorflow: Candidate, tensorflow_version: str) -> str:
    """The tf-keras that belongs with the installed TensorFlow: tf-keras-nightly for a nightly,
    else the newest tf-keras of the same minor line, release candidates included (tf-keras
    2.22.0rc0 for tensorflow 2.22.0rc1; 2.21.0 for 2.21.0)."""
    if tensorflow.nightly:
        return "tf-keras-nightly"
    version = Version(tensorflow_version)
    return f"tf-keras>={version.major}.{version.minor}.0.dev0,<{version.major}.{version.minor + 1}"
