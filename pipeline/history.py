"""The history view: every run of a results folder as one tidy table and one picture.

    python -m pipeline.history [RESULTS_DIR] [--out DIR] [--csv OUT.csv] [--png OUT.png]
                               [--pareto-csv OUT.csv] [--pareto-png OUT.png] [--config PATH]

reads every CSV in RESULTS_DIR (default `results`) with read_history — one bad file stops it
with exit 2 and the reason, as for the comparison: a trend drawn over a silently partial history
misleads — and writes four files into DIR (default `build/history/`, relative to the current
folder, which the repository's .gitignore ignores: running the command never dirties a
checkout). `--out docs` regenerates the pictures docs/history.md shows; `--csv`, `--png`,
`--pareto-csv` and `--pareto-png` move one file elsewhere. The same results, thresholds and
matplotlib/Pillow versions give the same bytes (no time or path in a file), so regenerating
docs/ when nothing changed leaves git clean, and tests/test_history.py fails when docs/ is stale.

* history.csv, one row per run x (model, runtime, threads), each with the run's `complete`
  flag (False marks a partial run, never a reference run). A model row (runtime and threads
  empty) carries accuracy, zipped_bytes and size_ratio (baseline zipped_bytes / this model's
  zipped_bytes; empty on the baseline row), a latency row carries latency_median_s with the
  quartiles of its repetitions (latency_q1_s, latency_q3_s). Each number appears once, so the
  table can be filtered or summed without double counting.
* history.png, 1600 px wide: one row of panels per model, runs on the x axis ordered by
  (TensorFlow version, time). A run is labelled with its TF version, UTC date and HH:MM (plus
  its run_id's suffix when two runs would read the same), "(partial)" under a partial run and
  "reuses XXXXXX" under a `--reuse-run` session. Left, the model's accuracy and, shaded, the
  band its bound allowed in each run that measured it (`accuracy_min` for the root; within
  `accuracy_drop_max` of its parent's accuracy in that run otherwise, so only where the parent
  was measured too); middle, its size ratio and `size_ratio_min` (dashed); right (TFLite
  models), the 1-thread latency median with the interquartile range of its repetitions as a
  band, one line per (runtime, machine): line style tells the runtime, marker the machine (the
  results' `cpu` and `cpu_count`), named once in the legend at the top. A change of machine
  starts another line, never a step in one. Bounds come from the threshold config. Panels a
  model cannot have (the baseline's ratio to itself, a Keras model's latency) are left blank.
* pareto.csv and pareto.png: the Pareto view of the newest complete run (pipeline.pareto).

Runs that did not build a model: a model's line joins the runs that measured it, across runs
that did not (a partial run, a run of other variants, a `--reuse-run` session — which re-measures
an earlier run's `.tflite` files and builds no Keras model). A reuse session's checks read its
source run's recorded Keras figures, so its band and size ratio use the source run's parent
accuracy and baseline size (when the source run is in the history); nothing is drawn for the
Keras models it did not build.

Runs that shared the machine (the `machine_shared` run column, from results schema 4: True when
another benchmark session ran at the same time) keep their accuracy and size, but their latency
is not trusted: it is drawn as hollow markers off the lines, without a band, and the legend
says so. Files of older schemas do not know (the column is empty or absent): their runs are
drawn as before, on the lines.

An output CSV given inside RESULTS_DIR is skipped when reading, so the table never becomes part
of the history it summarizes.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from pipeline.config import DEFAULT_CONFIG_PATH, Config, ConfigError, VariantBounds, load_config
from pipeline.pareto import figure_style, pareto_table, plot_pareto, save_png
from pipeline.results import (
    ResultsFileError,
    completeness,
    is_missing,
    machine_sharing,
    parse_samples,
    read_history,
    run_times,
    tf_version_key,
    write_atomic,
)
from pipeline.variants import VARIANT_NAMES, VARIANTS, registry_rank
from pipeline.workload import Workload, WorkloadError
from pipeline.workloads import DEFAULT_WORKLOAD, WORKLOADS, resolve_workload

PROG = "pipeline.history"
TABLE_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp_utc", "tensorflow", "workload", "cpu", "complete", "model", "runtime",
    "threads",
    "accuracy", "zipped_bytes", "size_ratio", "latency_median_s", "latency_q1_s",
    "latency_q3_s",
)
#: Where the four files go without output options: git-ignored (/build/), relative to the
#: current folder like RESULTS_DIR.
DEFAULT_OUT_DIR = Path("build/history")
#: The file names inside the output folder (`--out DIR`).
OUTPUT_NAMES: Mapping[str, str] = {"csv": "history.csv", "png": "history.png",
                                   "pareto_csv": "pareto.csv", "pareto_png": "pareto.png"}


def _run_order(runs: pd.DataFrame) -> list[str]:
    """run_ids ordered by (TensorFlow version, timestamp); unparseable versions go last."""
    runs = runs.assign(_time=run_times(runs))
    return [row["run_id"] for _, row in sorted(
        runs.iterrows(),
        key=lambda item: (tf_version_key(item[1]["tensorflow"]), item[1]["_time"],
                          item[1]["run_id"]))]


#: The run columns the table repeats on each of a run's rows. `complete` marks partial runs
#: (False: never a reference run) and is empty for schema-1 runs, whose completeness is unknown.
_RUN_FIELDS: tuple[str, ...] = ("run_id", "timestamp_utc", "tensorflow", "workload", "cpu",
                                "complete")


def source_runs(history: pd.DataFrame) -> dict[str, str]:
    """run_id -> the run whose files it re-measured (`--reuse-run`), for reuse runs only."""
    if "source_run_id" not in history:
        return {}
    runs = history.drop_duplicates("run_id").set_index("run_id")["source_run_id"]
    return {str(run): str(source) for run, source in runs.items()
            if not is_missing(source) and str(source) != ""}


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The tidy table (TABLE_COLUMNS) of a history as read by read_history, in run order.

    A reuse run's size ratios use its source run's baseline (the run that built the files and
    whose baseline the session's size checks read): it built no baseline of its own."""
    runs = history.drop_duplicates("run_id")[list(_RUN_FIELDS)]
    order = {run_id: i for i, run_id in enumerate(_run_order(runs))}
    baseline = history[(history["model"] == "baseline") & (history["metric"] == "zipped_bytes")]
    baseline_bytes = dict(zip(baseline["run_id"], baseline["value"], strict=True))
    for run_id, source in source_runs(history).items():
        if run_id not in baseline_bytes and source in baseline_bytes:
            baseline_bytes[run_id] = baseline_bytes[source]
    rows = []
    for run_key, run in history.groupby("run_id", sort=False):
        rows += _run_rows(run, baseline_bytes.get(str(run_key)))
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


def _run_rows(run: pd.DataFrame, baseline_bytes: float | None) -> list[dict[str, Any]]:
    """The table rows of one run (unsorted): one per model, one per latency measurement."""
    first = run.iloc[0]
    ident = {c: first[c] for c in _RUN_FIELDS}
    model_level = run[run["metric"].isin(["accuracy", "zipped_bytes"])]
    value = {(r["model"], r["metric"]): r["value"] for r in model_level.to_dict("records")}
    rows = []
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
    return rows


class Machine(NamedTuple):
    """What a latency line is measured on: runs on another CPU (or CPU count) are another line,
    because their latency differs by the machine, not by the code."""

    cpu: str
    cpu_count: int | None


class RunFacts(NamedTuple):
    """What the picture needs to know of each run beyond the table: its machine, the run a
    reuse session re-measured, and the runs whose latency is not trusted."""

    machine: dict[str, Machine]
    source: dict[str, str]
    shared: frozenset[str]


def run_facts(history: pd.DataFrame) -> RunFacts:
    """RunFacts of a history as read by read_history. `machine_shared` is read only when the
    frame has it (results schema 4); without it no run counts as shared."""
    runs = history.drop_duplicates("run_id").set_index("run_id")
    counts = runs["cpu_count"] if "cpu_count" in runs else pd.Series(None, index=runs.index)
    shared = runs.get("machine_shared")
    return RunFacts(
        machine={str(r): _machine(runs.at[r, "cpu"], counts.at[r]) for r in runs.index},
        source=source_runs(history),
        shared=frozenset() if shared is None else frozenset(
            str(r) for r, flag in shared.items() if machine_sharing(flag)))


def _machine(cpu: object, cpu_count: object) -> Machine:
    count = None if is_missing(cpu_count) or cpu_count == "" else int(float(str(cpu_count)))
    return Machine("" if is_missing(cpu) else str(cpu).strip(), count)


def _facts_from_table(table: pd.DataFrame) -> RunFacts:
    """What the table alone tells of its runs (cpu, no CPU count, no reuse, none shared)."""
    runs = table.drop_duplicates("run_id")
    return RunFacts({str(r): _machine(c, None) for r, c in zip(runs["run_id"], runs["cpu"],
                                                                 strict=True)}, {}, frozenset())


#: "NAME (VENDOR family F model M stepping S)", as pipeline.environment.cpu_model writes it.
_CPU_IDS = re.compile(r"^(?P<name>.*?)\s*\((?P<ids>[^()]*\bfamily\b[^()]*)\)\s*$")
#: Words of a CPU model name that tell nothing apart: trademarks, "CPU", clock, core count.
_CPU_NOISE = re.compile(r"\((?:R|TM)\)|\bCPU\b|\bProcessor\b|@\s*[\d.]+\s*GHz|\b\d+-Core\b",
                        re.IGNORECASE)
#: Levels of detail of a machine label, shortest first.
_ID_DETAIL: tuple[tuple[str, ...], ...] = (("family",), ("family", "model"),
                                          ("family", "model", "stepping"))
_ID_ABBREVIATION: Mapping[str, str] = {"family": "fam", "model": "model",
                                       "stepping": "stepping"}


def cpu_name(cpu: str, ids: Sequence[str] = ("family",)) -> str:
    """A short name of a `cpu` cell: "AMD EPYC (AuthenticAMD family 25 model 17 stepping 1)"
    -> "AMD EPYC fam 25" with the default `ids`; the cell itself when it has no such ids."""
    match = _CPU_IDS.match(cpu)
    if match is None:
        return cpu or "unknown CPU"
    name = " ".join(_CPU_NOISE.sub(" ", match["name"]).split()) or "CPU"
    words = match["ids"].split()
    found = {key: value for key, value in zip(words, words[1:], strict=False)
             if key in _ID_ABBREVIATION}
    return " ".join([name] + [f"{_ID_ABBREVIATION[key]} {found[key]}" for key in ids
                              if key in found])


def machine_labels(machines: Iterable[Machine]) -> dict[Machine, str]:
    """The shortest labels that still tell every machine apart: the CPU name and family, then
    with its model, then its stepping, each tried without and with the CPU count; last the
    whole `cpu` cell and count. Legends stay short on one machine and unambiguous on many."""
    unique = list(dict.fromkeys(machines))
    labels: dict[Machine, str] = {}
    for ids in _ID_DETAIL:
        for with_count in (False, True):
            labels = {m: _machine_label(cpu_name(m.cpu, ids), m, with_count) for m in unique}
            if len(set(labels.values())) == len(unique):
                return labels
    return {m: _machine_label(m.cpu or "unknown CPU", m, True) for m in unique}


def _machine_label(name: str, machine: Machine, with_count: bool) -> str:
    if not with_count:
        return name
    return f"{name}, {'? CPUs' if machine.cpu_count is None else f'{machine.cpu_count} CPUs'}"


_MARKERS = "osD^vP*Xhp<>d"


def model_style(model: str) -> tuple[Any, str]:
    """One look per model in every picture (color, marker), from its place in the registry;
    in the latency panels the marker tells machines apart instead. An unknown model (an older
    registry's) is gray."""
    if model not in VARIANT_NAMES:
        return "tab:gray", "x"
    rank = VARIANT_NAMES.index(model)
    return colormaps["tab20"](rank % 20), _MARKERS[rank % len(_MARKERS)]


#: Line style per runtime (pipeline.interpreters.RUNTIMES); another runtime is dotted sparsely.
_RUNTIME_LINESTYLE: Mapping[str, Any] = {
    "tf.lite": "-", "ai_edge_litert": "--", "tf.lite:no_xnnpack": "-.",
    "ai_edge_litert:no_xnnpack": ":"}
_OTHER_RUNTIME_LINESTYLE = (0, (1, 4))
#: Marker per machine, in order of first appearance in the history.
_MACHINE_MARKERS = "os^Dvp<>h"


def _runtime_rank(runtime: str) -> tuple[int, str]:
    names = list(_RUNTIME_LINESTYLE)
    return (names.index(runtime), "") if runtime in names else (len(names), runtime)


def _run_suffix(run_id: str) -> str:
    """The random part of a run_id ("..._tf2.21.0_ca6fd9" -> "ca6fd9")."""
    return run_id.rsplit("_", 1)[-1][-6:]


def run_labels(table: pd.DataFrame, run_ids: Sequence[str],
               sources: Mapping[str, str] | None = None) -> list[str]:
    """x-tick labels, distinct per run: "TF version\nUTC date\nHH:MM" (the date without its
    year when every run is of one year, which the title then names: narrower labels), plus the
    run_id's suffix where two runs would read the same, then "(partial)" and "reuses SOURCE"
    marks, one short item per line so that the labels of many runs still fit side by side."""
    runs = table.drop_duplicates("run_id").set_index("run_id")
    times = run_times(runs.reset_index()).set_axis(runs.index)
    date = "%m-%d" if len(run_years(table)) == 1 else "%Y-%m-%d"
    base = {r: f"{runs.at[r, 'tensorflow']!s}\n{times[r]:{date}}\n{times[r]:%H:%M}"
            for r in run_ids}
    seen = pd.Series(base).value_counts()
    labels = []
    for r in run_ids:
        label = base[r] + (f"\n{_run_suffix(r)}" if seen[base[r]] > 1 else "")
        if completeness(runs.at[r, "complete"]) is False:
            label += "\n(partial)"
        if sources and r in sources:
            label += f"\nreuses\n{_run_suffix(sources[r])}"
        labels.append(label)
    return labels


def run_years(table: pd.DataFrame) -> list[int]:
    """The UTC years of the table's runs, in order."""
    return sorted({int(t.year) for t in run_times(table.drop_duplicates("run_id"))})


def accuracy_band(model: str, parent_accuracy: pd.Series,
                   bounds: VariantBounds | None) -> tuple[pd.Series, pd.Series] | None:
    """Per run, the accuracy range the model's bound allows: [accuracy_min, 1] for the root,
    parent +- accuracy_drop_max for a .tflite (either direction), parent - drop and up for a
    Keras step. None without a bound (a model of an older registry). Where the parent's
    accuracy is NaN (not measured) a parent-relative band is NaN too."""
    if bounds is None:
        return None
    if bounds.accuracy_min is not None:
        return (pd.Series(bounds.accuracy_min, index=parent_accuracy.index),
                pd.Series(1.0, index=parent_accuracy.index))
    if bounds.accuracy_drop_max is None:
        return None
    lower = parent_accuracy - bounds.accuracy_drop_max
    upper = (parent_accuracy + bounds.accuracy_drop_max
             if model in VARIANTS and VARIANTS[model].kind == "tflite"
             else pd.Series(1.0, index=parent_accuracy.index).where(lower.notna()))
    return lower, upper


def accuracy_by_run(table: pd.DataFrame) -> pd.DataFrame:
    """Accuracy as run_id (in table order) x model; NaN where a run did not measure a model."""
    models = table[table["runtime"].isna()]
    return models.pivot_table(index="run_id", columns="model", values="accuracy").reindex(
        list(dict.fromkeys(table["run_id"])))


def applied_band(model: str, accuracy: pd.DataFrame, sources: Mapping[str, str],
                 bounds: VariantBounds | None) -> tuple[pd.Series, pd.Series] | None:
    """accuracy_band over the runs of `accuracy` (run_id x model), NaN at every run where the
    bound did not apply: the model was not measured there, or its band needs its parent's
    accuracy and the run has none (not even from the run a reuse session re-measured)."""
    runs = accuracy.index
    parent = VARIANTS[model].parent if model in VARIANTS else None
    parent_accuracy = pd.Series(float("nan"), index=runs)
    if parent is not None and parent in accuracy:
        own = accuracy[parent]
        parent_accuracy = own.fillna(pd.Series(
            [own.get(sources.get(r, ""), float("nan")) for r in runs], index=runs))
    band = accuracy_band(model, parent_accuracy, bounds)
    if band is None:
        return None
    measured = (accuracy[model] if model in accuracy
                else pd.Series(float("nan"), index=runs)).notna()
    return band[0].where(measured), band[1].where(measured)


#: Picture geometry: 16 in at 100 dpi is 1600 px wide; one row of panels per model.
FIGURE_WIDTH_IN = 16.0
FIGURE_DPI = 100
_ROW_HEIGHT_IN = 1.45
_HEADER_FOOTER_IN = 2.6
_COLUMN_TITLES = ("test accuracy (band: allowed by its bound)",
                  "size ratio: baseline zipped / zipped (dashed: minimum)",
                  "latency, 1 thread, µs (median; band: IQR of repetitions)")


def plot_history(table: pd.DataFrame, path: Path, config: Config,
                 facts: RunFacts | None = None) -> Path:
    """Draw `table` (see the module docstring) into a PNG at `path`, bounds from `config`;
    `facts` (run_facts of the history) tells machines, reuse sources and shared runs apart,
    what the table alone tells when None."""
    with figure_style():
        return save_png(history_figure(table, config, facts), path, dpi=FIGURE_DPI)


def history_figure(table: pd.DataFrame, config: Config, facts: RunFacts | None = None) -> Figure:
    """The figure plot_history saves (FIGURE_WIDTH_IN x FIGURE_DPI = 1600 px wide): rows in
    registry order, columns accuracy, size ratio, latency; for tests to look into."""
    facts = facts or _facts_from_table(table)
    run_ids = list(dict.fromkeys(table["run_id"]))  # table is in run order
    x = {run_id: i for i, run_id in enumerate(run_ids)}
    model_rows = table[table["runtime"].isna()]
    latency = table[table["runtime"].notna() & table["threads"].eq(1).fillna(False)]
    models = sorted(model_rows["model"].unique(), key=lambda m: registry_rank(str(m)))
    accuracy = accuracy_by_run(table)
    machines = machine_labels(facts.machine[r] for r in run_ids)
    markers = {m: _MACHINE_MARKERS[i % len(_MACHINE_MARKERS)] for i, m in enumerate(machines)}

    # A bare Figure renders PNG through Agg without pyplot, so importing this module never
    # switches the caller's matplotlib backend.
    fig = Figure(figsize=(FIGURE_WIDTH_IN, _HEADER_FOOTER_IN + _ROW_HEIGHT_IN * len(models)),
                 layout="constrained")
    axes = fig.subplots(len(models), 3, sharex=True, squeeze=False)
    drawn_lines: set[tuple[str, Machine]] = set()
    any_shared = False
    for row, model in enumerate(models):
        ax_acc, ax_size, ax_lat = axes[row]
        color, marker = model_style(str(model))
        data = model_rows[model_rows["model"] == model]
        bounds = config.variants.get(str(model))
        _draw_accuracy(ax_acc, data, x, color, marker,
                       applied_band(str(model), accuracy, facts.source, bounds))
        parent = VARIANTS[model].parent if model in VARIANTS else None
        ax_acc.set_ylabel(str(model) if parent is None else f"{model}\nfrom {parent}",
                          rotation=0, ha="right", va="center")
        _draw_size(ax_size, data, x, color, marker,
                   None if bounds is None else bounds.size_ratio_min)
        lines, shared = _draw_latency(ax_lat, latency[latency["model"] == model], x, color,
                                      facts, markers)
        drawn_lines |= lines
        any_shared |= shared
    labels = run_labels(table, run_ids, facts.source)
    _label_runs(axes, labels)
    for ax, title in zip(axes[0], _COLUMN_TITLES, strict=True):
        ax.set_title(title, loc="left")
    years = run_years(table)
    fig.suptitle(f"{len(run_ids)} runs{f' of {years[0]}' if len(years) == 1 else ''}, "
                 "ordered by TensorFlow version, then time (UTC)", x=0.01, ha="left")
    _latency_legend(fig, drawn_lines, machines, markers, any_shared)
    _upright_if_crowded(fig, axes, labels)
    return fig


def _style_panel(ax: Axes) -> None:
    ax.grid(True, alpha=0.3)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=4))
    ax.ticklabel_format(axis="y", useOffset=False, style="plain")


def _blank(ax: Axes) -> None:
    """A panel the model cannot have: nothing drawn, but its x tick labels can still show (the
    top and bottom rows label the runs of every column)."""
    ax.set_facecolor("none")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(left=False, labelleft=False, bottom=False, top=False)


def _draw_accuracy(ax: Axes, data: pd.DataFrame, x: Mapping[str, int], color: Any, marker: str,
                   band: tuple[pd.Series, pd.Series] | None) -> None:
    """The model's accuracy over the runs that measured it, and the band of each such run."""
    if band is not None:
        for xs, low, high in _band_steps(band[0].to_numpy(float), band[1].to_numpy(float)):
            ax.fill_between(xs, low, high, color="tab:green", alpha=0.15, linewidth=0)
    measured = data.dropna(subset=["accuracy"])
    ax.plot([x[r] for r in measured["run_id"]], measured["accuracy"], color=color,
            marker=marker, markersize=5)
    _style_panel(ax)
    ax.set_xlim(-0.5, len(x) - 0.5)


def _band_steps(low: np.ndarray, high: np.ndarray) -> list[tuple[list[float], list[float],
                                                                list[float]]]:
    """A band defined at some runs as filled steps, each run's value over [x - 0.5, x + 0.5];
    one polygon per stretch of consecutive runs (no seams), nothing where it is NaN."""
    steps: list[tuple[list[float], list[float], list[float]]] = []
    previous = -2
    for i in np.flatnonzero(~(np.isnan(low) | np.isnan(high))):
        if i != previous + 1:
            steps.append(([], [], []))
        xs, lows, highs = steps[-1]
        xs += [i - 0.5, i + 0.5]
        lows += [float(low[i])] * 2
        highs += [float(high[i])] * 2
        previous = int(i)
    return steps


def _draw_size(ax: Axes, data: pd.DataFrame, x: Mapping[str, int], color: Any, marker: str,
               size_ratio_min: float | None) -> None:
    """The size ratio over the runs that have one, and its minimum; blank for the baseline."""
    ratio = data.dropna(subset=["size_ratio"])
    if ratio.empty:
        _blank(ax)
        return
    ax.plot([x[r] for r in ratio["run_id"]], ratio["size_ratio"], color=color, marker=marker,
            markersize=5)
    if size_ratio_min is not None:
        ax.axhline(size_ratio_min, color="tab:red", linestyle="--", linewidth=1)
    _style_panel(ax)
    _at_least_span(ax, float(ratio["size_ratio"].median()), 0.04)


def _at_least_span(ax: Axes, center: float, fraction: float) -> None:
    """Widen the y range to `fraction` of `center` at least: a ratio moving in its fifth digit
    (one byte of a file) must not fill the panel as if it had collapsed."""
    low, high = ax.get_ylim()
    half = center * fraction / 2
    if high - low < 2 * half:
        ax.set_ylim(min(low, center - half), max(high, center + half))


def _draw_latency(ax: Axes, data: pd.DataFrame, x: Mapping[str, int], color: Any,
                  facts: RunFacts, markers: Mapping[Machine, str]
                  ) -> tuple[set[tuple[str, Machine]], bool]:
    """One line per (runtime, machine) with its IQR band, over the runs whose latency is
    trusted; shared-machine runs as hollow markers off the lines. Returns the lines drawn and
    whether a shared run was; blank for a model without latency (Keras)."""
    if data.empty:
        _blank(ax)
        return set(), False
    data = data.assign(_machine=data["run_id"].map(facts.machine),
                       _shared=data["run_id"].isin(facts.shared))
    lines: set[tuple[str, Machine]] = set()
    for (runtime, _), group in data.groupby(["runtime", "_machine"], sort=False):
        machine = facts.machine[str(group["run_id"].iloc[0])]
        style = _RUNTIME_LINESTYLE.get(str(runtime), _OTHER_RUNTIME_LINESTYLE)
        trusted, shared = group[~group["_shared"]], group[group["_shared"]]
        points = [x[r] for r in trusted["run_id"]]
        if points:
            ax.fill_between(points, trusted["latency_q1_s"] * 1e6,
                            trusted["latency_q3_s"] * 1e6, color=color, alpha=0.18,
                            linewidth=0)
            ax.plot(points, trusted["latency_median_s"] * 1e6, color=color, linestyle=style,
                    marker=markers[machine], markersize=5)
            lines.add((str(runtime), machine))
        if not shared.empty:
            ax.plot([x[r] for r in shared["run_id"]], shared["latency_median_s"] * 1e6,
                    linestyle="none", marker=markers[machine], markersize=6,
                    markerfacecolor="white", markeredgecolor=color)
    _style_panel(ax)
    ax.set_ylim(bottom=0)
    return lines, bool(data["_shared"].any())


def _label_runs(axes: np.ndarray, labels: Sequence[str]) -> None:
    """Run labels under the bottom row and above the top row of every column (the picture is
    taller than a screen); the rows between share them."""
    bottom, top = axes[-1], axes[0]
    bottom[0].set_xticks(range(len(labels)), labels)  # shared by every panel
    for ax in bottom:
        ax.tick_params(labelbottom=True)
    for ax in top:
        ax.tick_params(labeltop=True)


def _upright_if_crowded(fig: Figure, axes: np.ndarray, labels: Sequence[str]) -> None:
    """When two neighbouring run labels would touch, measured on the laid-out figure (label
    widths depend on the font, so no count of runs or characters says it), write each label on
    one line, turned upright: a turned label is one line high, however many runs there are."""
    fig.draw_without_rendering()
    boxes = [label.get_window_extent() for label in axes[-1][0].get_xticklabels()
             if label.get_text()]
    neighbours = zip(boxes[:-1], boxes[1:], strict=True)
    if any(left.x1 + _LABEL_GAP_PX > right.x0 for left, right in neighbours):
        axes[-1][0].set_xticks(range(len(labels)), [" ".join(label.split("\n"))
                                                    for label in labels])
        for ax in axes.flat:
            ax.tick_params(axis="x", labelrotation=90)


#: Least room between two run labels side by side (px at FIGURE_DPI).
_LABEL_GAP_PX = 6


def _latency_legend(fig: Figure, lines: Collection[tuple[str, Machine]],
                    machines: Mapping[Machine, str], markers: Mapping[Machine, str],
                    any_shared: bool) -> None:
    """One legend for every latency panel, at the top: "runtime · machine" per line style and
    marker (each panel draws them in its model's color), and the hollow marker if used. One
    column per runtime, one row per machine (the legend fills columns first)."""
    order = sorted(lines, key=lambda item: (_runtime_rank(item[0]),
                                            list(machines).index(item[1])))
    handles = [Line2D([], [], color="black", marker=markers[machine], markersize=5,
                      linestyle=_RUNTIME_LINESTYLE.get(runtime, _OTHER_RUNTIME_LINESTYLE),
                      label=f"{runtime} · {machines[machine]}")
               for runtime, machine in order]
    if any_shared:
        handles.append(Line2D([], [], color="black", marker="o", markerfacecolor="white",
                              linestyle="none",
                              label="hollow: run shared the machine, latency not trusted"))
    if handles:
        runtimes = len({runtime for runtime, _ in lines})
        fig.legend(handles=handles, loc="outside upper right", frameon=False,
                   ncols=runtimes + any_shared, title="latency lines", title_fontsize=10)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tabulate and plot every run of a results folder: history.csv, "
                    "history.png, pareto.csv and pareto.png, into build/history/ unless told "
                    "otherwise (--out docs regenerates the pictures of docs/history.md).",
        epilog="exit codes: 0 = written; 2 = a results file could not be used (the reason is "
               "printed on one line to stderr) or bad arguments.",
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", nargs="?", type=Path,
                        default=Path("results"), help="folder of results CSVs (default: results)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT_DIR,
                        help="folder for the four files (default: build/history)")
    parser.add_argument("--csv", metavar="OUT.csv", type=Path,
                        help="where to write the table instead (default: DIR/history.csv)")
    parser.add_argument("--png", metavar="OUT.png", type=Path,
                        help="where to write the picture instead (default: DIR/history.png)")
    parser.add_argument("--config", metavar="PATH", type=Path, default=DEFAULT_CONFIG_PATH,
                        help="threshold config whose bounds the picture draws "
                             "(default: bench/thresholds.toml)")
    parser.add_argument("--pareto-csv", metavar="OUT.csv", type=Path,
                        help="the Pareto table of the newest complete run of the newest "
                             "TensorFlow line (default: DIR/pareto.csv)")
    parser.add_argument("--pareto-png", metavar="OUT.png", type=Path,
                        help="its picture (default: DIR/pareto.png)")
    parser.add_argument("--workload", metavar="MODULE:ATTR", action="append", default=[],
                        help="a workload of your own whose runs are in RESULTS_DIR, so that "
                             "they are drawn with its bounds (repeatable); built-in workloads "
                             "are always drawn, each but the default into files named after "
                             "it (history-ds_cnn.png)")
    return parser


def output_paths(args: argparse.Namespace, workload: str = DEFAULT_WORKLOAD) -> dict[str, Path]:
    """Each output's path: the option naming it, else its OUTPUT_NAMES name under --out; the
    pictures and Pareto table of a workload other than the default one carry its name
    (history-ds_cnn.png). The table (csv) is one for all workloads."""
    paths = {key: getattr(args, key) or args.out / name for key, name in OUTPUT_NAMES.items()}
    if workload != DEFAULT_WORKLOAD:
        paths.update({key: path.with_name(f"{path.stem}-{workload}{path.suffix}")
                      for key, path in paths.items() if key != "csv"})
    return paths


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


def _workloads_in(table: pd.DataFrame) -> list[str]:
    """The workloads of the table: the default one first, then by name."""
    return sorted(table["workload"].unique(), key=lambda w: (w != DEFAULT_WORKLOAD, w))


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 written, 2 unusable input)."""
    args = _parser().parse_args(argv)
    out = output_paths(args)
    try:
        known = {**WORKLOADS, **{w.name: w for w in map(resolve_workload, args.workload)}}
        history = read_history(args.results_dir, exclude=[out["csv"], out["pareto_csv"]])
        table = history_table(history)
        write_atomic(table, out["csv"])
        lines = []
        for name in _workloads_in(table):
            lines += _draw_workload(args, history, table, known.get(name), name)
        drawn = f", {out['png']}" if DEFAULT_WORKLOAD in set(table["workload"]) else ""
        lines.insert(0, f"{PROG}: {table['run_id'].nunique()} runs, {len(table)} rows -> "
                        f"{out['csv']}{drawn}")
    except (ResultsFileError, ConfigError, WorkloadError) as exc:
        return _fail(str(exc))
    except OSError as exc:  # an output folder that cannot be written
        return _fail(f"{exc.filename}: {exc.strerror}")
    for note in history.attrs.get("passed_over", ()):  # a duel's or spread's CSV, not a run
        print(f"{PROG}: note: {note}", file=sys.stderr)
    print("\n".join(lines))
    return 0


def _draw_workload(args: argparse.Namespace, history: pd.DataFrame, table: pd.DataFrame,
                   workload: Workload | None, name: str) -> list[str]:
    """The picture and Pareto view of one workload's runs, bounds from the threshold config
    and that workload's bounds file; the lines to print about them."""
    if workload is None:
        return [f"{PROG}: runs of workload {name!r} are in the table but not drawn: pass "
                f"--workload package.module:attribute for it (its bounds file gives the "
                f"bounds)"]
    out = output_paths(args, name)
    config = load_config(args.config, bounds=workload.bounds)
    rows = table[table["workload"] == name].reset_index(drop=True)
    plot_history(rows, out["png"], config, run_facts(history[history["workload"] == name]))
    pareto = write_pareto(rows, out["pareto_csv"], out["pareto_png"])
    # The default workload's lines read as they did before workloads: its files keep their names.
    prefix = f"{PROG}: " if name == DEFAULT_WORKLOAD else f"{PROG}: workload {name}: "
    lines = [] if name == DEFAULT_WORKLOAD else [
        f"{prefix}{rows['run_id'].nunique()} runs -> {out['png']}"]
    if pareto is None:
        return lines + [f"{prefix}no complete run, no Pareto view"]
    return lines + [f"{prefix}Pareto view of {newest_complete_run(rows)} -> "
                    f"{out['pareto_csv']}, {out['pareto_png']}",
                    pareto.to_string(index=False, float_format=lambda v: f"{v:.4f}")]


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
