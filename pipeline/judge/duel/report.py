"""The duel's report: verdict counts, exit code, and text, markdown or json rows."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Literal

from pipeline.config import DuelSettings
from pipeline.judge.duel.runs import Run
from pipeline.judge.duel.schedule import DuelRow

Format = Literal["text", "markdown", "json"]
VERDICTS: tuple[str, ...] = ("regressed", "improved", "ok", "reference only", "candidate only")


def exit_code(rows: Sequence[DuelRow]) -> int:
    """1 when any key regressed, else 0."""
    return 1 if any(row.verdict == "regressed" for row in rows) else 0


def summary_line(rows: Sequence[DuelRow]) -> str:
    counts = Counter(row.verdict for row in rows)
    listed = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v])
    return f"{'FAIL' if exit_code(rows) else 'PASS'}: {listed}"


def records(rows: Sequence[DuelRow], reference: Run, candidate: Run) -> list[dict[str, Any]]:
    """The rows as dicts naming both runs: what --format json prints and --csv writes."""
    runs = {"reference_run_id": reference.run_id, "candidate_run_id": candidate.run_id,
            "reference_tensorflow": reference.tensorflow,
            "candidate_tensorflow": candidate.tensorflow}
    return [{**asdict(row), **runs} for row in rows]


_COLUMNS = ("model", "runtime", "threads", "reference", "candidate", "ratio", "CI", "verdict")
_NUMERIC = frozenset({"threads", "reference", "candidate", "ratio", "CI"})


def _cells(row: DuelRow) -> list[str]:
    def us(seconds: float | None) -> str:
        return "" if seconds is None else f"{seconds * 1e6:.2f} us"

    interval = "" if row.ci_low is None else f"x{row.ci_low:.3f}-x{row.ci_high:.3f}"
    ratio = "" if row.ratio is None else f"x{row.ratio:.3f}"
    return [row.model, row.runtime, str(row.threads), us(row.reference_median_s),
            us(row.candidate_median_s), ratio, interval, row.verdict]


def _header(reference: Run, candidate: Run, settings: DuelSettings) -> tuple[str, str, str]:
    """(runs line, method line, name of the interval column)."""
    confidence = f"{settings.confidence * 100:g}%"
    return (f"reference {reference.label()} vs candidate {candidate.label()}",
            f"{settings.pairs} pairs of {settings.timed_invokes}-invoke blocks per key, ABBA, "
            f"seed {settings.seed}, over {settings.processes} worker processes per side; "
            f"ratio = geometric mean over process pairs of their median candidate/reference; "
            f"regressed when ratio > x{settings.slowdown_max:g} and its {confidence} CI (t, "
            f"over the process pairs) is above x1",
            f"{confidence} CI")


def _markdown(runs: str, method: str, names: Sequence[str], table: list[list[str]],
              summary: str) -> str:
    lines = [f"**Duel** {runs}", "", method, "", "| " + " | ".join(names) + " |",
             "|" + "|".join("---:" if c in _NUMERIC else "---" for c in _COLUMNS) + "|"]
    for cells in table:
        if cells[-1] == "regressed":
            cells[-1] = "**regressed**"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", f"**{summary}**"])


def _text(runs: str, method: str, names: Sequence[str], table: list[list[str]],
          summary: str) -> str:
    widths = [max(len(cells[i]) for cells in [names, *table]) for i in range(len(names))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if name in _NUMERIC else c.ljust(w)
                         for name, c, w in zip(_COLUMNS, cells, widths, strict=True)).rstrip()

    return "\n".join([runs, method, *map(line, [names, *table]), summary])


def format_report(rows: Sequence[DuelRow], reference: Run, candidate: Run,
                  settings: DuelSettings, fmt: Format) -> str:
    """`text` for a terminal, `markdown` for a CI job summary (a GitHub table), `json` for
    tools (a list of records)."""
    if fmt == "json":
        return json.dumps(records(rows, reference, candidate), indent=2)
    runs, method, ci_name = _header(reference, candidate, settings)
    names = [ci_name if c == "CI" else c for c in _COLUMNS]
    render = _markdown if fmt == "markdown" else _text
    return render(runs, method, names, [_cells(row) for row in rows], summary_line(rows))


