"""The process bench instructions runs under callgrind: load one runtime's native interpreter
wrapper once, then count each model it is given in a child forked for it.

Run as `python -m pipeline.measure.instruction_worker WRAPPER.so INPUT.npy INVOKES` under
`valgrind --tool=callgrind --instr-atstart=no --collect-atstart=no --toggle-collect=...`. It
forks a child per job; the child reads its job, one `RESOLVER MODEL.tflite` line, from stdin,
and the parent answers each with one line, `PID EXIT_STATUS`: the child's dumps are the files
callgrind wrote for that pid.

Why it is shaped so:
- It imports numpy and pipeline.measure.interpreters (no TensorFlow): not TensorFlow (60 s under
  callgrind) and not `ai_edge_litert.interpreter`, so both runtimes are driven by the same code.
  The wrapper is the one each runtime's Python `Interpreter` class calls, with the arguments that
  class passes (tensorflow/lite/python/interpreter.py, ai_edge_litert/interpreter.py), so the
  native work counted is the work `invoke()` does there.
- Nothing is instrumented until the child asks for it (pipeline.measure.client_requests), just
  before `AllocateTensors()`: Python's start-up, the imports and loading the model cost
  valgrind's bare JIT, not callgrind's instrumentation (~3 s a process instead of ~9 s).
- Every model starts from the same process state, a fork of the parent made before any model
  was loaded or any job read: counts in one process depend on what ran before
  (allocate_tensors() of pruned_tflite counted 180,054 first and 208,342 after another model,
  measured), and even a parent that had read three job lines instead of one gave its children
  other allocate counts (178,281 against 179,835: heap state), so a count must not depend on
  which other models the session selected.
- Jobs come while the session is still building its models, so the parent's start-up overlaps
  the conversion and evaluation of the next variant.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from pipeline.measure import client_requests
from pipeline.measure.interpreters import SINGLE_THREAD, as_input

#: The main subgraph: the seed's models have one.
SUBGRAPH = 0
#: Interpreter threads: instruction counts are gated at one thread (a second thread's work is
#: another core's, and its hand-offs are scheduling, not instructions of the model).
THREADS = SINGLE_THREAD
#: The `desc: Trigger:` label of each dump, which bench instructions reads back.
ALLOCATE_DUMP, INVOKE_DUMP = b"allocate", b"invoke"


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
    """CreateWrapperFromFile as each runtime's Interpreter calls it with default options and
    1 thread. The signatures differ by release: tf.lite of TF 2.17-2.21 takes 8 arguments
    (threads the 7th), ai_edge_litert's 3 more (all False by default); TF 2.15 and 2.16 take 6
    and set the threads afterwards with SetNumThreads, as their Interpreter class does."""
    common: tuple[object, ...] = (str(model), resolver, [], [], False, False, THREADS, False)
    for extra in ((), (False, False, False)):
        try:
            return wrapper.CreateWrapperFromFile(*common, *extra)
        except TypeError:
            continue
    interpreter = wrapper.CreateWrapperFromFile(*common[:6])
    interpreter.SetNumThreads(THREADS)
    return interpreter


def model_input(interpreter: Any, image: np.ndarray) -> tuple[int, np.ndarray]:
    """The input tensor's index and `image` as that tensor takes it (int8 quantized with the
    tensor's own scale and zero point), by the suite's own as_input."""
    index = int(interpreter.InputIndices()[0])
    shape = tuple(int(n) for n in interpreter.TensorSize(index, SUBGRAPH))
    detail = {"name": f"tensor {index}", "dtype": interpreter.TensorType(index, SUBGRAPH),
              "quantization": interpreter.TensorQuantization(index, SUBGRAPH)}
    return index, as_input(np.asarray(image, dtype=np.float32).reshape(shape), detail)


def count_one(wrapper: ModuleType, model: Path, resolver: int, image: np.ndarray,
              invokes: int) -> None:
    """In the forked child: load, then instrument allocate and each invoke, one dump each.
    Only the toggled native functions collect (the command's --toggle-collect), so the dumps
    hold their instructions and nothing of Python's."""
    interpreter = create(wrapper, model, resolver)
    client_requests.start_instrumentation()
    # Without a subgraph argument, as the Interpreter classes call them: the wrapper then goes
    # through Interpreter::AllocateTensors / Invoke, where the default delegate is applied.
    interpreter.AllocateTensors()
    client_requests.dump_stats_at(ALLOCATE_DUMP)
    interpreter.SetTensor(*model_input(interpreter, image))
    for _ in range(invokes):
        interpreter.Invoke()
        client_requests.dump_stats_at(INVOKE_DUMP)


#: The child's exit status when stdin has no more jobs: the parent then stops.
NO_MORE_JOBS = 3


def read_job() -> tuple[int, Path] | None:
    """One `RESOLVER MODEL` line from fd 0, read byte by byte by the child itself, so the
    parent never reads (or buffers) a job and every child forks from the same parent state."""
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            return None
        line += byte
    resolver, model = line.decode().rstrip("\n").split(" ", 1)
    return int(resolver), Path(model)


def work(argv: list[str]) -> int:
    wrapper_path, image_path, invokes = argv
    wrapper = load_wrapper(Path(wrapper_path))
    image = np.load(image_path)
    while True:
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                job = read_job()
                if job is None:
                    status = NO_MORE_JOBS
                else:
                    count_one(wrapper, job[1], job[0], image, int(invokes))
            except BaseException as exc:  # the parent reports it; the child must not go on
                print(f"instruction_worker: {type(exc).__name__}: {exc}", file=sys.stderr,
                      flush=True)
                status = 1
            os._exit(status)
        status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if status == NO_MORE_JOBS:
            return 0
        print(pid, status, flush=True)


if __name__ == "__main__":
    raise SystemExit(work(sys.argv[1:]))
