"""The results CSV writer: one table per run, written atomically.

A history folder is what the gate reads, so a file in it must be either absent or complete: an
interrupted write must never leave half a run there to be picked as a reference run.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

import pandas as pd

from pipeline.measure.measurement import Measurement
from pipeline.results.schema import (
    COLUMNS,
    INTEGER_COLUMNS,
    LIST_RUN_COLUMNS,
    SAMPLES_SEPARATOR,
    SCHEMA_VERSION,
    VARIANTS_SEPARATOR,
    Run,
    RunInfo,
)


def to_frame(run: RunInfo, measurements: Sequence[Measurement]) -> pd.DataFrame:
    """Build the long-format table, columns in schema order."""
    run_part = asdict(run) | {"schema_version": SCHEMA_VERSION}
    for column in LIST_RUN_COLUMNS:
        run_part[column] = VARIANTS_SEPARATOR.join(getattr(run, column) or ())
    rows = []
    for m in measurements:
        row = dict(run_part)
        for f in fields(m):
            v = getattr(m, f.name)
            if f.name == "samples" and v is not None:
                v = SAMPLES_SEPARATOR.join(repr(float(s)) for s in v)
            row[f.name] = v
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    # Nullable integers, so `threads` is written "1", not "1.0", and stays empty where unused.
    return frame.astype({name: "Int64" for name in INTEGER_COLUMNS})


def run_of(info: RunInfo, measurements: Sequence[Measurement]) -> Run:
    """A run made here, before it is written: `info` and its rows as to_frame lays them out
    (what a session's history gate compares with its reference run)."""
    return Run(info, to_frame(info, measurements))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Mode of a written CSV: what open() would give a new file under the current umask.
_CREATE_MODE = 0o666 & ~_umask()


def write_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write `frame` to `path` so that `path` is either absent or complete.

    The CSV goes to a temporary file in the same folder (same file system, so the rename is
    atomic), is flushed to disk, then renamed into place. An interrupt at any point leaves at
    most a hidden `.tmp` file, which is removed on the way out when Python still runs.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            frame.to_csv(handle, index=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, _CREATE_MODE)  # mkstemp makes 0600; history is for everyone to read
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path
