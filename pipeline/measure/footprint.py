"""What loading and starting a TFLite model costs, as TFLite's benchmark_model reports it: init
time (load + allocate_tensors), first-invoke time, and the interpreter's memory.

Each measurement is made in a fresh child process (os.fork of the caller, whose TensorFlow is
already imported, so no import is timed or counted): nothing another model or an earlier
interpreter allocated can hide in its memory figures, and its first invoke really is the first.

Memory is measured two ways, across load, allocate_tensors and the first invokes:

* heap_growth_bytes: the growth of the bytes malloc has handed out and not taken back (glibc's
  mallinfo2: in-use arena chunks plus mmap'd blocks), the largest at three points (after
  allocate_tensors, after the first invoke, after the last). That is what the interpreter
  itself allocates: its tensor arena, XNNPACK's packed weights, its own structures. It does
  not count the model file, which both runtimes map rather than copy (its size is raw_bytes),
  nor the pages of shared libraries the child touches for the first time.
* peak_rss_growth_bytes: the growth of the child's peak resident set (VmHWM, reset through
  /proc/self/clear_refs) over its resident set before loading, as benchmark_model reports
  memory; where the peak cannot be reset, the largest resident set seen at those points.
  About 95% of it is file-backed pages of the runtime's shared libraries, which depend on the
  page cache and on what the parent had touched (pruned_tflite on tf.lite: 7.0 MB in one
  checkout, 12.7 MB in a fresh clone of it on the same machine), so it is recorded, not gated.

Linux with glibc only (fork, /proc, mallinfo2).
"""
from __future__ import annotations

import ctypes
import functools
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from pipeline.measure.interpreters import SINGLE_THREAD, as_input, create_interpreter
from pipeline.measure.latency import LatencyKey, sampled_measurement
from pipeline.measure.measurement import Measurement

#: Footprints are measured single-threaded: start-up cost, not parallel speed.
FOOTPRINT_THREADS = SINGLE_THREAD
#: The footprint metrics, with their units.
FOOTPRINT_METRICS: dict[str, str] = {
    "init_seconds": "s", "first_invoke_seconds": "s", "heap_growth_bytes": "bytes",
    "peak_rss_growth_bytes": "bytes",
}


class FootprintError(RuntimeError):
    """The child process could not measure; the message holds its error."""


@dataclass(frozen=True)
class Footprint:
    """One fresh process's figures for one model and runtime."""

    init_seconds: float
    first_invoke_seconds: float
    heap_growth_bytes: int
    peak_rss_growth_bytes: int


def _status_kib(field: str) -> int:
    """A `VmRSS:`-style field of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise FootprintError(f"/proc/self/status has no {field}")


class _MallInfo2(ctypes.Structure):
    """glibc's `struct mallinfo2` (glibc >= 2.33): every field a size_t."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


@functools.cache
def _mallinfo2() -> Callable[[], _MallInfo2]:
    """glibc's mallinfo2, looked up once: a lookup inside a measurement would allocate."""
    function = getattr(ctypes.CDLL(None), "mallinfo2", None)
    if function is None:
        raise FootprintError(
            "heap_growth_bytes needs glibc >= 2.33 (mallinfo2), which this C library does not "
            "have; deselect the footprint test (-k 'not footprint') on this system")
    function.restype = _MallInfo2
    return cast(Callable[[], _MallInfo2], function)


def _heap_in_use() -> int:
    """Bytes malloc has handed out and not taken back, in all arenas: chunks in use
    (uordblks) plus blocks served by mmap (hblkhd)."""
    info = _mallinfo2()()
    return int(info.uordblks + info.hblkhd)


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
    heap_before = _heap_in_use()
    before = _status_kib("VmRSS")
    rss_seen, heap_seen = [before], []
    start = time.perf_counter()
    interpreter = create_interpreter(path, runtime, threads)
    interpreter.allocate_tensors()
    loaded = time.perf_counter()
    heap_seen.append(_heap_in_use())
    rss_seen.append(_status_kib("VmRSS"))
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], as_input(image[np.newaxis], detail))
    first_start = time.perf_counter()
    interpreter.invoke()
    first_end = time.perf_counter()
    heap_seen.append(_heap_in_use())
    for _ in range(invokes - 1):
        interpreter.invoke()
    heap_seen.append(_heap_in_use())
    rss_seen.append(_status_kib("VmRSS"))
    peak = _status_kib("VmHWM") if peak_resettable else max(rss_seen)
    return Footprint(loaded - start, first_end - first_start, max(heap_seen) - heap_before,
                     (peak - before) * 1024)


def measure_footprint(path: Path, runtime: str, threads: int, image: np.ndarray, *,
                      invokes: int) -> Footprint:
    """One Footprint, measured in a forked child; FootprintError with the child's message."""
    _mallinfo2()  # looked up here, so the child inherits it and a missing one fails here
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
