"""`bench history [RESULTS_DIR]`: the history table, its pictures and the Pareto views of a
results folder, written by pipeline/judge/history/outputs.py (which says what each file
holds)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError
from pipeline.console import fail
from pipeline.judge.history.outputs import DEFAULT_OUT_DIR, Outputs, write_history
from pipeline.options import THRESHOLDS, WORKLOAD
from pipeline.results import ResultsFileError
from pipeline.workload import WorkloadError

PROG = "bench history"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Tabulate and plot every run of a results folder: history.csv, "
                    "history.png, pareto.csv and pareto.png, into build/history/ unless told "
                    "otherwise (--out docs regenerates the pictures of docs/history.md).",
        epilog="exit codes: 0 = written; 2 = a results file could not be used (the reason is "
               "printed on one line to stderr) or bad arguments.",
    )
    parser.add_argument("results_dir", metavar="RESULTS_DIR", nargs="?", type=Path,
                        default=Path("results"), help="folder of results CSVs (default: results)")
    parser.add_argument("--out", metavar="DIR", type=Path, default=DEFAULT_OUT_DIR,
                        help="folder for the four files (default: build/history)")
    parser.add_argument("--csv", metavar="OUT.csv", type=Path,
                        help="where to write the table instead (default: DIR/history.csv)")
    parser.add_argument("--png", metavar="OUT.png", type=Path,
                        help="where to write the picture instead (default: DIR/history.png)")
    THRESHOLDS.add_to(parser.add_argument, type=Path, default=DEFAULT_CONFIG_PATH)
    parser.add_argument("--pareto-csv", metavar="OUT.csv", type=Path,
                        help="the Pareto table of the newest complete run of the newest "
                             "TensorFlow line (default: DIR/pareto.csv)")
    parser.add_argument("--pareto-png", metavar="OUT.png", type=Path,
                        help="its picture (default: DIR/pareto.png)")
    # Built-in workloads are always drawn (each but the default into files named after it,
    # history-ds_cnn.png); one of your own is drawn when named, with its bounds.
    WORKLOAD.add_to(parser.add_argument, action="append", default=[])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 written, 2 unusable input)."""
    args = _parser().parse_args(argv)
    outputs = Outputs(args.out, args.csv, args.png, args.pareto_csv, args.pareto_png)
    try:
        written = write_history(args.results_dir, outputs, args.thresholds, args.workload, PROG)
    except (ResultsFileError, ConfigError, WorkloadError) as exc:
        return fail(PROG, str(exc))
    except OSError as exc:  # an output folder that cannot be written
        return fail(PROG, f"{exc.filename}: {exc.strerror}")
    for note in written.passed_over:  # a duel's or spread's CSV, not a run
        print(f"{PROG}: note: {note}", file=sys.stderr)
    print("\n".join(written.lines))
    return 0
