"""`bench duel REFERENCE CANDIDATE`: the command line of the duel (pipeline.judge.duel)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, DuelSettings, load_config
from pipeline.console import fail, print_report
from pipeline.judge.duel.report import exit_code, format_report, records
from pipeline.judge.duel.runs import duel
from pipeline.judge.duel.schedule import SIDES, DuelError
from pipeline.measure.duel_worker import WorkerError
from pipeline.options import THRESHOLDS
from pipeline.results import ResultsFileError

#: Its name in messages and --help.
PROG = "bench duel"


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Time the .tflite artifacts of two `pytest bench` runs against each other "
                    "on this machine, each in its own environment, in adjacent ABBA pairs, and "
                    "judge every (model, runtime, threads) latency key of both runs. For when "
                    "history from another machine cannot be used (hosted CI, a laptop).",
        epilog="Each side's blocks are spread over [duel] processes worker processes. A key "
               "regresses when the geometric mean over process pairs of their median per-pair "
               "ratio candidate/reference exceeds [duel] slowdown_max of the threshold config "
               "and its [duel] confidence interval lies above 1 (improved: the mirror image). "
               "Keys of one "
               "run only "
               "are listed, not duelled. Exit codes: 0 = no key regressed; 1 = at least one "
               "key regressed; 2 = the duel could not be run (unusable results CSV, missing "
               ".tflite file, a python that does not start or is not the run's environment, a "
               "runtime it lacks, a hung worker, bad arguments) - the reason is printed on one "
               "line to stderr.")
    for side in SIDES:
        parser.add_argument(side, metavar=side.upper(), type=Path,
                            help=f"results CSV of the {side} run")
    for side in SIDES:
        parser.add_argument(f"--{side}-run-dir", metavar="DIR", type=Path,
                            help=f"folder of the {side} run's .tflite files (default: "
                                 f"<run_id>/ beside its CSV, else runs/<run_id>/ under the "
                                 f"repository)")
    for side in SIDES:
        parser.add_argument(f"--{side}-python", metavar="PY", default=sys.executable,
                            help=f"python of the {side} run's environment, e.g. "
                                 f".tox/tf221/bin/python (default: this python)")
    parser.add_argument("--pairs", metavar="N", type=_count,
                        help="pairs of blocks per key (default: [duel] pairs; at least 8 for a "
                             "99%% interval)")
    parser.add_argument("--warmup-invokes", metavar="N", type=_count,
                        help="untimed invokes before each block (default: [duel] "
                             "warmup_invokes)")
    parser.add_argument("--timed-invokes", metavar="N", type=_count,
                        help="timed invokes per block (default: [duel] timed_invokes)")
    parser.add_argument("--seed", metavar="N", type=_count,
                        help="seed of the key order (default: [duel] seed)")
    parser.add_argument("--processes", metavar="N", type=_count,
                        help="worker processes per side, the unit of the interval (default: "
                             "[duel] processes; at least 2)")
    THRESHOLDS.add_to(parser.add_argument, type=Path, default=DEFAULT_CONFIG_PATH)
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text (default), markdown (GitHub table for a CI job summary) or "
                             "json (a list of rows)")
    parser.add_argument("--csv", metavar="PATH", type=Path,
                        help="also write the rows to this CSV file (keep duel CSVs out of "
                             "the history's top level, e.g. in results/duels/: a history "
                             "folder passes them over)")
    return parser


def settings_from(args: argparse.Namespace) -> DuelSettings:
    """The [duel] settings of the threshold config, with the measurement options given."""
    settings = load_config(args.thresholds).duel
    given = {name: getattr(args, name) for name in ("pairs", "warmup_invokes", "timed_invokes",
                                                    "seed", "processes")
             if getattr(args, name) is not None}
    return replace(settings, **given)


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 pass, 1 regressed, 2 the duel could not be run)."""
    args = _parser().parse_args(argv)
    try:
        settings = settings_from(args)
        if args.csv is not None and not args.csv.parent.is_dir():
            raise DuelError(f"--csv {args.csv}: folder {args.csv.parent} does not exist")
        rows, reference, candidate = duel(
            args.reference, args.candidate, settings,
            reference_python=args.reference_python, candidate_python=args.candidate_python,
            reference_run_dir=args.reference_run_dir, candidate_run_dir=args.candidate_run_dir)
    except (DuelError, WorkerError, ResultsFileError, ConfigError) as exc:
        return fail(PROG, str(exc))
    print_report(format_report(rows, reference, candidate, settings, args.format))
    if args.csv is not None:
        try:
            pd.DataFrame(records(rows, reference, candidate)).to_csv(args.csv, index=False)
        except OSError as exc:
            return fail(PROG, f"--csv {args.csv}: cannot write it ({exc.strerror})")
    return exit_code(rows)
