"""TFLite interpreters from either runtime, and accuracy over the test set.

Two runtimes run the same .tflite file, each a declared entry of runtimes.py: TensorFlow's own
`tf.lite.Interpreter` (deprecated) and its successor `ai_edge_litert.interpreter.Interpreter`.
A TensorFlow upgrade can change either, so latency is measured on both; accuracy uses
`tf.lite`, as the reference recipe does, and `ai_edge_litert` in a TensorFlow that no longer
has `tf.lite.Interpreter` (TensorFlow has it scheduled for deletion). A runtime that is not
there is a declared state of the run (`unavailable_runtimes`), not an error.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.measure.runtimes import NO_XNNPACK, RUNTIME_ENTRIES, Runtime
from pipeline.variants.pruning import kernel_key

#: The interpreters, each with its default delegate (XNNPACK on x86): runtimes.py declares them.
INTERPRETERS: tuple[str, ...] = tuple(RUNTIME_ENTRIES)
#: Every runtime a measurement can name: each interpreter in each of its kernel modes, the
#: default ones first (`tf.lite`, `ai_edge_litert`, then `tf.lite:no_xnnpack`, ...).
RUNTIMES: tuple[str, ...] = tuple(
    f"{name}{mode}" for mode in dict.fromkeys(m for e in RUNTIME_ENTRIES.values()
                                              for m in e.kernel_modes)
    for name, entry in RUNTIME_ENTRIES.items() if mode in entry.kernel_modes)
ACCURACY_RUNTIME = "tf.lite"
#: The thread count of every single-thread figure: instruction counts (gated across machines),
#: footprints, and the latency the summary and the Pareto view show. Declared here, where the
#: counting process already looks (it imports nothing it does not need).
SINGLE_THREAD = 1


class RuntimeUnavailable(RuntimeError):
    """The requested interpreter runtime is not installed; the message says how to get it."""


def interpreter_of(runtime: str) -> str:
    """The interpreter a runtime runs on: `ai_edge_litert` for `ai_edge_litert:no_xnnpack`."""
    return runtime.partition(":")[0]


def kernel_mode_of(runtime: str) -> str:
    """The kernel mode suffix of a runtime: "" (the default delegate) or `:no_xnnpack`."""
    return runtime[len(interpreter_of(runtime)):]


def runtime_entry(runtime: str) -> Runtime:
    """The declared entry of `runtime`'s interpreter; ValueError for a name no entry gives."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    return RUNTIME_ENTRIES[interpreter_of(runtime)]


def interpreter_class(runtime: str) -> Callable[..., Any]:
    """The Interpreter class of `runtime`; RuntimeUnavailable when it is not installed."""
    entry = runtime_entry(runtime)
    why = entry.missing()
    if why is not None:
        raise RuntimeUnavailable(why)
    return entry.interpreter()


def unavailable_runtimes() -> dict[str, str]:
    """Each interpreter this environment does not provide, with why, found without loading
    any: a session measures the others, and its run records these as not available
    (RunInfo.runtimes_unavailable)."""
    missing = {}
    for name, entry in RUNTIME_ENTRIES.items():
        why = entry.missing()
        if why is not None:
            missing[name] = why
    return missing


def is_available(runtime: str, unavailable: Iterable[str]) -> bool:
    """Whether `runtime` (an interpreter, or one with NO_XNNPACK) is none of `unavailable`."""
    return interpreter_of(runtime) not in set(unavailable)


def accuracy_runtime() -> str:
    """The runtime TFLite accuracy is measured on: ACCURACY_RUNTIME, or the first interpreter
    there is when this TensorFlow has none (the same kernels run the same model: both give
    the same predictions wherever both exist)."""
    missing = unavailable_runtimes()
    for name in (ACCURACY_RUNTIME, *INTERPRETERS):
        if name not in missing:
            return name
    raise RuntimeUnavailable(f"no TFLite interpreter to measure accuracy with: "
                             f"{'; '.join(missing.values())}")


def accuracy_interpreters() -> tuple[str, ...]:
    """Every interpreter TFLite accuracy is measured on: accuracy_runtime() first, then each
    other one this environment provides. A LiteRT release can change the predictions of the
    runtime a team ships while tf.lite's stay, so each interpreter's accuracy is its own row."""
    first = accuracy_runtime()
    missing = unavailable_runtimes()
    return (first, *(name for name in INTERPRETERS if name != first and name not in missing))


def create_interpreter(path: Path, runtime: str = ACCURACY_RUNTIME,
                       num_threads: int | None = None) -> Any:
    """An interpreter for the model at `path`, tensors not yet allocated."""
    options: dict[str, Any] = {}
    if kernel_mode_of(runtime) == NO_XNNPACK:
        options["experimental_op_resolver_type"] = runtime_entry(runtime).builtin_kernels_only()
    return interpreter_class(runtime)(model_path=str(path), num_threads=num_threads, **options)


def load_interpreter(path: Path, runtime: str | None = None,
                     num_threads: int | None = None) -> Any:
    """An interpreter for the model at `path` with tensors allocated (on accuracy_runtime()
    when `runtime` is None)."""
    interpreter = create_interpreter(path, runtime or accuracy_runtime(), num_threads)
    interpreter.allocate_tensors()
    return interpreter


def as_input(images: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """`images` (scaled floats) as the model's input tensor takes them.

    A full-integer model takes int8: each value is quantized with the input's own scale and
    zero point (q = round(x / scale) + zero_point, clipped), as the converter calibrated it.
    Casting instead would turn every pixel in [0, 1] into 0 or 1.
    """
    dtype = np.dtype(detail["dtype"])
    if not np.issubdtype(dtype, np.integer):
        return images.astype(dtype)
    scale, zero_point = detail["quantization"]
    if scale == 0:
        raise ValueError(f"integer input {detail['name']!r} has no quantization parameters")
    info = np.iinfo(dtype)
    quantized = np.round(images / scale) + zero_point
    return np.clip(quantized, info.min, info.max).astype(dtype)


def as_output(values: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    """The output tensor as floats: an integer output is dequantized with its scale and zero
    point, so logits compare across float and full-integer models."""
    if not np.issubdtype(np.dtype(detail["dtype"]), np.integer):
        return values
    scale, zero_point = detail["quantization"]
    return (values.astype(np.float32) - zero_point) * scale


def ready_to_invoke(path: Path, image: np.ndarray, runtime: str, num_threads: int) -> Any:
    """An interpreter whose input already holds `image`, so timing covers `invoke()` alone."""
    interpreter = load_interpreter(path, runtime, num_threads)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], as_input(image[np.newaxis], detail))
    return interpreter


def output_of(interpreter: Any) -> np.ndarray:
    """The interpreter's (first) output after invoke(), as floats."""
    detail = interpreter.get_output_details()[0]
    return as_output(interpreter.get_tensor(detail["index"]), detail)


def tflite_accuracy(path: Path, x_test: np.ndarray, y_test: np.ndarray,
                    runtime: str | None = None) -> float:
    """Interpreter accuracy over all of `x_test`, one image per invoke, as the reference does,
    on `runtime` (accuracy_runtime() when None).

    Batched invokes were tried and are slower here (0.30 s vs 0.17 s for 10,000 images with
    TF 2.21): XNNPACK re-plans for the resized input, while a single-image invoke is ~15 us.
    """
    interpreter = load_interpreter(path, runtime)
    input_detail = interpreter.get_input_details()[0]
    output_index = interpreter.get_output_details()[0]["index"]
    inputs = as_input(x_test.astype(np.float32), input_detail)
    predictions = np.empty(len(x_test), dtype=np.int64)
    for i, image in enumerate(inputs):
        interpreter.set_tensor(input_detail["index"], image[np.newaxis])
        interpreter.invoke()
        # argmax is unchanged by dequantization (a positive scale), so none is needed here.
        predictions[i] = np.argmax(interpreter.get_tensor(output_index)[0])
    return float(np.mean(predictions == y_test))


def input_shape_of(path: Path) -> tuple[int, ...]:
    """The shape of one input of the .tflite model at `path` (without the batch dimension)."""
    detail = load_interpreter(path).get_input_details()[0]
    return tuple(int(d) for d in detail["shape"][1:])


def tflite_kernels(path: Path) -> dict[str, np.ndarray]:
    """The Conv2D and FullyConnected weight tensors stored in a .tflite file, keyed as
    pipeline.variants.pruning keys Keras kernels (`Conv2D:<tensor name>`).

    Found by rank: a Conv2D kernel is 4-D (out x h x w x in), a FullyConnected one 2-D
    (out x in). Activations of those ranks lead with the batch dimension of 1, as does a
    DEPTHWISE_CONV_2D kernel (1 x h x w x channels), which pruning and clustering do not touch
    either; no pruned kernel has a single output channel in the built-in workloads. Used to
    check that sparsity survives conversion; zeros stay zeros under int8's symmetric weight
    scales.
    """
    interpreter = load_interpreter(path)
    found: dict[str, np.ndarray] = {}
    for detail in interpreter.get_tensor_details():
        shape = tuple(detail["shape"])
        kind = {4: "Conv2D", 2: "Dense"}.get(len(shape))
        if kind is None or shape[0] == 1:
            continue
        found[kernel_key(kind, detail["name"])] = np.array(
            interpreter.get_tensor(detail["index"]))
    if not found:
        raise ValueError(f"{path}: holds no Conv2D or FullyConnected weight tensor")
    return found
