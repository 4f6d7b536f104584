"""The results CSV writer: schema order, empty cells, the schema-2 run columns, and atomic
replacement."""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from pipeline.results import (
    COLUMNS,
    MIGRATIONS,
    SCHEMA_VERSION,
    Measurement,
    RunInfo,
    parse_samples,
    to_frame,
    write_atomic,
)

RUN = RunInfo(run_id="r1", timestamp_utc="2026-11-27T20:00:00+00:00", git_commit="abc",
              git_dirty=False, python="3.11.7", tensorflow="2.21.0", tf_keras="2.21.0",
              tfmot="0.8.1", litert="2.3.0", numpy="2.4.6", platform="Linux-x86_64",
              cpu="Test CPU", dataset_sha256="0" * 64, seed=0, recipe_sha256="1" * 64,
              config_sha256="2" * 64, latency_repetitions=20, latency_warmup_invokes=100,
              latency_timed_invokes=1000, latency_order_seed=0, cpu_count=2, complete=True)
#: The run columns schema 2 added, in schema order.
ADDED_IN_V2 = tuple(next(m for m in MIGRATIONS if m.version == 2).added)
ROWS = [
    Measurement(model="baseline", metric="accuracy", value=0.9795, unit="fraction"),
    Measurement(model="baseline", metric="stage_seconds", stage="train", value=18.2, unit="s"),
    Measurement(model="pruned_tflite", metric="latency", value=1.1e-5, unit="s",
                runtime="tf.lite", threads=1, min=1e-5, median=1.1e-5, mean=1.2e-5,
                stddev=1e-6, iqr=5e-7, rounds=3, samples=(1e-5, 1.1e-5, 1.5e-5)),
]


def test_written_csv_has_schema_columns_in_order_and_empty_cells(tmp_path: Path) -> None:
    path = write_atomic(to_frame(RUN, ROWS), tmp_path / "run.csv")
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["schema_version"] == str(SCHEMA_VERSION)
    assert rows[0]["runtime"] == "" and rows[0]["samples"] == "" and rows[0]["stage"] == ""
    assert rows[1]["stage"] == "train"
    assert parse_samples(rows[2]["samples"]) == (1e-5, 1.1e-5, 1.5e-5)
    assert rows[2]["threads"] == "1"


def test_schema_2_run_columns_are_written_as_the_reader_expects(tmp_path: Path) -> None:
    """Whole numbers without ".0", booleans as True/False, an empty reason as an empty cell:
    what the reader's checks of a schema-2 run accept."""
    partial = dataclasses.replace(RUN, complete=False, incomplete_reason="-k 'baseline'")
    for run, complete, reason in ((RUN, "True", ""), (partial, "False", "-k 'baseline'")):
        path = write_atomic(to_frame(run, ROWS), tmp_path / "run.csv")
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert {row["complete"] for row in rows} == {complete}
        assert {row["incomplete_reason"] for row in rows} == {reason}
        first = rows[0]
        assert [first[c] for c in ADDED_IN_V2] == [
            "1" * 64, "2" * 64, "20", "100", "1000", "0", "2", complete, reason]


class ExplodingFrame(pd.DataFrame):
    """A frame whose CSV serialisation writes half a file, then fails like a full disk."""

    def to_csv(self, handle, **kwargs):  # type: ignore[override]
        handle.write("schema_version,run_id\n1,")
        raise OSError(28, "No space left on device")


def test_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "run.csv"
    target.write_text("previous complete file\n")
    with pytest.raises(OSError, match="No space left"):
        write_atomic(ExplodingFrame(to_frame(RUN, ROWS)), target)
    assert target.read_text() == "previous complete file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv"]


def test_interrupt_during_write_leaves_nothing(tmp_path: Path) -> None:
    class Interrupted(pd.DataFrame):
        def to_csv(self, handle, **kwargs):  # type: ignore[override]
            handle.write("schema_version")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(Interrupted(to_frame(RUN, ROWS)), tmp_path / "run.csv")
    assert list(tmp_path.iterdir()) == []


def test_written_file_is_readable_like_any_new_file(tmp_path: Path) -> None:
    import os
    import stat

    mask = os.umask(0o022)
    os.umask(mask)
    path = write_atomic(to_frame(RUN, ROWS), tmp_path / "run.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
