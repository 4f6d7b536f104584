"""The duel's schedule and statistics: which block runs when, and the verdict on each key.

Pure (no processes, no files), so it is tested with a fake timer.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from pipeline.config import DuelSettings
from pipeline.judge.statistics import judge_ratio, process_ratio
from pipeline.measure.latency import LatencyKey

Side = Literal["reference", "candidate"]
SIDES: tuple[Side, Side] = ("reference", "candidate")


class DuelError(ValueError):
    """The duel cannot be run as asked; `str()` is one line saying what to change."""


#: One block of the schedule: (pair index, key, side).
Step = tuple[int, LatencyKey, Side]


def process_of(pair: int, processes: int) -> int:
    """The worker process (of each side) that times pair `pair`: pairs 2k and 2k+1, one AB and
    one BA pair, go to process k mod `processes`, so every process times as many of each."""
    return (pair // 2) % processes


def schedule(keys: Iterable[LatencyKey], pairs: int, seed: int) -> list[Step]:
    """Every block of a duel in running order: per pair, the keys in a seeded shuffled order
    (sorted first, so it depends only on the set of keys and the seed), each key's two blocks
    adjacent, reference first on even pairs and candidate first on odd ones (ABBA)."""
    rng = random.Random(seed)
    steps: list[Step] = []
    for pair in range(pairs):
        order = sorted(set(keys))
        rng.shuffle(order)
        sides = SIDES if pair % 2 == 0 else SIDES[::-1]
        steps += [(pair, key, side) for key in order for side in sides]
    return steps


@dataclass(frozen=True)
class PairedSamples:
    """Seconds per call of each pair's blocks of one key: reference[i] and candidate[i] were
    timed back to back, by the process pair process[i] (process_of)."""

    reference: tuple[float, ...]
    candidate: tuple[float, ...]
    process: tuple[int, ...]


def run_schedule(keys: Iterable[LatencyKey], settings: DuelSettings,
                 measure: Callable[[Side, LatencyKey, int], float]
                 ) -> dict[LatencyKey, PairedSamples]:
    """Run schedule() with `measure(side, key, process)` timing one block in that worker
    process of the side; the pairs of every key."""
    times: dict[LatencyKey, dict[Side, list[float]]] = {}
    processes: dict[LatencyKey, list[int]] = {}
    for pair, key, side in schedule(keys, settings.pairs, settings.seed):
        process = process_of(pair, settings.processes)
        times.setdefault(key, {"reference": [], "candidate": []})[side].append(
            measure(side, key, process))
        if side == "reference":
            processes.setdefault(key, []).append(process)
    return {key: PairedSamples(tuple(t["reference"]), tuple(t["candidate"]),
                               tuple(processes[key]))
            for key, t in sorted(times.items())}


@dataclass(frozen=True)
class DuelRow:
    """The verdict on one key; the numbers are None for a key of one run only."""

    model: str
    runtime: str
    threads: int
    verdict: str
    pairs: int = 0
    processes: int = 0
    reference_median_s: float | None = None
    candidate_median_s: float | None = None
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def judge(key: LatencyKey, samples: PairedSamples, settings: DuelSettings) -> DuelRow:
    """The row of a duelled key: medians of each side, the ratio over process pairs
    (statistics.process_ratio), its interval and the verdict."""
    estimate = process_ratio(samples.reference, samples.candidate, samples.process,
                                    confidence=settings.confidence)
    return DuelRow(*key, verdict=judge_ratio(estimate, settings.slowdown_max),
                   pairs=len(samples.reference), processes=len(set(samples.process)),
                   reference_median_s=float(np.median(samples.reference)),
                   candidate_median_s=float(np.median(samples.candidate)),
                   ratio=estimate.ratio, ci_low=estimate.ci_low, ci_high=estimate.ci_high)


def check_settings(settings: DuelSettings) -> None:
    """Refuse settings that cannot give a verdict, before any worker is started."""
    if settings.timed_invokes < 1 or settings.warmup_invokes < 0:
        raise DuelError(f"timed invokes {settings.timed_invokes} and warm-up invokes "
                        f"{settings.warmup_invokes} must be at least 1 and 0")
    if settings.processes < 2:
        raise DuelError(f"{settings.processes} worker process per side gives no interval over "
                        f"processes; pass --processes 2 or more")
    if settings.pairs % (2 * settings.processes):
        raise DuelError(f"{settings.pairs} pairs cannot be spread evenly over "
                        f"{settings.processes} processes per side: pass a multiple of "
                        f"{2 * settings.processes} (each process times as many AB as BA pairs)")
