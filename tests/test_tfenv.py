"""Environment mistakes are caught before training, each with a message that says what to do.

TensorFlow itself is replaced by small fakes in sys.modules: what is tested is the decision and
the message, which must not depend on which TensorFlow happens to be installed. The check for
two TensorFlow distributions reads fake *.dist-info folders in a temporary site directory; one
test checks the environment that runs the tests, which CI installs from requirements/tf-2.21.txt.
"""
from __future__ import annotations

import builtins
import sys
import types
from pathlib import Path

import pytest

from pipeline import tfenv
from pipeline.measure import interpreters, runtimes
from pipeline.tfenv import LEGACY_KERAS_VARIABLE, EnvironmentProblem
from tests.helpers import TF_FILES, fake_distribution


def fake_tensorflow(version: str, keras: object) -> types.ModuleType:
    module = types.ModuleType("tensorflow")
    module.__version__ = version  # type: ignore[attr-defined]
    module.keras = keras  # type: ignore[attr-defined]
    return module


def keras_with_version(version: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(version=lambda: version)


@pytest.fixture
def legacy_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LEGACY_KERAS_VARIABLE, "1")


def test_variable_set_after_tensorflow_import_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEGACY_KERAS_VARIABLE, raising=False)
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow("2.21.0", None))
    with pytest.raises(EnvironmentProblem) as excinfo:
        tfenv.ensure_legacy_keras()
    assert str(excinfo.value) == (
        "TensorFlow was imported before TF_USE_LEGACY_KERAS=1 was set, so tf.keras may be "
        "Keras 3, which tfmot cannot prune. Set TF_USE_LEGACY_KERAS=1 in the environment, or "
        "import pipeline before tensorflow.")


def test_variable_is_set_when_tensorflow_is_not_yet_imported(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEGACY_KERAS_VARIABLE, raising=False)
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    tfenv.ensure_legacy_keras()
    assert tfenv.os.environ[LEGACY_KERAS_VARIABLE] == "1"


@pytest.mark.usefixtures("legacy_set")
def test_keras_3_names_the_tf_keras_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow",
                        fake_tensorflow("2.21.0", keras_with_version("3.15.1")))
    with pytest.raises(EnvironmentProblem) as excinfo:
        tfenv.keras()
    assert str(excinfo.value) == (
        "Keras 2 is not available (tf.keras is Keras 3.15.1); tfmot cannot prune Keras 3 "
        "models. Install tf-keras of the same minor version as TensorFlow (pip install "
        "'tf-keras==2.21.*') and keep TF_USE_LEGACY_KERAS=1 set before TensorFlow is imported.")


@pytest.mark.usefixtures("legacy_set")
def test_missing_tf_keras_is_reported_with_the_install_command(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class NoKeras(types.ModuleType):
        @property
        def keras(self) -> object:
            raise ImportError("Keras cannot be imported. Check that it is installed.")

    tf = NoKeras("tensorflow")
    tf.__version__ = "2.19.1"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tensorflow", tf)
    with pytest.raises(EnvironmentProblem, match=r"pip install 'tf-keras==2\.19\.\*'"):
        tfenv.keras()


@pytest.mark.usefixtures("legacy_set")
def test_keras_2_is_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    keras = types.SimpleNamespace(__version__="2.15.0")  # TF 2.15's own Keras: no version()
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow("2.15.1", keras))
    assert tfenv.keras() is keras


@pytest.mark.usefixtures("legacy_set")
def test_unsupported_tensorflow_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", fake_tensorflow("2.13.1", None))
    with pytest.raises(EnvironmentProblem) as excinfo:
        tfenv.tensorflow()
    assert str(excinfo.value) == (
        "TensorFlow 2.13.1 is not supported: the suite needs TensorFlow >= 2.15. Install a "
        "supported version (see tox.ini for the tested lines).")


@pytest.mark.usefixtures("legacy_set")
def test_missing_tfmot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow",
                        fake_tensorflow("2.21.0", types.SimpleNamespace(__version__="2.21.0")))
    monkeypatch.delitem(sys.modules, "tensorflow_model_optimization", raising=False)
    real_import = builtins.__import__

    def no_tfmot(name: str, *args: object, **kwargs: object) -> object:
        if name == "tensorflow_model_optimization":
            raise ImportError("No module named 'tensorflow_model_optimization'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tfmot)
    with pytest.raises(EnvironmentProblem) as excinfo:
        tfenv.tfmot()
    assert str(excinfo.value) == (
        "tensorflow-model-optimization is not importable (No module named "
        "'tensorflow_model_optimization'); install it (pip install "
        "tensorflow-model-optimization, 0.8.1 for TensorFlow 2.21).")


def test_missing_litert_is_a_named_unavailable_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtimes.importlib.util, "find_spec",
                        lambda name: None if name == "ai_edge_litert" else object())
    with pytest.raises(interpreters.RuntimeUnavailable) as excinfo:
        interpreters.interpreter_class("ai_edge_litert")
    assert str(excinfo.value) == "ai_edge_litert is not installed (pip install ai-edge-litert)"


def test_unknown_runtime() -> None:
    with pytest.raises(ValueError,
                       match=r"unknown runtime 'tflite'; known: tf.lite, ai_edge_litert"):
        interpreters.interpreter_class("tflite")


def test_one_tensorflow_distribution_passes(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "tensorflow", "2.21.0", TF_FILES, "tensorflow\n")
    # Distributions that share only a name prefix, or the package's subfolders, do not count.
    fake_distribution(tmp_path, "tf_keras", "2.21.0", ["tf_keras/__init__.py"], "tf_keras\n")
    fake_distribution(tmp_path, "tensorflow-model-optimization", "0.8.1",
                      ["tensorflow_model_optimization/__init__.py"])
    fake_distribution(tmp_path, "tensorflow-plugin", "1.0", ["tensorflow/plugins/x.so"])
    assert tfenv.tensorflow_distributions([str(tmp_path)]) == [("tensorflow", "2.21.0")]
    assert tfenv.ensure_single_tensorflow([str(tmp_path)]) == ("tensorflow", "2.21.0")


def test_windows_metadata_only_tensorflow_is_not_a_second_one(tmp_path: Path) -> None:
    # TensorFlow <= 2.15 on Windows: `tensorflow` ships no files, only a dependency on
    # tensorflow-intel, which holds the package (as the real 2.15.1 win_amd64 wheel does).
    fake_distribution(tmp_path, "tensorflow", "2.15.1", [], "\n")
    fake_distribution(tmp_path, "tensorflow-intel", "2.15.1", TF_FILES, "tensorflow\n")
    assert tfenv.ensure_single_tensorflow([str(tmp_path)]) == ("tensorflow-intel", "2.15.1")


def test_tensorflow_and_tensorflow_cpu_are_refused(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "tensorflow", "2.21.0", TF_FILES, "tensorflow\n")
    fake_distribution(tmp_path, "tensorflow_cpu", "2.21.0", TF_FILES, "tensorflow\n")
    assert tfenv.tensorflow_distributions([str(tmp_path)]) == [
        ("tensorflow", "2.21.0"), ("tensorflow-cpu", "2.21.0")]
    with pytest.raises(EnvironmentProblem) as excinfo:
        tfenv.ensure_single_tensorflow([str(tmp_path)])
    assert str(excinfo.value) == (
        "2 distributions provide the tensorflow package: tensorflow 2.21.0, tensorflow-cpu "
        "2.21.0. They unpack into the same tensorflow/ folder, so which files `import "
        "tensorflow` loads is whichever was unpacked last, and uninstalling one breaks the "
        "other. Uninstall all of them, then reinstall one: pip uninstall -y tensorflow "
        "tensorflow-cpu, then pip install -r requirements/tf-2.21.txt (it pins the one "
        "TensorFlow distribution that tf-keras requires).")


def test_nightly_is_recognised(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "tf-nightly", "2.22.0.dev20260301", TF_FILES, "tensorflow\n")
    assert tfenv.tensorflow_distributions([str(tmp_path)]) == [
        ("tf-nightly", "2.22.0.dev20260301")]
    fake_distribution(tmp_path, "tensorflow", "2.21.0", TF_FILES, "tensorflow\n")
    with pytest.raises(EnvironmentProblem) as excinfo:
        tfenv.ensure_single_tensorflow([str(tmp_path)])
    # Two lines, so no one requirements file is named.
    assert str(excinfo.value).endswith(
        "pip uninstall -y tensorflow tf-nightly, then pip install -r requirements/tf-X.Y.txt "
        "for the TensorFlow line you want (tox.ini lists them).")


def test_distribution_without_record_is_judged_by_top_level(tmp_path: Path) -> None:
    info = tmp_path / "tf_nightly_cpu-2.22.0.dev20260301.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tf-nightly-cpu\n"
                                   "Version: 2.22.0.dev20260301\n")
    (info / "top_level.txt").write_text("tensorflow\n")
    assert tfenv.tensorflow_distributions([str(tmp_path)]) == [
        ("tf-nightly-cpu", "2.22.0.dev20260301")]


def test_a_folder_listed_twice_counts_its_tensorflow_once(tmp_path: Path) -> None:
    fake_distribution(tmp_path, "tensorflow", "2.21.0", TF_FILES, "tensorflow\n")
    assert tfenv.ensure_single_tensorflow([str(tmp_path), str(tmp_path)]) == (
        "tensorflow", "2.21.0")


def test_installed_environment_holds_exactly_one_tensorflow() -> None:
    # requirements/tf-*.txt pin the distribution tf-keras requires (`tensorflow`), so an install
    # from them holds one; pinning tensorflow-cpu there made pip install both.
    tfenv.ensure_single_tensorflow()
    installed = tfenv.tensorflow_distributions()
    assert len(installed) == 1, f"TensorFlow distributions installed: {installed}"
