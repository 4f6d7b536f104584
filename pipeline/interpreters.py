"""TFLite interpreters from either runtime, and accuracy over the test set.

Two runtimes run the same .tflite file: TensorFlow's own `tf.lite.Interpreter` (deprecated) and
its successor `ai_edge_litert.interpreter.Interpreter`. A TensorFlow upgrade can change either,
so latency is measured on both; accuracy uses `tf.lite`, as the reference recipe does.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import tfenv

RUNTIMES: tuple[str, ...] = ("tf.lite", "ai_edge_litert")
ACCURACY_RUNTIME = "tf.lite"


class RuntimeUnavailable(RuntimeError):
    """The requested interpreter runtime is not installed; the message says how to get it."""


def _tf_lite_interpreter() -> Callable[..., Any]:
    return tfenv.tensorflow().lite.Interpreter


def _litert_interpreter() -> Callable[..., Any]:
    if importlib.util.find_spec("ai_edge_litert") is None:
        raise RuntimeUnavailable("ai_edge_litert is not installed (pip install ai-edge-litert)")
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter


_FACTORIES: dict[str, Callable[[], Callable[..., Any]]] = {
    "tf.lite": _tf_lite_interpreter,
    "ai_edge_litert": _litert_interpreter,
}


def interpreter_class(runtime: str) -> Callable[..., Any]:
    """The Interpreter class of `runtime`; RuntimeUnavailable when it is not installed."""
    try:
        factory = _FACTORIES[runtime]
    except KeyError:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}") from None
    return factory()


def load_interpreter(path: Path, runtime: str = ACCURACY_RUNTIME,
                     num_threads: int | None = None) -> Any:
    """An interpreter for the model at `path` with tensors allocated."""
    interpreter = interpreter_class(runtime)(model_path=str(path), num_threads=num_threads)
    interpreter.allocate_tensors()
    return interpreter


def ready_to_invoke(path: Path, image: np.ndarray, runtime: str, num_threads: int) -> Any:
    """An interpreter whose input already holds `image`, so timing covers `invoke()` alone."""
    interpreter = load_interpreter(path, runtime, num_threads)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], image[np.newaxis].astype(detail["dtype"]))
    return interpreter


def tflite_accuracy(path: Path, x_test: np.ndarray, y_test: np.ndarray) -> float:
    """Interpreter accuracy over all of `x_test`, one image per invoke, as the reference does.

    Batched invokes were tried and are slower here (0.30 s vs 0.17 s for 10,000 images with
    TF 2.21): XNNPACK re-plans for the resized input, while a single-image invoke is ~15 us.
    """
    interpreter = load_interpreter(path)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    predictions = np.empty(len(x_test), dtype=np.int64)
    for i, image in enumerate(x_test.astype(np.float32)):
        interpreter.set_tensor(input_index, image[np.newaxis])
        interpreter.invoke()
        predictions[i] = np.argmax(interpreter.get_tensor(output_index)[0])
    return float(np.mean(predictions == y_test))
