"""The threshold config (`bench/thresholds.toml`): loaded once, checked, and typed.

Every bound the suite and the comparison apply is read from here, so a failure message can name
the key that set it and a reviewer can find the measurement written beside it.
"""
from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "bench" / "thresholds.toml"


class ConfigError(ValueError):
    """The threshold config is missing, malformed, or holds a value out of range."""


@dataclass(frozen=True)
class AccuracyBounds:
    baseline_min: float
    pruned_drop_max: float
    tflite_drop_max: float


@dataclass(frozen=True)
class SparsityBounds:
    target: float
    tolerance: float


@dataclass(frozen=True)
class SizeBounds:
    pruned_h5_ratio_min: float
    pruned_tflite_ratio_min: float
    pruned_quantized_tflite_ratio_min: float


@dataclass(frozen=True)
class LatencySettings:
    """How `pytest bench` times invoke(): see pipeline/latency.py. Recorded with every run."""

    repetitions: int
    warmup_invokes: int
    timed_invokes: int
    order_seed: int


@dataclass(frozen=True)
class CompareRules:
    accuracy_drop_max_points: float
    size_growth_max: float
    sparsity_drop_max_points: float
    latency_slowdown_max: float
    latency_gated_max_threads: int
    latency_alpha: float


@dataclass(frozen=True)
class DuelSettings:
    """How `python -m pipeline.duel` measures (pairs, block size, seed) and judges
    (confidence, slowdown_max): see pipeline/duel.py."""

    pairs: int
    warmup_invokes: int
    timed_invokes: int
    confidence: float
    slowdown_max: float
    seed: int


@dataclass(frozen=True)
class Config:
    accuracy: AccuracyBounds
    sparsity: SparsityBounds
    size: SizeBounds
    latency: LatencySettings
    compare: CompareRules
    duel: DuelSettings
    path: Path
    #: sha256 of the file's bytes: recorded with each run, so a comparison can say when two runs
    #: were judged by different thresholds.
    sha256: str


_T = TypeVar("_T")

#: Inclusive ranges a value must fall in; anything outside is a typo, not a bound.
_RANGES: dict[str, tuple[float, float]] = {
    "accuracy.baseline_min": (0.0, 1.0),
    "accuracy.pruned_drop_max": (0.0, 1.0),
    "accuracy.tflite_drop_max": (0.0, 1.0),
    "sparsity.target": (0.0, 1.0),
    "sparsity.tolerance": (0.0, 1.0),
    "size.pruned_h5_ratio_min": (1.0, 1000.0),
    "size.pruned_tflite_ratio_min": (1.0, 1000.0),
    "size.pruned_quantized_tflite_ratio_min": (1.0, 1000.0),
    "latency.repetitions": (10, 10_000),
    "latency.warmup_invokes": (0, 1_000_000),
    "latency.timed_invokes": (1, 1_000_000),
    "latency.order_seed": (0, 2**32 - 1),
    "compare.accuracy_drop_max_points": (0.0, 100.0),
    "compare.size_growth_max": (0.0, 100.0),
    "compare.sparsity_drop_max_points": (0.0, 100.0),
    "compare.latency_slowdown_max": (1.0, 1000.0),
    "compare.latency_gated_max_threads": (1, 1024),
    "compare.latency_alpha": (0.0, 1.0),
    "duel.pairs": (8, 100_000),
    "duel.warmup_invokes": (0, 1_000_000),
    "duel.timed_invokes": (1, 1_000_000),
    "duel.confidence": (0.5, 0.9999),
    "duel.slowdown_max": (1.0, 1000.0),
    "duel.seed": (0, 2**32 - 1),
}


def _section(raw: dict[str, Any], name: str, cls: type[_T], path: Path) -> _T:
    table = raw.get(name)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: missing table [{name}]; see README 'Thresholds' for its keys.")
    expected = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(expected))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)}; "
                          f"known keys of [{name}]: {', '.join(expected)}.")
    values = {}
    for key, type_name in expected.items():
        dotted = f"{name}.{key}"
        if key not in table:
            raise ConfigError(f"{path}: missing key {dotted}; add it under [{name}].")
        value = table[key]
        want_int = type_name == "int"
        ok = isinstance(value, int) if want_int else isinstance(value, (int, float))
        if isinstance(value, bool) or not ok:
            raise ConfigError(f"{path}: {dotted} = {value!r} must be "
                              f"{'an integer' if want_int else 'a number'}.")
        low, high = _RANGES[dotted]
        if not low <= value <= high:
            raise ConfigError(f"{path}: {dotted} = {value!r} is outside [{low}, {high}].")
        values[key] = value if want_int else float(value)
    return cls(**values)


def load_config(path: Path | str = DEFAULT_CONFIG_PATH) -> Config:
    """Read and check the threshold config; raise ConfigError naming the file and key."""
    path = Path(path)
    try:
        data = path.read_bytes()
        raw = tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: threshold config not found; pass --thresholds PATH "
                          f"or restore bench/thresholds.toml.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None
    return Config(
        accuracy=_section(raw, "accuracy", AccuracyBounds, path),
        sparsity=_section(raw, "sparsity", SparsityBounds, path),
        size=_section(raw, "size", SizeBounds, path),
        latency=_section(raw, "latency", LatencySettings, path),
        compare=_section(raw, "compare", CompareRules, path),
        duel=_section(raw, "duel", DuelSettings, path),
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
    )
