"""Keras -> TFLite conversion with declared converter settings, and the .h5 save.

A variant's conversion is data (`ConverterSettings`), not a branch: the reference recipe's float
and dynamic-range models, float16, full-integer int8 with a representative dataset, and the
sparse encoding are all one function with different settings.
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
    """What TFLiteConverter is told beyond `from_keras_model`.

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


def to_tflite(model: Any, path: Path, settings: ConverterSettings = FLOAT,
              representative: np.ndarray | None = None) -> Path:
    """Convert with TFLiteConverter.from_keras_model and `settings`; write `path`.

    `representative` holds the calibration images (already scaled) when
    `settings.representative_images` > 0.
    """
    tf = tfenv.tensorflow()
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
