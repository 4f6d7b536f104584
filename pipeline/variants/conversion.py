"""Keras -> TFLite conversion with declared converter settings, and the .h5 save.

A variant's conversion is data (`ConverterSettings`), not a branch: the reference recipe's float
and dynamic-range models, float16, full-integer int8 with a representative dataset, and the
sparse encoding are all one function with different settings.

A conversion takes the model's SavedModel export, as `TFLiteConverter.from_keras_model` does
inside (it saves the model to a temporary SavedModel with the same options, then converts
that), but the export is done once per model and shared by all its conversions: the save
traces every layer and costs what the conversion does (3.5 of 6.5 s for the 105 layers of
mobilenet_v3_small, TF 2.21). The file is byte for byte the one from_keras_model writes: its
conversion metadata records the original model format as a Keras model, as from_keras_model's
does (from_saved_model would record TF_SAVED_MODEL, and that one byte changes the zipped size
of mnist_cnn's pruned_tflite by one). tests/test_conversion.py compares the two. A model
that cannot be saved goes to from_keras_model, which then converts its frozen graph.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import tfenv


@dataclass(frozen=True)
class ConverterSettings:
    """What TFLiteConverter is told beyond the model.

    `optimizations` names `tf.lite.Optimize` members (DEFAULT, EXPERIMENTAL_SPARSITY);
    `supported_types` names dtypes (float16); `representative_images` > 0 feeds that many
    training images as the representative dataset (full-integer calibration); `integer_io`
    makes input and output int8 with int8 kernels only.
    """

    optimizations: tuple[str, ...] = ()
    supported_types: tuple[str, ...] = ()
    representative_images: int = 0
    integer_io: bool = False


FLOAT = ConverterSettings()
DYNAMIC_RANGE = ConverterSettings(optimizations=("DEFAULT",))


#: tflite's conversion metadata value ModelType.KERAS_MODEL
#: (tensorflow/lite/python/conversion_metadata_schema_py_generated.py), what from_keras_model
#: records as the original model format.
KERAS_MODEL_TYPE = 2


@dataclass(frozen=True)
class KerasExport:
    """A Keras model's SavedModel folder, written by `export_saved_model`."""

    folder: Path


def export_saved_model(model: Any, folder: Path) -> KerasExport:
    """Write `model` to `folder` as the SavedModel that `from_keras_model` converts (its own
    `tf.saved_model.save` call, debug info kept), for `to_tflite` to convert as often as
    needed."""
    tf = tfenv.tensorflow()
    tf.saved_model.save(model, str(folder),
                        options=tf.saved_model.SaveOptions(save_debug_info=True))
    return KerasExport(folder)


def to_tflite(model: Any, path: Path, settings: ConverterSettings = FLOAT,
              representative: np.ndarray | None = None) -> Path:
    """Convert with `settings`; write `path`.

    `model` is what `export_saved_model` wrote, or a Keras model, converted by
    `from_keras_model` (which exports it itself, or, if it cannot be saved, converts its frozen
    graph). `representative` holds the calibration images (already scaled) when
    `settings.representative_images` > 0.
    """
    tf = tfenv.tensorflow()
    if isinstance(model, KerasExport):
        converter = tf.lite.TFLiteConverter.from_saved_model(str(model.folder))
        # The metadata from_keras_model writes for the same export (a TF without conversion
        # metadata has no such attribute, and no such byte to differ).
        metadata = getattr(converter, "_metadata", None)
        if metadata is not None:
            metadata.environment.modelType = KERAS_MODEL_TYPE
    else:
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [getattr(tf.lite.Optimize, name) for name in settings.optimizations]
    if settings.supported_types:
        converter.target_spec.supported_types = [getattr(tf, name)
                                                 for name in settings.supported_types]
    if settings.representative_images:
        if representative is None or len(representative) < settings.representative_images:
            raise ValueError(f"{settings.representative_images} representative images needed, "
                             f"got {0 if representative is None else len(representative)}")
        images = representative[:settings.representative_images].astype(np.float32)

        def dataset() -> Iterator[list[np.ndarray]]:
            for image in images:
                yield [image[np.newaxis]]

        converter.representative_dataset = dataset
    if settings.integer_io:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


def save_h5(model: Any, path: Path) -> Path:
    """Save as .h5 without the optimizer, as the reference does before measuring size."""
    tfenv.keras().models.save_model(model, str(path), include_optimizer=False)
    return path
