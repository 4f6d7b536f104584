"""The trade-off view of one run: every variant's accuracy against its zipped size and latency,
with the Pareto front marked (the variants no other variant beats on both at once).

`bench history` writes it for the newest complete run of the newest TensorFlow
line (pareto.csv, pareto.png: in build/history/ by default, in docs/ for docs/history.md with
`--out docs`) and prints the table.

Pictures here and in bench history are drawn inside `figure_style()` and saved with
`save_png()`, so the same history gives the same PNG bytes: the committed docs/ pictures are
regenerated and compared byte for byte by tests/test_history.py.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib import style as mpl_style
from matplotlib.figure import Figure

from pipeline.measure.interpreters import ACCURACY_RUNTIME, SINGLE_THREAD

#: The latency shown: the suite's gated one (1 thread) on the runtime the accuracy uses.
PARETO_RUNTIME = ACCURACY_RUNTIME
PARETO_THREADS = SINGLE_THREAD
PARETO_COLUMNS: tuple[str, ...] = (
    "model", "accuracy", "zipped_bytes", "latency_median_us", "front_size", "front_latency",
)


#: Font sizes (points) of both pictures; at their dpi (100) a 9-point tick label is ~12 px high.
_FONT_SIZES: Mapping[str, float] = {
    "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 12,
}


@contextmanager
def figure_style() -> Iterator[None]:
    """Matplotlib's own defaults plus _FONT_SIZES while a picture is drawn and saved: a user's
    matplotlibrc or an earlier rcParams change (a notebook, another test) must not change the
    committed pictures' bytes. The caller's settings are restored on the way out."""
    with mpl_style.context(["default", dict(_FONT_SIZES)]):
        yield


def png_software() -> str:
    """The PNG's Software text: what decides its bytes besides the data (matplotlib renders,
    Pillow compresses). Versions only, no time or path, so two runs give the same file; the
    test comparing the committed pictures reads it to know whether they can be equal here."""
    return f"matplotlib {matplotlib.__version__}, Pillow {version('pillow')}"


def save_png(fig: Figure, path: Path, dpi: int) -> Path:
    """Write `fig` to `path` with fixed metadata (png_software) and no time stamp."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": png_software()})
    return path


def pareto_front(cost: Sequence[float], accuracy: Sequence[float]) -> list[bool]:
    """For each point, whether no other point is at least as good on both (lower cost, higher
    accuracy) and strictly better on one. Ties are all on the front."""
    points = list(zip(cost, accuracy, strict=True))
    return [not any(c2 <= c1 and a2 >= a1 and (c2 < c1 or a2 > a1) for c2, a2 in points)
            for c1, a1 in points]


def pareto_table(history_rows: pd.DataFrame, run_id: str) -> pd.DataFrame:
    """PARETO_COLUMNS for run `run_id` of a history table (pipeline.judge.history.history_table).

    `front_size`: on the accuracy-vs-zipped-size front of all models. `front_latency`: on the
    accuracy-vs-latency front of the TFLite models (the only ones with a latency); empty for
    Keras models.
    """
    run = history_rows[history_rows["run_id"] == run_id]
    models = run[run["runtime"].isna()][["model", "accuracy", "zipped_bytes"]]
    latency = run[(run["runtime"] == PARETO_RUNTIME) & (run["threads"] == PARETO_THREADS)]
    table = models.merge(
        latency[["model", "latency_median_s"]], on="model", how="left").reset_index(drop=True)
    table["latency_median_us"] = table.pop("latency_median_s") * 1e6
    table["front_size"] = pareto_front(table["zipped_bytes"].astype(float).tolist(),
                                       table["accuracy"].tolist())
    timed = table["latency_median_us"].notna()
    front = pareto_front(table.loc[timed, "latency_median_us"].tolist(),
                         table.loc[timed, "accuracy"].tolist())
    table["front_latency"] = pd.Series(pd.NA, index=table.index, dtype="boolean")
    table.loc[timed, "front_latency"] = front
    return table[list(PARETO_COLUMNS)]


def plot_pareto(table: pd.DataFrame, title: str, path: Path,
                style: dict[str, tuple[object, str]]) -> Path:
    """Two panels, accuracy against zipped KB and against latency; front points ringed and
    joined. `style` gives each model's (color, marker), as in the history picture."""
    with figure_style():
        return save_png(_pareto_figure(table, title, style), path, dpi=100)


def _pareto_figure(table: pd.DataFrame, title: str,
                   style: dict[str, tuple[object, str]]) -> Figure:
    """The figure of plot_pareto; 1400 x 650 px at its dpi."""
    fig = Figure(figsize=(14, 6.5), layout="constrained")
    fig.suptitle(title, fontsize=11)
    axes = fig.subplots(1, 2, sharey=True)
    panels = ((axes[0], "zipped_bytes", "front_size", 1e-3, "zipped size (KB, ZIP_DEFLATED)"),
              (axes[1], "latency_median_us", "front_latency", 1.0,
               f"median invoke latency (us, {PARETO_RUNTIME}, {PARETO_THREADS} thread)"))
    for ax, column, front_column, scale, xlabel in panels:
        data = table.dropna(subset=[column])
        for row in data.itertuples(index=False):
            color, marker = style.get(str(row.model), ("tab:gray", "x"))
            ax.scatter(getattr(row, column) * scale, row.accuracy, color=color, marker=marker,
                       s=60, label=row.model, zorder=3)
        front = data[data[front_column].fillna(False).astype(bool)].sort_values(column)
        ax.plot(front[column] * scale, front["accuracy"], color="black", linewidth=1,
                linestyle="--", zorder=2, label="Pareto front")
        ax.scatter(front[column] * scale, front["accuracy"], s=200, facecolors="none",
                   edgecolors="black", zorder=4)
        ax.set_xlabel(xlabel)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test accuracy (10,000 images)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    return fig
