"""Compare a candidate run with a reference run: the gate for a TensorFlow upgrade.

selection.py chooses the reference run and decides whether two runs may be compared;
rules.py gives each measurement its verdict; report.py turns the verdicts into an outcome, an
exit code and a text, markdown or json report; cli.py is `python -m pipeline.compare`.
"""
from pipeline.judge.compare.report import Header, Outcome, format_rows, outcome, summary_line
from pipeline.judge.compare.rules import (
    ComparisonRow,
    LatencyGate,
    compare_runs,
    coverage_gaps,
    gated_keys,
    not_selected,
)
from pipeline.judge.compare.selection import (
    NotComparable,
    ReferenceChoice,
    RunIdentity,
    SelectionError,
    candidate_gaps,
    check_comparable,
    comparison_gate,
    counting_obstacle,
    latency_obstacle,
    load_reference,
    select_reference,
    warnings_of,
)

__all__ = [
    "ComparisonRow", "Header", "LatencyGate", "NotComparable", "Outcome", "ReferenceChoice",
    "RunIdentity", "SelectionError", "candidate_gaps", "check_comparable", "compare_runs",
    "comparison_gate", "counting_obstacle", "coverage_gaps", "format_rows", "gated_keys",
    "latency_obstacle", "load_reference",
    "not_selected", "outcome", "select_reference", "summary_line", "warnings_of",
]
