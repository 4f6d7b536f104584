"""Instructions a TFLite runtime executes per `invoke()`, counted under Valgrind's callgrind.

Wall-clock latency is comparable only between runs of one machine, so the history gate cannot
judge it across CI runners. Instruction counts can be: for the same binary, model and input
they are the same on any x86-64 host, whatever else the host does. Compilers and benchmark
services that gate on shared runners count the same way (rustc-perf gates on `instructions:u`,
iai-callgrind and CodSpeed count under Valgrind). They join the wall clock and replace neither:
they do not see memory stalls, threads, or kernels valgrind does not run (it masks AVX-512, so
XNNPACK takes its AVX2 paths under it).

What is counted, and only that (callgrind.py): the native AllocateTensors() and each invoke's
InvokeImpl(), at 1 thread. No Python start-up, no imports, no Python side of `invoke()`.

How: one callgrind process per interpreter (pipeline.measure.instruction_worker) loads that
runtime's native wrapper by file, without importing TensorFlow (60 s under callgrind), so
`tf.lite` and `ai_edge_litert` are counted alike, and forks one child per model, so a count does
not depend on which other models were counted; it runs from a layout of fixed paths
(counting_layout.py). An InstructionCounter starts those processes at
once and takes models as the session builds them: counting overlaps training and conversion, and
is finished before any wall clock is taken (`results()`).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipeline.measure.callgrind import (
    InstructionCount,
    InstructionsUnavailable,
    callgrind_args,
    ensure_countable,
    instruction_count,
    read_dumps,
)
from pipeline.measure.counting_layout import TIMEOUT_S, FixedLayout
from pipeline.measure.interpreters import (
    INTERPRETERS,
    RUNTIMES,
    SINGLE_THREAD,
    interpreter_of,
    kernel_mode_of,
    runtime_entry,
)
from pipeline.measure.measurement import Measurement
from pipeline.measure.runtimes import RUNTIME_ENTRIES

#: Invokes per model: the first (lazy initialisation), then steady ones, whose median is the
#: per-invoke figure (the second can differ from the rest by ~0.05%: measured 478,343 / 170,816
#: / 170,484 ... for pruned_tflite on tf.lite).
INVOKES = 6
#: The workers' scheduling priority (nice). They count while the session trains; at the
#: lowest priority they take only the CPU time training leaves idle, instead of slowing the fit
#: down. Counts do not depend on it: valgrind counts instructions, not time.
WORKER_NICENESS = 19


#: What each counting process runs (python -m).
WORKER_MODULE = "pipeline.measure.instruction_worker"

def instruction_measurements(model: str, runtime: str,
                             count: InstructionCount) -> list[Measurement]:
    """The three rows of one count: per steady invoke (with each steady invoke's count as its
    samples), first invoke, allocate_tensors()."""
    def row(metric: str, value: int, **steady: Any) -> Measurement:
        return Measurement(model=model, metric=metric, value=value, unit="instructions",
                           runtime=runtime, threads=SINGLE_THREAD, **steady)

    return [row("instructions_per_invoke", count.per_invoke, min=min(count.steady),
                median=count.per_invoke, rounds=len(count.steady),
                samples=tuple(float(n) for n in count.steady)),
            row("instructions_first_invoke", count.first_invoke),
            row("instructions_allocate", count.allocate)]


def wrapper_path(runtime: str) -> Path:
    """The native interpreter wrapper of `runtime` (found without importing its package)."""
    entry = runtime_entry(runtime)
    package, patterns = entry.package, entry.wrapper_patterns
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InstructionsUnavailable(f"{package} is not installed, so {runtime} cannot be "
                                      f"counted")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for pattern in patterns:
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    raise InstructionsUnavailable(f"no {' or '.join(patterns)} in {folder}: this {package} "
                                  f"build keeps its interpreter wrapper elsewhere, so {runtime} "
                                  f"cannot be counted")


@dataclass
class _Worker:
    """One callgrind process counting the models of one interpreter, and what it was given."""

    process: subprocess.Popen[str]
    stderr: IO[str]
    jobs: list[tuple[str, str]] = field(default_factory=list)  # (model name, runtime)


class InstructionCounter:
    """Counts models on runtimes in callgrind processes that run beside the session.

    `start()` launches one worker per interpreter of `runtimes` (they load their wrapper while
    the session trains); `submit()` hands a model over as soon as it exists; `results()` waits
    for every count, so a caller that takes wall-clock time afterwards has the machine to
    itself again. `close()` (also on leaving a `with` block) stops whatever still runs.
    """

    def __init__(self, runtimes: Iterable[str], image: np.ndarray, *,
                 invokes: int = INVOKES, valgrind: str = "valgrind"):
        if invokes < 2:
            raise ValueError(f"invokes must be at least 2 (a first and a steady one), got "
                             f"{invokes}")
        self.runtimes = tuple(runtimes)
        unknown = [r for r in self.runtimes if r not in RUNTIMES]
        if unknown:
            raise ValueError(f"unknown runtime {unknown[0]!r}; known: {', '.join(RUNTIMES)}")
        ensure_countable(valgrind)
        self.invokes = invokes
        # By its full path: the worker runs with WORKER_ENVIRONMENT, which has no PATH, and
        # Popen then looks the program up in os.defpath (/bin:/usr/bin), not where this
        # process's PATH found it.
        self._valgrind = shutil.which(valgrind) or valgrind
        self._folder = Path(tempfile.mkdtemp(prefix="instructions_"))
        self._image = self._folder / "input.npy"
        np.save(self._image, np.asarray(image, dtype=np.float32))
        self._layout = FixedLayout.in_folder(self._folder)
        self._layout.warm(WORKER_MODULE)
        self._workers: dict[str, _Worker] = {}
        self._copies = 0  # models copied into the folder so far
        self._collected: dict[tuple[str, str], InstructionCount | InstructionsUnavailable] = {}

    def __enter__(self) -> InstructionCounter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> InstructionCounter:
        """Launch the workers (once); a runtime whose package is missing is refused here."""
        for base in INTERPRETERS:
            if base in self._workers or not any(interpreter_of(r) == base
                                                for r in self.runtimes):
                continue
            stderr = (self._folder / f"{base}.stderr").open("w+")
            command = [self._valgrind, *callgrind_args(RUNTIME_ENTRIES[base].counted_functions),
                       f"--callgrind-out-file={self._folder / 'callgrind.out'}.%p",
                       str(self._layout.python), *self._layout.options,
                       "-m", WORKER_MODULE,
                       str(self._layout.path_of(wrapper_path(base))), str(self._image),
                       str(self.invokes)]
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=stderr, text=True, env=self._layout.env,
                                       cwd=self._layout.cwd)
            # After the start, not in preexec_fn: that is unsafe once the session has threads.
            with contextlib.suppress(ProcessLookupError):  # already gone: results() says why
                os.setpriority(os.PRIO_PROCESS, process.pid, WORKER_NICENESS)
            self._workers[base] = _Worker(process, stderr)
        return self

    def submit(self, model: Path, name: str | None = None) -> None:
        """Count `model` (its results keyed by `name`, default its stem) on every runtime."""
        self.start()
        name = name or model.stem
        # Under a name of one length wherever the run is: the path is a string the counted
        # process allocates, and its length moved allocate counts (measured).
        copy = self._folder / f"model{self._copies:04d}.tflite"
        shutil.copyfile(model, copy)
        self._copies += 1
        for runtime in self.runtimes:
            worker = self._workers[interpreter_of(runtime)]
            resolver = runtime_entry(runtime).kernel_modes[kernel_mode_of(runtime)]
            assert worker.process.stdin is not None
            try:
                worker.process.stdin.write(f"{resolver} {copy}\n")
                worker.process.stdin.flush()
            except BrokenPipeError:  # the worker died: results() reports it for this job
                pass
            worker.jobs.append((name, runtime))

    def results(self) -> dict[tuple[str, str], InstructionCount | InstructionsUnavailable]:
        """Every submitted (model name, runtime)'s count, or why it could not be counted;
        waits for the workers to finish."""
        for base, worker in list(self._workers.items()):
            self._collected.update(self._finish(base, worker))
            del self._workers[base]
        return dict(self._collected)

    def _finish(self, base: str, worker: _Worker,
                ) -> dict[tuple[str, str], InstructionCount | InstructionsUnavailable]:
        try:
            answers, _ = worker.process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            answers, _ = worker.process.communicate()
        worker.stderr.seek(0)
        tail = " ".join(worker.stderr.read().strip().splitlines()[-3:])
        worker.stderr.close()
        lines = answers.splitlines()
        found: dict[tuple[str, str], InstructionCount | InstructionsUnavailable] = {}
        for i, (name, runtime) in enumerate(worker.jobs):
            what = f"{name} on {runtime}"
            if i >= len(lines):
                found[(name, runtime)] = InstructionsUnavailable(
                    f"counting {what}: the {base} worker stopped (exit "
                    f"{worker.process.returncode}) before it: {tail}")
                continue
            pid, status = (int(n) for n in lines[i].split())
            if status != 0:
                found[(name, runtime)] = InstructionsUnavailable(
                    f"counting {what} failed (exit {status}): {tail}")
                continue
            try:
                found[(name, runtime)] = instruction_count(
                    read_dumps(self._folder, pid), self.invokes, what,
                    RUNTIME_ENTRIES[base].counted_functions)
            except InstructionsUnavailable as exc:
                found[(name, runtime)] = exc
        return found

    def close(self) -> None:
        """Stop any worker still running and remove the dumps."""
        for worker in self._workers.values():
            if worker.process.poll() is None:
                worker.process.kill()
            worker.process.wait()
            worker.stderr.close()
        self._workers.clear()
        shutil.rmtree(self._folder, ignore_errors=True)


def count_instructions(model: Path, runtime: str, image: np.ndarray, *,
                       invokes: int = INVOKES, valgrind: str = "valgrind") -> InstructionCount:
    """Instructions of allocate_tensors(), the first invoke and each steady invoke of `model`
    on `runtime` at 1 thread, with `image` (float, scaled) as input; InstructionsUnavailable
    when it cannot be counted, with why."""
    with InstructionCounter([runtime], image, invokes=invokes, valgrind=valgrind) as counter:
        counter.submit(model)
        found = counter.results()[(model.stem, runtime)]
    if isinstance(found, InstructionsUnavailable):
        raise found
    return found
