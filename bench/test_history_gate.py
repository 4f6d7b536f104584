"""`pytest bench --compare-to PATH`: each measurement that regressed against history fails.

Collected only with --compare-to, one test per gated key (model, runtime, threads, metric) of
the selected reference run of the models this session's --variants selected, and run after
every other test, since they judge what those measured. The rules are the [compare] rules of
the threshold config, exactly as `python -m pipeline.compare` applies them; a reference run of
another dataset, seed or recipe fails every test with the reason, and latency that cannot be
compared (another machine, other latency settings) fails its test as not compared rather than
passing unchecked.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from pipeline.compare import (
    Header,
    LatencyGate,
    NotComparable,
    RunIdentity,
    check_comparable,
    compare_runs,
    format_rows,
    latency_obstacle,
)
from pipeline.config import Config
from pipeline.results import MeasurementKey, RunInfo, key_of, to_frame
from pipeline.run import Artifact, BenchRun

#: Metrics whose measurement is made by building the model's artifact.
ARTIFACT_METRICS = ("accuracy", "zipped_bytes", "raw_bytes", "sparsity", "distinct_weights")


def test_no_regression_against_history(history_key: MeasurementKey,
                                       history_reference: pd.DataFrame, bench_run: BenchRun,
                                       run_info: RunInfo, thresholds: Config,
                                       build_variant: Callable[[str], Artifact]) -> None:
    if history_key.metric in ARTIFACT_METRICS:
        build_variant(history_key.model)  # if no earlier test did
    measured = [m for m in bench_run.measurements if m.key == history_key]
    assert measured, (
        f"{history_key.describe()} is measured in the reference run but was not measured in "
        f"this session (deselected, --benchmark-disable/--benchmark-skip, or its runtime is "
        f"not installed): missing")
    reference = history_reference[[key_of(r) == history_key
                                   for r in history_reference.to_dict("records")]]
    candidate = to_frame(run_info, measured)
    try:
        check_comparable(reference, candidate)
    except NotComparable as exc:
        pytest.fail(f"cannot compare: {exc}")
    gate = LatencyGate(obstacle=latency_obstacle(reference, candidate))
    (row,) = compare_runs(reference, candidate, thresholds.compare, latency=gate)
    assert row.verdict not in ("regressed", "not compared"), (
        f"{row.verdict} against history:\n" + format_rows(
            [row], "text", header=Header(RunIdentity.of(reference), RunIdentity.of(candidate))))
