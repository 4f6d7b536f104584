"""Callgrind as the instruction counter uses it: what it counts, how it is started, and its
dumps read back into counts.

Only a runtime's declared native functions are collected (`--toggle-collect`; for a TFLite
interpreter `tflite::impl::Interpreter::AllocateTensors()`, where the default delegate, XNNPACK,
is applied and packs its weights, and `tflite::Subgraph::InvokeImpl()` of each invoke:
runtimes.py); the counted child dumps once per call by client request
(pipeline.measure.client_requests), so each dump is one call's count.
"""
from __future__ import annotations

import platform
import re
import shutil
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.measure.client_requests import SUPPORTED_MACHINES
from pipeline.measure.instruction_worker import ALLOCATE_DUMP, INVOKE_DUMP

#: The valgrind tool that counts, recorded with each run (run column `instructions_tool`).
TOOL = "callgrind"


def callgrind_args(functions: Sequence[str]) -> tuple[str, ...]:
    """callgrind, printing nothing but errors, instrumenting nothing until the worker's child
    asks (pipeline.measure.client_requests) and collecting only inside `functions` (a
    runtime's counted_functions: allocate, invoke)."""
    return (f"--tool={TOOL}", "--quiet", "--instr-atstart=no", "--collect-atstart=no",
            *(f"--toggle-collect={function}" for function in functions))


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


def instruction_count(dumps: Sequence[tuple[str, int]], invokes: int, what: str,
                      functions: Sequence[str]) -> InstructionCount:
    """The counts of one model from its dumps: allocate, then `invokes` invokes, each non-zero
    (`functions` are the native ones counted, for the message).

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
            f"{' or '.join(functions)} otherwise (look with nm -C on its libraries)")
    steady = tuple(counts[2:])
    return InstructionCount(allocate=counts[0], first_invoke=counts[1],
                            per_invoke=statistics.median_low(steady), steady=steady)


def _runs(labels: Sequence[str]) -> str:
    return f"{labels[0]}, {labels[1]} x{len(labels) - 1}"
