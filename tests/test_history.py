"""The history view: the tidy table and the picture, from copies of real runs
(tests/fixtures/runs: TF 2.15.1, 2.20.0, three complete 2.21.0 runs of which one is schema 1,
and one partial 2.21.0 run), so the table is checked on what `pytest bench` really writes."""
from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline import history as history_module
from pipeline.config import load_config
from pipeline.history import TABLE_COLUMNS, accuracy_band, history_table, main
from pipeline.pareto import PARETO_COLUMNS, pareto_front
from pipeline.results import read_history, read_results
from tests.test_results_reader import BAD_REASONS, FIXTURES

RUNS = Path(__file__).parent / "fixtures" / "runs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
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
    return str(read_results(RUNS / name)["run_id"].iloc[0])


def run_cli(*args: object) -> tuple[int, str, str]:
    """main() in-process; the Pareto outputs go to a temporary folder unless given, so a test
    never writes into the checkout's docs/."""
    argv = [str(a) for a in args]
    if "--pareto-csv" not in argv:
        folder = Path(tempfile.mkdtemp(prefix="pareto-"))
        argv += ["--pareto-csv", str(folder / "pareto.csv"),
                 "--pareto-png", str(folder / "pareto.png")]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for name in RUN_FILES:
        shutil.copy(RUNS / name, folder / name)
    return folder


def test_writes_tidy_csv_and_png(results_dir: Path, tmp_path: Path) -> None:
    out_csv, out_png = tmp_path / "docs" / "history.csv", tmp_path / "docs" / "history.png"
    code, out, err = run_cli(results_dir, "--csv", out_csv, "--png", out_png)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == (
        f"pipeline.history: 6 runs, {TABLE_ROWS} rows -> {out_csv}, {out_png}")
    assert out_png.read_bytes().startswith(PNG_MAGIC) and out_png.stat().st_size > 20_000

    table = pd.read_csv(out_csv)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(dict.fromkeys(table["run_id"])) == [run_id_of(n) for n in RUN_FILES]
    assert len(table) == TABLE_ROWS
    source = read_results(RUNS / "tf2.20.0.csv")
    value = {(r["model"], r["metric"]): r["value"] for r in source.to_dict("records")}
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


def test_complete_column_marks_partial_runs_and_leaves_schema_1_empty(results_dir: Path,
                                                                      tmp_path: Path) -> None:
    """False on every row of the partial run, True on complete runs, and an empty cell for the
    schema-1 run: its completeness was never recorded, and the table must not invent it."""
    out_csv = tmp_path / "history.csv"
    assert run_cli(results_dir, "--csv", out_csv, "--png", tmp_path / "h.png")[0] == 0
    with out_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    cells: dict[str, set[str]] = {}
    for row in rows:
        cells.setdefault(row["run_id"], set()).add(row["complete"])
    assert cells == {run_id_of(name): {cell} for name, cell in COMPLETE_CELL.items()}
    partial = [row for row in rows if row["run_id"] == run_id_of("tf2.21.0_partial.csv")]
    assert [(row["model"], row["runtime"]) for row in partial] == [("baseline", "")]


def test_picture_labels_the_partial_run(results_dir: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the run that says it is partial gets "(partial)"; a schema-1 run, whose
    completeness is unknown, is not marked either way."""
    drawn: list[Any] = []

    class RecordingFigure(history_module.Figure):  # type: ignore[misc, valid-type]
        def savefig(self, *args: Any, **kwargs: Any) -> None:
            drawn.append(self)
            super().savefig(*args, **kwargs)

    monkeypatch.setattr(history_module, "Figure", RecordingFigure)
    history_module.plot_history(history_table(read_history(results_dir)), tmp_path / "h.png",
                                load_config())
    labels = [label.get_text() for label in drawn[0].axes[-1].get_xticklabels()]
    dates = {name: str(read_results(RUNS / name)["timestamp_utc"].iloc[0])[:10]
             for name in RUN_FILES}
    assert labels == [
        f"2.15.1\n{dates['tf2.15.1.csv']}", f"2.20.0\n{dates['tf2.20.0.csv']}",
        f"2.21.0\n{dates['tf2.21.0_schema1.csv']}", f"2.21.0\n{dates['tf2.21.0_a.csv']}",
        f"2.21.0\n{dates['tf2.21.0_b.csv']}", f"2.21.0\n{dates['tf2.21.0_partial.csv']}\n(partial)"]


def test_latency_values_are_the_run_medians(results_dir: Path) -> None:
    history = read_history(results_dir)
    table = history_table(history)
    source = history[history["metric"] == "latency"].set_index(["run_id", "model", "runtime",
                                                                "threads"])["value"]
    shown = table[table["runtime"].notna()].set_index(["run_id", "model", "runtime",
                                                        "threads"])["latency_median_s"]
    assert shown.sort_index().tolist() == source.sort_index().tolist()


def test_tf_versions_sort_numerically(results_dir: Path) -> None:
    """2.9 comes before 2.15 even though it sorts after it as text."""
    history = read_history(results_dir)
    relabelled = run_id_of("tf2.20.0.csv")
    history.loc[history["run_id"] == relabelled, "tensorflow"] = "2.9.0"
    assert list(dict.fromkeys(history_table(history)["run_id"]))[:2] == [
        relabelled, run_id_of("tf2.15.1.csv")]


def test_defaults_write_under_docs_and_skip_their_own_csv(
        results_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_cli()[0] == 0
    assert (tmp_path / "docs" / "history.csv").is_file()
    assert (tmp_path / "docs" / "history.png").read_bytes().startswith(PNG_MAGIC)
    # an output CSV placed inside the results folder is not read back as a run
    inside = results_dir / "history.csv"
    png = tmp_path / "inside.png"
    assert run_cli(results_dir, "--csv", inside, "--png", png)[0] == 0
    code, out, err = run_cli(results_dir, "--csv", inside, "--png", png)
    assert (code, err) == (0, "")
    assert out.startswith(f"pipeline.history: 6 runs, {TABLE_ROWS} rows")


def test_bad_file_stops_the_history_with_exit_2(results_dir: Path, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "bad_two_runs.csv", results_dir / "bad_two_runs.csv")
    out_csv = tmp_path / "out.csv"
    code, out, err = run_cli(results_dir, "--csv", out_csv, "--png", tmp_path / "out.png")
    assert (code, out) == (2, "")
    assert err == (f"pipeline.history: error: {results_dir / 'bad_two_runs.csv'}: "
                   f"{BAD_REASONS['bad_two_runs.csv']}\n")
    assert not out_csv.exists()


def test_pareto_front_keeps_the_points_nothing_beats_on_both() -> None:
    # (cost, accuracy): b is beaten by a (cheaper, as accurate); c and d trade off; e ties a.
    cost = [10.0, 12.0, 5.0, 30.0, 10.0]
    accuracy = [0.98, 0.98, 0.97, 0.99, 0.98]
    assert pareto_front(cost, accuracy) == [True, False, True, True, True]


def test_pareto_view_is_of_the_newest_complete_run(results_dir: Path, tmp_path: Path) -> None:
    """The newest TF line's newest complete run (2.21.0 b, not the later partial run); its
    table is printed and written, one row per model, fronts marked."""
    pareto_csv, pareto_png = tmp_path / "pareto.csv", tmp_path / "pareto.png"
    code, out, _ = run_cli(results_dir, "--csv", tmp_path / "h.csv", "--png", tmp_path / "h.png",
                           "--pareto-csv", pareto_csv, "--pareto-png", pareto_png)
    assert code == 0
    newest = run_id_of("tf2.21.0_b.csv")
    assert out.splitlines()[1] == (f"pipeline.history: Pareto view of {newest} -> {pareto_csv}, "
                                   f"{pareto_png}")
    assert pareto_png.read_bytes().startswith(PNG_MAGIC)
    table = pd.read_csv(pareto_csv)
    assert list(table.columns) == list(PARETO_COLUMNS)
    assert table["model"].tolist() == ["baseline", "pruned", "pruned_tflite",
                                       "pruned_quantized_tflite"]
    source = read_results(RUNS / "tf2.21.0_b.csv")
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
