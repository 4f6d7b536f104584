"""Instructions a TFLite runtime executes per `invoke()`, counted under Valgrind's callgrind.

Wall-clock latency is comparable only between runs of one machine, so the history gate cannot
judge it across CI runners. Instruction counts can be: for the same binary, model and input
they are the same on any x86-64 host, whatever else the host does. Compilers and benchmark
services that gate on shared runners count the same way (rustc-perf gates on `instructions:u`,
iai-callgrind and CodSpeed count under Valgrind). They join the wall clock and replace neither:
they do not see memory stalls, threads, or kernels valgrind does not run (it masks AVX-512, so
XNNPACK takes its AVX2 paths under it).

What is counted, and only that (`--toggle-collect`): the native
`tflite::impl::Interpreter::AllocateTensors()` (where the default delegate, XNNPACK, is applied
and packs its weights) and `tflite::Subgraph::InvokeImpl()` of each invoke, at 1 thread. No
Python start-up, no imports, no Python side of `invoke()`.

How: one callgrind process per interpreter (pipeline.measure.instruction_worker) loads that
runtime's native wrapper by file, without importing TensorFlow (60 s under callgrind), so
`tf.lite` and `ai_edge_litert` are counted alike, and forks one child per model, so a count does
not depend on which other models were counted. An InstructionCounter starts those processes at
once and takes models as the session builds them: counting overlaps training and conversion, and
is finished before any wall clock is taken (`results()`).
"""
from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib.util
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from pipeline import REPO_ROOT
from pipeline.console import fail
from pipeline.data import scale_pixels
from pipeline.measure.client_requests import SUPPORTED_MACHINES
from pipeline.measure.instruction_worker import ALLOCATE_DUMP, INVOKE_DUMP
from pipeline.measure.interpreters import INTERPRETERS, NO_XNNPACK, RUNTIMES, interpreter_of
from pipeline.measure.measurement import Measurement

#: The valgrind tool that counts, recorded with each run (run column `instructions_tool`).
TOOL = "callgrind"
#: The native functions whose instructions are counted.
INVOKE_FUNCTION = "tflite::Subgraph::InvokeImpl()"
ALLOCATE_FUNCTION = "tflite::impl::Interpreter::AllocateTensors()"
#: Interpreter threads of every count (pipeline.measure.instruction_worker.THREADS).
THREADS = 1
#: Invokes per model: the first (lazy initialisation), then steady ones, whose median is the
#: per-invoke figure (the second can differ from the rest by ~0.05%: measured 478,343 / 170,816
#: / 170,484 ... for pruned_tflite on tf.lite).
INVOKES = 6
#: tf.lite's and ai_edge_litert's op resolver ids (tensorflow/lite/python/interpreter.py):
#: builtin kernels with the default delegate, and without it.
RESOLVER_DEFAULT, RESOLVER_NO_DEFAULT_DELEGATES = 1, 3
#: Where each runtime's native interpreter wrapper lies inside its package, first match wins:
#: the extension its Interpreter class imports. TF 2.15-2.20 import it from
#: lite/python/interpreter_wrapper/; in 2.21 that folder holds a Python shim importing the one
#: in lite/python/. LiteRT 2.1 on names it _pywrap_litert_*; 1.x and 2.0 kept TFLite's name.
_WRAPPERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tf.lite": ("tensorflow", (
        "lite/python/interpreter_wrapper/_pywrap_tensorflow_interpreter_wrapper*.so",
        "lite/python/_pywrap_tensorflow_interpreter_wrapper*.so")),
    "ai_edge_litert": ("ai_edge_litert", ("_pywrap_litert_interpreter_wrapper*.so",
                                          "_pywrap_tensorflow_interpreter_wrapper*.so")),
}
#: callgrind, printing nothing but errors, instrumenting nothing until the worker's child asks
#: (pipeline.measure.client_requests) and collecting only inside the two functions.
CALLGRIND_ARGS: tuple[str, ...] = (
    f"--tool={TOOL}", "--quiet", "--instr-atstart=no", "--collect-atstart=no",
    f"--toggle-collect={ALLOCATE_FUNCTION}", f"--toggle-collect={INVOKE_FUNCTION}")
_TIMEOUT_S = 600
#: The counting process's whole environment: the same in every session and checkout (another
#: shell's variables would be other strings on its stack and heap), hash seed fixed.
WORKER_ENVIRONMENT: dict[str, str] = {"PYTHONHASHSEED": "0", "LC_ALL": "C"}
#: The workers' scheduling priority (nice). They count while the session trains; at the
#: lowest priority they take only the CPU time training leaves idle, instead of slowing the fit
#: down. Counts do not depend on it: valgrind counts instructions, not time.
WORKER_NICENESS = 19


#: What each counting process runs (python -m).
WORKER_MODULE = "pipeline.measure.instruction_worker"

#: This package's folder, as it lies on disk: what compile_package compiles and the counting
#: process imports (through its link in FixedLayout).
PACKAGE = Path(__file__).resolve().parent.parent


class InstructionsUnavailable(RuntimeError):
    """Instructions cannot be counted here; the message says what is missing and what to do."""


@dataclass(frozen=True)
class InstructionCount:
    """Instructions of one model on one runtime, 1 thread."""

    allocate: int
    first_invoke: int
    #: Median of the steady invokes (every one after the first; the lower middle one of an
    #: even number, so it is a count that was made).
    per_invoke: int
    steady: tuple[int, ...]


def instruction_measurements(model: str, runtime: str,
                             count: InstructionCount) -> list[Measurement]:
    """The three rows of one count: per steady invoke (with each steady invoke's count as its
    samples), first invoke, allocate_tensors()."""
    def row(metric: str, value: int, **steady: Any) -> Measurement:
        return Measurement(model=model, metric=metric, value=value, unit="instructions",
                           runtime=runtime, threads=THREADS, **steady)

    return [row("instructions_per_invoke", count.per_invoke, min=min(count.steady),
                median=count.per_invoke, rounds=len(count.steady),
                samples=tuple(float(n) for n in count.steady)),
            row("instructions_first_invoke", count.first_invoke),
            row("instructions_allocate", count.allocate)]


def valgrind_version(valgrind: str = "valgrind") -> str:
    """'3.19.0', or "" when valgrind is not installed."""
    if shutil.which(valgrind) is None:
        return ""
    done = subprocess.run([valgrind, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip().removeprefix("valgrind-")


def ensure_countable(valgrind: str = "valgrind") -> str:
    """The valgrind version that will count; InstructionsUnavailable, with what to do, when
    nothing can be counted on this machine."""
    version = valgrind_version(valgrind)
    if not version:
        raise InstructionsUnavailable(
            f"{valgrind} is not installed, so instructions cannot be counted; install it from "
            f"the system's packages (Debian/Ubuntu: apt-get install valgrind)")
    if platform.machine() not in SUPPORTED_MACHINES:
        raise InstructionsUnavailable(
            f"instruction counting is implemented for x86-64 only (valgrind client requests, "
            f"pipeline/measure/client_requests.py), this machine is {platform.machine()}")
    return version


def wrapper_path(runtime: str) -> Path:
    """The native interpreter wrapper of `runtime` (found without importing its package)."""
    base = interpreter_of(runtime)
    if runtime not in RUNTIMES or base not in _WRAPPERS:
        raise ValueError(f"unknown runtime {runtime!r}; known: {', '.join(RUNTIMES)}")
    package, patterns = _WRAPPERS[base]
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


def read_dumps(folder: Path, pid: int) -> list[tuple[str, int]]:
    """(trigger label, instructions) of each dump the process `pid` made by client request, in
    the order it made them (its exit dump, with collection off, is not one of them)."""
    dumps: dict[int, tuple[str, int]] = {}
    for path in folder.glob(f"callgrind.out.{pid}.*"):
        text = path.read_text()
        part = re.search(r"^part: (\d+)$", text, re.MULTILINE)
        trigger = re.search(r"^desc: Trigger: Client Request: (.*)$", text, re.MULTILINE)
        summary = re.search(r"^summary: (\d+)$", text, re.MULTILINE)
        if part is None or trigger is None or summary is None:
            raise InstructionsUnavailable(f"{path}: not a callgrind dump made by client request "
                                          f"(no part, trigger or summary line)")
        dumps[int(part.group(1))] = (trigger.group(1), int(summary.group(1)))
    return [dumps[part] for part in sorted(dumps)]


def instruction_count(dumps: Sequence[tuple[str, int]], invokes: int,
                      what: str) -> InstructionCount:
    """The counts of one model from its dumps: allocate, then `invokes` invokes, each non-zero.

    Anything else raises InstructionsUnavailable: a count attributed to the wrong call would
    move the gate.
    """
    expected = [ALLOCATE_DUMP.decode()] + [INVOKE_DUMP.decode()] * invokes
    labels = [label for label, _ in dumps]
    counts = [count for _, count in dumps]
    if labels != expected or not all(counts):
        raise InstructionsUnavailable(
            f"counting {what}: expected dumps {_runs(expected)} with non-zero counts, got "
            f"{list(zip(labels, counts, strict=True))}; the runtime's build may name "
            f"{ALLOCATE_FUNCTION} or {INVOKE_FUNCTION} otherwise (look with nm -C on its "
            f"libraries)")
    steady = tuple(counts[2:])
    return InstructionCount(allocate=counts[0], first_invoke=counts[1],
                            per_invoke=statistics.median_low(steady), steady=steady)


def _runs(labels: Sequence[str]) -> str:
    return f"{labels[0]}, {labels[1]} x{len(labels) - 1}"


def compile_package() -> None:
    """Byte-compile this package where it lies, so the counting process always imports its
    modules from __pycache__, each recorded under the same file name wherever the checkout is.

    Whether a module comes from source or from its cache changes the heap the imports leave
    behind, and allocate_tensors() allocates on that heap: pruned_tflite on ai_edge_litert
    counted 182,239 with the package's modules compiled from source (the first count in a fresh
    clone) and 179,918 from their caches, first invoke 473,613 against 473,642 (measured
    2026-12-03, Intel Xeon). A cache holds the source's path as it was compiled (the import
    puts the real one in place after reading it), so its length is on the heap too: compiled
    as `pipeline/...` (`ddir`), the caches read the same from any checkout; a copy of the
    package at a longer path counted 179,009 against 179,676 otherwise. Rewritten each time
    (`force`), since caches the session's own imports wrote hold their real path. A package
    that cannot be written keeps compiling from source, the same way every time. Used by
    FixedLayout.warm for a session outside a venv; in a venv the counting process reads byte
    code its layout caches itself."""
    compileall.compile_dir(PACKAGE, quiet=2, force=True, ddir=PACKAGE.name)


@dataclass(frozen=True)
class FixedLayout:
    """Where the counting process runs from: paths of one length wherever the checkout, the
    venv and the caller's interpreter are.

    The strings a process holds (its executable, sys.path, every module's file name) are on
    its heap when allocate_tensors() allocates, and their lengths moved its count: 179,157
    under `pytest` (which runs the venv's bin/python3) against 179,676 under `python -m pytest`
    (bin/python), 180,419 and 179,918 in two clones whose paths differ by one character
    (measured 2026-12-03). So the process starts from a folder of its own: a venv there whose
    bin/python and site-packages link to the real ones, the package linked into src/ (it is
    imported from there), cwd that folder, and byte code cached there too (pip's caches hold
    the venv's own path). A session that does not run in a venv counts from its own
    interpreter and paths, as given."""

    python: Path
    cwd: Path
    env: dict[str, str]
    #: The real site-packages, and its link in the layout (None: no venv, paths as they are).
    site_packages: Path | None = None
    linked_site_packages: Path | None = None
    #: Interpreter options before `-m`.
    options: tuple[str, ...] = ()

    def path_of(self, real: Path) -> Path:
        """`real` (a file of the installed packages) as the counting process sees it."""
        if self.site_packages is None or self.linked_site_packages is None:
            return real
        try:
            return self.linked_site_packages / real.relative_to(self.site_packages)
        except ValueError:
            return real

    @classmethod
    def in_folder(cls, folder: Path) -> FixedLayout:
        purelib, platlib = (Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib"))
        if sys.prefix == sys.base_prefix or purelib != platlib:
            return cls(Path(sys.executable), REPO_ROOT, dict(WORKER_ENVIRONMENT))
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        venv, base = folder / "venv", Path(os.path.realpath(sys.executable))
        (venv / "bin").mkdir(parents=True)
        (venv / "lib" / version).mkdir(parents=True)
        (venv / "bin" / "python").symlink_to(base)
        linked = venv / "lib" / version / "site-packages"
        linked.symlink_to(purelib)
        (venv / "pyvenv.cfg").write_text(
            f"home = {base.parent}\ninclude-system-site-packages = false\n"
            f"version = {platform.python_version()}\n")
        # The package alone, not the checkout: the import system keeps a listing of every
        # folder on sys.path, and the checkout's (runs/, build/, ...) is no one's but its own.
        (folder / "src").mkdir()
        (folder / "src" / PACKAGE.name).symlink_to(PACKAGE)
        # Without site (-S): site-packages is on PYTHONPATH, so no .pth file runs (an
        # editable install's names the checkout).
        path = os.pathsep.join([str(folder / "src"), str(linked)])
        # Byte code cached in the layout (pycache/), not in the venv: the caches pip wrote
        # hold each module's path in that venv, whose length moved allocate counts between two
        # venvs of the same pins (179,077 against 179,972; the checkout's path no longer did).
        # Compiled here, every module's cache holds its path in the layout. warm() fills it.
        env = {**WORKER_ENVIRONMENT, "PYTHONPATH": path,
               "PYTHONPYCACHEPREFIX": str(folder / "pycache")}
        return cls(venv / "bin" / "python", folder, env, purelib, linked, ("-S",))

    def warm(self, module: str) -> None:
        """Have the byte code the counting process of `module` reads ready before it starts.

        In the layout's venv: import `module` once, natively, as that process will, which
        caches its byte code and its imports' in pycache/ (callgrind would compile them 50x
        slower, and a failure here only costs that time: the worker then reports its own
        error). Without a venv the process imports the package where it lies, from the
        caches compile_package writes."""
        if "PYTHONPYCACHEPREFIX" not in self.env:
            compile_package()
            return
        subprocess.run([str(self.python), *self.options, "-c", f"import {module}"],
                       env=self.env, cwd=self.cwd, check=False, capture_output=True,
                       timeout=_TIMEOUT_S)


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
            command = [self._valgrind, *CALLGRIND_ARGS,
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
            resolver = (RESOLVER_NO_DEFAULT_DELEGATES if runtime.endswith(NO_XNNPACK)
                        else RESOLVER_DEFAULT)
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
            answers, _ = worker.process.communicate(timeout=_TIMEOUT_S)
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
                    read_dumps(self._folder, pid), self.invokes, what)
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


#: Its name in messages and --help: `python -m pipeline.instructions` runs it too.
PROG = "bench instructions"


def main(argv: Sequence[str] | None = None) -> int:
    """`bench instructions MODEL.tflite ...`: each model's counts on every installed runtime,
    1 thread, with MNIST test image 0 of the shipped sample as input."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Count the instructions of allocate_tensors(), the first invoke() and each "
                    "steady invoke() of TFLite models under valgrind's callgrind (1 thread).")
    parser.add_argument("models", metavar="MODEL", type=Path, nargs="+")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES),
                        help=f"comma-separated, from {', '.join(RUNTIMES)} (default: all)")
    parser.add_argument("--invokes", type=int, default=INVOKES,
                        help=f"invokes per counting process (default {INVOKES})")
    args = parser.parse_args(argv)
    sample = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
    with np.load(sample) as data:
        image = scale_pixels(data["x_test"][0])
    print(f"{'model':<28} {'runtime':<26} {'allocate':>12} {'first invoke':>13} "
          f"{'per invoke':>11}")
    try:
        with InstructionCounter(args.runtimes.split(","), image,
                                invokes=args.invokes) as counter:
            for model in args.models:
                counter.submit(model)
            found = counter.results()
    except (InstructionsUnavailable, ValueError) as exc:
        return fail(PROG, str(exc))
    status = 0
    for (name, runtime), count in found.items():
        if isinstance(count, InstructionsUnavailable):
            status = fail(PROG, str(count))
            continue
        print(f"{name:<28} {runtime:<26} {count.allocate:>12,} {count.first_invoke:>13,} "
              f"{count.per_invoke:>11,}", flush=True)
    return status

