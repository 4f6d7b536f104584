"""The history view: every run of a results folder as one tidy table and one picture.

`python -m pipeline.history [RESULTS_DIR] [--csv OUT.csv] [--png OUT.png]` reads every CSV in
RESULTS_DIR (default `results`) with read_history — one bad file stops it with exit 2 and the
reason, as for the comparison: a trend drawn over a silently partial history misleads — and
writes:

* a CSV (default docs/history.csv) with one row per run x (model, runtime, threads), each
  with the run's `complete` flag (False marks a partial run, never a reference run). A model
  row (runtime and threads empty) carries accuracy, zipped_bytes and size_ratio (baseline
  zipped_bytes / this model's zipped_bytes; empty on the baseline row), a latency row carries
  latency_median_s. Each number appears once, so the table can be filtered or summed without
  double counting.
* a PNG (default docs/history.png): accuracy per model, the two TFLite size ratios, and the
  single-thread latency median per model and runtime, runs ordered by (TensorFlow version,
  timestamp) and labelled "TF version\\ndate", with "(partial)" under a partial run.

Defaults point outside results/ so the table never becomes part of the history it summarizes;
an output CSV given inside RESULTS_DIR is skipped when reading for the same reason.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from pipeline.pareto import pareto_table, plot_pareto
from pipeline.results import (
    ResultsFileError,
    completeness,
    read_history,
    run_times,
    tf_version_key,
    write_atomic,
)
from pipeline.variants import ROOT, VARIANT_NAMES

PROG = "pipeline.history"
TABLE_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp_utc", "tensorflow", "cpu", "complete", "model", "runtime", "threads",
    "accuracy", "zipped_bytes", "size_ratio", "latency_median_s",
)


def _run_order(runs: pd.DataFrame) -> list[str]:
    """run_ids ordered by (TensorFlow version, timestamp); unparseable versions go last."""
    runs = runs.assign(_time=run_times(runs))
    return [row["run_id"] for _, row in sorted(
        runs.iterrows(),
        key=lambda item: (tf_version_key(item[1]["tensorflow"]), item[1]["_time"],
                          item[1]["run_id"]))]


def _model_rank(model: str) -> int:
    return VARIANT_NAMES.index(model) if model in VARIANT_NAMES else len(VARIANT_NAMES)


#: The run columns the table repeats on each of a run's rows. `complete` marks partial runs
#: (False: never a reference run) and is empty for schema-1 runs, whose completeness is unknown.
_RUN_FIELDS: tuple[str, ...] = ("run_id", "timestamp_utc", "tensorflow", "cpu", "complete")


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The tidy table (TABLE_COLUMNS) of a history as read by read_history, in run order."""
    runs = history.drop_duplicates("run_id")[list(_RUN_FIELDS)]
    order = {run_id: i for i, run_id in enumerate(_run_order(runs))}
    rows = []
    for _, run in history.groupby("run_id", sort=False):
        first = run.iloc[0]
        ident = {c: first[c] for c in _RUN_FIELDS}
        model_level = run[run["metric"].isin(["accuracy", "zipped_bytes"])]
        value = {(r["model"], r["metric"]): r["value"] for r in model_level.to_dict("records")}
        baseline_bytes = value.get(("baseline", "zipped_bytes"))
        for model in run["model"].unique():
            size = value.get((model, "zipped_bytes"))
            ratio = (baseline_bytes / size if model != "baseline" and baseline_bytes and size
                     else None)
            rows.append({**ident, "model": model, "runtime": None, "threads": None,
                         "accuracy": value.get((model, "accuracy")), "zipped_bytes": size,
                         "size_ratio": ratio, "latency_median_s": None})
        for record in run[run["metric"] == "latency"].to_dict("records"):
            rows.append({**ident, "model": record["model"], "runtime": record["runtime"],
                         "threads": record["threads"], "accuracy": None, "zipped_bytes": None,
                         "size_ratio": None, "latency_median_s": record["value"]})
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    table = table.assign(
        _run=table["run_id"].map(order), _model=table["model"].map(_model_rank),
        _latency=table["runtime"].notna(), _runtime=table["runtime"].fillna(""),
        _threads=pd.to_numeric(table["threads"]).fillna(0),
    ).sort_values(["_run", "_model", "model", "_latency", "_runtime", "_threads"])
    table = table.drop(columns=[c for c in table.columns if c.startswith("_")])
    for column in ("threads", "zipped_bytes"):
        table[column] = table[column].astype("Int64")
    for column in ("accuracy", "size_ratio", "latency_median_s"):
        table[column] = table[column].astype("float64")
    return table.reset_index(drop=True)


_MARKERS = "osD^vP*Xhp<>d"


def model_style(model: str) -> tuple[Any, str]:
    """One look per model in every picture (color, marker), from its place in the registry;
    runtimes differ by line style. An unknown model (an older registry's) is gray."""
    if model not in VARIANT_NAMES:
        return "tab:gray", "x"
    rank = VARIANT_NAMES.index(model)
    return colormaps["tab20"](rank % 20), _MARKERS[rank % len(_MARKERS)]
_RUNTIME_LINESTYLE: dict[str, str] = {"tf.lite": "-", "ai_edge_litert": "--"}


def plot_history(table: pd.DataFrame, path: Path) -> Path:
    """Draw the three panels of `table` (see the module docstring) into a PNG at `path`."""
    run_ids = list(dict.fromkeys(table["run_id"]))  # table is in run order
    runs = table.drop_duplicates("run_id").set_index("run_id")
    labels = [f"{runs.at[r, 'tensorflow']!s}\n{str(runs.at[r, 'timestamp_utc'])[:10]}"
              + ("\n(partial)" if completeness(runs.at[r, "complete"]) is False else "")
              for r in run_ids]
    x = {run_id: i for i, run_id in enumerate(run_ids)}
    models = table[table["runtime"].isna()]
    latency = table[table["runtime"].notna() & table["threads"].eq(1).fillna(False)]

    # ~0.9 inch per run keeps two-line labels apart; the legends take the right-hand column.
    width = min(max(10.0, 4.0 + 0.9 * len(run_ids)), 40.0)
    # A bare Figure renders PNG through Agg without pyplot, so importing this module never
    # switches the caller's matplotlib backend.
    fig = Figure(figsize=(width, 11), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    panels = (
        (axes[0], "accuracy per model", "test accuracy",
         [(m, m, None, models[models["model"] == m], "accuracy")
          for m in models["model"].unique()]),
        (axes[1], "size ratio: baseline zipped bytes / model zipped bytes (higher is smaller)",
         "ratio (x)",
         [(m, m, None, models[models["model"] == m], "size_ratio")
          for m in models["model"].unique() if m != ROOT]),
        (axes[2], "latency median per invoke, 1 thread", "microseconds",
         [(f"{m} / {rt}", m, rt, group, "latency_median_s")
          for (m, rt), group in sorted(latency.groupby(["model", "runtime"]),
                                       key=lambda item: (_model_rank(str(item[0][0])), item[0]))]),
    )
    for ax, title, ylabel, series in panels:
        for name, model, runtime, data, column in series:
            data = data.dropna(subset=[column])
            if data.empty:
                continue
            color, marker = model_style(str(model))
            scale = 1e6 if column == "latency_median_s" else 1.0
            ax.plot([x[r] for r in data["run_id"]], data[column] * scale, label=name,
                    color=color, marker=marker, markersize=5,
                    linestyle=_RUNTIME_LINESTYLE.get(str(runtime), ":") if runtime else "-")
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    axes[-1].set_xticks(range(len(run_ids)), labels,
                        rotation=0 if len(run_ids) <= 20 else 60, fontsize=8)
    axes[-1].set_xlabel("run (TF version, date), ordered by TF version, then time")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tabulate and plot every run of a results folder.",
        epilog="exit codes: 0 = written; 2 = a results file could not be used (the reason is "
               "printed on one line to stderr) or bad arguments.",
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", nargs="?", type=Path,
                        default=Path("results"), help="folder of results CSVs (default: results)")
    parser.add_argument("--csv", metavar="OUT.csv", type=Path, default=Path("docs/history.csv"),
                        help="where to write the table (default: docs/history.csv)")
    parser.add_argument("--png", metavar="OUT.png", type=Path, default=Path("docs/history.png"),
                        help="where to write the picture (default: docs/history.png)")
    parser.add_argument("--pareto-csv", metavar="OUT.csv", type=Path,
                        default=Path("docs/pareto.csv"),
                        help="the Pareto table of the newest complete run of the newest "
                             "TensorFlow line (default: docs/pareto.csv)")
    parser.add_argument("--pareto-png", metavar="OUT.png", type=Path,
                        default=Path("docs/pareto.png"),
                        help="its picture (default: docs/pareto.png)")
    return parser


def newest_complete_run(table: pd.DataFrame) -> str | None:
    """The run the Pareto view is drawn for: the last complete run in run order (newest
    TensorFlow line, then newest time); None when no run is complete."""
    complete = table[table["complete"].map(completeness).eq(True)]
    return None if complete.empty else str(complete["run_id"].iloc[-1])


def write_pareto(table: pd.DataFrame, csv_path: Path, png_path: Path) -> pd.DataFrame | None:
    """The Pareto table and picture of newest_complete_run; None when there is none."""
    run_id = newest_complete_run(table)
    if run_id is None:
        return None
    pareto = pareto_table(table, run_id)
    write_atomic(pareto, csv_path)
    tensorflow = table.loc[table["run_id"] == run_id, "tensorflow"].iloc[0]
    plot_pareto(pareto, f"TF {tensorflow}, run {run_id}: accuracy against size and latency",
                png_path, {m: model_style(m) for m in pareto["model"]})
    return pareto


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 written, 2 unusable input)."""
    args = _parser().parse_args(argv)
    try:
        table = history_table(read_history(args.results_dir, exclude=[args.csv]))
        write_atomic(table, args.csv)
        plot_history(table, args.png)
        pareto = write_pareto(table, args.pareto_csv, args.pareto_png)
    except ResultsFileError as exc:
        return _fail(str(exc))
    except OSError as exc:  # an output folder that cannot be written
        return _fail(f"{exc.filename}: {exc.strerror}")
    print(f"{PROG}: {table['run_id'].nunique()} runs, {len(table)} rows -> {args.csv}, {args.png}")
    if pareto is None:
        print(f"{PROG}: no complete run, no Pareto view")
    else:
        print(f"{PROG}: Pareto view of {newest_complete_run(table)} -> {args.pareto_csv}, "
              f"{args.pareto_png}")
        print(pareto.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
