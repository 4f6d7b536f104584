"""Latency rows from pytest-benchmark's statistics.

pytest-benchmark times the calls; this turns its per-round statistics into one CSV row whose
`samples` keep every round, so a later comparison can test significance, not just medians.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pipeline.results import Measurement


class RoundStats(Protocol):
    """The part of `pytest_benchmark.stats.Stats` used here (seconds per call, per round)."""

    data: Sequence[float]
    min: float
    median: float
    mean: float
    stddev: float
    iqr: float
    rounds: int


def latency_measurement(model: str, runtime: str, threads: int,
                        stats: RoundStats) -> Measurement:
    """One `latency` row: value = median seconds per invoke."""
    return Measurement(
        model=model, metric="latency", value=stats.median, unit="s", runtime=runtime,
        threads=threads, min=stats.min, median=stats.median, mean=stats.mean,
        stddev=stats.stddev, iqr=stats.iqr, rounds=stats.rounds, samples=tuple(stats.data))
