"""Instructions a TFLite runtime executes per `invoke()`, counted under Valgrind's callgrind.

Wall-clock latency is comparable only between runs of one machine, so the history gate cannot
judge it across CI runners. Instruction counts can be: for the same binary, model and input
they are (nearly) the same on any x86-64 host, whatever else the host does. Compilers and
benchmark services that gate on shared runners count the same way (rustc-perf gates on
`instructions:u`, iai-callgrind and CodSpeed count under Valgrind). They join the wall clock,
and replace neither: they do not see memory stalls, threads, or kernels valgrind does not run
(it masks AVX-512, so XNNPACK takes its AVX2 paths under it).

What is counted, and only that (`--collect-atstart=no --toggle-collect=FUNCTION`): the native
`tflite::Subgraph::InvokeImpl()` of each invoke, and `tflite::impl::Interpreter::AllocateTensors()`
(where the default delegate, XNNPACK, is applied and packs its weights). No Python start-up,
no imports. Each function is counted in a process of its own: with two functions toggled and
`--dump-after`, callgrind 3.19 lost the invoke counts (measured: every dump 0).

The counting process is pipeline.instruction_worker: it loads the runtime's native interpreter
wrapper by file, without importing TensorFlow (60 s under callgrind; ~7 s without), so
`tf.lite` and `ai_edge_litert` are counted alike.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.data import scale_pixels
from pipeline.interpreters import NO_XNNPACK, RUNTIMES

#: The native functions whose instructions are counted.
INVOKE_FUNCTION = "tflite::Subgraph::InvokeImpl()"
ALLOCATE_FUNCTION = "tflite::impl::Interpreter::AllocateTensors()"
#: Invokes per counting process: the first (lazy initialisation), then steady ones, whose
#: median is the per-invoke figure (the second can differ from the rest by ~0.2%: measured
#: 478,046 / 170,816 / 170,484 ... for pruned_tflite on tf.lite).
INVOKES = 11
#: tf.lite's and ai_edge_litert's op resolver ids (tensorflow/lite/python/interpreter.py):
#: builtin kernels with the default delegate, and without it.
RESOLVER_DEFAULT, RESOLVER_NO_DEFAULT_DELEGATES = 1, 3
#: Where each runtime's native interpreter wrapper lies inside its package.
_WRAPPERS: dict[str, tuple[str, str]] = {
    "tf.lite": ("tensorflow", "lite/python/_pywrap_tensorflow_interpreter_wrapper*.so"),
    "ai_edge_litert": ("ai_edge_litert", "_pywrap_litert_interpreter_wrapper*.so"),
}
#: callgrind, printing nothing but errors, collecting only inside the toggled function.
_CALLGRIND_ARGS = ("--tool=callgrind", "--quiet", "--collect-atstart=no")
_TIMEOUT_S = 600


class InstructionsUnavailable(RuntimeError):
    """Instructions cannot be counted here; the message says what is missing and what to do."""


@dataclass(frozen=True)
class InstructionCount:
    """Instructions of one model on one runtime, 1 thread."""

    allocate: int
    first_invoke: int
    #: Median of the steady invokes (every one after the first).
    per_invoke: int
    steady: tuple[int, ...]


def valgrind_version(valgrind: str = "valgrind") -> str:
    """'3.19.0', or "" when valgrind is not installed."""
    if shutil.which(valgrind) is None:
        return ""
    done = subprocess.run([valgrind, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().removeprefix("valgrind-")


def wrapper_path(runtime: str) -> Path:
    """The native interpreter wrapper of `runtime` (found without importing its package)."""
    base = runtime.removesuffix(NO_XNNPACK)
    if runtime not in RUNTIMES or base not in _WRAPPERS:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    package, pattern = _WRAPPERS[base]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InstructionsUnavailable(f"{package} is not installed, so {runtime} cannot be "
                                      f"counted")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob(pattern))
    if not found:
        raise InstructionsUnavailable(f"no {pattern} in {folder}: this {package} build keeps its "
                                      f"interpreter wrapper elsewhere, so {runtime} cannot be "
                                      f"counted")
    return found[0]


def _dumps(folder: Path) -> list[int]:
    """The instruction count of each `--dump-after` dump, in the order they were made (the
    final dump at exit, with collection off, is not one of them)."""
    counts: dict[int, int] = {}
    for path in folder.glob("callgrind.out.*"):
        text = path.read_text()
        part = re.search(r"^part: (\d+)$", text, re.MULTILINE)
        summary = re.search(r"^summary: (\d+)$", text, re.MULTILINE)
        if part is None or summary is None:
            raise InstructionsUnavailable(f"{path}: not a callgrind dump (no part or summary "
                                          f"line)")
        counts[int(part.group(1))] = int(summary.group(1))
    return [counts[part] for part in sorted(counts)]


def _count(function: str, model: Path, runtime: str, image_path: Path, invokes: int,
           valgrind: str) -> list[int]:
    """Run the worker under callgrind, counting only inside `function`: one figure per call."""
    resolver = RESOLVER_NO_DEFAULT_DELEGATES if runtime.endswith(NO_XNNPACK) else RESOLVER_DEFAULT
    with tempfile.TemporaryDirectory(prefix="callgrind_") as out:
        command = [valgrind, *_CALLGRIND_ARGS, f"--toggle-collect={function}",
                   f"--dump-after={function}",
                   f"--callgrind-out-file={Path(out) / 'callgrind.out'}",
                   sys.executable, "-m", "pipeline.instruction_worker",
                   str(wrapper_path(runtime)), str(model), str(resolver), str(invokes),
                   str(image_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S,
                              cwd=Path(__file__).resolve().parent.parent, check=False)
        if done.returncode != 0:
            tail = " ".join(done.stderr.strip().splitlines()[-3:])
            raise InstructionsUnavailable(f"counting {model.name} on {runtime} failed (exit "
                                          f"{done.returncode}): {tail}")
        return _dumps(Path(out))


def count_instructions(model: Path, runtime: str, image: np.ndarray, *,
                       invokes: int = INVOKES, valgrind: str = "valgrind") -> InstructionCount:
    """Instructions of allocate_tensors(), the first invoke and each steady invoke of `model`
    on `runtime` at 1 thread, with `image` (float, scaled) as input.

    Raises InstructionsUnavailable when valgrind or the runtime is missing, the worker fails,
    or a count is not what the worker did (one dump per call): a count attributed to the
    wrong call would move the gate.
    """
    if invokes < 2:
        raise ValueError(f"invokes must be at least 2 (a first and a steady one), got {invokes}")
    if not valgrind_version(valgrind):
        raise InstructionsUnavailable(
            f"{valgrind} is not installed, so instructions cannot be counted; install it from "
            f"the system's packages (Debian/Ubuntu: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="instructions_") as folder:
        image_path = Path(folder) / "input.npy"
        np.save(image_path, np.asarray(image, dtype=np.float32))
        per_call = _count(INVOKE_FUNCTION, model, runtime, image_path, invokes, valgrind)
        allocate = _count(ALLOCATE_FUNCTION, model, runtime, image_path, 1, valgrind)
    _expect(per_call, invokes, INVOKE_FUNCTION, model, runtime)
    _expect(allocate, 1, ALLOCATE_FUNCTION, model, runtime)
    steady = tuple(per_call[1:])
    return InstructionCount(allocate=allocate[0], first_invoke=per_call[0],
                            per_invoke=int(statistics.median(steady)), steady=steady)


def _expect(counts: Sequence[int], calls: int, function: str, model: Path, runtime: str) -> None:
    if len(counts) != calls or not all(counts):
        raise InstructionsUnavailable(
            f"counting {model.name} on {runtime}: expected {calls} non-zero dump(s) of "
            f"{function}, got {list(counts)}; the runtime's build may name the function "
            f"otherwise (look with nm -C on its libraries)")


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pipeline.instructions MODEL.tflite ...`: each model's counts on every
    installed runtime, 1 thread, with MNIST test image 0 of the shipped sample as input."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.instructions",
        description="Count the instructions of allocate_tensors(), the first invoke() and each "
                    "steady invoke() of TFLite models under valgrind's callgrind (1 thread).")
    parser.add_argument("models", metavar="MODEL", type=Path, nargs="+")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES),
                        help=f"comma-separated, from {', '.join(RUNTIMES)} (default: all)")
    parser.add_argument("--invokes", type=int, default=INVOKES,
                        help=f"invokes per counting process (default {INVOKES})")
    args = parser.parse_args(argv)
    sample = Path(__file__).resolve().parent.parent / "tests" / "data" / "mnist_sample.npz"
    with np.load(sample) as data:
        image = scale_pixels(data["x_test"][0])
    print(f"{'model':<28} {'runtime':<26} {'allocate':>12} {'first invoke':>13} "
          f"{'per invoke':>11}")
    for model in args.models:
        for runtime in args.runtimes.split(","):
            try:
                count = count_instructions(model, runtime, image, invokes=args.invokes)
            except (InstructionsUnavailable, ValueError) as exc:
                print(f"pipeline.instructions: error: {exc}", file=sys.stderr)
                return 2
            print(f"{model.stem:<28} {runtime:<26} {count.allocate:>12,} "
                  f"{count.first_invoke:>13,} {count.per_invoke:>11,}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
