"""What one measurement is: the record every measuring module returns and the results CSV
writes one row of, and the key that names it within a run."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class MeasurementKey(NamedTuple):
    """What one measurement of a run is; unique within a run."""

    model: str
    runtime: str | None
    threads: int | None
    metric: str
    stage: str | None

    def describe(self) -> str:
        """'pruned_tflite latency tf.lite threads=1': for messages."""
        parts = [self.model, self.metric]
        if self.runtime:
            parts.append(self.runtime)
        if self.threads is not None:
            parts.append(f"threads={self.threads}")
        if self.stage:
            parts.append(self.stage)
        return " ".join(parts)


@dataclass(frozen=True)
class Measurement:
    """One row's measurement part. Optional fields stay None and are written as empty cells.

    `stage` is set only on `stage_seconds` rows (train, prune, convert, evaluate), with `model`
    naming the model that stage produced or evaluated; `runtime` and `threads` only on latency
    rows, whose `samples` hold one value per independent repetition (`rounds` of them).
    """

    model: str
    metric: str
    value: float
    unit: str
    stage: str | None = None
    runtime: str | None = None
    threads: int | None = None
    min: float | None = None
    median: float | None = None
    mean: float | None = None
    stddev: float | None = None
    iqr: float | None = None
    rounds: int | None = None
    samples: tuple[float, ...] | None = None

    @property
    def key(self) -> MeasurementKey:
        return MeasurementKey(self.model, self.runtime, self.threads, self.metric, self.stage)
