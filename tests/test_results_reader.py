"""The results reader: strict validation with exact one-line reasons, history folders, and the
write -> read round trip. Runs against the frozen CSVs of tests/fixtures/results."""
from __future__ import annotations

import csv
import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.results import (
    COLUMNS,
    METRICS,
    MODELS,
    RUN_COLUMNS,
    STAGES,
    Measurement,
    ResultsFileError,
    RunInfo,
    measurements_of,
    read_history,
    read_results,
    to_frame,
    write_atomic,
)

FIXTURES = Path(__file__).parent / "fixtures" / "results"
GOOD = ("base.csv", "same.csv", "latency_x125.csv", "accuracy_minus_1pt.csv",
        "size_plus_10pct.csv", "other_cpu.csv", "tf_2_19.csv")

#: The exact reason of every broken fixture: the message a user sees after "<path>: ".
BAD_REASONS: dict[str, str] = {
    "bad_empty.csv": "empty file; a results CSV has a header row and one row per measurement "
                     "(was the run interrupted?)",
    "bad_not_a_csv.csv": "not a CSV text file: it contains NUL bytes (binary data?); pass a "
                         "results CSV written by `pytest bench`",
    "bad_missing_column.csv": "missing column(s) unit; a schema_version 1 file has all of "
                              "pipeline.results.COLUMNS",
    "bad_schema_v99.csv": "line 2: unknown schema_version '99'; this reader supports 1 (read a "
                          "newer file with the pipeline version that wrote it)",
    "bad_nan_value.csv": "line 8 (pruned accuracy): value is empty; every measurement needs a "
                         "finite number (NaN is written as an empty cell)",
    "bad_non_numeric_value.csv": "line 8 (pruned accuracy): value 'n/a' is not a number",
    "bad_duplicate_rows.csv": "line 27 (pruned_tflite accuracy) repeats the measurement of line "
                              "13; each (model, runtime, threads, metric, stage) may appear once "
                              "per run",
    "bad_latency_without_samples.csv": "line 19 (pruned_tflite latency tf.lite threads=1): "
                                       "latency row without samples; the comparison's "
                                       "significance test needs the per-round seconds",
    "bad_latency_bad_samples.csv": "line 19 (pruned_tflite latency tf.lite threads=1): samples "
                                   "holds 'fast', not a number; expected per-round seconds "
                                   "separated by spaces",
    "bad_two_runs.csv": "holds 2 run_ids ('20250601T120000Z-3f2a9c1', "
                        "'20250602T120000Z-0000000'); a results file holds one run (put several "
                        "files in a folder to read a history)",
    "bad_unknown_metric.csv": "line 8 (pruned flops): unknown metric 'flops'; known metrics: "
                              "accuracy, zipped_bytes, sparsity, latency, stage_seconds",
}


def rewrite(src: Path, dst: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]],
            fieldnames: list[str] | None = None) -> Path:
    """Copy a results CSV through `edit` (a function of its rows), for one-off broken files."""
    with src.open(newline="") as handle:
        reader = csv.DictReader(handle)
        rows = edit(list(reader))
        names = fieldnames or list(reader.fieldnames or [])
    with dst.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return dst


def reason_of(path: Path) -> str:
    with pytest.raises(ResultsFileError) as caught:
        read_results(path)
    assert caught.value.path == path
    assert str(caught.value) == f"{path}: {caught.value.reason}"
    assert "\n" not in str(caught.value)
    return caught.value.reason


def test_fixture_set_is_complete() -> None:
    """Every committed fixture is either a known good run or a bad file with a known reason."""
    assert sorted(p.name for p in FIXTURES.glob("*.csv")) == sorted([*GOOD, *BAD_REASONS])


@pytest.mark.parametrize("name", GOOD)
def test_good_fixture_reads_as_one_typed_run(name: str) -> None:
    frame = read_results(FIXTURES / name)
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 25 and frame["run_id"].nunique() == 1
    assert frame.attrs["path"] == str(FIXTURES / name)
    assert frame["value"].dtype == "float64"
    latency = frame[frame["metric"] == "latency"]
    assert sorted(set(latency["threads"])) == [1, 2] and set(latency["rounds"]) == {200}
    assert frame.loc[frame["metric"] == "accuracy", "runtime"].isna().all()


@pytest.mark.parametrize("name", sorted(BAD_REASONS))
def test_bad_fixture_is_refused_with_exact_reason(name: str) -> None:
    assert reason_of(FIXTURES / name) == BAD_REASONS[name]


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda rows: [], "no measurement rows, only a header; the run that wrote it measured nothing"),
    (lambda rows: [{**r, "timestamp_utc": "yesterday"} for r in rows],
     "timestamp_utc 'yesterday' is not an ISO 8601 time (e.g. 2025-06-01T12:00:00+00:00)"),
    (lambda rows: [{**r, "run_id": ""} for r in rows],
     "column run_id is empty; the comparison needs it to select and label the run"),
    (lambda rows: [rows[0], {**rows[1], "cpu": "Other CPU"}, *rows[2:]],
     ("column cpu differs between rows of one run: 'AMD EPYC 7763 64-Core Processor' on line 2, "
     "'Other CPU' on line 3")),
    (lambda rows: [{**r, "value": "inf"} if r["metric"] == "sparsity" else r for r in rows],
     "line 10 (pruned sparsity): value 'inf' is not a finite number"),
    (lambda rows: [{**r, "threads": "1.5"} if r["metric"] == "latency" else r for r in rows],
     "line 19 (pruned_tflite latency tf.lite threads=1.5): threads '1.5' is not a whole number"),
    (lambda rows: [{**r, "samples": r["samples"].rsplit(" ", 10)[0]}
                   if r["metric"] == "latency" else r for r in rows],
     ("line 19 (pruned_tflite latency tf.lite threads=1): samples holds 190 numbers but rounds is "
     "200 (cut file?)")),
    (lambda rows: [{**r, "model": ""} if r["metric"] == "sparsity" else r for r in rows],
     "line 10 (? sparsity): model is empty"),
], ids=["header-only", "timestamp", "empty-run-id", "run-column-differs", "inf-value",
        "fractional-threads", "cut-samples", "empty-model"])
def test_invalid_cell_is_refused_with_exact_reason(
        tmp_path: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]],
        reason: str) -> None:
    path = rewrite(FIXTURES / "base.csv", tmp_path / "run.csv", edit)
    assert reason_of(path) == reason


@pytest.mark.parametrize(("content", "reason"), [
    ("\n \n", ("empty file; a results CSV has a header row and one row per measurement "
              "(was the run interrupted?)")),
    ("hello world\n", ("not a results CSV: the header names none of its columns "
                      "(it starts 'hello world')")),
    ("model,model\nx,y\n", ("column 'model' appears twice in the header; each column may "
                           "appear once")),
    ('model,metric\n"x,accuracy\n', "not a valid CSV: unexpected end of data (line 2)"),
    ("model,metric\nx,accuracy,1\n", ("line 2 has 3 fields but the header has 2; the file is "
                                     "cut or was edited by hand")),
])
def test_text_that_is_not_a_results_csv_is_refused(tmp_path: Path, content: str,
                                                   reason: str) -> None:
    path = tmp_path / "run.csv"
    path.write_text(content)
    assert reason_of(path) == reason


def test_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.csv"
    path.write_bytes("model,metric\nbaseline,précision\n".encode("latin-1"))
    assert reason_of(path) == ("not a CSV text file: byte 24 is not UTF-8 (b'\\xe9'); pass a "
                               "results CSV written by `pytest bench`")


def test_missing_file_and_folder_are_named(tmp_path: Path) -> None:
    assert reason_of(tmp_path / "nope.csv") == ("no such file; check the path (`pytest bench` "
                                                "writes results/*.csv)")
    assert reason_of(tmp_path) == ("is a folder, not a results CSV; pass one CSV file (a folder "
                                   "of runs is read as a history)")


def test_extra_columns_of_a_newer_writer_are_kept(tmp_path: Path) -> None:
    path = rewrite(FIXTURES / "base.csv", tmp_path / "run.csv",
                   lambda rows: [{**r, "gpu": "none"} for r in rows],
                   fieldnames=[*COLUMNS, "gpu"])
    frame = read_results(path)
    assert list(frame.columns) == [*COLUMNS, "gpu"]
    assert set(frame["gpu"]) == {"none"}


def test_history_folder_reads_every_csv_sorted(tmp_path: Path) -> None:
    for name in ("same.csv", "base.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("not a CSV, not read")
    history = read_history(tmp_path)
    assert list(dict.fromkeys(history["run_id"])) == ["20250601T120000Z-3f2a9c1",
                                                      "20250608T120000Z-a1b2c3d"]
    assert len(history) == 50
    assert read_history(tmp_path, exclude=[tmp_path / "same.csv"])["run_id"].nunique() == 1
    assert read_history([FIXTURES / "same.csv"])["run_id"].nunique() == 1


def test_one_bad_file_stops_the_history_and_is_named(tmp_path: Path) -> None:
    for name in ("base.csv", "bad_nan_value.csv", "same.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    with pytest.raises(ResultsFileError) as caught:
        read_history(tmp_path)
    bad = tmp_path / "bad_nan_value.csv"
    assert str(caught.value) == f"{bad}: {BAD_REASONS['bad_nan_value.csv']}"


def test_history_refuses_empty_folder_missing_path_and_copied_run(tmp_path: Path) -> None:
    with pytest.raises(ResultsFileError) as caught:
        read_history(tmp_path)
    assert str(caught.value) == (f"{tmp_path}: no *.csv results files in this folder; run "
                                 f"`pytest bench` first or pass the folder that holds them")
    with pytest.raises(ResultsFileError) as caught:
        read_history(tmp_path / "missing")
    assert caught.value.reason == ("no such file or folder; pass a results CSV or the folder "
                                   "that holds them (`pytest bench` writes results/*.csv)")
    shutil.copy(FIXTURES / "base.csv", tmp_path / "a.csv")
    shutil.copy(FIXTURES / "base.csv", tmp_path / "b.csv")
    with pytest.raises(ResultsFileError) as caught:
        read_history(tmp_path)
    assert str(caught.value) == (f"{tmp_path / 'b.csv'}: run_id '20250601T120000Z-3f2a9c1' is "
                                 f"also in {tmp_path / 'a.csv'}; each run must be in one file "
                                 f"(remove the copy)")


def test_fixtures_are_what_the_committed_script_writes(tmp_path: Path) -> None:
    """The frozen files must come from the committed generator, byte for byte."""
    spec = importlib.util.spec_from_file_location(
        "make_results_fixtures", FIXTURES.parent / "make_results_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    written = module.write_fixtures(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in FIXTURES.glob("*.csv"))
    changed = [p.name for p in written if p.read_bytes() != (FIXTURES / p.name).read_bytes()]
    assert not changed, (f"{changed} differ from what make_results_fixtures.py writes; run "
                         f"`python -m tests.fixtures.make_results_fixtures` and review the diff")


# ---------------------------------------------------------------------------------------------
# Round trip: whatever the writer can write from valid Measurements, the reader returns as is.
# ---------------------------------------------------------------------------------------------

# No bare "\r": pandas' to_csv does not quote it (only "\n"), so no CSV reader can get such a
# cell back; run strings come from platform/version calls that never hold one.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
                min_size=1, max_size=12)
_FINITE = st.floats(allow_nan=False, allow_infinity=False)


def _optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


@st.composite
def measurements(draw: st.DrawFn) -> Measurement:
    metric = draw(st.sampled_from(METRICS))
    samples = draw(st.lists(_FINITE, min_size=1, max_size=8).map(tuple)
                   if metric == "latency"
                   else _optional(st.lists(_FINITE, min_size=1, max_size=3).map(tuple)))
    rounds = draw(_optional(st.just(len(samples)) if samples else st.integers(1, 10**6)))
    return Measurement(
        model=draw(st.sampled_from(MODELS) | _TEXT), metric=metric, value=draw(_FINITE),
        unit=draw(_TEXT), stage=draw(_optional(st.sampled_from(STAGES))),
        runtime=draw(_optional(_TEXT)), threads=draw(_optional(st.integers(1, 512))),
        min=draw(_optional(_FINITE)), median=draw(_optional(_FINITE)),
        mean=draw(_optional(_FINITE)), stddev=draw(_optional(_FINITE)),
        iqr=draw(_optional(_FINITE)), rounds=rounds, samples=samples,
    )


RUNS = st.builds(
    RunInfo, run_id=_TEXT,
    timestamp_utc=st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()),
    git_commit=_TEXT, git_dirty=st.booleans(), python=_TEXT, tensorflow=_TEXT, tf_keras=_TEXT,
    tfmot=_TEXT, litert=_TEXT, numpy=_TEXT, platform=_TEXT, cpu=_TEXT, dataset_sha256=_TEXT,
    seed=st.integers(0, 2**31),
)


@settings(max_examples=50, deadline=None)
@given(run=RUNS, rows=st.lists(measurements(), min_size=1, max_size=6,
                               unique_by=lambda m: (m.model, m.runtime, m.threads, m.metric,
                                                    m.stage)))
def test_valid_measurements_round_trip(tmp_path_factory: pytest.TempPathFactory, run: RunInfo,
                                       rows: list[Measurement]) -> None:
    path = write_atomic(to_frame(run, rows), tmp_path_factory.mktemp("rt") / "run.csv")
    frame = read_results(path)
    assert list(measurements_of(frame)) == rows
    assert {c: frame.iloc[0][c] for c in RUN_COLUMNS} == asdict(run)
