"""The history view: the tidy table and the picture, from copies of real runs
(tests/fixtures/runs: TF 2.15.1, 2.20.0, three complete 2.21.0 runs of which one is schema 1,
and one partial 2.21.0 run), so the table is checked on what `pytest bench` really writes; a
reuse run, another machine and a shared-machine run are made from them in memory. That the
committed docs/ files are what the committed results/ give is tests/test_docs.py's."""
from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from pipeline.commands.history import main
from pipeline.config import load_config
from pipeline.judge.history.bands import accuracy_band, accuracy_by_run, applied_band
from pipeline.judge.history.outputs import newest_complete_run
from pipeline.judge.history.picture import (
    COLUMN_TITLES,
    FIGURE_DPI,
    FIGURE_WIDTH_IN,
    history_figure,
    run_labels,
)
from pipeline.judge.history.table import (
    TABLE_COLUMNS,
    Machine,
    cpu_name,
    history_table,
    machine_labels,
    run_facts,
)
from pipeline.judge.pareto import PARETO_COLUMNS, pareto_front, png_software
from pipeline.results import History, Run, read_history, read_results
from pipeline.variants.registry import VARIANTS
from tests.helpers import BAD_REASONS, COUNTED, FIXTURES, RUNS, as_schema6
from tests.helpers import REPO_ROOT as ROOT

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
AMD = "AMD EPYC (AuthenticAMD family 25 model 17 stepping 1)"
INTEL = "Intel(R) Xeon(R) CPU @ 2.20GHz (GenuineIntel family 6 model 79 stepping 0)"
#: The run files in the order the table and the x axis must show them: by TensorFlow version
#: (2.15 before 2.20, numerically), then by time; the schema-1 2.21.0 run is the oldest.
RUN_FILES = ("tf2.15.1.csv", "tf2.20.0.csv", "tf2.21.0_schema1.csv", "tf2.21.0_a.csv",
             "tf2.21.0_b.csv", "tf2.21.0_partial.csv")
#: What the `complete` cell of each run's rows says: empty where schema 1 recorded nothing.
COMPLETE_CELL = {"tf2.15.1.csv": "True", "tf2.20.0.csv": "True", "tf2.21.0_schema1.csv": "",
                 "tf2.21.0_a.csv": "True", "tf2.21.0_b.csv": "True",
                 "tf2.21.0_partial.csv": "False"}
#: 4 model rows + 8 latency rows per whole run; the partial run (-k baseline) has one model row.
TABLE_ROWS = 5 * 12 + 1


def run_id_of(name: str) -> str:
    return read_results(RUNS / name).run_id


def edited_run(run: Run, **changes: Any) -> Run:
    """`run` with some run fields changed, in its info and on every row alike, as a file that
    recorded them would read."""
    return replace(run, info=replace(run.info, **changes), rows=run.rows.assign(**changes))


def edited(history: History, run_id: str, **changes: Any) -> History:
    """`history` with some run fields of run `run_id` changed (edited_run)."""
    assert run_id in {run.run_id for run in history}, run_id
    return replace(history, runs=tuple(edited_run(run, **changes) if run.run_id == run_id
                                       else run for run in history))


def run_of_history(history: History, run_id: str) -> Run:
    [run] = [run for run in history if run.run_id == run_id]
    return run


def run_cli(*args: object, isolate: bool = True) -> tuple[int, str, str]:
    """main() in-process; unless `isolate` is False, outputs not given go to a temporary
    `--out` folder, so a test never writes into the checkout."""
    argv = [str(a) for a in args]
    if isolate and "--out" not in argv:
        argv += ["--out", tempfile.mkdtemp(prefix="history-")]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def copy_runs(folder: Path) -> Path:
    """`folder` holding a copy of every fixture run."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        shutil.copy(RUNS / name, folder / name)
    return folder


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    return copy_runs(tmp_path / "results")


@dataclass(frozen=True)
class Drawn:
    """One `bench history` over the fixture runs, each of its four files named by its own
    option, for every test that reads what it printed or wrote without changing the runs first
    (pictures cost seconds)."""

    code: int
    out: str
    err: str
    folder: Path


@pytest.fixture(scope="module")
def drawn(tmp_path_factory: pytest.TempPathFactory) -> Drawn:
    folder = tmp_path_factory.mktemp("drawn")
    out = folder / "out"
    code, stdout, err = run_cli(copy_runs(folder / "results"), "--csv", out / "history.csv",
                                "--png", out / "history.png", "--pareto-csv",
                                out / "pareto.csv", "--pareto-png", out / "pareto.png")
    return Drawn(code, stdout, err, out)


def test_writes_tidy_csv_and_png(drawn: Drawn) -> None:
    out_csv, out_png = drawn.folder / "history.csv", drawn.folder / "history.png"
    assert (drawn.code, drawn.err) == (0, "")
    assert drawn.out.splitlines()[0] == (
        f"bench history: 6 runs, {TABLE_ROWS} rows -> {out_csv}, {out_png}")
    assert out_png.read_bytes().startswith(PNG_MAGIC) and out_png.stat().st_size > 20_000
    assert Image.open(out_png).width == FIGURE_WIDTH_IN * FIGURE_DPI == 1600

    table = pd.read_csv(out_csv)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(dict.fromkeys(table["run_id"])) == [run_id_of(n) for n in RUN_FILES]
    assert len(table) == TABLE_ROWS
    source = read_results(RUNS / "tf2.20.0.csv")
    value = {(r["model"], r["metric"]): r["value"] for r in source.rows.to_dict("records")}
    run = table[table["run_id"] == run_id_of("tf2.20.0.csv")]
    models = run[run["runtime"].isna()].set_index("model")
    assert list(models.index) == ["baseline", "pruned", "pruned_tflite", "pruned_quantized_tflite"]
    assert models["zipped_bytes"].tolist() == [value[(m, "zipped_bytes")] for m in models.index]
    assert models["accuracy"].tolist() == [value[(m, "accuracy")] for m in models.index]
    baseline_bytes = value[("baseline", "zipped_bytes")]
    assert pd.isna(models.at["baseline", "size_ratio"])
    for model in ("pruned", "pruned_tflite", "pruned_quantized_tflite"):
        assert models.at[model, "size_ratio"] == pytest.approx(
            baseline_bytes / value[(model, "zipped_bytes")])
    assert models["latency_median_s"].isna().all()
    latency = run[run["runtime"].notna()]
    assert latency[["accuracy", "zipped_bytes", "size_ratio"]].isna().all().all()
    assert latency[["model", "runtime", "threads"]].values.tolist()[:4] == [
        ["pruned_tflite", "ai_edge_litert", 1], ["pruned_tflite", "ai_edge_litert", 2],
        ["pruned_tflite", "tf.lite", 1], ["pruned_tflite", "tf.lite", 2]]


def test_complete_column_marks_partial_runs_and_leaves_schema_1_empty(drawn: Drawn) -> None:
    """False on every row of the partial run, True on complete runs, and an empty cell for the
    schema-1 run: its completeness was never recorded, and the table must not invent it."""
    assert drawn.code == 0
    with (drawn.folder / "history.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    cells: dict[str, set[str]] = {}
    for row in rows:
        cells.setdefault(row["run_id"], set()).add(row["complete"])
    assert cells == {run_id_of(name): {cell} for name, cell in COMPLETE_CELL.items()}
    partial = [row for row in rows if row["run_id"] == run_id_of("tf2.21.0_partial.csv")]
    assert [(row["model"], row["runtime"]) for row in partial] == [("baseline", "")]


def figure_of(history: Iterable[Run]) -> Figure:
    runs = list(history)
    return history_figure(history_table(runs), load_config(), run_facts(runs))


def panels(fig: Figure) -> dict[str, list[Axes]]:
    """model -> its (accuracy, size ratio, latency, instructions) panels; the row label names
    the model."""
    axes, n = fig.axes, len(COLUMN_TITLES)
    return {axes[i].get_ylabel().split("\n")[0]: axes[i:i + n] for i in range(0, len(axes), n)}


def lines_of(ax: Axes) -> list[Line2D]:
    """The connected lines of a panel (not the hollow markers of shared runs)."""
    return [line for line in ax.get_lines() if line.get_linestyle() != "None"]


def xs_of(line: Line2D) -> list[int]:
    return [int(x) for x in np.asarray(line.get_xdata(), dtype=float)]


def run_order(history: Iterable[Run]) -> list[str]:
    return list(dict.fromkeys(history_table(history)["run_id"]))


def label_of(name: str) -> str:
    """"TF version\\nMM-DD\\nHH:MM" (UTC) of a fixture run: every fixture run is of 2026."""
    run = read_results(RUNS / name).info
    time = pd.Timestamp(run.timestamp_utc).tz_convert("UTC")
    return f"{run.tensorflow}\n{time:%m-%d}\n{time:%H:%M}"


def test_picture_labels_every_run_distinctly_and_the_partial_run(results_dir: Path) -> None:
    """TF version, date and time: the three complete 2.21.0 runs read differently. Only the run
    that says it is partial gets "(partial)"; a schema-1 run, whose completeness is unknown, is
    not marked either way. The year, the same for all, is in the title."""
    fig = figure_of(read_history(results_dir))
    # Stacked, or on one line when turned upright (a crowded row): the same words either way.
    labels = [label.get_text().replace("\n", " ")
              for label in fig.axes[-1].get_xticklabels()]
    assert labels == [label_of(name).replace("\n", " ") for name in RUN_FILES[:-1]] + [
        label_of(RUN_FILES[-1]).replace("\n", " ") + " (partial)"]
    assert len(set(labels)) == len(labels)
    assert fig.get_suptitle().startswith("6 runs of 2026, ")


def test_runs_of_the_same_minute_get_their_run_id_suffix(results_dir: Path) -> None:
    history = read_history(results_dir)
    a, b = run_id_of("tf2.21.0_a.csv"), run_id_of("tf2.21.0_b.csv")
    stamp = run_of_history(history, a).info.timestamp_utc
    history = edited(history, b, timestamp_utc=stamp.replace(":55:46", ":55:59"))
    table = history_table(history)
    labels = dict(zip(run_order(history), run_labels(table, run_order(history)), strict=True))
    assert labels[a] == f"{label_of('tf2.21.0_a.csv')}\n{a[-6:]}"
    assert labels[b] == f"{label_of('tf2.21.0_a.csv')}\n{b[-6:]}"
    assert labels[run_id_of("tf2.20.0.csv")] == label_of("tf2.20.0.csv")


def test_litert_releases_of_one_line_sort_by_version_and_are_labelled(results_dir: Path) -> None:
    """A LiteRT release added to the 2.21.0 line after its 2.3.0 runs (b, the latest complete
    run, relabelled 2.2.0) sorts before them, so the line's newest LiteRT stays the Pareto
    view's run; with two LiteRTs in the history every label names its run's."""
    history = read_history(results_dir)
    a, b = run_id_of("tf2.21.0_a.csv"), run_id_of("tf2.21.0_b.csv")
    history = edited(history, b, litert="2.2.0")
    table = history_table(history)
    order = run_order(history)
    assert order.index(b) < order.index(a)
    assert newest_complete_run(table) == a
    labels = dict(zip(order, run_labels(table, order), strict=True))
    assert labels[b] == label_of("tf2.21.0_b.csv").replace("2.21.0\n", "2.21.0\nlitert 2.2.0\n")
    assert labels[a].split("\n")[:2] == ["2.21.0", "litert 2.3.0"]
    assert "litert" not in run_labels(history_table(read_history(results_dir)), [a])[0]


def test_labels_carry_the_year_when_runs_span_years(results_dir: Path) -> None:
    history = read_history(results_dir)
    old = run_id_of("tf2.15.1.csv")
    history = edited(history, old, timestamp_utc="2025-12-31T23:59:00+00:00")
    labels = run_labels(history_table(history), run_order(history))
    assert labels[0] == "2.15.1\n2025-12-31\n23:59"
    assert labels[1].split("\n")[1] == "2026-11-28"


def test_many_runs_get_one_line_labels_turned_upright(results_dir: Path) -> None:
    """More runs than side-by-side labels fit: one line each, turned, still distinct."""
    history = read_history(results_dir)
    copies = []
    for i in range(12):
        copy = run_of_history(history, run_id_of("tf2.21.0_b.csv"))
        copies.append(edited_run(copy, run_id=f"20261129T{i:02d}0000Z_tf2.21.0_c{i:05d}",
                                 timestamp_utc=f"2026-11-29T{i:02d}:00:00+00:00"))
    fig = figure_of([*history, *copies])
    labels = fig.axes[-1].get_xticklabels()
    assert len(labels) == 18 and len({label.get_text() for label in labels}) == 18
    assert all("\n" not in label.get_text() and label.get_rotation() == 90 for label in labels)


def test_latency_values_are_the_run_medians(results_dir: Path) -> None:
    history = read_history(results_dir)
    table = history_table(history)
    rows = history.rows
    source = rows[rows["metric"] == "latency"].set_index(["run_id", "model", "runtime",
                                                          "threads"])["value"]
    shown = table[table["runtime"].notna()].set_index(["run_id", "model", "runtime",
                                                        "threads"])["latency_median_s"]
    assert shown.sort_index().tolist() == source.sort_index().tolist()


def test_tf_versions_sort_numerically(results_dir: Path) -> None:
    """2.9 comes before 2.15 even though it sorts after it as text."""
    history = read_history(results_dir)
    relabelled = run_id_of("tf2.20.0.csv")
    history = edited(history, relabelled, tensorflow="2.9.0")
    assert list(dict.fromkeys(history_table(history)["run_id"]))[:2] == [
        relabelled, run_id_of("tf2.15.1.csv")]


OUTPUTS = ("history.csv", "history.png", "pareto.csv", "pareto.png")


def test_defaults_write_under_build_history_and_skip_their_own_csv(
        results_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No output option: the four files go to build/history/ (git-ignored), never docs/."""
    monkeypatch.chdir(tmp_path)
    assert run_cli(isolate=False)[0] == 0
    assert sorted(p.name for p in (tmp_path / "build" / "history").iterdir()) == sorted(OUTPUTS)
    assert (tmp_path / "build" / "history" / "history.png").read_bytes().startswith(PNG_MAGIC)
    assert not (tmp_path / "docs").exists()
    # output CSVs placed inside the results folder are not read back as runs
    for table in ("history.csv", "pareto.csv"):
        shutil.copy(tmp_path / "build" / "history" / table, results_dir / table)
    code, out, err = run_cli(results_dir, "--out", results_dir)
    assert (code, err) == (0, "")
    assert out.startswith(f"bench history: 6 runs, {TABLE_ROWS} rows")


def test_out_writes_all_four_files_and_single_options_move_one(results_dir: Path,
                                                               tmp_path: Path) -> None:
    out_dir, elsewhere = tmp_path / "out", tmp_path / "elsewhere" / "h.png"
    code, out, _ = run_cli(results_dir, "--out", out_dir, "--png", elsewhere)
    assert code == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["history.csv", "pareto.csv",
                                                         "pareto.png"]
    assert elsewhere.read_bytes().startswith(PNG_MAGIC)
    assert out.splitlines()[0].endswith(f"-> {out_dir / 'history.csv'}, {elsewhere}")


def test_the_same_history_gives_the_same_bytes(drawn: Drawn, results_dir: Path,
                                               tmp_path: Path) -> None:
    """Two runs, different folders: identical files (no time, no path in a PNG)."""
    first, second = drawn.folder, tmp_path / "second"
    assert drawn.code == 0
    assert run_cli(results_dir, "--out", second)[0] == 0
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert Image.open(first / "history.png").info["Software"] == png_software()


def test_bad_file_stops_the_history_with_exit_2(results_dir: Path, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "bad_two_runs.csv", results_dir / "bad_two_runs.csv")
    out_csv = tmp_path / "out.csv"
    code, out, err = run_cli(results_dir, "--csv", out_csv, "--png", tmp_path / "out.png")
    assert (code, out) == (2, "")
    assert err == (f"bench history: error: {results_dir / 'bad_two_runs.csv'}: "
                   f"{BAD_REASONS['bad_two_runs.csv']}\n")
    assert not out_csv.exists()


def test_pareto_front_keeps_the_points_nothing_beats_on_both() -> None:
    # (cost, accuracy): b is beaten by a (cheaper, as accurate); c and d trade off; e ties a.
    cost = [10.0, 12.0, 5.0, 30.0, 10.0]
    accuracy = [0.98, 0.98, 0.97, 0.99, 0.98]
    assert pareto_front(cost, accuracy) == [True, False, True, True, True]


def test_pareto_view_is_of_the_newest_complete_run(drawn: Drawn) -> None:
    """The newest TF line's newest complete run (2.21.0 b, not the later partial run); its
    table is printed and written, one row per model, fronts marked."""
    pareto_csv, pareto_png = drawn.folder / "pareto.csv", drawn.folder / "pareto.png"
    assert drawn.code == 0
    newest = run_id_of("tf2.21.0_b.csv")
    assert drawn.out.splitlines()[1] == (
        f"bench history: Pareto view of {newest} -> {pareto_csv}, {pareto_png}")
    assert pareto_png.read_bytes().startswith(PNG_MAGIC)
    table = pd.read_csv(pareto_csv)
    assert list(table.columns) == list(PARETO_COLUMNS)
    assert table["model"].tolist() == ["baseline", "pruned", "pruned_tflite",
                                       "pruned_quantized_tflite"]
    source = read_results(RUNS / "tf2.21.0_b.csv").rows
    latency = source[(source["metric"] == "latency") & (source["runtime"] == "tf.lite")
                     & (source["threads"] == 1)].set_index("model")["value"]
    assert table.set_index("model")["latency_median_us"].dropna().to_dict() == pytest.approx(
        (latency * 1e6).to_dict())
    # The quantized model is smallest and (here) as accurate as the float one: on both fronts.
    assert table.set_index("model").at["pruned_quantized_tflite", "front_size"]
    assert table["front_latency"].isna().tolist() == [True, True, False, False]


def test_accuracy_bands_are_the_bounds_of_each_kind_of_model() -> None:
    """What the picture shades as allowed: the root's floor; a Keras step may lose at most
    accuracy_drop_max against its parent in that run; a .tflite must match its source within it
    either way."""
    config = load_config()
    parent = pd.Series([0.9795, 0.9780], index=["run1", "run2"])
    floor, top = accuracy_band("baseline", parent, config.variants["baseline"])
    floor_bound = config.variants["baseline"].accuracy_min
    assert floor.tolist() == [floor_bound] * 2 and top.tolist() == [1.0, 1.0]
    low, high = accuracy_band("pruned", parent, config.variants["pruned"])
    pruned_drop = config.variants["pruned"].accuracy_drop_max
    assert low.tolist() == pytest.approx((parent - pruned_drop).tolist())
    assert high.tolist() == [1.0, 1.0]
    low, high = accuracy_band("int8_tflite", parent, config.variants["int8_tflite"])
    drop = config.variants["int8_tflite"].accuracy_drop_max
    assert low.tolist() == pytest.approx((parent - drop).tolist())
    assert high.tolist() == pytest.approx((parent + drop).tolist())
    assert accuracy_band("pruned", parent, None) is None


def test_cpu_names_are_short_and_machine_labels_distinct() -> None:
    assert cpu_name(AMD) == "AMD EPYC fam 25"
    assert cpu_name(INTEL) == "Intel Xeon fam 6"
    assert cpu_name("AMD EPYC") == "AMD EPYC"  # schema 1 recorded the model name only
    assert cpu_name("") == "unknown CPU"
    assert machine_labels([Machine(AMD, 2), Machine(INTEL, 2)]) == {
        Machine(AMD, 2): "AMD EPYC fam 25", Machine(INTEL, 2): "Intel Xeon fam 6"}
    other_model = AMD.replace("model 17", "model 1")
    assert list(machine_labels([Machine(AMD, 2), Machine(other_model, 2),
                                Machine(AMD, 4)]).values()) == [
        "AMD EPYC fam 25 model 17, 2 CPUs", "AMD EPYC fam 25 model 1, 2 CPUs",
        "AMD EPYC fam 25 model 17, 4 CPUs"]


def test_one_latency_line_per_runtime_and_machine(results_dir: Path) -> None:
    """A run on another CPU starts its own lines (and legend entries); no line joins runs of
    two machines. The schema-1 run's bare "AMD EPYC" is a machine of its own: it recorded too
    little to be known as the same."""
    history = read_history(results_dir)
    moved = run_id_of("tf2.21.0_a.csv")
    history = edited(history, moved, cpu=INTEL)
    facts = run_facts(history)
    order = run_order(history)
    fig = figure_of(history)
    lines = lines_of(panels(fig)["pruned_tflite"][2])
    rows = history.rows
    runtimes = set(rows.loc[rows["metric"] == "latency", "runtime"])
    machines_with_latency = {facts.machine[r] for r in
                             rows.loc[rows["metric"] == "latency", "run_id"]}
    assert len(machines_with_latency) == 3
    assert len(lines) == len(runtimes) * 3
    for line in lines:
        assert len({facts.machine[order[x]] for x in xs_of(line)}) == 1
    assert sum(order.index(moved) in xs_of(line) for line in lines) == len(runtimes)
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    assert sorted(legend) == sorted(f"{runtime} · {machine}" for runtime in runtimes
                                    for machine in ("AMD EPYC fam 25", "AMD EPYC",
                                                    "Intel Xeon fam 6"))


def test_the_instruction_panel_draws_the_gated_counts_and_the_band_the_gate_allows() -> None:
    """The committed history's counts, one line per runtime (machines do not split them), in
    thousands, and after each run the band instructions_growth_max allows around the run
    before: the 2.15 -> 2.17 drop of tf.lite (434,330 -> 189,331 per invoke, pruned_tflite)
    lies far outside it."""
    history = [run for run in read_history(ROOT / "results") if run.info.workload == "mnist_cnn"]
    table = history_table(history)
    fig = figure_of(history)
    ax = panels(fig)["pruned_tflite"][3]
    counted = table[(table["model"] == "pruned_tflite") & table["threads"].eq(1).fillna(False)
                    & table["instructions_per_invoke"].notna()]
    runtimes = set(counted["runtime"])
    assert {"tf.lite", "ai_edge_litert", "tf.lite:no_xnnpack"} <= runtimes
    lines = lines_of(ax)
    assert len(lines) == len(runtimes)
    tf_lite = counted[counted["runtime"] == "tf.lite"]["instructions_per_invoke"].tolist()
    assert any(list(np.asarray(line.get_ydata(), float)) == [v / 1e3 for v in tf_lite]
               for line in lines)
    growth = load_config().compare.instructions_growth_max
    bands = [collection.get_paths()[0].get_extents() for collection in ax.collections]
    assert len(bands) == sum(len(counted[counted["runtime"] == r]) - 1 for r in runtimes)
    for band in bands:  # each +-growth around the run before's count
        middle = (band.y0 + band.y1) / 2
        assert band.y1 - band.y0 == pytest.approx(2 * growth * middle)
    assert any(after / before < 1 - growth  # the improvement is outside the band
               for before, after in zip(tf_lite, tf_lite[1:], strict=False))
    blank = panels(fig)["baseline"][3]  # a Keras model is never counted
    assert not blank.get_lines() and not any(s.get_visible() for s in blank.spines.values())


def reuse_of(history: History, source: str) -> tuple[History, str]:
    """`history` plus a `--reuse-run` session of run `source`: its .tflite rows only, later."""
    built = run_of_history(history, source)
    tflite = built.rows["model"].map(lambda m: VARIANTS[m].kind == "tflite")
    reuse = "20261128T010000Z_tf2.21.0_feed01"
    run = edited_run(replace(built, rows=built.rows[tflite].reset_index(drop=True)),
                     run_id=reuse, timestamp_utc="2026-11-28T01:00:30+00:00",
                     source_run_id=source)
    return replace(history, runs=(*history.runs, run)), reuse


def test_reuse_runs_leave_keras_lines_whole_and_use_their_source_run(results_dir: Path) -> None:
    """A reuse run built no Keras model: Keras lines join the runs around it, without a gap or
    a band there; its .tflite models get the size ratio and band of the source run's parents,
    which its checks read."""
    source = run_id_of("tf2.21.0_b.csv")
    history, reuse = reuse_of(read_history(results_dir), source)
    table = history_table(history)
    ratio = table[table["runtime"].isna()].set_index(["run_id", "model"])["size_ratio"]
    assert ratio[(reuse, "pruned_tflite")] == ratio[(source, "pruned_tflite")]
    order = run_order(history)
    fig = figure_of(history)
    pruned = panels(fig)["pruned"][0]
    [line] = pruned.get_lines()
    assert order.index(reuse) not in xs_of(line)
    assert np.isfinite(np.asarray(line.get_ydata(), dtype=float)).all()
    [tflite_line] = panels(fig)["pruned_tflite"][0].get_lines()
    assert order.index(reuse) in xs_of(tflite_line)
    accuracy, config = accuracy_by_run(table), load_config()
    sources = run_facts(history).source
    assert sources == {reuse: source}
    low, high = applied_band("pruned_tflite", accuracy, sources,
                             config.variants["pruned_tflite"])
    assert (low[reuse], high[reuse]) == (low[source], high[source])
    low, _ = applied_band("pruned", accuracy, sources, config.variants["pruned"])
    assert np.isnan(low[reuse]) and not np.isnan(low[source])
    labels = dict(zip(order, run_labels(table, order, sources), strict=True))
    assert labels[reuse].endswith(f"\nreuses\n{source[-6:]}")


def test_bands_only_where_the_model_and_its_parent_were_measured(results_dir: Path) -> None:
    """The partial run measured the baseline only: the baseline's floor is shaded there, no
    other model's band is."""
    history = read_history(results_dir)
    table = history_table(history)
    partial = run_id_of("tf2.21.0_partial.csv")
    accuracy, config = accuracy_by_run(table), load_config()
    for model in ("baseline", "pruned", "pruned_tflite", "pruned_quantized_tflite"):
        band = applied_band(model, accuracy, {}, config.variants[model])
        assert band is not None
        low, high = band
        assert np.isnan(low[partial]) == (model != "baseline")
        assert np.isnan(high[partial]) == (model != "baseline")
        assert not low.drop(partial).isna().any()


def test_shared_machine_latency_is_drawn_hollow_off_the_lines(results_dir: Path) -> None:
    """machine_shared True (schema 4): that run's latency is not on a line and has no band,
    only hollow markers, named in the legend; its accuracy is drawn as usual."""
    history = read_history(results_dir)
    shared = run_id_of("tf2.20.0.csv")
    history = replace(history, runs=tuple(edited_run(run, machine_shared=run.run_id == shared)
                                          for run in history))
    assert run_facts(history).shared == {shared}
    x = run_order(history).index(shared)
    fig = figure_of(history)
    accuracy, _, latency, _ = panels(fig)["pruned_tflite"]
    assert all(x not in xs_of(line) for line in lines_of(latency))
    hollow = [line for line in latency.get_lines() if line.get_linestyle() == "None"]
    assert hollow and all(xs_of(line) == [x] for line in hollow)
    assert all(line.get_markerfacecolor() == "white" for line in hollow)
    assert any("shared the machine" in text.get_text() for text in fig.legends[0].get_texts())
    assert x in xs_of(accuracy.get_lines()[0])


def test_runs_without_machine_shared_count_as_not_shared(results_dir: Path) -> None:
    """Schema 1-3 files read as None (they lack the column altogether), and a run whose
    machine_shared is None counts as not shared."""
    history = read_history(results_dir)
    unknown = replace(history, runs=tuple(edited_run(run, machine_shared=None)
                                          for run in history))
    assert run_facts(unknown).shared == frozenset()
    # The fixture files are of schemas before 4: as read, they lack the column altogether.
    assert {run.info.schema_version for run in history} <= {1, 2, 3}
    assert {run.info.machine_shared for run in history} == {None}
    assert run_facts(history).shared == frozenset()
    fig = figure_of(history)
    assert not any("shared" in text.get_text() for text in fig.legends[0].get_texts())


def test_each_workload_gets_its_own_picture_and_pareto_view(tmp_path: Path) -> None:
    """A history of two workloads: one table with a workload column; the default workload's
    picture and Pareto view under their usual names, ds_cnn's under names carrying its own,
    each of its own runs only; a workload the command cannot resolve is tabled, not drawn."""
    folder = tmp_path / "results"
    folder.mkdir()
    as_schema6(COUNTED, folder / "mnist.csv", "mnist_cnn", run_id="mnist_run")
    as_schema6(COUNTED, folder / "ds.csv", "ds_cnn", run_id="ds_run")
    as_schema6(COUNTED, folder / "tiny.csv", "tiny_cnn", run_id="tiny_run")
    out = tmp_path / "out"
    code, stdout, _ = run_cli(folder, "--out", out)
    assert code == 0
    table = pd.read_csv(out / "history.csv")
    assert table.groupby("workload")["run_id"].unique().map(list).to_dict() == {
        "ds_cnn": ["ds_run"], "mnist_cnn": ["mnist_run"], "tiny_cnn": ["tiny_run"]}
    assert sorted(p.name for p in out.iterdir()) == [
        "history-ds_cnn.png", "history.csv", "history.png", "pareto-ds_cnn.csv",
        "pareto-ds_cnn.png", "pareto.csv", "pareto.png"]
    assert pd.read_csv(out / "pareto-ds_cnn.csv")["model"].nunique() == len(
        pd.read_csv(out / "pareto.csv"))
    assert (f"bench history: workload ds_cnn: Pareto view of ds_run -> "
            f"{out / 'pareto-ds_cnn.csv'}, {out / 'pareto-ds_cnn.png'}") in stdout.splitlines()
    assert ("bench history: runs of workload 'tiny_cnn' are in the table but not drawn: pass "
            "--workload package.module:attribute for it (its bounds file gives the bounds)"
            ) in stdout.splitlines()
