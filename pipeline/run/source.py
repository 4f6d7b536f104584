"""An earlier run whose files a run re-measures instead of building them (--reuse-run): what
the build needs of it. pipeline.suite.reuse finds, reads and checks it."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pipeline.run.info import RunInfo
from pipeline.variants.registry import VARIANTS

#: What a reused run's Keras parents recorded, which the checks of the TFLite models made from
#: them read (accuracy drop, size ratio).
RECORDED_METRICS: tuple[str, ...] = ("accuracy", "zipped_bytes")


class ReuseError(ValueError):
    """The run folder cannot be reused; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class SourceRun:
    """An earlier complete run whose files a session re-measures."""

    folder: Path
    info: RunInfo
    #: The variants it selected (registry order); unknown for a schema-1/2 run: every model
    #: with an accuracy row.
    variants: tuple[str, ...]
    #: (model, metric) -> the value it recorded, for RECORDED_METRICS.
    values: Mapping[tuple[str, str], float]

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def tflite_variants(self) -> tuple[str, ...]:
        """Its TFLite variants: what a reuse session re-measures."""
        return tuple(name for name in self.variants
                     if name in VARIANTS and VARIANTS[name].kind == "tflite")

    def recorded(self, model: str, metric: str) -> float:
        """What the run recorded for `model` (a Keras parent's accuracy and size, which the
        checks of the TFLite models made from it read)."""
        if (model, metric) not in self.values:
            raise ReuseError(f"run {self.run_id} recorded no {metric} of {model}")
        return self.values[(model, metric)]

    def path(self, model: str) -> Path:
        return self.folder / f"{model}{VARIANTS[model].suffix}"
