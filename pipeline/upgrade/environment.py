"""The candidate's own virtual environment: made once, reused while its inputs are unchanged.

Installed in two steps so that nothing can put a second TensorFlow beside the candidate:
first the candidate with requirements/candidate.txt and requirements/test.txt (with
dependencies) and, for a TensorFlow build, requirements/litert.txt (the LiteRT of the history),
for a LiteRT release the current environment's TensorFlow pinned; then, once the installed
TensorFlow's version is known, the tf-keras that belongs with it and tfmot, both with --no-deps
(tf-keras requires the stable `tensorflow`, tfmot requires tf-keras). Then the environment must
import the candidate, or it is refused.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from pipeline import REPO_ROOT
from pipeline.upgrade.candidate import Candidate, CandidateError, tf_keras_requirement

REQUIREMENTS = REPO_ROOT / "requirements"
#: Installed with dependencies, beside the candidate.
WITH_DEPENDENCIES = ("candidate.txt", "test.txt")
#: Installed with dependencies beside a TensorFlow candidate only: a LiteRT candidate replaces it.
LITERT = "litert.txt"
#: Installed with --no-deps, after the candidate's version is known (besides tf-keras).
WITHOUT_DEPENDENCIES = ("tfmot-no-deps.txt",)
#: Written last: an environment without it (an interrupted install) is made again.
MARKER = "bench-upgrade.json"
PIP = ("-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off")

#: Runs a command with its output shown as it comes; returns its exit code.
Stream = Callable[[Sequence[str]], int]
#: Runs a command and returns (exit code, stdout, stderr).
Capture = Callable[[Sequence[str]], tuple[int, str, str]]

#: Run by the environment's python from the repository: what it has and what it imports.
PROBE = """\
import json, sys
from pipeline.tfenv import TENSORFLOW_PACKAGE, distributions_providing, ensure_legacy_keras
found = distributions_providing(TENSORFLOW_PACKAGE)
litert = distributions_providing("ai_edge_litert")
report = {"tensorflow": found, "tf_keras": distributions_providing("tf_keras"), "litert": litert}
if sys.argv[1] == "import" and len(found) == 1:
    ensure_legacy_keras()
    import tensorflow, tf_keras, tensorflow_model_optimization
    report["imported"] = tensorflow.__version__
    report["imported_from"] = tensorflow.__file__
    report["tfmot"] = tensorflow_model_optimization.__version__
    if len(litert) == 1:
        import ai_edge_litert.interpreter
        report["litert_imported_from"] = ai_edge_litert.interpreter.__file__
print(json.dumps(report))
"""


@dataclass(frozen=True)
class Probe:
    """What the environment holds: (distribution, version) pairs providing the `tensorflow`,
    `tf_keras` and `ai_edge_litert` packages, and, after the import, what `import tensorflow`
    reported and where `ai_edge_litert.interpreter` was imported from."""

    tensorflow: tuple[tuple[str, str], ...]
    tf_keras: tuple[tuple[str, str], ...]
    imported: str = ""
    imported_from: str = ""
    tfmot: str = ""
    litert: tuple[tuple[str, str], ...] = ()
    litert_imported_from: str = ""

    @classmethod
    def parse(cls, stdout: str) -> Probe:
        last = stdout.strip().splitlines()[-1] if stdout.strip() else "{}"
        data = json.loads(last)
        return cls(tuple(map(tuple, data.get("tensorflow", []))),
                   tuple(map(tuple, data.get("tf_keras", []))),
                   data.get("imported", ""), data.get("imported_from", ""),
                   data.get("tfmot", ""), tuple(map(tuple, data.get("litert", []))),
                   data.get("litert_imported_from", ""))

    def label(self) -> str:
        """`tf-nightly 2.23.0.dev20261026, tf-keras-nightly 2.23.0.dev2026102609, ai-edge-litert
        2.3.0, tfmot 0.8.1`."""
        parts = [f"{name} {version}"
                 for name, version in self.tensorflow + self.tf_keras + self.litert]
        return ", ".join(parts + ([f"tfmot {self.tfmot}"] if self.tfmot else []))

    def providing(self, package: str) -> tuple[tuple[str, str], ...]:
        """The distributions providing an import package: `tensorflow` or `ai_edge_litert`."""
        return self.tensorflow if package == "tensorflow" else self.litert


#: How each import package's provider is named in messages, and what one distribution of it is.
_NAME = {"tensorflow": "TensorFlow", "ai_edge_litert": "LiteRT"}
_KIND = {"tensorflow": "a TensorFlow build", "ai_edge_litert": "a LiteRT release"}


def installed_version(expected: Candidate, probe: Probe, *, role: str = "the candidate") -> str:
    """The version `expected` was installed as, in the package it provides (`tensorflow`, or
    `ai_edge_litert` for a LiteRT candidate); CandidateError when the environment holds no
    distribution providing that package, two of them, or another one than `expected`. `role`
    names it in the message: the candidate, or the current TensorFlow beside a LiteRT one."""
    package = expected.package
    held = probe.providing(package)
    found = ", ".join(f"{name} {version}" for name, version in held)
    if not held:
        raise CandidateError(f"installing {expected.spec} left no distribution that provides "
                             f"the {package} package; is {expected.distribution} "
                             f"{_KIND[package]}?")
    if len(held) > 1:
        raise CandidateError(f"the environment holds {len(held)} distributions providing the "
                             f"{package} package ({found}): a companion pulled in another "
                             f"{_NAME[package]}; rerun with "
                             f"--recreate, and report the requirement that did it")
    name, version = held[0]
    if not expected.accepts(name, version):
        wanted = f"{expected.distribution}{expected.specifier}"
        raise CandidateError(f"the {package} package is provided by {found}, not by {role} "
                             f"{wanted}; check the name and version given")
    return version


def check_import(candidate: Candidate, probe: Probe, beside: Candidate | None = None) -> str:
    """The installed TensorFlow's version: as installed_version for the candidate (and, for a
    LiteRT candidate, for the TensorFlow `beside` it), and `import tensorflow` must report that
    same version (a nightly's `2.23.0-dev20261026` is `2.23.0.dev20261026`); a LiteRT
    candidate's `ai_edge_litert.interpreter` must import."""
    tensorflow = tensorflow_of(candidate, beside)
    version = installed_version(tensorflow, probe, role=_role(candidate, tensorflow))
    try:
        same = Version(probe.imported) == Version(version)
    except InvalidVersion:
        same = False
    if not same:
        raise CandidateError(f"import tensorflow reports {probe.imported!r} "
                             f"({probe.imported_from or 'not importable'}), but the installed "
                             f"distribution is {probe.tensorflow[0][0]} {version}; rerun with "
                             f"--recreate")
    if candidate.upgrade == "litert":
        litert = installed_version(candidate, probe)
        if not probe.litert_imported_from:
            raise CandidateError(f"ai_edge_litert.interpreter of {probe.litert[0][0]} {litert} "
                                 f"does not import beside tensorflow {version}; rerun with "
                                 f"--recreate")
    return version


def tensorflow_of(candidate: Candidate, beside: Candidate | None) -> Candidate:
    """What must provide `tensorflow`: the candidate, or for a LiteRT candidate the current
    TensorFlow `beside` it."""
    if candidate.upgrade == "tensorflow":
        return candidate
    if beside is None:
        raise CandidateError(f"{candidate.spec} is a LiteRT candidate, installed beside the "
                             f"current TensorFlow, which was not given")
    return beside


def _role(candidate: Candidate, tensorflow: Candidate) -> str:
    return "the candidate" if tensorflow is candidate else "the current environment's"


def with_dependencies(candidate: Candidate) -> tuple[str, ...]:
    """The requirements files installed with dependencies beside the candidate: a LiteRT
    candidate takes the place of requirements/litert.txt."""
    return WITH_DEPENDENCIES + (() if candidate.upgrade == "litert" else (LITERT,))


def inputs(candidate: Candidate, beside: Candidate | None = None,
           python: str = sys.version) -> dict[str, Any]:
    """Everything the environment is made from: when any of it changes, it is made again."""
    files = {name: hashlib.sha256((REQUIREMENTS / name).read_bytes()).hexdigest()
             for name in with_dependencies(candidate) + WITHOUT_DEPENDENCIES}
    wheel = (hashlib.sha256(candidate.wheel.read_bytes()).hexdigest()
             if candidate.wheel is not None else "")
    return {"requirement": candidate.requirement, "wheel_sha256": wheel, "python": python,
            "requirements": files, "install": " ".join(PIP),
            **({"beside": beside.requirement} if beside is not None else {})}


def inputs_sha256(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CandidateEnvironment:
    path: Path
    python: Path
    probe: Probe
    tensorflow: str
    #: True when an earlier environment was reused, False when it was made now.
    reused: bool
    created_utc: str


def python_of(path: Path) -> Path:
    return path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _requirements(names: Sequence[str]) -> list[str]:
    return [arg for name in names for arg in ("-r", str(REQUIREMENTS / name))]


def prepare(candidate: Candidate, envs_dir: Path, *, recreate: bool, stream: Stream,
            capture: Capture, say: Callable[[str], None],
            beside: Candidate | None = None) -> CandidateEnvironment:
    """The candidate's environment under envs_dir/<slug>: reused when its marker records the
    same inputs (and it still imports the candidate), else made from nothing. A LiteRT
    candidate is installed `beside` the current TensorFlow (pinned), in an environment named
    after both."""
    tensorflow = tensorflow_of(candidate, beside)
    extra = () if tensorflow is candidate else (tensorflow.requirement,)
    slug = candidate.slug if not extra else f"{candidate.slug}-beside-{tensorflow.slug}"
    path = (envs_dir / slug).absolute()
    python = python_of(path)
    wanted = inputs(candidate, beside if extra else None)
    digest = inputs_sha256(wanted)
    marker = path / MARKER
    previous = _read_marker(marker)
    if not recreate and previous.get("inputs_sha256") == digest and python.is_file():
        probe = run_probe(capture, python, "import")
        version = check_import(candidate, probe, beside)
        say(f"reusing {path} ({probe.label()}; made {previous.get('created_utc')}; "
            f"--recreate installs {candidate.spec} again)")
        return CandidateEnvironment(path, python, probe, version, True,
                                    str(previous.get("created_utc")))
    reason = ("--recreate" if recreate else "its inputs changed" if previous
              else "none made yet" if not path.exists() else "an earlier install did not finish")
    say(f"making {path} for {candidate.spec} ({reason})")
    if path.exists():
        shutil.rmtree(path)
    _run(stream, [sys.executable, "-m", "venv", str(path)], "making the virtual environment")
    _run(stream, [str(python), *PIP, candidate.requirement, *extra,
                  *_requirements(with_dependencies(candidate))], f"installing {candidate.spec}")
    installed = run_probe(capture, python, "metadata")
    version = installed_version(tensorflow, installed, role=_role(candidate, tensorflow))
    if extra:
        installed_version(candidate, installed)
    companions = [tf_keras_requirement(tensorflow, version)]
    say(f"installed TensorFlow {version}; now {companions[0]} and tfmot, without dependencies")
    _run(stream, [str(python), *PIP, "--no-deps", *companions,
                  *_requirements(WITHOUT_DEPENDENCIES)], "installing tf-keras and tfmot")
    probe = run_probe(capture, python, "import")
    version = check_import(candidate, probe, beside)
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    marker.write_text(json.dumps({"inputs_sha256": digest, "inputs": wanted,
                                  "created_utc": created, "probe": asdict(probe)}, indent=2))
    say(f"made {path}: {probe.label()}")
    return CandidateEnvironment(path, python, probe, version, False, created)


def _read_marker(marker: Path) -> dict[str, Any]:
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run(stream: Stream, argv: Sequence[str], what: str) -> None:
    code = stream(argv)
    if code != 0:
        raise CandidateError(f"{what} failed (exit {code}): {' '.join(argv)}; its output is "
                             f"above")


def run_probe(capture: Capture, python: Path | str, mode: str,
              failed: str = "cannot import the candidate's TensorFlow stack") -> Probe:
    """What PROBE finds in the environment of `python` (`mode` metadata: its distributions only;
    import: and what they import as); CandidateError, saying `failed`, when it does not run."""
    code, stdout, stderr = capture([str(python), "-c", PROBE, mode])
    if code != 0:
        tail = (stderr.strip().splitlines() or ["no output"])[-1]
        raise CandidateError(f"{python} {failed} (exit {code}): {tail}")
    return Probe.parse(stdout)
