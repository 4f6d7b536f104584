"""`pytest bench --compare-to PATH`: each measurement that regressed against history fails.

Collected only with --compare-to, one test per gated key (model, runtime, threads, metric) of
the selected baseline run, and run after every other test, since they judge what those
measured. The rules are the [compare] rules of the threshold config, exactly as
`python -m pipeline.compare` applies them.
"""
from __future__ import annotations

from dataclasses import asdict

import pandas as pd
import pytest

from pipeline.compare import Key, RunIdentity, compare_runs, format_rows, key_of
from pipeline.config import Config
from pipeline.results import RunInfo, to_frame
from pipeline.run import BenchRun

#: Metrics whose measurement is made by building the model's artifact.
ARTIFACT_METRICS = ("accuracy", "zipped_bytes")


def test_no_regression_against_history(history_key: Key, history_baseline: pd.DataFrame,
                                       bench_run: BenchRun, run_info: RunInfo,
                                       thresholds: Config, request: pytest.FixtureRequest) -> None:
    model, runtime, threads, metric, _ = history_key
    if metric in ARTIFACT_METRICS:
        request.getfixturevalue(model)  # builds it if no earlier test did
    measured = [m for m in bench_run.measurements if key_of(asdict(m)) == history_key]
    if not measured:
        pytest.skip(f"{metric} of {model} {runtime or ''} {threads or ''} was not measured in "
                    f"this session (deselected, --benchmark-disable/--benchmark-skip, or its "
                    f"runtime is not installed)")
    baseline = history_baseline[[key_of(r) == history_key
                                 for r in history_baseline.to_dict("records")]]
    candidate = to_frame(run_info, measured)
    (row,) = compare_runs(baseline, candidate, thresholds.compare)
    assert row.verdict != "regressed", "regressed against history:\n" + format_rows(
        [row], "text", runs=(RunIdentity.of(baseline), RunIdentity.of(candidate)))
