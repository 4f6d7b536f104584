"""A history: every run of a results folder (or a list of CSVs), read strictly.

reader.py reads one file; this reads many, and a folder may hold more than runs: the project's
own other CSVs (a duel's or spread's table) are recognised by their header and passed over
with a note, never misread as a broken run.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from pipeline.results.reader import ResultsFileError, read_results
from pipeline.results.schema import Run

#: The project's other CSVs, which are not runs: (what it is, the folder it belongs in). A
#: history folder may be given one by mistake (the duel's --csv "beside the runs"); it is
#: recognised by its header and passed over with a note, never misread as a broken run.
_OTHER_CSVS: dict[str, tuple[str, str]] = {
    "duel": ("a bench duel CSV (per-key ratios of two runs), not a run", "results/duels/"),
    "spread": ("a bench spread CSV (figures per seed), not a run", "results/spread/"),
}


def other_csv_kind(header: Iterable[str]) -> str | None:
    """'duel' or 'spread' when a CSV header is one of those tools' tables, else None."""
    names = list(header)
    if {"reference_run_id", "candidate_run_id", "ratio", "verdict"} <= set(names):
        return "duel"
    if names[:1] == ["seed"] and len(names) > 1 and all("." in n for n in names[1:]):
        return "spread"
    return None


def _header_of(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []  # read_results says what is wrong with it


@dataclass(frozen=True)
class History:
    """The runs of a history, in file-name order, and the files passed over as not runs."""

    runs: tuple[Run, ...]
    #: One line per CSV of the folder that is the project's other table (duel, spread).
    passed_over: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @cached_property
    def rows(self) -> pd.DataFrame:
        """Every run's rows in one table (the history picture's and table's input)."""
        return pd.concat([run.rows for run in self.runs], ignore_index=True)


def read_history(paths_or_folder: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
                 *, exclude: Iterable[str | os.PathLike[str]] = ()) -> History:
    """All runs of a history: one CSV, a folder (every `*.csv` directly in it, sorted by name),
    or an explicit list of CSV files; `exclude` drops files of a folder (e.g. the candidate that
    was written into the same folder, or a report written there).

    One bad file among good ones stops the read: ResultsFileError names that file and says what
    is wrong. A gate must never compare against a silently partial history — the latest run, or
    the run of a given TensorFlow version, could be the very file that was skipped. Fix or move
    the named file and run again. The same run_id in two files is refused for the same reason
    (which copy would be the baseline?). An empty folder is an error too. The project's own
    other CSVs (a duel's or spread's table) found in a folder are not runs: they are passed over
    and listed in `passed_over`, one line each, for the caller to show.
    """
    passed_over: list[str] = []
    if isinstance(paths_or_folder, (str, os.PathLike)):
        source = Path(paths_or_folder)
        if not source.exists():
            raise ResultsFileError(source, "no such file or folder; pass a results CSV or the "
                                           "folder that holds them (`pytest bench` writes "
                                           "runs/<run_id>.csv; the history is results/)")
        if source.is_dir():
            skip = {Path(p).resolve() for p in exclude}
            paths = []
            for path in sorted(source.glob("*.csv")):
                kind = other_csv_kind(_header_of(path))
                if kind is not None:
                    what, home = _OTHER_CSVS[kind]
                    passed_over.append(f"{path}: {what}; passed over (keep such files in "
                                       f"{home})")
                elif path.resolve() not in skip:
                    paths.append(path)
            if not paths:
                raise ResultsFileError(source, "no *.csv results files in this folder; run "
                                               "`pytest bench` first or pass the folder that "
                                               "holds them")
        else:
            paths = [source]
    else:
        paths = [Path(p) for p in paths_or_folder]
        if not paths:
            raise ValueError("read_history needs at least one path")
    runs = []
    first_file: dict[str, Path] = {}
    for path in paths:
        run = read_results(path)
        if run.run_id in first_file:
            raise ResultsFileError(path, f"run_id {run.run_id!r} is also in "
                                         f"{first_file[run.run_id]}; each run must be in one "
                                         f"file (remove the copy)")
        first_file[run.run_id] = path
        runs.append(run)
    return History(tuple(runs), tuple(passed_over))
