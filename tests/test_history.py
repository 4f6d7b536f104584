"""The history view: the tidy table and the picture, from a copy of the good fixtures."""
from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.history import TABLE_COLUMNS, history_table, main
from pipeline.results import read_history
from tests.test_results_reader import BAD_REASONS, FIXTURES, GOOD

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Runs in the order the table and the x axis must show them: TF 2.19 first, then by time.
RUN_ORDER = ["20250520T120000Z-9f8e7d6", "20250601T120000Z-3f2a9c1", "20250608T120000Z-a1b2c3d",
             "20250609T120000Z-b2c3d4e", "20250610T120000Z-c3d4e5f", "20250611T120000Z-d4e5f6a",
             "20250612T120000Z-e5f6a7b"]


def run_cli(*args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    for name in GOOD:
        shutil.copy(FIXTURES / name, folder / name)
    return folder


def test_writes_tidy_csv_and_png(results_dir: Path, tmp_path: Path) -> None:
    out_csv, out_png = tmp_path / "docs" / "history.csv", tmp_path / "docs" / "history.png"
    code, out, err = run_cli(results_dir, "--csv", out_csv, "--png", out_png)
    assert (code, err) == (0, "")
    assert out == f"pipeline.history: 7 runs, 84 rows -> {out_csv}, {out_png}\n"
    assert out_png.read_bytes().startswith(PNG_MAGIC) and out_png.stat().st_size > 20_000

    table = pd.read_csv(out_csv)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert list(dict.fromkeys(table["run_id"])) == RUN_ORDER
    # per run: 4 model rows (runtime empty) then 8 latency rows
    assert len(table) == 7 * 12
    base = table[table["run_id"] == "20250601T120000Z-3f2a9c1"]
    models = base[base["runtime"].isna()].set_index("model")
    assert list(models.index) == ["baseline", "pruned", "pruned_tflite", "pruned_quantized_tflite"]
    assert models["zipped_bytes"].tolist() == [78239, 25802, 24995, 8031]
    assert pd.isna(models.at["baseline", "size_ratio"])
    assert models.at["pruned_tflite", "size_ratio"] == pytest.approx(78239 / 24995)
    assert models.at["pruned_quantized_tflite", "size_ratio"] == pytest.approx(78239 / 8031)
    assert models["latency_median_s"].isna().all()
    latency = base[base["runtime"].notna()]
    assert latency[["accuracy", "zipped_bytes", "size_ratio"]].isna().all().all()
    assert latency[["model", "runtime", "threads"]].values.tolist()[:4] == [
        ["pruned_tflite", "ai_edge_litert", 1], ["pruned_tflite", "ai_edge_litert", 2],
        ["pruned_tflite", "tf.lite", 1], ["pruned_tflite", "tf.lite", 2]]
    grown = table[(table["run_id"] == "20250611T120000Z-d4e5f6a")
                  & (table["model"] == "pruned_quantized_tflite") & table["runtime"].isna()]
    assert grown["size_ratio"].tolist() == [pytest.approx(78239 / 8834)]


def test_latency_values_are_the_run_medians(results_dir: Path) -> None:
    history = read_history(results_dir)
    table = history_table(history)
    source = history[history["metric"] == "latency"].set_index(["run_id", "model", "runtime",
                                                                "threads"])["value"]
    shown = table[table["runtime"].notna()].set_index(["run_id", "model", "runtime",
                                                        "threads"])["latency_median_s"]
    assert shown.sort_index().tolist() == source.sort_index().tolist()


def test_tf_versions_sort_numerically(results_dir: Path) -> None:
    """2.9 comes before 2.19 even though it sorts after it as text."""
    history = read_history(results_dir)
    old = history["run_id"] == "20250601T120000Z-3f2a9c1"
    history.loc[old, "tensorflow"] = "2.9.0"
    assert list(dict.fromkeys(history_table(history)["run_id"]))[:2] == [
        "20250601T120000Z-3f2a9c1", "20250520T120000Z-9f8e7d6"]


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
    assert out.startswith("pipeline.history: 7 runs, 84 rows")


def test_bad_file_stops_the_history_with_exit_2(results_dir: Path, tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "bad_two_runs.csv", results_dir / "bad_two_runs.csv")
    out_csv = tmp_path / "out.csv"
    code, out, err = run_cli(results_dir, "--csv", out_csv, "--png", tmp_path / "out.png")
    assert (code, out) == (2, "")
    assert err == (f"pipeline.history: error: {results_dir / 'bad_two_runs.csv'}: "
                   f"{BAD_REASONS['bad_two_runs.csv']}\n")
    assert not out_csv.exists()
