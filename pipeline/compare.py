"""Compare a candidate run against a baseline run: the gate for a TensorFlow upgrade.

Each measurement key (model, runtime, threads, metric, stage) of the two runs gets one row with a
verdict, under the `[compare]` rules of bench/thresholds.toml:

* accuracy: a drop of more than `accuracy_drop_max_points` points (1 point = 0.01) regresses;
  a rise of more than that is an improvement.
* zipped_bytes: growth beyond `size_growth_max` (a fraction) regresses; shrinking as much improves.
* latency: regresses only when the median slows down by more than `latency_slowdown_max` AND the
  one-sided Mann-Whitney U test on the per-round samples gives p < `latency_alpha`. Both are
  needed: a big ratio from a handful of noisy rounds is not evidence, and a significant 1%
  slowdown is not worth blocking an upgrade. Runs measured on a different cpu or platform are
  "not comparable" (never a failure) unless forced: a new CI machine is not a TF regression.
* sparsity and stage_seconds: shown as "info", never gated.
* a key on one side only: "baseline only" / "candidate only", listed and never a failure, so a
  renamed or dropped measurement is visible rather than silently skipped.

Run `python -m pipeline.compare --help` for the command line and its exit codes.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from scipy.stats import mannwhitneyu

from pipeline.config import DEFAULT_CONFIG_PATH, CompareRules, ConfigError, load_config
from pipeline.results import (
    METRICS,
    MODELS,
    STAGES,
    ResultsFileError,
    parse_samples,
    read_history,
    read_results,
    run_times,
    tf_version_key,
)

PROG = "pipeline.compare"
VERDICTS: tuple[str, ...] = ("regressed", "improved", "ok", "not comparable", "info",
                             "baseline only", "candidate only")
#: Metrics that are reported but never decide the exit code.
INFO_METRICS: frozenset[str] = frozenset({"sparsity", "stage_seconds"})

#: (model, runtime, threads, metric, stage): what one measurement of a run is.
Key = tuple[str, str | None, int | None, str, str | None]
#: One row of a results frame, as a dict.
Record = dict[Any, Any]
Format = Literal["text", "markdown", "json"]


class SelectionError(ValueError):
    """No run of the history matches the selection; the message lists what is available."""


@dataclass(frozen=True)
class ComparisonRow:
    """The verdict on one measurement key; `change` and `allowed` are for humans."""

    model: str
    runtime: str | None
    threads: int | None
    metric: str
    stage: str | None
    baseline: float | None
    candidate: float | None
    change: str
    allowed: str
    verdict: str
    detail: str = ""


@dataclass(frozen=True)
class RunIdentity:
    """What names a run in the report header: which run, which TensorFlow, which machine."""

    run_id: str
    tensorflow: str
    cpu: str
    platform: str
    timestamp_utc: str

    @classmethod
    def of(cls, run: pd.DataFrame) -> RunIdentity:
        first = run.iloc[0]
        return cls(**{f.name: _as_text(first.get(f.name)) for f in fields(cls)})

    def label(self) -> str:
        return f"{self.run_id} (tensorflow {self.tensorflow}, cpu {self.cpu})"


#: (baseline, candidate) for the report header.
RunPair = tuple[RunIdentity, RunIdentity]


def _as_text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def select_run(history: pd.DataFrame, *, tf: str | None = None,
               run_id: str | None = None) -> pd.DataFrame:
    """The latest run (by timestamp_utc) of `history` matching `tf` and `run_id` (both optional).

    Raises SelectionError listing the available TensorFlow versions or run ids, so the caller
    can correct the selector instead of guessing.
    """
    if history.empty:
        raise SelectionError("the history holds no runs")
    matching = history
    if tf is not None:
        matching = matching[matching["tensorflow"] == tf]
    if run_id is not None:
        matching = matching[matching["run_id"] == run_id]
    if matching.empty:
        runs = history.drop_duplicates("run_id")
        if run_id is not None:
            ids = runs.assign(_time=run_times(runs)).sort_values("_time", ascending=False)["run_id"]
            wanted = f"run_id {run_id!r}" + (f" and tensorflow {tf!r}" if tf is not None else "")
            raise SelectionError(f"no run with {wanted}; available run ids (newest first): "
                                 f"{', '.join(ids)}")
        counts = runs["tensorflow"].value_counts()
        versions = sorted(counts.index, key=tf_version_key)
        listed = ", ".join(f"{v} ({counts[v]} run{'s' if counts[v] > 1 else ''})" for v in versions)
        raise SelectionError(f"no run with tensorflow {tf!r}; available: {listed}")
    latest = matching.assign(_time=run_times(matching)).sort_values(["_time", "run_id"])["run_id"]
    latest = latest.iloc[-1]
    return matching[matching["run_id"] == latest].reset_index(drop=True)


def load_baseline(path: Path, *, tf: str | None = None, run_id: str | None = None,
                  exclude_path: Path | None = None,
                  exclude_run_id: str | None = None) -> pd.DataFrame:
    """The baseline run from a results CSV or history folder: the latest, or as selected.

    The candidate is usually written into the history folder itself, so its file and run id
    are left out first: a run must never be its own baseline, or the gate would always pass.
    Raises ResultsFileError for an unusable file, SelectionError when no run is left.
    """
    history = read_history(path, exclude=[exclude_path] if exclude_path else [])
    if exclude_run_id is not None:
        history = history[history["run_id"] != exclude_run_id]
        if history.empty:
            raise SelectionError(f"holds only the candidate's own run {exclude_run_id!r}; pass "
                                 f"a history with an earlier run as BASELINE")
    return select_run(history, tf=tf, run_id=run_id)


def gated_keys(run: pd.DataFrame) -> list[Key]:
    """The keys of `run` that a rule can fail (not the info metrics), in report order."""
    keys = {key_of(r) for r in run.to_dict("records")}
    return sorted((k for k in keys if k[3] not in INFO_METRICS), key=_order)


def key_of(record: Record) -> Key:
    """The measurement key of a results row (or of `dataclasses.asdict(Measurement)`)."""
    def optional(name: str) -> Any:
        value = record.get(name)
        return None if _missing(value) or value == "" else value

    threads = optional("threads")
    return (str(record["model"]), optional("runtime"),
            None if threads is None else int(threads), str(record["metric"]), optional("stage"))


def _order(key: Key) -> tuple[object, ...]:
    model, runtime, threads, metric, stage = key

    def rank(names: Sequence[str], name: str | None) -> tuple[int, str]:
        return (names.index(name), "") if name in names else (len(names), name or "")

    return (rank(MODELS, model), rank(METRICS, metric), runtime or "", threads or 0,
            rank(STAGES, stage))


def _single_run(frame: pd.DataFrame, side: str) -> dict[Key, Record]:
    run_ids = frame["run_id"].unique()
    if len(run_ids) != 1:
        raise ValueError(f"{side} must hold exactly one run, got run_ids {list(run_ids)}; "
                         f"pick one with select_run()")
    return {key_of(r): r for r in frame.to_dict("records")}


def _environment_difference(baseline: RunIdentity, candidate: RunIdentity) -> str:
    parts = [f"{name} differs: {getattr(baseline, name)!r} vs {getattr(candidate, name)!r}"
             for name in ("cpu", "platform")
             if getattr(baseline, name) != getattr(candidate, name)]
    return "; ".join(parts)


def _accuracy(base: float, cand: float, rules: CompareRules) -> tuple[str, str, str]:
    points = round((cand - base) * 100, 9)  # rounding keeps an exact-limit change "ok"
    limit = rules.accuracy_drop_max_points
    verdict = "regressed" if points < -limit else "improved" if points > limit else "ok"
    return f"{points:+.2f} pt", f"-{limit:.2f} pt", verdict


def _size(base: float, cand: float, rules: CompareRules) -> tuple[str, str, str]:
    growth = round(cand / base - 1, 9)
    limit = rules.size_growth_max
    verdict = "regressed" if growth > limit else "improved" if growth < -limit else "ok"
    return f"{growth:+.1%}", f"+{limit:.1%}", verdict


def _latency(base: Record, cand: Record, rules: CompareRules,
             environment: str, force: bool) -> tuple[str, str, str, str]:
    """(change, allowed, verdict, detail) of one latency key."""
    ratio = float(cand["value"]) / float(base["value"])
    limit, alpha = rules.latency_slowdown_max, rules.latency_alpha
    change, allowed = f"x{ratio:.2f}", f"x{limit:.2f} and p<{alpha:g}"
    if environment and not force:
        return change, allowed, "not comparable", environment
    base_samples, cand_samples = parse_samples(base["samples"]), parse_samples(cand["samples"])
    if not base_samples or not cand_samples:
        return change, allowed, "not comparable", "no per-round samples to test"
    slower = ratio >= 1
    p = float(mannwhitneyu(cand_samples, base_samples,
                           alternative="greater" if slower else "less").pvalue)
    detail = f"p={p:.2g}" + (f"; forced although {environment}" if environment else "")
    significant = p < alpha
    if slower and ratio > limit and significant:
        return change, allowed, "regressed", detail
    if not slower and ratio < 1 / limit and significant:
        return change, allowed, "improved", detail
    return change, allowed, "ok", detail


def _info(metric: str, base: float, cand: float) -> str:
    if metric == "sparsity":
        return f"{(cand - base) * 100:+.2f} pt"
    return f"{cand / base - 1:+.1%}" if base else ""


def _judge(metric: str, base: Record, cand: Record, rules: CompareRules, environment: str,
           force_latency: bool) -> tuple[str, str, str, str]:
    """(change, allowed, verdict, detail) of a key present in both runs."""
    base_value, cand_value = float(base["value"]), float(cand["value"])
    if metric in INFO_METRICS:
        return _info(metric, base_value, cand_value), "", "info", ""
    if metric == "accuracy":
        return (*_accuracy(base_value, cand_value, rules), "")
    if metric not in ("latency", "zipped_bytes"):
        return "", "", "not comparable", f"no rule for metric {metric!r}"
    if base_value <= 0:
        return "", "", "not comparable", "baseline value is not positive"
    if metric == "latency":
        return _latency(base, cand, rules, environment, force_latency)
    return (*_size(base_value, cand_value, rules), "")


def compare_runs(baseline: pd.DataFrame, candidate: pd.DataFrame, rules: CompareRules, *,
                 force_latency: bool = False) -> list[ComparisonRow]:
    """One ComparisonRow per measurement key of either run, in report order.

    `baseline` and `candidate` each hold one run (see select_run). Latency of runs from a
    different cpu or platform is "not comparable" unless `force_latency`.
    """
    base_rows, cand_rows = _single_run(baseline, "baseline"), _single_run(candidate, "candidate")
    environment = _environment_difference(RunIdentity.of(baseline), RunIdentity.of(candidate))
    rows = []
    for key in sorted(base_rows.keys() | cand_rows.keys(), key=_order):
        base, cand = base_rows.get(key), cand_rows.get(key)
        if base is None or cand is None:
            judged = ("", "", "candidate only" if base is None else "baseline only", "")
        else:
            judged = _judge(key[3], base, cand, rules, environment, force_latency)
        rows.append(ComparisonRow(
            *key, baseline=None if base is None else float(base["value"]),
            candidate=None if cand is None else float(cand["value"]),
            change=judged[0], allowed=judged[1], verdict=judged[2], detail=judged[3]))
    return rows


def _show(metric: str, value: float | None) -> str:
    """A value in the unit a reader expects: accuracy as a fraction, sizes in bytes, latency
    in microseconds."""
    if value is None:
        return ""
    if metric in ("accuracy", "sparsity"):
        return f"{value:.4f}"
    if metric == "zipped_bytes":
        return f"{value:,.0f}"
    if metric == "latency":
        return f"{value * 1e6:.2f} us"
    if metric == "stage_seconds":
        return f"{value:.2f} s"
    return f"{value:g}"


_TABLE_COLUMNS = ("model", "metric", "runtime", "threads", "stage", "baseline", "candidate",
                  "change", "allowed", "verdict", "detail")
#: Right-aligned, so digits line up in a terminal and in GitHub's table.
_NUMERIC_COLUMNS = frozenset({"threads", "baseline", "candidate", "change"})


def _cells(row: ComparisonRow) -> list[str]:
    threads = "" if row.threads is None else str(row.threads)
    return [row.model, row.metric, row.runtime or "", threads, row.stage or "",
            _show(row.metric, row.baseline), _show(row.metric, row.candidate),
            row.change, row.allowed, row.verdict, row.detail]


def exit_code(rows: Sequence[ComparisonRow]) -> int:
    """1 when any row regressed, else 0: the only verdict that fails the gate."""
    return 1 if any(row.verdict == "regressed" for row in rows) else 0


def _counts(rows: Sequence[ComparisonRow]) -> dict[str, int]:
    counts = Counter(row.verdict for row in rows)
    return {verdict: counts[verdict] for verdict in VERDICTS}


def _summary_line(rows: Sequence[ComparisonRow]) -> str:
    counts = ", ".join(f"{n} {verdict}" for verdict, n in _counts(rows).items() if n)
    return f"{'FAIL' if exit_code(rows) else 'PASS'}: {counts or 'nothing compared'}"


def _format_json(rows: Sequence[ComparisonRow], runs: RunPair | None) -> str:
    document: dict[str, object] = {}
    if runs is not None:
        document["runs"] = {"baseline": asdict(runs[0]), "candidate": asdict(runs[1])}
    document["rows"] = [asdict(row) for row in rows]
    document["summary"] = {"counts": _counts(rows), "passed": not exit_code(rows),
                           "exit_code": exit_code(rows)}
    return json.dumps(document, indent=2, allow_nan=False)


def _format_markdown(rows: Sequence[ComparisonRow],
                     runs: RunPair | None) -> str:
    def escape(cell: str) -> str:
        return cell.replace("|", "\\|")

    def run(label: str, ident: RunIdentity) -> str:
        return (f"**{label}** `{ident.run_id}` (tensorflow {escape(ident.tensorflow)}, "
                f"cpu {escape(ident.cpu)})")

    lines = []
    if runs is not None:
        lines += [f"{run('Baseline', runs[0])} vs {run('candidate', runs[1])}", ""]
    lines.append("| " + " | ".join(_TABLE_COLUMNS) + " |")
    lines.append("|" + "|".join("---:" if c in _NUMERIC_COLUMNS else "---"
                                for c in _TABLE_COLUMNS) + "|")
    for row in rows:
        cells = [escape(c) for c in _cells(row)]
        if row.verdict == "regressed":
            cells[_TABLE_COLUMNS.index("verdict")] = "**regressed**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"**{_summary_line(rows)}**"]
    return "\n".join(lines)


def _format_text(rows: Sequence[ComparisonRow],
                 runs: RunPair | None) -> str:
    table = [list(_TABLE_COLUMNS)] + [_cells(row) for row in rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(_TABLE_COLUMNS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if name in _NUMERIC_COLUMNS else c.ljust(w)
                         for name, c, w in zip(_TABLE_COLUMNS, cells, widths, strict=True)
                         ).rstrip()

    lines = []
    if runs is not None:
        lines.append(f"baseline {runs[0].label()} vs candidate {runs[1].label()}")
    lines += [line(cells) for cells in table] + [_summary_line(rows)]
    return "\n".join(lines)


_FORMATTERS = {"text": _format_text, "markdown": _format_markdown, "json": _format_json}


def format_rows(rows: Sequence[ComparisonRow], fmt: Format, *,
                runs: RunPair | None = None) -> str:
    """Render the comparison: `text` for a terminal, `markdown` for a CI job summary (a GitHub
    table), `json` for tools ({"runs": ..., "rows": [...], "summary": {...}}).

    `runs` (baseline, candidate) adds the header naming both runs.
    """
    if fmt not in _FORMATTERS:
        raise ValueError(f"unknown format {fmt!r}; use text, markdown or json")
    return _FORMATTERS[fmt](rows, runs)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compare a candidate `pytest bench` run against a baseline run under the "
                    "[compare] rules of the threshold config, one row per measurement.",
        epilog="exit codes: 0 = nothing regressed (improved, not comparable, info and one-side-"
               "only rows never fail); 1 = at least one row regressed; 2 = an input could not be "
               "used (bad results file, empty folder, no matching run, bad config, bad "
               "arguments) - the reason is printed on one line to stderr.",
    )
    parser.add_argument("baseline", metavar="BASELINE", type=Path,
                        help="a results CSV, or a folder of them (the history): the latest run "
                             "is used unless --tf / --run-id select another; the candidate's "
                             "own file and run are never picked")
    parser.add_argument("candidate", metavar="CANDIDATE", type=Path,
                        help="the results CSV of the run to judge")
    parser.add_argument("--tf", metavar="VERSION",
                        help="use the latest baseline run made with this TensorFlow version")
    parser.add_argument("--run-id", metavar="ID", help="use the baseline run with this run_id")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text (default), markdown (GitHub table for a CI job summary) or "
                             "json (rows and a summary)")
    parser.add_argument("--config", metavar="PATH", type=Path, default=DEFAULT_CONFIG_PATH,
                        help="threshold config with the [compare] rules "
                             "(default: bench/thresholds.toml)")
    parser.add_argument("--force-latency", action="store_true",
                        help="gate latency even when the runs differ in cpu or platform")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 pass, 1 regressed, 2 unusable input)."""
    args = _parser().parse_args(argv)
    try:
        rules = load_config(args.config).compare
        candidate = read_results(args.candidate)
        # The candidate is usually written into the history folder itself: never let it be its
        # own baseline, or the gate would always pass.
        baseline = load_baseline(args.baseline, tf=args.tf, run_id=args.run_id,
                                 exclude_path=args.candidate,
                                 exclude_run_id=candidate["run_id"].iloc[0])
    except (ConfigError, ResultsFileError) as exc:
        return _fail(str(exc))
    except SelectionError as exc:
        return _fail(f"{args.baseline}: {exc}")
    except OSError as exc:  # e.g. the config is a folder or unreadable
        return _fail(f"{exc.filename}: {exc.strerror}")
    rows = compare_runs(baseline, candidate, rules, force_latency=args.force_latency)
    print(format_rows(rows, args.format, runs=(RunIdentity.of(baseline),
                                               RunIdentity.of(candidate))))
    return exit_code(rows)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
