"""The results CSV reader: strict, because the gate decides on what it returns.

A malformed file must stop the gate with a reason, never be half-read. Files of every older
schema stay readable: the reader upgrades them once, here, from the one table of schema changes
(schema.MIGRATIONS); the columns an older file lacks are then what the table says (unknown,
None, never guessed), and a run whose completeness is unknown is never chosen as a reference
run. What it returns is a Run: the run's fields as a typed RunInfo, its rows as a frame.
"""
from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.measure.measurement import Measurement
from pipeline.results.schema import (
    COLUMNS,
    LIST_RUN_COLUMNS,
    METRICS,
    REQUIRED_RUN_VALUES,
    RUN_BOOL_COLUMNS,
    RUN_COLUMNS,
    RUN_INT_COLUMNS,
    SAMPLES_SEPARATOR,
    SCHEMA_VERSION,
    SUPPORTED_SCHEMA_VERSIONS,
    VARIANTS_SEPARATOR,
    MeasurementKey,
    Run,
    RunInfo,
    added_after,
    columns_of,
    key_of,
    parse_samples,
    selected_variants,
)


def measurements_of(frame: pd.DataFrame) -> Iterable[Measurement]:
    """The measurement part of each row, for code that wants objects rather than a table."""
    for record in frame.to_dict("records"):
        kwargs: dict[str, Any] = {}
        for f in fields(Measurement):
            v = record.get(f.name)
            if f.name == "samples":
                v = parse_samples(v) or None
            elif isinstance(v, float) and math.isnan(v):
                v = None
            kwargs[f.name] = v
        yield Measurement(**kwargs)



#: Measurement columns read as floats (empty cell -> NaN); `value` must also be finite.
_FLOAT_COLUMNS: tuple[str, ...] = ("value", "min", "median", "mean", "stddev", "iqr")
#: Measurement columns read as whole numbers (empty cell -> None).
_INT_COLUMNS: tuple[str, ...] = ("threads", "rounds")


_EMPTY_REASON = ("empty file; a results CSV has a header row and one row per measurement "
                 "(was the run interrupted?)")


class ResultsFileError(ValueError):
    """A results CSV cannot be used; `str()` is one line, "<path>: <reason>".

    One line because CI logs and the CLIs print it as is: the path says which file to look at,
    the reason says what is wrong with which value.
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = " ".join(reason.splitlines())
        super().__init__(f"{self.path}: {self.reason}")


def _describe(row: Mapping[str, object]) -> str:
    """'pruned_tflite latency tf.lite threads=1': which measurement a row is, for messages."""
    parts = [str(row.get("model") or "?"), str(row.get("metric") or "?")]
    if row.get("runtime"):
        parts.append(str(row["runtime"]))
    if row.get("threads") not in (None, ""):
        parts.append(f"threads={row['threads']}")
    if row.get("stage"):
        parts.append(str(row["stage"]))
    return " ".join(parts)


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of each record; ResultsFileError for anything not a CSV."""
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ResultsFileError(path, "is a folder, not a results CSV; pass one CSV file "
                                     "(a folder of runs is read as a history)") from None
    except FileNotFoundError:
        raise ResultsFileError(path, "no such file; check the path "
                                     "(`pytest bench` writes runs/<run_id>.csv)") from None
    except OSError as exc:
        raise ResultsFileError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not data.strip():
        raise ResultsFileError(path, _EMPTY_REASON)
    if b"\x00" in data:
        raise ResultsFileError(path, "not a CSV text file: it contains NUL bytes (binary data?); "
                                     "pass a results CSV written by `pytest bench`")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ResultsFileError(path, f"not a CSV text file: byte {exc.start} is not UTF-8 "
                                     f"({data[exc.start:exc.start + 1]!r}); pass a results CSV "
                                     f"written by `pytest bench`") from None
    # A latency row of a long benchmark holds millions of characters of samples: lift the csv
    # module's per-field limit for this read only.
    old_limit = csv.field_size_limit()
    csv.field_size_limit(max(old_limit, len(text) + 1))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records = []
        for cells in reader:
            if cells:  # a blank line carries nothing; it is not a record
                records.append((reader.line_num, cells))
    except csv.Error as exc:
        raise ResultsFileError(path, f"not a valid CSV: {exc} (line {reader.line_num})") from None
    finally:
        csv.field_size_limit(old_limit)
    if not records:  # e.g. only a byte-order mark
        raise ResultsFileError(path, _EMPTY_REASON)
    header, rows = records[0][1], records[1:]
    return header, rows


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ResultsFileError(path, f"column {name!r} appears twice in the header; "
                                         f"each column may appear once")
        seen.add(name)
    if not seen & set(COLUMNS):
        start = ",".join(header)[:60]
        raise ResultsFileError(path, f"not a results CSV: the header names none of its columns "
                                     f"(it starts {start!r})")


def _check_schema_version(path: Path, header: list[str], rows: list[tuple[int, list[str]]]) -> None:
    """Refuse a version this reader does not know before anything else: a newer schema may have
    renamed columns, and 'missing column' would then send the reader the wrong way."""
    if "schema_version" not in header:
        return
    col = header.index("schema_version")
    supported = ", ".join(str(v) for v in SUPPORTED_SCHEMA_VERSIONS)
    for line, cells in rows:
        raw = cells[col]
        if raw not in {str(v) for v in SUPPORTED_SCHEMA_VERSIONS}:
            raise ResultsFileError(path, f"line {line}: unknown schema_version {raw!r}; this "
                                         f"reader supports {supported} (read a newer file with "
                                         f"the pipeline version that wrote it)")


def _parse_float(path: Path, line: int, row: dict[str, str], column: str) -> float:
    raw = row[column]
    if raw == "":
        if column == "value":
            raise ResultsFileError(path, f"line {line} ({_describe(row)}): value is empty; every "
                                         f"measurement needs a finite number (NaN is written as "
                                         f"an empty cell)")
        return math.nan
    try:
        number = float(raw)
    except ValueError:
        raise ResultsFileError(path, f"line {line} ({_describe(row)}): {column} {raw!r} is not "
                                     f"a number") from None
    if not math.isfinite(number):
        raise ResultsFileError(path, f"line {line} ({_describe(row)}): {column} {raw!r} is not "
                                     f"a finite number")
    return number


def _parse_int(path: Path, line: int, row: dict[str, str], column: str) -> int | None:
    raw = row[column]
    if raw == "":
        return None
    try:
        number = float(raw)  # "2.0" too: what pandas writes for a float column of counts
    except ValueError:
        number = math.nan
    if not number.is_integer():
        raise ResultsFileError(path, f"line {line} ({_describe(row)}): {column} {raw!r} is not "
                                     f"a whole number")
    return int(number)


def _parse_sample_cell(path: Path, line: int, row: dict[str, str]) -> tuple[float, ...]:
    try:
        samples = parse_samples(row["samples"])
    except ValueError:
        bad = next(t for t in row["samples"].split(SAMPLES_SEPARATOR) if t and not _is_float(t))
        raise ResultsFileError(path, f"line {line} ({_describe(row)}): samples holds {bad[:40]!r}, "
                                     f"not a number; expected per-repetition seconds separated by "
                                     f"spaces") from None
    if not all(math.isfinite(s) for s in samples):
        raise ResultsFileError(path, f"line {line} ({_describe(row)}): samples holds a "
                                     f"non-finite number; expected per-repetition seconds")
    return samples


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _check_run_columns(path: Path, records: list[tuple[int, dict[str, str | None]]]) -> None:
    """One file, one run: every run column the same on every row, and each of the right kind.
    A column the file's schema did not have holds None (MIGRATIONS) and is not checked."""
    first_line, first = records[0]
    run_ids = sorted({str(row["run_id"]) for _, row in records})
    if len(run_ids) > 1:
        shown = ", ".join(repr(r) for r in run_ids[:5]) + (", ..." if len(run_ids) > 5 else "")
        raise ResultsFileError(path, f"holds {len(run_ids)} run_ids ({shown}); a results file "
                                     f"holds one run (put several files in a folder to read a "
                                     f"history)")
    for column in RUN_COLUMNS:
        for line, row in records:
            if row[column] != first[column]:
                raise ResultsFileError(path, f"column {column} differs between rows of one run: "
                                             f"{first[column]!r} on line {first_line}, "
                                             f"{row[column]!r} on line {line}")
    for column, why in REQUIRED_RUN_VALUES.items():
        if first[column] == "":
            raise ResultsFileError(path, f"column {column} is empty; {why}")
    try:
        datetime.fromisoformat(str(first["timestamp_utc"]))
    except ValueError:
        raise ResultsFileError(path, f"timestamp_utc {first['timestamp_utc']!r} is not an ISO "
                                     f"8601 time (e.g. 2025-06-01T12:00:00+00:00)") from None
    for column in RUN_BOOL_COLUMNS:
        if first[column] is not None and first[column] not in ("True", "False"):
            raise ResultsFileError(path, f"{column} {first[column]!r} is not True or False")
    for column in RUN_INT_COLUMNS:
        if first[column] is None:
            continue
        try:
            int(str(first[column]))
        except ValueError:
            raise ResultsFileError(path, f"{column} {first[column]!r} is not an integer") from None


def _run_info(record: Mapping[str, str | None]) -> RunInfo:
    """The typed run fields of a checked row; None stays None (unknown in an older schema)."""
    def typed(column: str) -> object:
        raw = record[column]
        if raw is None:
            return None
        if column in RUN_BOOL_COLUMNS:
            return raw == "True"
        if column in RUN_INT_COLUMNS:
            return int(raw)
        if column == "variants":
            return selected_variants(raw)
        if column == "runtimes_unavailable":
            return tuple(raw.split(VARIANTS_SEPARATOR)) if raw else ()
        return raw

    return RunInfo(**{column: typed(column) for column in RUN_COLUMNS})  # type: ignore[arg-type]


def _typed_frame(header: list[str], records: list[tuple[int, dict[str, str | None]]],
                 parsed: list[dict[str, object]], info: RunInfo) -> pd.DataFrame:
    """Typed table: the run's typed fields on every row, measurement numbers; empty optional
    measurement cells become None/NaN."""
    out: dict[str, pd.Series] = {}
    n = len(records)
    for column in COLUMNS:
        if column in parsed[0]:
            out[column] = pd.Series([p[column] for p in parsed], dtype=object)
        elif column in RUN_COLUMNS:
            value = (records[0][1][column] if column in LIST_RUN_COLUMNS
                     else getattr(info, column))
            dtype = ("int64" if isinstance(value, int) and not isinstance(value, bool) else
                     "bool" if isinstance(value, bool) else object)
            out[column] = pd.Series([value] * n, dtype=dtype)
        else:
            out[column] = pd.Series([row.get(column) or None for _, row in records], dtype=object)
    for column in header:  # extra columns of a newer writer: kept verbatim
        if column not in COLUMNS:
            out[column] = pd.Series([row[column] for _, row in records], dtype=object)
    frame = pd.DataFrame(out)
    for column in _FLOAT_COLUMNS:
        frame[column] = frame[column].astype("float64")
    return frame


def read_results(path: str | os.PathLike[str]) -> Run:
    """Read one results CSV (one run), checking everything the comparison relies on.

    Strict on purpose: the comparison gates a TensorFlow upgrade on this table, so a file that is
    empty, not a CSV, missing columns, of an unknown schema_version, holding several runs, with a
    non-numeric or NaN `value`, a duplicate measurement key, an unknown metric, or a latency row
    without parseable samples raises ResultsFileError naming the file, the line and the value.
    Columns this schema does not know are kept (as strings), so a newer writer that only adds
    columns stays readable.

    A file of an older schema is upgraded here, once: each run column a later schema added
    holds what MIGRATIONS says such a file holds (None: unknown, never guessed).

    The Run's `info` holds the run's fields, typed (RunInfo). Its `rows` hold every column:
    the run's fields as in `info` (but `variants` as the cell's text) on every row; `value`,
    `min`, `median`, `mean`, `stddev`, `iqr` as float64 (NaN where empty); `threads` and
    `rounds` as ints or None; other empty measurement cells as None; `samples` as the cell text
    (see parse_samples).
    """
    path = Path(path)
    header, rows = _read_rows(path)
    _check_header(path, header)
    for line, cells in rows:
        if len(cells) != len(header):
            raise ResultsFileError(path, f"line {line} has {len(cells)} fields but the header has "
                                         f"{len(header)}; the file is cut or was edited by hand")
    _check_schema_version(path, header, rows)
    version = int(rows[0][1][header.index("schema_version")]) if rows and (
        "schema_version" in header) else SCHEMA_VERSION
    missing = [c for c in columns_of(version) if c not in header]
    if missing:
        raise ResultsFileError(path, f"missing column(s) {', '.join(missing)}; a schema_version "
                                     f"{version} file has all of its columns "
                                     f"(docs/results-csv.md, 'Results CSV')")
    if not rows:
        raise ResultsFileError(path, "no measurement rows, only a header; the run that wrote it "
                                     "measured nothing")
    upgrade = added_after(version)
    records: list[tuple[int, dict[str, str | None]]] = [
        # A column the file's schema did not have holds what MIGRATIONS says, even where a
        # hand-edited file carries one: that cell was never part of its schema.
        (line, {**dict(zip(header, cells, strict=True)), **upgrade})  # type: ignore[dict-item]
        for line, cells in rows]
    _check_run_columns(path, records)

    parsed: list[dict[str, object]] = []
    seen: dict[MeasurementKey, int] = {}
    for line, record in records:
        row = {c: v or "" for c, v in record.items()}  # measurement cells are never migrated
        if row["model"] == "":
            raise ResultsFileError(path, f"line {line} ({_describe(row)}): model is empty")
        if row["metric"] not in METRICS:
            raise ResultsFileError(path, f"line {line} ({_describe(row)}): unknown metric "
                                         f"{row['metric']!r}; known metrics: {', '.join(METRICS)}")
        values: dict[str, object] = {c: _parse_float(path, line, row, c) for c in _FLOAT_COLUMNS}
        values.update({c: _parse_int(path, line, row, c) for c in _INT_COLUMNS})
        samples = _parse_sample_cell(path, line, row)
        if row["metric"] == "latency" and not samples:
            raise ResultsFileError(path, f"line {line} ({_describe(row)}): latency row without "
                                         f"samples; the comparison's statistics need the "
                                         f"per-repetition seconds")
        if samples and values["rounds"] is not None and len(samples) != values["rounds"]:
            raise ResultsFileError(path, f"line {line} ({_describe(row)}): samples holds "
                                         f"{len(samples)} numbers but rounds is "
                                         f"{values['rounds']} (cut file?)")
        key = key_of({**row, "threads": values["threads"]})
        if key in seen:
            raise ResultsFileError(path, f"line {line} ({_describe(row)}) repeats the measurement "
                                         f"of line {seen[key]}; each (model, runtime, threads, "
                                         f"metric, stage) may appear once per run")
        seen[key] = line
        parsed.append(values)

    info = _run_info(records[0][1])
    return Run(info, _typed_frame(header, records, parsed, info), str(path))
