"""pipeline.variants.conversion: one SavedModel export shared by a model's conversions gives the
file TFLiteConverter.from_keras_model writes, byte for byte (the committed history's sizes were
measured on from_keras_model's files)."""
from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from pipeline import tfenv
from pipeline.run import bench_run
from pipeline.variants.conversion import (
    DYNAMIC_RANGE,
    FLOAT,
    ConverterSettings,
    export_saved_model,
    to_tflite,
)

#: The reference's two conversions, and full-integer int8 (bench's takes 200 images).
SETTINGS = {"float": FLOAT, "dynamic_range": DYNAMIC_RANGE,
            "full_integer": ConverterSettings(optimizations=("DEFAULT",),
                                              representative_images=8, integer_io=True)}


@pytest.fixture(scope="module")
def model() -> object:
    """A small CNN of the reference's layers, with weights drawn from a fixed seed."""
    keras = tfenv.keras()
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.layers.InputLayer(input_shape=(28, 28)),
                             keras.layers.Reshape((28, 28, 1)),
                             keras.layers.Conv2D(4, 3, activation="relu"),
                             keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                             keras.layers.Dense(10)])


@pytest.mark.parametrize("name", SETTINGS)
def test_a_shared_export_converts_to_from_keras_model_s_bytes(model: object, tmp_path: Path,
                                                              name: str) -> None:
    """to_tflite of the Keras model itself is from_keras_model, the conversion the history's
    files were made with."""
    images = np.random.default_rng(0).random((8, 28, 28), dtype=np.float32)
    settings = SETTINGS[name]
    export = export_saved_model(model, tmp_path / "export")
    shared = to_tflite(export, tmp_path / f"{name}.tflite", settings, images).read_bytes()
    alone = to_tflite(model, tmp_path / f"{name}_keras.tflite", settings, images).read_bytes()
    assert shared == alone


def test_a_model_that_cannot_be_exported_is_converted_as_from_keras_model_would(
        model: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """from_keras_model converts a model it cannot save from its frozen graph: the shared
    export must not turn that into a failure."""
    def refuse(*_: object) -> None:
        raise ValueError("cannot save this model")

    monkeypatch.setattr(bench_run, "export_saved_model", refuse)
    run = SimpleNamespace(_exports=tempfile.TemporaryDirectory())
    parent = SimpleNamespace(name="pruned", model=model)
    assert bench_run.BenchRun._export(run, parent) is model  # type: ignore[arg-type]
    assert not (Path(run._exports.name) / "pruned").exists()
