"""The seed-spread table behind the thresholds: per-seed rows, then mean/std/min/max."""
from __future__ import annotations

import pandas as pd
import pytest

from pipeline.commands.spread import main
from pipeline.suite.spread import summarize


def test_summary_rows_follow_the_seeds() -> None:
    per_seed = pd.DataFrame({"seed": [0, 1, 2], "baseline_accuracy": [0.97, 0.98, 0.99]})
    table = summarize(per_seed)
    assert list(table["seed"]) == ["0", "1", "2", "mean", "std", "min", "max"]
    stats = table.set_index("seed")["baseline_accuracy"]
    assert stats["mean"] == pytest.approx(0.98)
    assert stats["std"] == pytest.approx(0.01)
    assert (stats["min"], stats["max"]) == (0.97, 0.99)


def test_zero_seeds_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["--seeds", "0"])
    assert excinfo.value.code == 2
    assert "--seeds must be at least 1, got 0" in capsys.readouterr().err
