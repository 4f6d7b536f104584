"""TensorFlow and Keras set-up that must happen before TensorFlow is first imported.

tfmot prunes only Keras 2 models. TensorFlow >= 2.16 ships Keras 3 as `tf.keras` unless
`TF_USE_LEGACY_KERAS=1` is set *before* TensorFlow is imported, in which case `tf.keras` is the
`tf_keras` package. Getting this wrong fails late and obscurely inside `prune_low_magnitude`, so
every entry point calls `ensure_legacy_keras()` first and gets a message that says what to do.
"""
from __future__ import annotations

import os
import sys
from types import ModuleType

LEGACY_KERAS_VARIABLE = "TF_USE_LEGACY_KERAS"

#: Oldest TensorFlow line the suite supports (the tox matrix starts there).
MIN_TENSORFLOW = (2, 15)


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
