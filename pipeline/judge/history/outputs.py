"""What `bench history` writes: every run of a results folder as one tidy table and one
picture per workload, and each workload's Pareto view.

    bench history [RESULTS_DIR] [--out DIR] [--csv OUT.csv] [--png OUT.png]
                  [--pareto-csv OUT.csv] [--pareto-png OUT.png] [--thresholds PATH]

reads every CSV in RESULTS_DIR (default `results`) with read_history — one bad file stops it
with exit 2 and the reason, as for the comparison: a trend drawn over a silently partial history
misleads — and writes four files into DIR (default `build/history/`, relative to the current
folder, which the repository's .gitignore ignores: running the command never dirties a
checkout). `--out docs` regenerates the pictures docs/history.md shows; `--csv`, `--png`,
`--pareto-csv` and `--pareto-png` move one file elsewhere. The same results, thresholds and
matplotlib/Pillow versions give the same bytes (no time or path in a file), so regenerating
docs/ when nothing changed leaves git clean, and tests/test_history.py fails when docs/ is stale.

* history.csv, one row per run x (model, runtime, threads), each with the run's TensorFlow
  and LiteRT versions and its `complete` flag (False marks a partial run, never a reference
  run). A model row (runtime and threads empty) carries accuracy (a TFLite model's on
  tf.lite), zipped_bytes and size_ratio (baseline zipped_bytes / this model's
  zipped_bytes; empty on the baseline row), a latency row carries latency_median_s with the
  quartiles of its repetitions (latency_q1_s, latency_q3_s) and, where counted, the
  instructions per invoke of that (model, runtime, threads); a key that was counted but never
  timed (`tf.lite:no_xnnpack`) has a row of its own. Each number appears once, so the table can
  be filtered or summed without double counting.
* history.png, 1600 px wide: one row of panels per model, runs on the x axis ordered by
  (TensorFlow version, LiteRT version, time). A run is labelled with its TF version (and its
  LiteRT's when the history holds several), UTC date and HH:MM (plus its run_id's suffix when
  two runs would read the same), "(partial)" under a partial run and
  "reuses XXXXXX" under a `--reuse-run` session. Left, the model's accuracy and, shaded, the
  band its bound allowed in each run that measured it (`accuracy_min` for the root; within
  `accuracy_drop_max` of its parent's accuracy in that run otherwise, so only where the parent
  was measured too); middle, its size ratio and `size_ratio_min` (dashed); right (TFLite
  models), the 1-thread latency median with the interquartile range of its repetitions as a
  band, one line per (runtime, machine): line style tells the runtime, marker the machine (the
  results' `cpu` and `cpu_count`), named once in the legend at the top. A change of machine
  starts another line, never a step in one. Far right, the instructions per invoke (1 thread,
  in thousands), the metric CI gates across machines: one line per runtime (its line style),
  and at each run the band the gate allows it after the run before (+-instructions_growth_max
  of that run's count; a point outside it is `regressed` or `improved`). Bounds come from the
  threshold config. Panels a model cannot have (the baseline's ratio to itself, a Keras model's
  latency and counts) are left blank.
* pareto.csv and pareto.png: the Pareto view of the newest complete run (pipeline.judge.pareto).

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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.config import load_config
from pipeline.judge.history.picture import model_style, plot_history
from pipeline.judge.history.table import history_table, run_facts
from pipeline.judge.pareto import pareto_table, plot_pareto
from pipeline.results import History, completeness, read_history, write_atomic
from pipeline.variants.registry import default_variants
from pipeline.workload import Workload
from pipeline.workloads import DEFAULT_WORKLOAD, WORKLOADS, resolve_workload

#: Where the four files go without output options: git-ignored (/build/), relative to the
#: current folder like RESULTS_DIR.
DEFAULT_OUT_DIR = Path("build/history")
#: The file names inside the output folder (`--out DIR`).
OUTPUT_NAMES: Mapping[str, str] = {"csv": "history.csv", "png": "history.png",
                                   "pareto_csv": "pareto.csv", "pareto_png": "pareto.png"}


@dataclass(frozen=True)
class Outputs:
    """Where the files go: `out` for each, unless its own path is given."""

    out: Path = DEFAULT_OUT_DIR
    csv: Path | None = None
    png: Path | None = None
    pareto_csv: Path | None = None
    pareto_png: Path | None = None

    def paths(self, workload: str = DEFAULT_WORKLOAD) -> dict[str, Path]:
        """Each output's path: its own, else its OUTPUT_NAMES name under `out`; the pictures
        and Pareto table of a workload other than the default one carry its name
        (history-ds_cnn.png). The table (csv) is one for all workloads."""
        paths = {key: getattr(self, key) or self.out / name
                 for key, name in OUTPUT_NAMES.items()}
        if workload != DEFAULT_WORKLOAD:
            paths.update({key: path.with_name(f"{path.stem}-{workload}{path.suffix}")
                          for key, path in paths.items() if key != "csv"})
        return paths


@dataclass(frozen=True)
class Written:
    """What write_history wrote, in lines to print, and the history folder's files that are
    not runs (a duel's or spread's CSV), passed over."""

    lines: list[str]
    passed_over: tuple[str, ...]


def newest_complete_run(table: pd.DataFrame) -> str | None:
    """The run the Pareto view is drawn for: the last complete run in run order (newest
    TensorFlow line, then newest time); None when no run is complete."""
    complete = table[table["complete"].map(completeness).eq(True)]
    return None if complete.empty else str(complete["run_id"].iloc[-1])


def write_pareto(table: pd.DataFrame, csv_path: Path,
                 png_path: Path | None) -> pd.DataFrame | None:
    """The Pareto table and (with a `png_path`) picture of newest_complete_run; None when
    there is none."""
    run_id = newest_complete_run(table)
    if run_id is None:
        return None
    pareto = pareto_table(table, run_id)
    write_atomic(pareto, csv_path)
    if png_path is None:
        return pareto
    tensorflow = table.loc[table["run_id"] == run_id, "tensorflow"].iat[0]  # a table cell
    plot_pareto(pareto, f"TF {tensorflow}, run {run_id}: accuracy against size and latency",
                png_path, {m: model_style(m) for m in pareto["model"]})
    return pareto


def _workloads_in(table: pd.DataFrame) -> list[str]:
    """The workloads of the table: the default one first, then by name."""
    return sorted(table["workload"].unique(), key=lambda w: (w != DEFAULT_WORKLOAD, w))


def write_history(results_dir: Path, outputs: Outputs, thresholds: Path,
                  workloads: Sequence[str] = (), prog: str = "bench history", *,
                  pictures: bool = True) -> Written:
    """The table of every run in `results_dir`, and each workload's picture and Pareto view
    (a built-in workload always, one of `workloads` when named: package.module:attribute);
    without `pictures`, the tables only (drawing is nearly all of the cost: the
    committed history took 0.7-1.3 s without, 10.6-11.3 s with, on an AMD EPYC Zen 5). Raises
    ResultsFileError, ConfigError or WorkloadError for an unusable input, OSError for an
    output that cannot be written."""
    paths = outputs.paths()
    known = {**WORKLOADS, **{w.name: w for w in map(resolve_workload, workloads)}}
    history = read_history(results_dir, exclude=[paths["csv"], paths["pareto_csv"]])
    table = history_table(history)
    write_atomic(table, paths["csv"])
    lines = []
    for name in _workloads_in(table):
        lines += _draw_workload(outputs, thresholds, history, table, known.get(name), name,
                                prog, pictures)
    drawn = f", {paths['png']}" if DEFAULT_WORKLOAD in set(table["workload"]) else ""
    lines.insert(0, f"{prog}: {table['run_id'].nunique()} runs, {len(table)} rows -> "
                    f"{paths['csv']}{drawn}")
    return Written(lines, history.passed_over)


def _draw_workload(outputs: Outputs, thresholds: Path, history: History,
                   table: pd.DataFrame, workload: Workload | None, name: str,
                   prog: str, pictures: bool = True) -> list[str]:
    """The picture and Pareto view of one workload's runs, bounds from the threshold config
    and that workload's bounds file; the lines to print about them."""
    if workload is None:
        return [f"{prog}: runs of workload {name!r} are in the table but not drawn: pass "
                f"--workload package.module:attribute for it (its bounds file gives the "
                f"bounds)"]
    out = outputs.paths(name)
    config = load_config(thresholds, bounds=workload.bounds,
                         required=default_variants(workload))
    rows = table[table["workload"] == name].reset_index(drop=True)
    if pictures:
        plot_history(rows, out["png"], config,
                     run_facts(run for run in history if run.info.workload == name))
    pareto = write_pareto(rows, out["pareto_csv"], out["pareto_png"] if pictures else None)
    # The default workload's lines read as they did before workloads: its files keep their names.
    prefix = f"{prog}: " if name == DEFAULT_WORKLOAD else f"{prog}: workload {name}: "
    lines = [] if name == DEFAULT_WORKLOAD else [
        f"{prefix}{rows['run_id'].nunique()} runs -> {out['png']}"]
    if pareto is None:
        return lines + [f"{prefix}no complete run, no Pareto view"]
    return lines + [f"{prefix}Pareto view of {newest_complete_run(rows)} -> "
                    f"{out['pareto_csv']}, {out['pareto_png']}",
                    pareto.to_string(index=False, float_format=lambda v: f"{v:.4f}")]
