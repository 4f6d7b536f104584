"""The threshold config (`bench/thresholds.toml`): loaded once, checked, and typed.

Every bound the suite and the comparison apply is read from here, so a failure message can name
the key that set it and a reviewer can find the measurement written beside it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from pipeline import THRESHOLDS_PATH
from pipeline.variants.registry import DEFAULT_VARIANTS, VARIANTS, Variant, applies

DEFAULT_CONFIG_PATH = THRESHOLDS_PATH


class ConfigError(ValueError):
    """The threshold config is missing, malformed, or holds a value out of range."""


@dataclass(frozen=True)
class VariantBounds:
    """The bounds on one variant, `[variants.NAME]`; a bound it has no use for is None.

    `accuracy_min`: the root's accuracy floor. `accuracy_drop_max`: how far the accuracy may fall
    below its parent's (a TFLite file's in either direction: a conversion should predict like its
    source). `size_ratio_min`: zipped root bytes / zipped bytes of this variant.
    `raw_ratio_min`: raw bytes of its `raw_size_against` variant / its raw bytes.
    `sparsity_target` and `sparsity_tolerance`: every pruned kernel's fraction of zeros.
    """

    accuracy_min: float | None = None
    accuracy_drop_max: float | None = None
    size_ratio_min: float | None = None
    raw_ratio_min: float | None = None
    sparsity_target: float | None = None
    sparsity_tolerance: float | None = None


@dataclass(frozen=True)
class LatencySettings:
    """How `pytest bench` times invoke(): see pipeline/measure/latency.py. Recorded with every
    run."""

    repetitions: int
    warmup_invokes: int
    timed_invokes: int
    order_seed: int

    def columns(self) -> dict[str, int]:
        """The settings as a run records them: `latency_<field>` columns."""
        return {f"latency_{f.name}": getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class FootprintSettings:
    """How `pytest bench` measures init time, first invoke and peak memory
    (pipeline/measure/footprint.py): `repetitions` fresh processes per model and runtime, each
    invoking `invokes` times."""

    repetitions: int
    invokes: int


@dataclass(frozen=True)
class CompareRules:
    accuracy_drop_max_points: float
    size_growth_max: float
    sparsity_drop_max_points: float
    latency_slowdown_max: float
    latency_gated_max_threads: int
    latency_alpha: float
    memory_growth_max: float
    instructions_growth_max: float
    instructions_allocate_growth_max: float


@dataclass(frozen=True)
class DuelSettings:
    """How `bench duel` measures (pairs, block size, seed, worker processes per side) and
    judges (confidence, slowdown_max): see pipeline/judge/duel/."""

    pairs: int
    warmup_invokes: int
    timed_invokes: int
    confidence: float
    slowdown_max: float
    seed: int
    processes: int


@dataclass(frozen=True)
class Config:
    variants: dict[str, VariantBounds]
    latency: LatencySettings
    footprint: FootprintSettings
    compare: CompareRules
    duel: DuelSettings
    path: Path
    #: The file the [variants.NAME] bounds were read from: `path`, or the workload's own.
    bounds_path: Path | None = None

    @property
    def bounds_file(self) -> Path:
        return self.bounds_path or self.path

    def bounds(self, name: str) -> VariantBounds:
        """The bounds of variant `name`; ConfigError saying how to measure them if absent."""
        if name not in self.variants:
            raise ConfigError(f"{self.bounds_file}: no table [variants.{name}], so {name} "
                              f"cannot be checked; measure its figures with `bench spread "
                              f"--workload ... --variants {name}` and add its "
                              f"bounds (docs/variants-and-workloads.md, 'Gate your own "
                              f"model'), or leave it unselected.")
        return self.variants[name]


_T = TypeVar("_T")

#: Inclusive ranges a value must fall in; anything outside is a typo, not a bound.
_RANGES: dict[str, tuple[float, float]] = {
    "latency.repetitions": (10, 10_000),
    "latency.warmup_invokes": (0, 1_000_000),
    "latency.timed_invokes": (1, 1_000_000),
    "latency.order_seed": (0, 2**32 - 1),
    "footprint.repetitions": (1, 1000),
    "footprint.invokes": (1, 1_000_000),
    "compare.accuracy_drop_max_points": (0.0, 100.0),
    "compare.size_growth_max": (0.0, 100.0),
    "compare.sparsity_drop_max_points": (0.0, 100.0),
    "compare.latency_slowdown_max": (1.0, 1000.0),
    "compare.latency_gated_max_threads": (1, 1024),
    "compare.latency_alpha": (0.0, 1.0),
    "compare.memory_growth_max": (0.0, 100.0),
    "compare.instructions_growth_max": (0.0, 100.0),
    "compare.instructions_allocate_growth_max": (0.0, 100.0),
    "duel.pairs": (8, 100_000),
    "duel.warmup_invokes": (0, 1_000_000),
    "duel.timed_invokes": (1, 1_000_000),
    "duel.confidence": (0.5, 0.9999),
    "duel.slowdown_max": (1.0, 1000.0),
    "duel.seed": (0, 2**32 - 1),
    "duel.processes": (1, 64),
}


def _checked_number(path: Path, dotted: str, value: object, bounds: tuple[float, float], *,
                    want_int: bool) -> int | float:
    """`value` of key `dotted` as an int (`want_int`) or float, within the inclusive `bounds`;
    ConfigError naming the file and key otherwise. Booleans are not numbers here."""
    ok = isinstance(value, int) if want_int else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok:
        raise ConfigError(f"{path}: {dotted} = {value!r} must be "
                          f"{'an integer' if want_int else 'a number'}.")
    assert isinstance(value, (int, float))
    low, high = bounds
    if not low <= value <= high:
        raise ConfigError(f"{path}: {dotted} = {value!r} is outside [{low}, {high}].")
    return value if want_int else float(value)


def _section(raw: dict[str, Any], name: str, cls: type[_T], path: Path,
             base: _T | None = None) -> _T:
    """Table [name] of `raw` as a `cls`, every key given and checked; with `base`, the table is
    optional and replaces only the keys it gives."""
    table = raw.get(name, {} if base is not None else None)
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: missing table [{name}]; see docs/thresholds.md for its keys.")
    expected = {f.name: f.type for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(expected))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)}; "
                          f"known keys of [{name}]: {', '.join(expected)}.")
    values = {}
    for key, type_name in expected.items():
        dotted = f"{name}.{key}"
        if key not in table:
            if base is not None:
                values[key] = getattr(base, key)
                continue
            raise ConfigError(f"{path}: missing key {dotted}; add it under [{name}].")
        values[key] = _checked_number(path, dotted, table[key], _RANGES[dotted],
                                      want_int=type_name == "int")
    return cls(**values)


#: Inclusive ranges of the [variants.NAME] bounds.
_VARIANT_RANGES: dict[str, tuple[float, float]] = {
    "accuracy_min": (0.0, 1.0),
    "accuracy_drop_max": (0.0, 1.0),
    "size_ratio_min": (0.01, 1000.0),
    "raw_ratio_min": (0.01, 1000.0),
    "sparsity_target": (0.0, 1.0),
    "sparsity_tolerance": (0.0, 1.0),
}


def _required_bounds(variant: Variant) -> set[str]:
    """Bounds a variant must have: what its checks need (docs/variants-and-workloads.md,
    "Adding a variant")."""
    needed = {"accuracy_min"} if variant.parent is None else {"accuracy_drop_max"}
    if "sparsity" in variant.measures:
        needed |= {"sparsity_target", "sparsity_tolerance"}
    if variant.raw_size_against is not None:
        needed.add("raw_ratio_min")
    return needed


def _allowed_bounds(variant: Variant) -> set[str]:
    """Bounds a variant may have: the required ones, plus a size ratio for any non-root."""
    return _required_bounds(variant) | (set() if variant.parent is None else {"size_ratio_min"})


#: The variants the default config bounds: every one a workload with a Keras model can build.
KERAS_VARIANTS: tuple[str, ...] = tuple(name for name in VARIANTS if applies(name, None))


def _variant_sections(raw: dict[str, Any], path: Path,
                      required: tuple[str, ...] = KERAS_VARIANTS) -> dict[str, VariantBounds]:
    """A [variants.NAME] table for each `required` variant (and any other registered one),
    each with exactly its bounds."""
    tables = raw.get("variants")
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: missing tables [variants.NAME]; every variant of "
                          f"pipeline/variants/registry.py has one (docs/thresholds.md).")
    unknown = sorted(set(tables) - set(VARIANTS))
    if unknown:
        raise ConfigError(f"{path}: [variants.{unknown[0]}] names no variant; known variants: "
                          f"{', '.join(VARIANTS)}.")
    bounds = {}
    for name, variant in VARIANTS.items():
        table = tables.get(name)
        if table is None and name not in required:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: missing table [variants.{name}]; it needs "
                              f"{', '.join(sorted(_required_bounds(variant)))}.")
        extra = sorted(set(table) - _allowed_bounds(variant))
        if extra:
            raise ConfigError(f"{path}: variants.{name}.{extra[0]} does not apply to {name}; "
                              f"its bounds: {', '.join(sorted(_allowed_bounds(variant)))}.")
        missing = sorted(_required_bounds(variant) - set(table))
        if missing:
            raise ConfigError(f"{path}: missing key variants.{name}.{missing[0]}; add it under "
                              f"[variants.{name}].")
        values = {key: _checked_number(path, f"variants.{name}.{key}", value,
                                       _VARIANT_RANGES[key], want_int=False)
                  for key, value in table.items()}
        bounds[name] = VariantBounds(**values)
    return bounds


def _read(path: Path, missing: str) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: {missing}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}).") from None


def load_config(path: Path | str = DEFAULT_CONFIG_PATH, bounds: Path | str | None = None,
                required: tuple[str, ...] = DEFAULT_VARIANTS) -> Config:
    """Read and check the threshold config; raise ConfigError naming the file and key.

    `bounds` is a workload's own file of [variants.NAME] tables (pipeline.workload), read in
    place of this file's: it must bound the workload's default variants (`required`), and a
    session refuses to select one it does not bound (`Config.bounds`). It may also hold a
    [latency] table, whose keys replace this file's for that workload: a model whose invoke
    lasts ten times as long times blocks of fewer calls. This file bounds every variant of a
    Keras model: the bounds of the reference recipe's `mnist_cnn` workload, whose `bounds` is
    the default config.
    """
    path = Path(path)
    raw = _read(path, "threshold config not found; pass --thresholds PATH or restore "
                            "bench/thresholds.toml.")
    latency = _section(raw, "latency", LatencySettings, path)
    # A workload that keeps its bounds in the default config (mnist_cnn) takes them from the
    # config in use, so `--thresholds OTHER.toml` keeps bounding it as before workloads.
    own = bounds is not None and Path(bounds).resolve() not in (path.resolve(),
                                                                DEFAULT_CONFIG_PATH.resolve())
    bounds_path = Path(bounds) if own and bounds is not None else None
    if bounds_path is None:
        variants = _variant_sections(raw, path)
    else:
        bounds_raw = _read(bounds_path, "the workload's bounds file is not found; "
                                                     "create it with a [variants.NAME] table "
                                                     "per variant it runs.")
        unexpected = sorted(set(bounds_raw) - {"variants", "latency"})
        if unexpected:
            raise ConfigError(f"{bounds_path}: a workload's bounds file holds [variants.NAME] "
                              f"tables and a [latency] table only; [{unexpected[0]}] belongs "
                              f"in {path}.")
        variants = _variant_sections(bounds_raw, bounds_path, required=required)
        latency = _section(bounds_raw, "latency", LatencySettings, bounds_path, base=latency)
    return Config(
        variants=variants,
        latency=latency,
        footprint=_section(raw, "footprint", FootprintSettings, path),
        compare=_section(raw, "compare", CompareRules, path),
        duel=_section(raw, "duel", DuelSettings, path),
        path=path,
        bounds_path=bounds_path,
    )
