"""The results reader: strict validation with exact one-line reasons, schema-1 files, history
folders, and the write -> read round trip. Runs against the frozen CSVs of
tests/fixtures/results (base.csv and one broken copy per defect) and, for schema 1, against the
copy of a real schema-1 run in tests/fixtures/runs."""
from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.measure.interpreters import INTERPRETERS
from pipeline.results import (
    COLUMNS,
    METRICS,
    MIGRATIONS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    STAGES,
    Measurement,
    ResultsFileError,
    RunInfo,
    columns_of,
    measurements_of,
    read_history,
    read_results,
    to_frame,
    write_atomic,
)
from pipeline.variants.registry import VARIANT_NAMES
from tests.helpers import BAD_REASONS, BASE_RUN_ID, FIXTURES, rewrite

BASE = FIXTURES / "base.csv"
#: A real schema-1 run (TF 2.21.0, written before schema 2 existed), kept as it was written.
SCHEMA1 = Path(__file__).parent / "fixtures" / "runs" / "tf2.21.0_schema1.csv"


def reason_of(path: Path) -> str:
    with pytest.raises(ResultsFileError) as caught:
        read_results(path)
    assert caught.value.path == path
    assert str(caught.value) == f"{path}: {caught.value.reason}"
    assert "\n" not in str(caught.value)
    return caught.value.reason


def test_fixture_set_is_complete() -> None:
    """Every committed fixture is either the base run or a bad file with a known reason."""
    assert sorted(p.name for p in FIXTURES.glob("*.csv")) == sorted(["base.csv", *BAD_REASONS])


def test_base_fixture_reads_as_one_typed_run_of_the_current_schema() -> None:
    run = read_results(BASE)
    frame = run.rows
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 25 and frame["run_id"].nunique() == 1
    assert run.path == str(BASE)
    assert frame["value"].dtype == "float64"
    latency = frame[frame["metric"] == "latency"]
    assert sorted(set(latency["threads"])) == [1, 2] and set(latency["rounds"]) == {20}
    assert frame.loc[frame["metric"] == "accuracy", "runtime"].isna().all()
    info = run.info
    assert info.schema_version == 9
    assert (info.workload, info.workload_sha256) == ("mnist_cnn", "")
    assert (info.identities, info.workload_version) == ("declared", 1)
    assert info.runtimes_unavailable == ()
    assert (info.machine_shared, info.machine_shared_by) == (False, "")
    assert (info.valgrind, info.instructions_tool) == ("3.19.0", "callgrind")
    assert (info.tensorflow_distribution, info.tf_keras_distribution) == (
        "tensorflow", "tf-keras")
    assert info.variants == ("baseline", "pruned", "pruned_tflite", "pruned_quantized_tflite")
    assert frame["variants"].iat[0] == "baseline pruned pruned_tflite pruned_quantized_tflite"
    assert (info.complete, info.incomplete_reason) == (True, "")
    assert frame["complete"].dtype == bool
    assert {c: getattr(info, c) for c in ("latency_repetitions", "latency_warmup_invokes",
                                          "latency_timed_invokes", "latency_order_seed",
                                          "cpu_count")} == {
        "latency_repetitions": 20, "latency_warmup_invokes": 100,
        "latency_timed_invokes": 1000, "latency_order_seed": 0, "cpu_count": 2}
    for column in ("cpu_count", "latency_repetitions"):
        assert frame[column].dtype == "int64"
    assert len(info.recipe_sha256 or "") == 64 and len(info.config_sha256 or "") == 64


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
     ("column cpu differs between rows of one run: 'AMD EPYC 7763 64-Core Processor "
      "(AuthenticAMD family 25 model 1 stepping 1)' on line 2, 'Other CPU' on line 3")),
    (lambda rows: [{**r, "value": "inf"} if r["metric"] == "sparsity" else r for r in rows],
     "line 10 (pruned sparsity): value 'inf' is not a finite number"),
    (lambda rows: [{**r, "threads": "1.5"} if r["metric"] == "latency" else r for r in rows],
     "line 19 (pruned_tflite latency tf.lite threads=1.5): threads '1.5' is not a whole number"),
    (lambda rows: [{**r, "samples": r["samples"].rsplit(" ", 5)[0]}
                   if r["metric"] == "latency" else r for r in rows],
     ("line 19 (pruned_tflite latency tf.lite threads=1): samples holds 15 numbers but rounds is "
      "20 (cut file?)")),
    (lambda rows: [{**r, "model": ""} if r["metric"] == "sparsity" else r for r in rows],
     "line 10 (? sparsity): model is empty"),
], ids=["header-only", "timestamp", "empty-run-id", "run-column-differs", "inf-value",
        "fractional-threads", "cut-samples", "empty-model"])
def test_invalid_cell_is_refused_with_exact_reason(
        tmp_path: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]],
        reason: str) -> None:
    path = rewrite(BASE, tmp_path / "run.csv", edit)
    assert reason_of(path) == reason


# A run records what decides comparability; a cell that does not say it is refused, since the
# gate would otherwise compare (or choose as reference) a run it cannot judge.
@pytest.mark.parametrize(("column", "cell", "reason"), [
    ("complete", "yes", "complete 'yes' is not True or False"),
    ("complete", "", "complete '' is not True or False"),
    ("recipe_sha256", "", ("column recipe_sha256 is empty; the comparison needs it to tell "
                           "whether runs may be compared")),
    ("config_sha256", "", ("column config_sha256 is empty; the comparison needs it to tell "
                           "whether runs may be compared")),
    ("cpu", "", ("column cpu is empty; the comparison needs it to tell whether runs may be "
                 "compared")),
    ("workload", "", "column workload is empty; runs of different workloads are never compared"),
    ("cpu_count", "two", "cpu_count 'two' is not an integer"),
    ("cpu_count", "", "cpu_count '' is not an integer"),
    ("latency_repetitions", "20.5", "latency_repetitions '20.5' is not an integer"),
])
def test_schema_2_run_cell_is_refused_with_exact_reason(tmp_path: Path, column: str, cell: str,
                                                        reason: str) -> None:
    path = rewrite(BASE, tmp_path / "run.csv",
                   lambda rows: [{**r, column: cell} for r in rows])
    assert reason_of(path) == reason


def test_incomplete_run_reads_with_its_reason(tmp_path: Path) -> None:
    reason = "-k 'baseline'; 16 test(s) deselected"
    path = rewrite(BASE, tmp_path / "run.csv",
                   lambda rows: [{**r, "complete": "False", "incomplete_reason": reason}
                                 for r in rows])
    info = read_results(path).info
    assert (info.complete, info.incomplete_reason) == (False, reason)


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
                                                "writes runs/<run_id>.csv)")
    assert reason_of(tmp_path) == ("is a folder, not a results CSV; pass one CSV file (a folder "
                                   "of runs is read as a history)")


def test_extra_columns_of_a_newer_writer_are_kept(tmp_path: Path) -> None:
    path = rewrite(BASE, tmp_path / "run.csv",
                   lambda rows: [{**r, "gpu": "none"} for r in rows],
                   fieldnames=[*COLUMNS, "gpu"])
    frame = read_results(path).rows
    assert list(frame.columns) == [*COLUMNS, "gpu"]
    assert set(frame["gpu"]) == {"none"}


# ---------------------------------------------------------------------------------------------
# Schema 1: the history written before schema 2 stays readable, and what it did not record
# stays unknown.
# ---------------------------------------------------------------------------------------------

def test_real_schema_1_run_reads_with_the_added_columns_unknown() -> None:
    run = read_results(SCHEMA1)
    frame, info = run.rows, run.info
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == 25 and frame["run_id"].nunique() == 1
    assert info.schema_version == 1
    assert (info.run_id, info.tensorflow) == ("20261127T205528Z_tf2.21.0_582ea4", "2.21.0")
    # Unknown, not guessed: no default completeness, no cpu_count of this machine, no latency
    # settings of today's config, no empty-string reason; the workload the only one there was.
    for migration in MIGRATIONS:
        for column, older in migration.added.items():
            assert getattr(info, column) == older, column
            assert frame[column].map(lambda v, older=older: v == older).all(), column
    assert info.workload == "mnist_cnn" and info.recipe_sha256 is None
    # What schema 1 did record is read as written.
    assert (info.cpu, info.platform) == ("AMD EPYC", "Linux-6.18.44-fc-v669-x86_64")
    latency = frame[frame["metric"] == "latency"]
    assert len(latency) == 8 and set(latency["rounds"]) == {200}


def test_a_later_schema_s_column_in_an_older_file_is_not_trusted(tmp_path: Path) -> None:
    """A schema-1 file edited to carry later columns still reads as schema 1: each column a
    later schema added holds what MIGRATIONS says, never the hand-written cell."""
    extra = {"machine_shared": "True", "workload": "ds_cnn", "variants": "baseline",
             "complete": "True"}
    path = rewrite(SCHEMA1, tmp_path / "run.csv", lambda rows: [{**r, **extra} for r in rows],
                   fieldnames=[*columns_of(1), *extra])
    info = read_results(path).info
    assert (info.machine_shared, info.workload, info.variants, info.complete) == (
        None, "mnist_cnn", None, None)


def test_schema_1_run_missing_a_column_names_its_own_schema(tmp_path: Path) -> None:
    names = [c for c in columns_of(1) if c != "cpu"]
    path = rewrite(SCHEMA1, tmp_path / "run.csv", lambda rows: rows, fieldnames=names)
    assert reason_of(path) == ("missing column(s) cpu; a schema_version 1 file has all of its "
                               "columns (docs/results-csv.md, 'Results CSV')")


def test_schema_1_and_schema_2_runs_read_as_one_history(tmp_path: Path) -> None:
    shutil.copy(SCHEMA1, tmp_path / "a_schema1.csv")
    shutil.copy(BASE, tmp_path / "b_base.csv")
    runs = {run.run_id: run.info for run in read_history(tmp_path)}
    assert runs["20261127T205528Z_tf2.21.0_582ea4"].complete is None
    assert runs[BASE_RUN_ID].complete is True
    assert runs[BASE_RUN_ID].cpu_count == 2
    assert runs["20261127T205528Z_tf2.21.0_582ea4"].cpu_count is None


# ---------------------------------------------------------------------------------------------
# History folders
# ---------------------------------------------------------------------------------------------

SECOND_RUN_ID = "20250608T120000Z_tf2.20.0_a1b2c3"


def second_run(folder: Path, name: str = "second.csv") -> Path:
    """Another valid run: the base run under a new run_id, a week later."""
    return rewrite(BASE, folder / name, lambda rows: [
        {**r, "run_id": SECOND_RUN_ID, "timestamp_utc": "2025-06-08T12:00:00+00:00"}
        for r in rows])


def test_history_folder_reads_every_csv_sorted(tmp_path: Path) -> None:
    shutil.copy(BASE, tmp_path / "base.csv")
    second = second_run(tmp_path, "same.csv")
    (tmp_path / "notes.txt").write_text("not a CSV, not read")
    history = read_history(tmp_path)
    assert [run.run_id for run in history] == [BASE_RUN_ID, SECOND_RUN_ID]
    assert len(history.rows) == 50
    assert [run.run_id for run in read_history(tmp_path, exclude=[second])] == [BASE_RUN_ID]
    assert [run.run_id for run in read_history([second])] == [SECOND_RUN_ID]


def test_one_bad_file_stops_the_history_and_is_named(tmp_path: Path) -> None:
    shutil.copy(BASE, tmp_path / "base.csv")
    shutil.copy(FIXTURES / "bad_nan_value.csv", tmp_path / "bad_nan_value.csv")
    second_run(tmp_path, "same.csv")
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
                                   "that holds them (`pytest bench` writes runs/<run_id>.csv; "
                                   "the history is results/)")
    shutil.copy(BASE, tmp_path / "a.csv")
    shutil.copy(BASE, tmp_path / "b.csv")
    with pytest.raises(ResultsFileError) as caught:
        read_history(tmp_path)
    assert str(caught.value) == (f"{tmp_path / 'b.csv'}: run_id '{BASE_RUN_ID}' is also in "
                                 f"{tmp_path / 'a.csv'}; each run must be in one file (remove "
                                 f"the copy)")


def test_a_schema_2_run_reads_with_its_selection_unknown() -> None:
    """Schema 2 did not record the selected variants: None, never guessed."""
    run = read_results(FIXTURES.parent / "runs" / "tf2.21.0_a.csv")
    assert set(run.rows["schema_version"]) == {2} and run.info.schema_version == 2
    assert run.rows["variants"].isna().all()
    assert run.info.variants is None


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
        model=draw(st.sampled_from(VARIANT_NAMES) | _TEXT), metric=metric, value=draw(_FINITE),
        unit=draw(_TEXT), stage=draw(_optional(st.sampled_from(STAGES))),
        runtime=draw(_optional(_TEXT)), threads=draw(_optional(st.integers(1, 512))),
        min=draw(_optional(_FINITE)), median=draw(_optional(_FINITE)),
        mean=draw(_optional(_FINITE)), stddev=draw(_optional(_FINITE)),
        iqr=draw(_optional(_FINITE)), rounds=rounds, samples=samples,
    )


# Every field is given a strategy: left to st.builds, the new schema-2 fields would be drawn
# from their types alone (e.g. an empty recipe_sha256), which the reader rightly refuses.
RUNS = st.builds(
    RunInfo, run_id=_TEXT,
    timestamp_utc=st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()),
    git_commit=_TEXT, git_dirty=st.booleans(), python=_TEXT, tensorflow=_TEXT, tf_keras=_TEXT,
    tfmot=_TEXT, litert=_TEXT, numpy=_TEXT, platform=_TEXT, cpu=_TEXT, dataset_sha256=_TEXT,
    seed=st.integers(0, 2**31), recipe_sha256=_TEXT, config_sha256=_TEXT,
    latency_repetitions=st.integers(10, 10_000), latency_warmup_invokes=st.integers(0, 10**6),
    latency_timed_invokes=st.integers(1, 10**6), latency_order_seed=st.integers(0, 2**32 - 1),
    cpu_count=st.integers(1, 1024), complete=st.booleans(),
    incomplete_reason=st.just("") | _TEXT,
    variants=st.lists(st.sampled_from(VARIANT_NAMES), min_size=1, unique=True).map(tuple),
    source_run_id=st.just("") | _TEXT,
    runtimes_unavailable=st.lists(st.sampled_from(INTERPRETERS), unique=True).map(tuple),
)


@settings(max_examples=50, deadline=None)
@given(run=RUNS, rows=st.lists(measurements(), min_size=1, max_size=6,
                               unique_by=lambda m: (m.model, m.runtime, m.threads, m.metric,
                                                    m.stage)))
def test_valid_measurements_round_trip(tmp_path_factory: pytest.TempPathFactory, run: RunInfo,
                                       rows: list[Measurement]) -> None:
    path = write_atomic(to_frame(run, rows), tmp_path_factory.mktemp("rt") / "run.csv")
    read = read_results(path)
    assert list(measurements_of(read.rows)) == rows
    assert read.info == replace(run, variants=run.variants or None,
                                schema_version=SCHEMA_VERSION)
    assert {c: read.rows[c].iat[0] for c in RUN_COLUMNS} == (
        asdict(run) | {"variants": " ".join(run.variants or ()),
                       "runtimes_unavailable": " ".join(run.runtimes_unavailable or ()),
                       "schema_version": SCHEMA_VERSION})
