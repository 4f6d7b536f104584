"""The gate as one call: a candidate run judged against its reference in the history.

What `bench compare` prints and `bench upgrade` folds into its verdict: the reference chosen
(selection.py), the two runs checked comparable (comparability.py), every measurement judged
(rules.py), and the header that names both runs (report.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.judge.compare.comparability import (
    NotComparable,
    check_comparable,
    comparison_gate,
    warnings_of,
)
from pipeline.judge.compare.options import GateOptions
from pipeline.judge.compare.report import Header, outcome
from pipeline.judge.compare.rules import ComparisonRow, compare_runs, not_selected
from pipeline.judge.compare.selection import (
    ReferenceQuery,
    RunIdentity,
    SelectionError,
    candidate_gaps,
    load_reference,
)
from pipeline.results import ResultsFileError, read_results


@dataclass(frozen=True)
class GateResult:
    """The gate's rows and the header that names both runs; `notes` are runs passed over."""

    rows: list[ComparisonRow]
    header: Header
    notes: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return outcome(self.rows).exit_code


def gate(reference: Path, candidate_path: Path, options: GateOptions | None = None,
         config: Path = DEFAULT_CONFIG_PATH) -> GateResult:
    """Judge the run of `candidate_path` against its reference in `reference` (a CSV or the
    history folder). Raises GateError with the one line the CLI prints when the gate cannot be
    run (exit 2)."""
    options = options or GateOptions()
    try:
        rules = load_config(config).compare
        candidate = read_results(candidate_path)
        gaps = candidate_gaps(candidate, rules, skip_latency=options.skip_latency)
        choice = load_reference(reference, ReferenceQuery.of(candidate, options, gaps),
                                exclude_path=candidate_path)
        check_comparable(choice.run, candidate)
    except (ConfigError, ResultsFileError) as exc:
        raise GateError(str(exc)) from None
    except SelectionError as exc:
        raise GateError(f"{reference}: {exc}") from None
    except NotComparable as exc:
        raise GateError(f"cannot compare: {exc}") from None
    except OSError as exc:  # e.g. the config is a folder or unreadable
        raise GateError(f"{exc.filename}: {exc.strerror}") from None
    latency = comparison_gate(choice.run, candidate, skip_latency=options.skip_latency)
    rows = compare_runs(choice.run, candidate, rules, latency=latency)
    warnings = warnings_of(choice.run, candidate,
                           latency_compared=not (latency.skip or latency.obstacle))
    header = Header(RunIdentity.of(choice.run), RunIdentity.of(candidate), choice.reason,
                    tuple(warnings), not_selected(choice.run, candidate))
    return GateResult(rows, header, tuple(choice.passed_over))


class GateError(ValueError):
    """The gate cannot be run: an unusable input, no eligible reference, runs that may not be
    compared (exit 2)."""
