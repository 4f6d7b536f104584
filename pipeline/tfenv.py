"""TensorFlow and Keras set-up that must happen before TensorFlow is first imported.

tfmot prunes only Keras 2 models. TensorFlow >= 2.16 ships Keras 3 as `tf.keras` unless
`TF_USE_LEGACY_KERAS=1` is set *before* TensorFlow is imported, in which case `tf.keras` is the
`tf_keras` package. Getting this wrong fails late and obscurely inside `prune_low_magnitude`, so
every entry point calls `ensure_legacy_keras()` first and gets a message that says what to do.

An environment must also hold exactly one distribution of TensorFlow (`ensure_single_tensorflow`):
tensorflow, tensorflow-cpu, tf-nightly and the others all install the same `tensorflow/` folder.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from importlib import metadata
from types import ModuleType

from pipeline import REPO_ROOT

LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"

#: Oldest TensorFlow line the suite supports (the tox matrix starts there).
MIN_TENSORFLOW = (2, 15)

#: The import package that every TensorFlow distribution installs.
TENSORFLOW_PACKAGE = "tensorflow"

#: requirements/tf-X.Y.txt, one per supported line: what to reinstall from.
REQUIREMENTS_DIR = REPO_ROOT / "requirements"


class EnvironmentProblem(RuntimeError):
    """The Python environment cannot run the recipe; the message says what to install or set."""


def ensure_legacy_keras() -> None:
    """Put `TF_USE_LEGACY_KERAS=1` in force, or fail if it is too late to do so.

    Safe to call many times. When TensorFlow was already imported without the variable, its
    `tf.keras` may already be bound to Keras 3 and setting the variable now changes nothing:
    that is an error the caller must fix at the import site, not something to paper over.
    """
    if os.environ.get(LEGACY_KERAS_VARIABLE) == "1":
        return
    if "tensorflow" in sys.modules:
        raise EnvironmentProblem(
            f"TensorFlow was imported before {LEGACY_KERAS_VARIABLE}=1 was set, so tf.keras may "
            f"be Keras 3, which tfmot cannot prune. Set {LEGACY_KERAS_VARIABLE}=1 in the "
            f"environment, or import pipeline before tensorflow.")
    os.environ[LEGACY_KERAS_VARIABLE] = "1"


def _version_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def tensorflow() -> ModuleType:
    """Import TensorFlow with legacy Keras in force and check the version is supported."""
    ensure_legacy_keras()
    import tensorflow as tf

    if _version_tuple(tf.__version__) < MIN_TENSORFLOW:
        raise EnvironmentProblem(
            f"TensorFlow {tf.__version__} is not supported: the suite needs TensorFlow >= "
            f"{'.'.join(map(str, MIN_TENSORFLOW))}. Install a supported version "
            f"(see tox.ini for the tested lines).")
    return tf


def keras() -> ModuleType:
    """The Keras 2 module that tfmot works with: `tf.keras` once legacy Keras is in force.

    With the variable set that is the `tf_keras` package, on 2.15 as on later lines (2.15
    bundles Keras 2 but honours the variable too). Models must be built with exactly this
    module, or tfmot refuses them ("can only prune an object of the following types").
    """
    tf = tensorflow()
    try:
        module = tf.keras
        version_fn = getattr(module, "version", None)
        version = version_fn() if version_fn else getattr(module, "__version__", "2")
    except ImportError as exc:  # TF >= 2.16 with the variable set but tf-keras missing
        raise EnvironmentProblem(_install_tf_keras(tf.__version__, str(exc))) from None
    if str(version).startswith("3."):
        raise EnvironmentProblem(_install_tf_keras(tf.__version__, f"tf.keras is Keras {version}"))
    return module


def _install_tf_keras(tf_version: str, why: str) -> str:
    major, minor = _version_tuple(tf_version)
    return (f"Keras 2 is not available ({why}); tfmot cannot prune Keras 3 models. "
            f"Install tf-keras of the same minor version as TensorFlow "
            f"(pip install 'tf-keras=={major}.{minor}.*') and keep "
            f"{LEGACY_KERAS_VARIABLE}=1 set before TensorFlow is imported.")


def tfmot() -> ModuleType:
    """Import tensorflow-model-optimization after Keras is known to be usable."""
    keras()
    try:
        import tensorflow_model_optimization as module
    except ImportError as exc:
        raise EnvironmentProblem(
            f"tensorflow-model-optimization is not importable ({exc}); install it "
            f"(pip install tensorflow-model-optimization, 0.8.1 for TensorFlow 2.21).") from None
    return module


def _normalized(name: str) -> str:
    """A distribution name as pip prints it (PEP 503 form): tensorflow_cpu -> tensorflow-cpu."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _provides(distribution: metadata.Distribution, package: str) -> bool:
    """Whether `distribution` installed `package/__init__.py`, the file `import package` runs.

    Read from the wheel's RECORD (what pip unpacked), not from the distribution's name: that also
    catches tf-nightly, tf-nightly-cpu, tensorflow-intel, tensorflow-cpu-aws, or a name not yet
    seen, and it leaves out the metadata-only `tensorflow` that Windows gets for TensorFlow
    <= 2.15 (no files, only a dependency on tensorflow-intel, which holds the package). RECORD is
    searched as text because TensorFlow's lists ~20,000 files. Without a RECORD (not installed by
    a wheel), top_level.txt decides.
    """
    record = distribution.read_text("RECORD")
    if record is not None:
        entry = f"{package}/__init__.py,"
        return record.startswith(entry) or f"\n{entry}" in record
    top_level = distribution.read_text("top_level.txt") or ""
    return package in top_level.split()


def tensorflow_distributions(path: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(name, version) of every installed distribution that provides the `tensorflow` package,
    sorted by name, names as pip spells them ("tensorflow-cpu"); see distributions_providing."""
    return distributions_providing(TENSORFLOW_PACKAGE, path)


def distributions_providing(package: str,
                            path: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(name, version) of every installed distribution that provides the import package
    `package` (tensorflow, or tf_keras, which tf-keras-nightly provides too), sorted by name,
    names as pip spells them.

    `path` is the list of folders to search (default `sys.path`, what `import tensorflow` would
    search). Reads metadata files only: it does not import TensorFlow, so it is cheap and can run
    before `ensure_legacy_keras()`. A name found twice on the path (a folder listed twice, or the
    same distribution in two folders) counts once, with the version of the first, as
    `importlib.metadata.version` reports it.
    """
    distributions = (metadata.distributions() if path is None
                     else metadata.distributions(path=list(path)))
    found: dict[str, str] = {}
    for distribution in distributions:
        if _provides(distribution, package):  # first: parsing METADATA costs more than RECORD
            found.setdefault(_normalized(distribution.metadata["Name"] or "?"),
                             distribution.version)
    return sorted(found.items())


def ensure_single_tensorflow(path: Iterable[str] | None = None) -> tuple[str, str] | None:
    """Fail when more than one distribution provides the `tensorflow` package.

    They are not alternatives side by side: tensorflow and tensorflow-cpu (or tf-nightly, ...)
    unpack into one `tensorflow/` folder, so where both ship a file (libtensorflow_cc.so.2,
    libtensorflow_framework.so.2, build_info.py, ... for 2.21) the one `import tensorflow` loads
    is whichever distribution was unpacked last, and uninstalling either deletes files the other
    needs. Which TensorFlow a run measured is then unknowable from `pip list`. The cure is to
    remove all of them and reinstall one, which is what the message says.

    Returns the one (name, version) installed, or None when there is none (importing TensorFlow
    then fails with its own message). `path` as for `tensorflow_distributions`.
    """
    installed = tensorflow_distributions(path)
    if len(installed) <= 1:
        return installed[0] if installed else None
    listed = ", ".join(f"{name} {version}" for name, version in installed)
    names = " ".join(name for name, _ in installed)
    lines = {".".join(map(str, _version_tuple(version))) for _, version in installed}
    line = lines.pop() if len(lines) == 1 else ""
    if line and (REQUIREMENTS_DIR / f"tf-{line}.txt").is_file():
        reinstall = (f"pip install -r requirements/tf-{line}.txt (it pins the one TensorFlow "
                     f"distribution that tf-keras requires)")
    else:
        reinstall = ("pip install -r requirements/tf-X.Y.txt for the TensorFlow line you want "
                     "(tox.ini lists them)")
    raise EnvironmentProblem(
        f"{len(installed)} distributions provide the {TENSORFLOW_PACKAGE} package: {listed}. "
        f"They unpack into the same {TENSORFLOW_PACKAGE}/ folder, so which files `import "
        f"{TENSORFLOW_PACKAGE}` loads is whichever was unpacked last, and uninstalling one breaks "
        f"the other. Uninstall all of them, then reinstall one: pip uninstall -y {names}, then "
        f"{reinstall}.")
