"""Keras -> TFLite conversion, float and with post-training (dynamic-range) quantization."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline import tfenv


def to_tflite(model: Any, path: Path, quantize: bool) -> Path:
    """Convert with TFLiteConverter.from_keras_model; `quantize` adds Optimize.DEFAULT."""
    tf = tfenv.tensorflow()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path.write_bytes(converter.convert())
    return path


def save_h5(model: Any, path: Path) -> Path:
    """Save as .h5 without the optimizer, as the reference does before measuring size."""
    tfenv.keras().models.save_model(model, str(path), include_optimizer=False)
    return path
