"""Compare a candidate run with a reference run: the gate for a TensorFlow upgrade.

options.py declares the gate's options (for `bench compare` and `pytest bench --compare-*`);
selection.py chooses the reference run; comparability.py decides whether two runs may be
compared, and which of their measurements; rules.py gives each measurement its verdict;
report.py turns the verdicts into an outcome, an exit code and a text, markdown or json report;
gate.py is all of it in one call, which `bench compare` prints; session.py is a `pytest bench
--compare-to` session's reference.
"""
from pipeline.judge.compare.comparability import (
    NotComparable,
    check_comparable,
    comparison_gate,
    counting_obstacle,
    latency_obstacle,
    warnings_of,
)
from pipeline.judge.compare.gate import GateError, GateResult, gate
from pipeline.judge.compare.options import GateOptions, add_gate_options
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
    ReferenceChoice,
    ReferenceQuery,
    RunIdentity,
    SelectionError,
    candidate_gaps,
    load_reference,
    select_reference,
)

__all__ = [
    "ComparisonRow", "GateError", "GateOptions", "GateResult", "Header", "LatencyGate",
    "NotComparable", "Outcome", "ReferenceChoice", "ReferenceQuery", "RunIdentity",
    "SelectionError", "add_gate_options", "candidate_gaps", "check_comparable", "compare_runs",
    "comparison_gate", "counting_obstacle", "coverage_gaps", "format_rows", "gate",
    "gated_keys", "latency_obstacle", "load_reference", "not_selected", "outcome",
    "select_reference", "summary_line", "warnings_of",
]
