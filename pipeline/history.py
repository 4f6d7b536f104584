"""The history view: every run of a results folder as one tidy table and one picture.

`python -m pipeline.history [RESULTS_DIR] [--csv OUT.csv] [--png OUT.png]` reads every CSV in
RESULTS_DIR (default `results`) with read_history — one bad file stops it with exit 2 and the
reason, as for the comparison: a trend drawn over a silently partial history misleads — and
writes:

* a CSV (default docs/history.csv) with one row per run x (model, runtime, threads), each
  with the run's `complete` flag (False marks a partial run, never a reference run). A model
  row (runtime and threads empty) carries accuracy, zipped_bytes and size_ratio (baseline
  zipped_bytes / this model's zipped_bytes; empty on the baseline row), a latency row carries
  latency_median_s with the quartiles of its repetitions (latency_q1_s, latency_q3_s). Each
  number appears once, so the table can be filtered or summed without double counting.
* a PNG (default docs/history.png): one row per model, runs ordered by (TensorFlow version,
  timestamp) and labelled "TF version\\ndate", with "(partial)" under a partial run. Left, its
  accuracy and the band its bound allows in each run (`accuracy_min` for the root; within
  `accuracy_drop_max` of its parent's accuracy in that run otherwise); middle, its size ratio
  and `size_ratio_min`; right (TFLite models), the 1-thread latency median per runtime with
  the interquartile range of its repetitions as a band. Bounds come from the threshold config.
* the Pareto view of the newest complete run (pipeline.pareto).

Defaults point outside results/ so the table never becomes part of the history it summarizes;
an output CSV given inside RESULTS_DIR is skipped when reading for the same reason.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from pipeline.config import DEFAULT_CONFIG_PATH, Config, ConfigError, VariantBounds, load_config
from pipeline.pareto import pareto_table, plot_pareto
from pipeline.results import (
    ResultsFileError,
    completeness,
    parse_samples,
    read_history,
    run_times,
    tf_version_key,
    write_atomic,
)
from pipeline.variants import VARIANT_NAMES, VARIANTS, registry_rank

PROG = "pipeline.history"
TABLE_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp_utc", "tensorflow", "cpu", "complete", "model", "runtime", "threads",
    "accuracy", "zipped_bytes", "size_ratio", "latency_median_s", "latency_q1_s",
    "latency_q3_s",
)


def _run_order(runs: pd.DataFrame) -> list[str]:
    """run_ids ordered by (TensorFlow version, timestamp); unparseable versions go last."""
    runs = runs.assign(_time=run_times(runs))
    return [row["run_id"] for _, row in sorted(
        runs.iterrows(),
        key=lambda item: (tf_version_key(item[1]["tensorflow"]), item[1]["_time"],
                          item[1]["run_id"]))]


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
                         "size_ratio": ratio, "latency_median_s": None,
                         "latency_q1_s": None, "latency_q3_s": None})
        for record in run[run["metric"] == "latency"].to_dict("records"):
            q1, q3 = np.percentile(parse_samples(record["samples"]), [25, 75])
            rows.append({**ident, "model": record["model"], "runtime": record["runtime"],
                         "threads": record["threads"], "accuracy": None, "zipped_bytes": None,
                         "size_ratio": None, "latency_median_s": record["value"],
                         "latency_q1_s": float(q1), "latency_q3_s": float(q3)})
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    table = table.assign(
        _run=table["run_id"].map(order), _model=table["model"].map(lambda m: registry_rank(m)[0]),
        _latency=table["runtime"].notna(), _runtime=table["runtime"].fillna(""),
        _threads=pd.to_numeric(table["threads"]).fillna(0),
    ).sort_values(["_run", "_model", "model", "_latency", "_runtime", "_threads"])
    table = table.drop(columns=[c for c in table.columns if c.startswith("_")])
    for column in ("threads", "zipped_bytes"):
        table[column] = table[column].astype("Int64")
    for column in ("accuracy", "size_ratio", "latency_median_s", "latency_q1_s",
                   "latency_q3_s"):
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


def _run_labels(table: pd.DataFrame, run_ids: list[str]) -> list[str]:
    runs = table.drop_duplicates("run_id").set_index("run_id")
    return [f"{runs.at[r, 'tensorflow']!s}\n{str(runs.at[r, 'timestamp_utc'])[:10]}"
            + ("\n(partial)" if completeness(runs.at[r, "complete"]) is False else "")
            for r in run_ids]


def accuracy_band(model: str, parent_accuracy: pd.Series,
                   bounds: VariantBounds | None) -> tuple[pd.Series, pd.Series] | None:
    """Per run, the accuracy range the model's bound allows: [accuracy_min, 1] for the root,
    parent +- accuracy_drop_max for a .tflite (either direction), parent - drop and up for a
    Keras step. None without a bound (a model of an older registry)."""
    if bounds is None:
        return None
    if bounds.accuracy_min is not None:
        return (pd.Series(bounds.accuracy_min, index=parent_accuracy.index),
                pd.Series(1.0, index=parent_accuracy.index))
    if bounds.accuracy_drop_max is None:
        return None
    upper = (parent_accuracy + bounds.accuracy_drop_max
             if model in VARIANTS and VARIANTS[model].kind == "tflite"
             else pd.Series(1.0, index=parent_accuracy.index))
    return parent_accuracy - bounds.accuracy_drop_max, upper


def plot_history(table: pd.DataFrame, path: Path, config: Config) -> Path:
    """Draw `table` (see the module docstring) into a PNG at `path`, bounds from `config`."""
    run_ids = list(dict.fromkeys(table["run_id"]))  # table is in run order
    x = {run_id: i for i, run_id in enumerate(run_ids)}
    model_rows = table[table["runtime"].isna()]
    latency = table[table["runtime"].notna() & table["threads"].eq(1).fillna(False)]
    models = sorted(model_rows["model"].unique(), key=lambda m: registry_rank(str(m)))
    accuracy = model_rows.pivot_table(index="run_id", columns="model", values="accuracy")
    accuracy = accuracy.reindex(run_ids)

    # ~0.9 inch per run in each of the three panel columns keeps two-line labels apart; one
    # row of panels per model.
    width = min(max(12.0, 4.0 + 2.7 * len(run_ids)), 40.0)
    # A bare Figure renders PNG through Agg without pyplot, so importing this module never
    # switches the caller's matplotlib backend.
    fig = Figure(figsize=(width, 1.0 + 1.55 * len(models)), layout="constrained")
    axes = fig.subplots(len(models), 3, sharex=True, squeeze=False)
    xs = list(range(len(run_ids)))
    for row, model in enumerate(models):
        color, marker = model_style(str(model))
        ax_acc, ax_size, ax_lat = axes[row]
        data = model_rows[model_rows["model"] == model]
        points = [x[r] for r in data["run_id"]]
        bounds = config.variants.get(str(model))
        parent = VARIANTS[model].parent if model in VARIANTS else None
        parent_accuracy = (accuracy[parent] if parent in accuracy
                           else pd.Series(float("nan"), index=run_ids))
        band = accuracy_band(str(model), parent_accuracy, bounds)
        if band is not None:
            ax_acc.fill_between(xs, band[0].to_numpy(float), band[1].to_numpy(float),
                                color="tab:green", alpha=0.12, step="mid", linewidth=0)
        ax_acc.plot(points, data["accuracy"], color=color, marker=marker, markersize=4)
        ax_acc.set_ylabel(str(model), rotation=0, ha="right", va="center", fontsize=8)
        ratio = data.dropna(subset=["size_ratio"])
        if not ratio.empty:
            ax_size.plot([x[r] for r in ratio["run_id"]], ratio["size_ratio"], color=color,
                         marker=marker, markersize=4)
        if bounds is not None and bounds.size_ratio_min is not None:
            ax_size.axhline(bounds.size_ratio_min, color="tab:red", linestyle="--",
                            linewidth=1)
        model_latency = latency[latency["model"] == model]
        for runtime, group in model_latency.groupby("runtime"):
            points = [x[r] for r in group["run_id"]]
            style = _RUNTIME_LINESTYLE.get(str(runtime), ":")
            ax_lat.fill_between(points, group["latency_q1_s"] * 1e6,
                                group["latency_q3_s"] * 1e6, color=color, alpha=0.2,
                                linewidth=0)
            ax_lat.plot(points, group["latency_median_s"] * 1e6, color=color, marker=marker,
                        markersize=4, linestyle=style, label=str(runtime))
        if model_latency.empty:
            ax_lat.set_axis_off()
        else:
            ax_lat.legend(fontsize=6, loc="upper right", frameon=False)
        if ratio.empty:
            ax_size.set_axis_off()
        for ax in (ax_acc, ax_size, ax_lat):
            ax.grid(True, alpha=0.3)
            ax.tick_params(labelsize=7)
            ax.ticklabel_format(axis="y", useOffset=False)
    for ax, title in zip(axes[0], ("test accuracy (band: allowed by its bound)",
                                   "size ratio, baseline zipped / zipped (dashed: minimum)",
                                   "latency, 1 thread, us (median; band: IQR)"), strict=True):
        ax.set_title(title, loc="left", fontsize=9)
    for ax in axes[-1]:
        ax.set_xticks(xs, _run_labels(table, run_ids),
                      rotation=0 if len(run_ids) <= 12 else 60, fontsize=7)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
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
    parser.add_argument("--config", metavar="PATH", type=Path, default=DEFAULT_CONFIG_PATH,
                        help="threshold config whose bounds the picture draws "
                             "(default: bench/thresholds.toml)")
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
        config = load_config(args.config)
        table = history_table(read_history(args.results_dir, exclude=[args.csv]))
        write_atomic(table, args.csv)
        plot_history(table, args.png, config)
        pareto = write_pareto(table, args.pareto_csv, args.pareto_png)
    except (ResultsFileError, ConfigError) as exc:
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
