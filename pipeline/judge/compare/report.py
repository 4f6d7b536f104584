"""The comparison as a verdict, an exit code and a report (text, markdown or json).

Exit codes: 0 PASS (nothing regressed or went missing, and everything gated was compared);
1 FAIL (a row regressed or a gated measurement is missing); 2 the inputs cannot be used or may
not be compared (gate.py); 3 INCONCLUSIVE (nothing failed, but latency could not be compared,
e.g. the runs come from different machines, or a gated measurement of the candidate has no
reference measurement: exit 0 would claim more than was checked).
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from pipeline.console import EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_PASS
from pipeline.judge.compare.rules import FAILING, VERDICTS, ComparisonRow, describe_keys
from pipeline.judge.compare.selection import RunIdentity
from pipeline.results import MeasurementKey


@dataclass(frozen=True)
class Header:
    """What the report says before its rows: both runs, why the reference run was chosen, and
    what weakens the comparison."""

    reference: RunIdentity
    candidate: RunIdentity
    reference_choice: str = ""
    warnings: tuple[str, ...] = ()
    #: Models of the reference run the candidate did not select: left out of the comparison.
    not_selected: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    verdict: str
    exit_code: int
    counts: dict[str, int] = field(default_factory=dict)
    #: Why the verdict is not PASS although nothing failed, or what was not gated.
    note: str = ""


def outcome(rows: Sequence[ComparisonRow]) -> Outcome:
    """FAIL beats INCONCLUSIVE beats PASS: a regression is certain even where other rows could
    not be compared."""
    counted = Counter(row.verdict for row in rows)
    counts = {verdict: counted[verdict] for verdict in VERDICTS if counted[verdict]}
    if any(row.verdict in FAILING for row in rows):
        return Outcome("FAIL", EXIT_FAIL, counts)
    not_compared = sorted({row.detail for row in rows if row.verdict == "not compared"})
    unjudged = [MeasurementKey(row.model, row.runtime, row.threads, row.metric, row.stage)
                for row in rows if row.verdict == "no reference"]
    reasons = ([f"latency not compared ({'; '.join(not_compared)})"] if not_compared else []) + (
        [f"{len(unjudged)} gated measurement{'s' if len(unjudged) != 1 else ''} of the "
         f"candidate {'have' if len(unjudged) != 1 else 'has'} no reference measurement: "
         f"{describe_keys(unjudged)}"] if unjudged else [])
    if reasons:
        return Outcome("INCONCLUSIVE", EXIT_INCONCLUSIVE, counts, "; ".join(reasons))
    notes = ["latency not gated, by request (--skip-latency)"] if counted["not gated"] else []
    absent = sorted({row.detail for row in rows if row.verdict == "not available"})
    if absent:
        n = counted["not available"]
        notes.append(f"{n} measurement{'s' if n != 1 else ''} of a runtime a build does not "
                     f"provide, not compared: {'; '.join(absent)}")
    return Outcome("PASS", EXIT_PASS, counts, "; ".join(notes))


def summary_line(result: Outcome) -> str:
    counts = ", ".join(f"{n} {verdict}" for verdict, n in result.counts.items())
    if result.verdict == "INCONCLUSIVE":
        return f"INCONCLUSIVE: {result.note}; {counts}"
    return f"{result.verdict}: {counts or 'nothing compared'}" + (
        f"; {result.note}" if result.note else "")


def shown_value(metric: str, value: float | None) -> str:
    """A value in the unit a reader expects: accuracy as a fraction, sizes and memory in
    bytes, latency in microseconds."""
    if value is None:
        return ""
    if metric in ("accuracy", "sparsity"):
        return f"{value:.4f}"
    if metric.endswith("_bytes"):  # file sizes and memory
        return f"{value:,.0f}"
    if metric in ("init_seconds", "first_invoke_seconds"):
        return f"{value * 1e6:.0f} us"
    if metric == "latency":
        return f"{value * 1e6:.2f} us"
    if metric == "stage_seconds":
        return f"{value:.2f} s"
    if metric.startswith("instructions_") or metric == "distinct_weights":
        return f"{value:.0f}"  # whole counts: `:g` wrote 2,524,900 as 2.5249e+06
    return f"{value:g}"


TABLE_COLUMNS = ("model", "metric", "runtime", "threads", "stage", "reference", "candidate",
                 "change", "allowed", "verdict", "detail")
#: Right-aligned, so digits line up in a terminal and in GitHub's table.
_NUMERIC_COLUMNS = frozenset({"threads", "reference", "candidate", "change"})


def _cells(row: ComparisonRow) -> list[str]:
    threads = "" if row.threads is None else str(row.threads)
    return [row.model, row.metric, row.runtime or "", threads, row.stage or "",
            shown_value(row.metric, row.reference), shown_value(row.metric, row.candidate),
            row.change, row.allowed, row.verdict, row.detail]


def _header_lines(header: Header) -> list[str]:
    choice = f": {header.reference_choice}" if header.reference_choice else ""
    return ([f"reference run {header.reference.label()}{choice}",
             f"candidate run {header.candidate.label()}"]
            + [f"warning: {w}" for w in header.warnings]
            + ([_not_selected_line(header)] if header.not_selected else []))


def _not_selected_line(header: Header) -> str:
    source = header.candidate.source_run_id
    hint = (f"the candidate re-measured the .tflite files of run {source} (--reuse-run): "
            f"compare that run to gate them" if source else "run it with --variants to gate them")
    return (f"not selected by the candidate, not compared: {', '.join(header.not_selected)} "
            f"({hint})")


def format_json(rows: Sequence[ComparisonRow], header: Header | None) -> str:
    result = outcome(rows)
    document: dict[str, object] = {}
    if header is not None:
        document["runs"] = {"reference": asdict(header.reference),
                            "candidate": asdict(header.candidate)}
        document["reference_choice"] = header.reference_choice
        document["warnings"] = list(header.warnings)
        document["not_selected"] = list(header.not_selected)
    document["rows"] = [asdict(row) for row in rows]
    document["summary"] = {"verdict": result.verdict, "counts": result.counts,
                           "note": result.note, "passed": result.exit_code == EXIT_PASS,
                           "exit_code": result.exit_code}
    return json.dumps(document, indent=2, allow_nan=False)


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_header(header: Header) -> list[str]:
    """The markdown lines naming both runs, the warnings and what was not selected."""
    lines = [_escape(line) + "  " for line in _header_lines(header)[:2]]
    lines += [f"> **warning:** {_escape(w)}" for w in header.warnings]
    if header.not_selected:
        lines.append(f"> {_escape(_not_selected_line(header))}")
    return lines


def markdown_table(rows: Sequence[ComparisonRow]) -> list[str]:
    """The rows as a GitHub table, failing verdicts in bold."""
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |",
             "|" + "|".join("---:" if c in _NUMERIC_COLUMNS else "---"
                            for c in TABLE_COLUMNS) + "|"]
    for row in rows:
        cells = [_escape(c) for c in _cells(row)]
        if row.verdict in FAILING:
            cells[TABLE_COLUMNS.index("verdict")] = f"**{row.verdict}**"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def format_markdown(rows: Sequence[ComparisonRow], header: Header | None) -> str:
    lines = [*markdown_header(header), ""] if header is not None else []
    lines += markdown_table(rows)
    lines += ["", f"**{_escape(summary_line(outcome(rows)))}**"]
    return "\n".join(lines)


def format_text(rows: Sequence[ComparisonRow], header: Header | None) -> str:
    table = [list(TABLE_COLUMNS)] + [_cells(row) for row in rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(TABLE_COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if name in _NUMERIC_COLUMNS else c.ljust(w)
                         for name, c, w in zip(TABLE_COLUMNS, cells, widths, strict=True)
                         ).rstrip()

    lines = _header_lines(header) if header is not None else []
    lines += [line(cells) for cells in table] + [summary_line(outcome(rows))]
    return "\n".join(lines)


FORMATS = {"text": format_text, "markdown": format_markdown, "json": format_json}


def format_rows(rows: Sequence[ComparisonRow], fmt: str, *, header: Header | None = None) -> str:
    """Render the comparison: `text` for a terminal, `markdown` for a CI job summary (a GitHub
    table), `json` for tools ({"runs", "reference_choice", "warnings", "rows", "summary"}).
    `header` adds the lines naming both runs, the choice and the warnings."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use {', '.join(FORMATS)}")
    return FORMATS[fmt](rows, header)
