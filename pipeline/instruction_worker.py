"""The process pipeline.instructions runs under callgrind: load a runtime's native interpreter
wrapper, allocate, set the input, invoke N times. Nothing else.

Run as `python -m pipeline.instruction_worker WRAPPER.so MODEL.tflite RESOLVER INVOKES
INPUT.npy`. It imports numpy and pipeline.interpreters (0.1 s, no TensorFlow): not TensorFlow
(60 s under callgrind) and not `ai_edge_litert.interpreter`, so a counting process costs a few
seconds, and the two runtimes are driven by the same code. The wrapper is the one each
runtime's Python `Interpreter` class calls, with the arguments that class passes
(tensorflow/lite/python/interpreter.py, ai_edge_litert/interpreter.py), so the native work
counted is the work `invoke()` does there.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from pipeline.interpreters import as_input

#: The main subgraph: the seed's models have one.
SUBGRAPH = 0
#: Interpreter threads: instruction counts are gated at 1 thread (a second thread's work is
#: another core's, and its hand-offs are scheduling, not instructions of the model).
THREADS = 1


def load_wrapper(path: Path) -> ModuleType:
    """The pybind11 extension at `path`, loaded by file, so its package is not imported."""
    name = path.name.split(".")[0]
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def create(wrapper: ModuleType, model: Path, resolver: int) -> Any:
    """CreateWrapperFromFile as each runtime's Interpreter calls it with default options: the
    tf.lite wrapper takes 8 arguments, ai_edge_litert's 3 more (all False by default)."""
    common: tuple[object, ...] = (str(model), resolver, [], [], False, False, THREADS, False)
    try:
        return wrapper.CreateWrapperFromFile(*common)
    except TypeError:
        return wrapper.CreateWrapperFromFile(*common, False, False, False)


def model_input(interpreter: Any, image: np.ndarray) -> tuple[int, np.ndarray]:
    """The input tensor's index and `image` as that tensor takes it (int8 quantized with the
    tensor's own scale and zero point), by the suite's own as_input."""
    index = int(interpreter.InputIndices()[0])
    shape = tuple(int(n) for n in interpreter.TensorSize(index, SUBGRAPH))
    detail = {"name": f"tensor {index}", "dtype": interpreter.TensorType(index, SUBGRAPH),
              "quantization": interpreter.TensorQuantization(index, SUBGRAPH)}
    return index, as_input(np.asarray(image, dtype=np.float32).reshape(shape), detail)


def main(argv: list[str]) -> int:
    wrapper_path, model, resolver, invokes, image = argv
    interpreter = create(load_wrapper(Path(wrapper_path)), Path(model), int(resolver))
    # Without a subgraph argument, as the Interpreter classes call them: the wrapper then goes
    # through Interpreter::AllocateTensors / Invoke, where the default delegate is applied.
    interpreter.AllocateTensors()
    interpreter.SetTensor(*model_input(interpreter, np.load(image)))
    for _ in range(int(invokes)):
        interpreter.Invoke()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
