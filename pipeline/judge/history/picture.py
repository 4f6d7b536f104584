"""The history picture: one row of panels per model (accuracy with the band its bound allowed,
size ratio, latency per runtime and machine, instructions per invoke per runtime with the band
the gate allows), runs on the x axis. outputs.py describes it fully; bands.py computes the
accuracy bands it shades.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from pipeline.config import Config
from pipeline.judge.history.bands import accuracy_by_run, applied_band
from pipeline.judge.history.table import Machine, RunFacts, facts_from_table, machine_labels
from pipeline.judge.pareto import figure_style, save_png
from pipeline.results import (
    completeness,
    run_times,
)
from pipeline.variants.registry import VARIANT_NAMES, VARIANTS, registry_rank

_MARKERS = "osD^vP*Xhp<>d"


def model_style(model: str) -> tuple[Any, str]:
    """One look per model in every picture (color, marker), from its place in the registry;
    in the latency panels the marker tells machines apart instead. An unknown model (an older
    registry's) is gray."""
    if model not in VARIANT_NAMES:
        return "tab:gray", "x"
    rank = VARIANT_NAMES.index(model)
    return colormaps["tab20"](rank % 20), _MARKERS[rank % len(_MARKERS)]


#: Line style per runtime (pipeline.measure.interpreters.RUNTIMES); another runtime is dotted
#: sparsely.
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
    year when every run is of one year, which the title then names: narrower labels), with
    "litert VERSION" under the TF version when the runs hold more than one LiteRT, plus the
    run_id's suffix where two runs would read the same, then "(partial)" and "reuses SOURCE"
    marks, one short item per line so that the labels of many runs still fit side by side."""
    runs = table.drop_duplicates("run_id").set_index("run_id")
    times = run_times(runs.reset_index()).set_axis(runs.index)
    date = "%m-%d" if len(run_years(table)) == 1 else "%Y-%m-%d"
    litert = runs["litert"] if "litert" in runs else pd.Series("", index=runs.index)
    several = litert.loc[list(run_ids)].fillna("").nunique() > 1
    base = {r: f"{runs.at[r, 'tensorflow']!s}"
               + (f"\nlitert {litert.at[r] or 'none'!s}" if several else "")
               + f"\n{times[r]:{date}}\n{times[r]:%H:%M}"
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


#: Picture geometry: 16 in at 100 dpi is 1600 px wide; one row of panels per model.
FIGURE_WIDTH_IN = 16.0
FIGURE_DPI = 100
_ROW_HEIGHT_IN = 1.45
_HEADER_FOOTER_IN = 2.6
COLUMN_TITLES = ("test accuracy (band: allowed by its bound)",
                  "size ratio (dashed: its minimum)",
                  "latency µs, 1 thread (band: IQR)",
                  "instructions/invoke (k; band: gate)")


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
    facts = facts or facts_from_table(table)
    run_ids = list(dict.fromkeys(table["run_id"]))  # table is in run order
    x = {run_id: i for i, run_id in enumerate(run_ids)}
    model_rows = table[table["runtime"].isna()]
    one_thread = table[table["runtime"].notna() & table["threads"].eq(1).fillna(False)]
    latency = one_thread.dropna(subset=["latency_median_s"])
    counted = one_thread.dropna(subset=["instructions_per_invoke"])
    models = sorted(model_rows["model"].unique(), key=lambda m: registry_rank(str(m)))
    accuracy = accuracy_by_run(table)
    machines = machine_labels(facts.machine[r] for r in run_ids)
    markers = {m: _MACHINE_MARKERS[i % len(_MACHINE_MARKERS)] for i, m in enumerate(machines)}

    # A bare Figure renders PNG through Agg without pyplot, so importing this module never
    # switches the caller's matplotlib backend.
    fig = Figure(figsize=(FIGURE_WIDTH_IN, _HEADER_FOOTER_IN + _ROW_HEIGHT_IN * len(models)),
                 layout="constrained")
    axes = fig.subplots(len(models), len(COLUMN_TITLES), sharex=True, squeeze=False)
    drawn_lines: set[tuple[str, Machine]] = set()
    any_shared = False
    for row, model in enumerate(models):
        ax_acc, ax_size, ax_lat, ax_count = axes[row]
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
        _draw_instructions(ax_count, counted[counted["model"] == model], x, color,
                           config.compare.instructions_growth_max)
    labels = run_labels(table, run_ids, facts.source)
    _label_runs(axes, labels)
    for ax, title in zip(axes[0], COLUMN_TITLES, strict=True):
        ax.set_title(title, loc="left")
    years = run_years(table)
    fig.suptitle(f"{len(run_ids)} runs{f' of {years[0]}' if len(years) == 1 else ''}, "
                 "ordered by TensorFlow version, then time (UTC)", x=0.01, ha="left")
    _latency_legend(fig, drawn_lines, machines, markers, any_shared,
                    counted_only=set(counted["runtime"]) - {r for r, _ in drawn_lines})
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
    pairs = list(zip(data["runtime"], data["_machine"], strict=True))
    for runtime, machine in dict.fromkeys(pairs):  # first-seen order, machines as they are
        group = data[[pair == (runtime, machine) for pair in pairs]]
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


def _draw_instructions(ax: Axes, data: pd.DataFrame, x: Mapping[str, int], color: Any,
                       growth_max: float) -> None:
    """One line per runtime of the instructions per invoke the gate compares across machines
    (in thousands), and at each run the band the gate allows it after the run before
    (+-instructions_growth_max of that run's count: a point outside is `regressed` or
    `improved`); blank for a model that was never counted (Keras)."""
    if data.empty:
        _blank(ax)
        return
    runtimes = sorted(data["runtime"].unique(), key=lambda r: _runtime_rank(str(r)))
    for runtime in runtimes:
        line = data[data["runtime"] == runtime]
        points = [x[r] for r in line["run_id"]]
        values = line["instructions_per_invoke"].to_numpy(float) / 1e3
        ax.plot(points, values, color=color, marker="o", markersize=4,
                linestyle=_RUNTIME_LINESTYLE.get(str(runtime), _OTHER_RUNTIME_LINESTYLE))
        for after, value in zip(points[1:], values[:-1], strict=True):
            ax.fill_between([after - 0.4, after + 0.4], value * (1 - growth_max),
                            value * (1 + growth_max), color=color, alpha=0.2, linewidth=0)
    _style_panel(ax)
    ax.set_ylim(bottom=0)


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
    one line, turned upright: a turned label is one line high, however many runs there are.

    Only the layout runs here, not a draw. When no label is turned, that layout is final: the
    figure keeps it and saving it runs no second layout (each costs about a second).
    """
    engine = fig.get_layout_engine()
    assert engine is not None  # history_figure makes the figure with constrained layout
    engine.execute(fig)
    boxes = [label.get_window_extent() for label in axes[-1][0].get_xticklabels()
             if label.get_text()]
    neighbours = zip(boxes[:-1], boxes[1:], strict=True)
    if any(left.x1 + _LABEL_GAP_PX > right.x0 for left, right in neighbours):
        axes[-1][0].set_xticks(range(len(labels)), [" ".join(label.split("\n"))
                                                    for label in labels])
        for ax in axes.flat:
            ax.tick_params(axis="x", labelrotation=90)
    else:
        fig.set_layout_engine("none")


#: Least room between two run labels side by side (px at FIGURE_DPI).
_LABEL_GAP_PX = 6


def _latency_legend(fig: Figure, lines: Collection[tuple[str, Machine]],
                    machines: Mapping[Machine, str], markers: Mapping[Machine, str],
                    any_shared: bool, counted_only: Collection[str] = ()) -> None:
    """One legend for every latency and instruction panel, at the top: "runtime · machine"
    per line style and marker (each panel draws them in its model's color; instruction lines
    keep the runtime's style, whatever the machine), a runtime that is only counted, never
    timed, and the hollow marker if used. One column per runtime, one row per machine (the
    legend fills columns first)."""
    order = sorted(lines, key=lambda item: (_runtime_rank(item[0]),
                                            list(machines).index(item[1])))
    handles = [Line2D([], [], color="black", marker=markers[machine], markersize=5,
                      linestyle=_RUNTIME_LINESTYLE.get(runtime, _OTHER_RUNTIME_LINESTYLE),
                      label=f"{runtime} · {machines[machine]}")
               for runtime, machine in order]
    handles += [Line2D([], [], color="black", marker="o", markersize=4,
                       linestyle=_RUNTIME_LINESTYLE.get(runtime, _OTHER_RUNTIME_LINESTYLE),
                       label=f"{runtime} (instructions only)")
                for runtime in sorted(counted_only, key=_runtime_rank)]
    if any_shared:
        handles.append(Line2D([], [], color="black", marker="o", markerfacecolor="white",
                              linestyle="none",
                              label="hollow: run shared the machine, latency not trusted"))
    if handles:
        runtimes = len({runtime for runtime, _ in lines}) + len(counted_only)
        fig.legend(handles=handles, loc="outside upper right", frameon=False,
                   ncols=runtimes + any_shared, title="latency lines", title_fontsize=10)
