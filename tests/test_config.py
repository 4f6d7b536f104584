"""The threshold config: the shipped file loads, and every kind of mistake names its key."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config

SHIPPED = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_sane_bounds() -> None:
    config = load_config()
    assert config.sparsity.target == 0.80
    assert config.size.pruned_quantized_tflite_ratio_min > config.size.pruned_tflite_ratio_min
    assert config.latency.rounds >= 100


@pytest.mark.parametrize(("old", "new", "message"), [
    ("baseline_min = 0.975", "baseline_min = 1.5",
     "accuracy.baseline_min = 1.5 is outside [0.0, 1.0]."),
    ("baseline_min = 0.975", 'baseline_min = "high"',
     "accuracy.baseline_min = 'high' must be a number."),
    ("rounds = 200", "rounds = 200.5", "latency.rounds = 200.5 must be an integer."),
    ("rounds = 200", "rounds = true", "latency.rounds = True must be an integer."),
    ("tolerance = 0.005", "tolerance = 0.005\ntolerence = 0.02",
     "unknown key(s) sparsity.tolerence; known keys of [sparsity]: target, tolerance."),
    ("tolerance = 0.005", "", "missing key sparsity.tolerance; add it under [sparsity]."),
    ("[compare]", "[comparison]", "missing table [compare]; see README 'Thresholds' for its keys."),
])
def test_bad_value_names_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SHIPPED, f"fixture text {old!r} no longer in bench/thresholds.toml"
    path = write(tmp_path, SHIPPED.replace(old, new, 1))
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert str(excinfo.value) == f"{path}: {message}"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="threshold config not found; pass --thresholds PATH"):
        load_config(tmp_path / "nope.toml")


def test_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(write(tmp_path, "[accuracy\nbaseline_min = "))
