"""The threshold config: the shipped file loads, every kind of mistake names its key, and the
file's sha256 (recorded with every run) identifies its exact bytes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.variants.registry import VARIANTS

SHIPPED = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def with_value(section: str, key: str, value: str | None) -> str:
    """The shipped text with `key = ...` of [section] set to `value` (the line removed for
    None). By key, not by the shipped number, so re-measured bounds do not break the tests."""
    lines, current, found = [], "", False
    for line in SHIPPED.splitlines(keepends=True):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
        elif current == section and re.match(rf"\s*{re.escape(key)}\s*=", line):
            found = True
            if value is None:
                continue
            line = f"{key} = {value}\n"
        lines.append(line)
    assert found, f"{section}.{key} is no longer in bench/thresholds.toml"
    return "".join(lines)


def test_shipped_config_loads_with_sane_bounds() -> None:
    config = load_config()
    # Every variant but a .tflite workload's own file, which only its workload's bounds bound.
    assert sorted(config.variants) == sorted(set(VARIANTS) - {"shipped_tflite"})
    assert config.variants["pruned"].sparsity_target == 0.80
    assert (config.variants["pruned_quantized_tflite"].size_ratio_min or 0) > (
        config.variants["pruned_tflite"].size_ratio_min or 0)
    assert config.latency.repetitions >= 10
    assert config.latency.timed_invokes >= 1 and config.latency.warmup_invokes >= 0
    assert isinstance(config.latency.order_seed, int)
    assert config.compare.latency_slowdown_max >= 1.0
    assert 0.0 < config.compare.latency_alpha < 1.0
    assert config.compare.latency_gated_max_threads >= 1
    assert config.path == DEFAULT_CONFIG_PATH


@pytest.mark.parametrize(("section", "key", "value", "message"), [
    ("variants.baseline", "accuracy_min", "1.5",
     "variants.baseline.accuracy_min = 1.5 is outside [0.0, 1.0]."),
    ("variants.baseline", "accuracy_min", '"high"',
     "variants.baseline.accuracy_min = 'high' must be a number."),
    ("variants.pruned", "sparsity_tolerance", None,
     "missing key variants.pruned.sparsity_tolerance; add it under [variants.pruned]."),
    ("variants.pruned_sparse_tflite", "raw_ratio_min", None,
     "missing key variants.pruned_sparse_tflite.raw_ratio_min; add it under "
     "[variants.pruned_sparse_tflite]."),
    # Fewer than 10 repetitions leave a statistical test nothing to work with.
    ("latency", "repetitions", "9", "latency.repetitions = 9 is outside [10, 10000]."),
    ("latency", "repetitions", "20.5", "latency.repetitions = 20.5 must be an integer."),
    ("latency", "repetitions", "true", "latency.repetitions = True must be an integer."),
    ("latency", "timed_invokes", "0", "latency.timed_invokes = 0 is outside [1, 1000000]."),
    ("latency", "warmup_invokes", "-1",
     "latency.warmup_invokes = -1 is outside [0, 1000000]."),
    ("latency", "order_seed", "4294967296",
     "latency.order_seed = 4294967296 is outside [0, 4294967295]."),
    ("latency", "order_seed", None, "missing key latency.order_seed; add it under [latency]."),
    ("compare", "latency_slowdown_max", "0.9",
     "compare.latency_slowdown_max = 0.9 is outside [1.0, 1000.0]."),
    ("compare", "latency_alpha", "1.5", "compare.latency_alpha = 1.5 is outside [0.0, 1.0]."),
    ("compare", "latency_gated_max_threads", "1.5",
     "compare.latency_gated_max_threads = 1.5 must be an integer."),
    ("compare", "latency_gated_max_threads", "0",
     "compare.latency_gated_max_threads = 0 is outside [1, 1024]."),
    ("compare", "sparsity_drop_max_points", None,
     "missing key compare.sparsity_drop_max_points; add it under [compare]."),
])
def test_bad_value_names_file_and_key(tmp_path: Path, section: str, key: str,
                                      value: str | None, message: str) -> None:
    path = write(tmp_path, with_value(section, key, value))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == f"{path}: {message}"


@pytest.mark.parametrize(("old", "new", "message"), [
    ("[variants.pruned]\n", "[variants.pruned]\nsparsity_tolerence = 0.02\n",
     "variants.pruned.sparsity_tolerence does not apply to pruned; its bounds: "
     "accuracy_drop_max, size_ratio_min, sparsity_target, sparsity_tolerance."),
    # A bound whose check the variant does not have is refused, not silently ignored.
    ("[variants.int8_tflite]\n", "[variants.int8_tflite]\nsparsity_target = 0.8\n",
     "variants.int8_tflite.sparsity_target does not apply to int8_tflite; its bounds: "
     "accuracy_drop_max, size_ratio_min."),
    ("[variants.fp16_tflite]\n", "[variants.fp16_tfl1te]\n",
     "[variants.fp16_tfl1te] names no variant; known variants: " + ", ".join(VARIANTS) + "."),
    # A schema-1 era config: [latency] had `rounds`; the message lists what it has now.
    ("[latency]\n", "[latency]\nrounds = 200\n",
     "unknown key(s) latency.rounds; known keys of [latency]: repetitions, warmup_invokes, "
     "timed_invokes, order_seed."),
    ("[compare]\n", "[comparison]\n",
     "missing table [compare]; see docs/thresholds.md for its keys."),
])
def test_bad_table_names_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SHIPPED, f"{old!r} is no longer in bench/thresholds.toml"
    path = write(tmp_path, SHIPPED.replace(old, new, 1))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == f"{path}: {message}"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threshold config not found; pass --thresholds PATH"):
        load_config(tmp_path / "nope.toml")


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(write(tmp_path, "[variants.baseline\naccuracy_min = "))


def test_a_registered_variant_without_its_table_is_refused(tmp_path: Path) -> None:
    """Adding a variant to the registry without its bounds fails at load, naming what it needs
    (docs/variants-and-workloads.md, "Adding a variant")."""
    start = SHIPPED.index("[variants.qat_int8_tflite]")
    end = SHIPPED.index("[variants.clustered]")
    path = write(tmp_path, SHIPPED[:start] + SHIPPED[end:])
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == (f"{path}: missing table [variants.qat_int8_tflite]; it needs "
                                  f"accuracy_drop_max.")
