"""What loading and starting a TFLite model costs, as TFLite's benchmark_model reports it: init
time (load + allocate_tensors), first-invoke time, and the interpreter's peak memory.

Each measurement is made in a fresh child process (os.fork of the caller, whose TensorFlow is
already imported, so no import is timed or counted): nothing another model or an earlier
interpreter allocated can hide in its memory figure, and its first invoke really is the first.
Memory is the growth of the child's peak resident set (VmHWM, reset through
/proc/self/clear_refs) over its resident set before loading, across load, allocate_tensors and
the first invokes; where the peak cannot be reset, the largest resident set seen at those
points. Linux only (fork, /proc).
"""
from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.interpreters import as_input, create_interpreter
from pipeline.latency import LatencyKey, sampled_measurement
from pipeline.results import Measurement

#: Footprints are measured single-threaded: start-up cost, not parallel speed.
FOOTPRINT_THREADS = 1
#: The footprint metrics, with their units.
FOOTPRINT_METRICS: dict[str, str] = {
    "init_seconds": "s", "first_invoke_seconds": "s", "peak_rss_growth_bytes": "bytes",
}


class FootprintError(RuntimeError):
    """The child process could not measure; the message holds its error."""


@dataclass(frozen=True)
class Footprint:
    """One fresh process's figures for one model and runtime."""

    init_seconds: float
    first_invoke_seconds: float
    peak_rss_growth_bytes: int


def _status_kib(field: str) -> int:
    """A `VmRSS:`-style field of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise FootprintError(f"/proc/self/status has no {field}")


def _reset_peak() -> bool:
    """Reset VmHWM to the current resident set (Linux >= 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _measure(path: Path, runtime: str, threads: int, image: np.ndarray, invokes: int) -> Footprint:
    """In the child: load, allocate, set the input, invoke `invokes` times."""
    peak_resettable = _reset_peak()
    before = _status_kib("VmRSS")
    seen = [before]
    start = time.perf_counter()
    interpreter = create_interpreter(path, runtime, threads)
    interpreter.allocate_tensors()
    loaded = time.perf_counter()
    seen.append(_status_kib("VmRSS"))
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], as_input(image[np.newaxis], detail))
    first_start = time.perf_counter()
    interpreter.invoke()
    first_end = time.perf_counter()
    for _ in range(invokes - 1):
        interpreter.invoke()
    seen.append(_status_kib("VmRSS"))
    peak = _status_kib("VmHWM") if peak_resettable else max(seen)
    return Footprint(loaded - start, first_end - first_start, (peak - before) * 1024)


def measure_footprint(path: Path, runtime: str, threads: int, image: np.ndarray, *,
                      invokes: int) -> Footprint:
    """One Footprint, measured in a forked child; FootprintError with the child's message."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: measure, report one JSON line, leave without cleanup handlers
        os.close(read_end)
        try:
            message = json.dumps({"ok": asdict(_measure(path, runtime, threads, image,
                                                        invokes))})
        except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
            message = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
        with os.fdopen(write_end, "w") as pipe:
            pipe.write(message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    try:
        reply: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        raise FootprintError(f"the measuring process for {path.name} on {runtime} died "
                             f"without a result") from None
    if "error" in reply:
        raise FootprintError(f"{path.name} on {runtime}: {reply['error']}")
    return Footprint(**reply["ok"])


def footprint_measurements(key: LatencyKey, footprints: Sequence[Footprint]) -> list[Measurement]:
    """One row per footprint metric: value = median over the fresh processes, `samples` each
    process's value."""
    return [sampled_measurement(key, metric, unit, [float(getattr(f, metric)) for f in footprints])
            for metric, unit in FOOTPRINT_METRICS.items()]
