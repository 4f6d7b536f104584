"""`pytest bench --compare-to PATH`: each measurement that regressed against history fails.

Collected only with --compare-to, one test per gated key (model, runtime, threads, metric) of
the selected reference run of the models this session's --variants selected, and run after
every other test, since they judge what those measured; and one test that every gated
measurement of this session had a reference measurement to be judged against. The rules are
the [compare] rules of the threshold config, exactly as `bench compare` applies
them (--compare-skip-latency as its --skip-latency); a reference run of another dataset, seed
or recipe fails every test with the reason, and latency that cannot be compared (another
machine, other latency settings, a run that shared the machine), like instruction counts of
another architecture or valgrind, fails its test as not compared rather than passing unchecked.
"""
from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.config import Config
from pipeline.judge.compare import (
    Header,
    LatencyGate,
    NotComparable,
    RunIdentity,
    check_comparable,
    compare_runs,
    comparison_gate,
    coverage_gaps,
    format_rows,
)
from pipeline.judge.compare.rules import describe_keys
from pipeline.results import MeasurementKey, Run, RunInfo, run_of
from pipeline.run.bench_run import Artifact, BenchRun

#: Metrics whose measurement is made by building the model's artifact.
ARTIFACT_METRICS = ("accuracy", "zipped_bytes", "raw_bytes", "sparsity", "distinct_weights")


def _checked(reference: Run, candidate: Run) -> None:
    try:
        check_comparable(reference, candidate)
    except NotComparable as exc:
        pytest.fail(f"cannot compare: {exc}")


def test_no_regression_against_history(history_key: MeasurementKey,
                                       history_reference: Run, bench_run: BenchRun,
                                       run_info: RunInfo, thresholds: Config,
                                       history_skip_latency: bool,
                                       build_variant: Callable[[str], Artifact]) -> None:
    if history_key.metric in ARTIFACT_METRICS:
        build_variant(history_key.model)  # if no earlier test did
    measured = [m for m in bench_run.measurements if m.key == history_key]
    assert measured, (
        f"{history_key.describe()} is measured in the reference run but was not measured in "
        f"this session (deselected, --benchmark-disable/--benchmark-skip, or its runtime is "
        f"not installed): missing")
    reference = history_reference.subset(lambda key: key == history_key)
    candidate = run_of(run_info, measured)
    _checked(reference, candidate)
    gate = comparison_gate(reference, candidate, skip_latency=history_skip_latency)
    (row,) = compare_runs(reference, candidate, thresholds.compare, latency=gate)
    assert row.verdict not in ("regressed", "not compared"), (
        f"{row.verdict} against history ({row.detail or 'beyond ' + row.allowed}):\n"
        + format_rows([row], "text",
                      header=Header(RunIdentity.of(reference), RunIdentity.of(candidate))))


def test_every_gated_measurement_has_a_reference(history_reference: Run,
                                                 bench_run: BenchRun, run_info: RunInfo,
                                                 thresholds: Config, history_skip_latency: bool,
                                                 selected_variants: tuple[str, ...],
                                                 build_variant: Callable[[str], Artifact],
                                                 ) -> None:
    """What this session measured and a rule could fail, but the reference run never measured,
    was judged by no test above: the gate must not pass on it."""
    for name in selected_variants:
        build_variant(name)  # if no earlier test did
    candidate = run_of(run_info, bench_run.measurements)
    _checked(history_reference, candidate)
    # No obstacle: latency that cannot be compared fails its own test above, as not compared.
    unjudged = coverage_gaps(history_reference, candidate, thresholds.compare,
                             LatencyGate(skip=history_skip_latency))
    reference_id = history_reference.run_id
    assert not unjudged, (
        f"{len(unjudged)} gated measurement(s) of this session have no reference measurement in "
        f"run {reference_id}, so nothing judged them: {describe_keys(unjudged, limit=None)}; "
        f"choose a "
        f"reference run that measured them (--compare-tf, --compare-run-id)")
