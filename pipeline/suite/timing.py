"""A session's wall-clock measurements, once its models exist: invoke() latency in
interleaved repetitions and fresh-process footprints, each with its progress lines and
recorded in the run. Instruction counts, which run beside training, are the session's own
(session.py)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.config import Config
from pipeline.measure.footprint import Footprint, footprint_measurements, measure_footprint
from pipeline.measure.latency import (
    Block,
    LatencyKey,
    interleaved_order,
    latency_measurement,
    measure_interleaved,
)
from pipeline.run.bench_run import Artifact, BenchRun


def latency_blocks(run: BenchRun, thresholds: Config, keys: list[LatencyKey],
                   paths: dict[str, Path], image: Any, *,
                   single_call: bool = False) -> dict[LatencyKey, list[Block]]:
    """Every key's repetitions, measured once, interleaved ([latency] settings), and
    recorded in `run`; with `single_call` (--benchmark-disable) one untimed call each, enough
    for a correctness check, and nothing recorded."""
    settings = thresholds.latency
    if single_call:
        settings = replace(settings, repetitions=1, warmup_invokes=0, timed_invokes=1)
    run.say(f"benchmark {len(keys)} combinations x {settings.repetitions} repetitions ...")
    start = time.perf_counter()
    blocks = measure_interleaved(paths, keys, image, repetitions=settings.repetitions,
                                 warmup_invokes=settings.warmup_invokes,
                                 timed_invokes=settings.timed_invokes,
                                 seed=settings.order_seed)
    run.say(f"benchmark: done in {time.perf_counter() - start:.1f} s")
    if not single_call:
        for key, measured in blocks.items():
            run.record(latency_measurement(key, [block.seconds_per_call for block in measured]))
    return blocks


def footprints(run: BenchRun, thresholds: Config, keys: list[LatencyKey],
               paths: dict[str, Path], image: Any) -> dict[LatencyKey, list[Footprint]]:
    """Every key, `repetitions` fresh processes each ([footprint] settings), in one seeded
    shuffled order (as latency: drift in machine load is spread over all keys), and recorded
    in `run`."""
    settings = thresholds.footprint
    run.say(f"footprint {len(keys)} combinations x {settings.repetitions} processes ...")
    start = time.perf_counter()
    measured: dict[LatencyKey, list[Footprint]] = {key: [] for key in keys}
    for key in interleaved_order(keys, settings.repetitions, thresholds.latency.order_seed):
        measured[key].append(measure_footprint(paths[key.model], key.runtime, key.threads,
                                               image, invokes=settings.invokes))
    run.say(f"footprint: done in {time.perf_counter() - start:.1f} s")
    for key, found in measured.items():
        run.record_all(footprint_measurements(key, found))
    return measured


def built_paths(models: Iterable[str], build: Callable[[str], Artifact]) -> dict[str, Path]:
    """Each of `models` built (in sorted order), by its file; one that cannot be built is left
    out: its own tests raise the error (BenchRun caches it), the others are measured."""
    paths = {}
    for model in sorted(set(models)):
        try:
            paths[model] = build(model).path
        except Exception:
            continue
    return paths
