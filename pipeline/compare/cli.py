"""`python -m pipeline.compare REFERENCE CANDIDATE`: the gate for a TensorFlow upgrade."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.compare.report import (
    EXIT_UNUSABLE,
    FORMATS,
    Header,
    format_rows,
    outcome,
)
from pipeline.compare.rules import compare_runs, not_selected
from pipeline.compare.selection import (
    NotComparable,
    RunIdentity,
    SelectionError,
    candidate_gaps,
    check_comparable,
    comparison_gate,
    load_reference,
    warnings_of,
)
from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.console import print_report
from pipeline.results import ResultsFileError, read_results

PROG = "pipeline.compare"

EPILOG = """\
exit codes:
  0  PASS: nothing regressed and nothing gated is missing (with --skip-latency: latency was
     not gated, by request)
  1  FAIL: a measurement regressed, or a gated measurement of the reference run is missing
     from the candidate
  2  an input cannot be used (bad results file, empty folder, no eligible reference run, bad
     config, bad arguments) or the runs may not be compared (different dataset_sha256, seed or
     recipe_sha256); one line on stderr says why
  3  INCONCLUSIVE: nothing failed, but something gated was not judged: latency could not be
     compared (the runs come from different machines, used different latency settings, or one
     shared the machine with another benchmark), or a gated measurement of the candidate has
     no reference measurement (e.g. the reference re-measured only .tflite files with
     --reuse-run), or instruction counts came from another architecture or valgrind; use
     --skip-latency to gate accuracy, size, sparsity and instructions only, pipeline.duel
     for a same-machine latency comparison, or choose a reference that covers the candidate

comparable: two runs are compared only when their dataset_sha256, seed and recipe_sha256 are
equal; latency only when cpu, cpu_count, OS, architecture, kernel major.minor and the latency
settings are equal too, and neither run shared the machine; instruction counts across machines
of one architecture counted with the same valgrind version and tool (--skip-latency leaves
them gated). Different threshold configs, or a run made from uncommitted code, give a warning
line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Compare a candidate `pytest bench` run with a reference run under the "
                    "[compare] rules of the threshold config, one row per measurement.")
    parser.add_argument("reference", metavar="REFERENCE", type=Path,
                        help="a results CSV, or a folder of them (the history). Only complete "
                             "runs written before the candidate are eligible; by default the "
                             "latest one of the newest TensorFlow version below the "
                             "candidate's that covers every gated measurement of the "
                             "candidate. The candidate's own file and run are never picked")
    parser.add_argument("candidate", metavar="CANDIDATE", type=Path,
                        help="the results CSV of the run to judge")
    parser.add_argument("--tf", metavar="VERSION",
                        help="use the latest complete run of this TensorFlow version written "
                             "before the candidate")
    parser.add_argument("--run-id", metavar="ID",
                        help="use the (complete) reference run with this run_id")
    parser.add_argument("--skip-latency", action="store_true",
                        help="gate accuracy, size, sparsity and instruction counts only: "
                             "wall-clock latency and heap rows (bound to one machine) are "
                             "shown but not gated, and the summary says so")
    parser.add_argument("--format", choices=tuple(FORMATS), default="text",
                        help="text (default), markdown (GitHub table for a CI job summary) or "
                             "json (runs, warnings, rows and a summary)")
    parser.add_argument("--config", metavar="PATH", type=Path, default=DEFAULT_CONFIG_PATH,
                        help="threshold config with the [compare] rules "
                             "(default: bench/thresholds.toml)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 pass, 1 fail, 2 unusable input, 3 inconclusive)."""
    args = _parser().parse_args(argv)
    try:
        rules = load_config(args.config).compare
        candidate = read_results(args.candidate)
        choice = load_reference(args.reference, candidate=candidate, tf=args.tf,
                                run_id=args.run_id, exclude_path=args.candidate,
                                gaps=candidate_gaps(candidate, rules,
                                                    skip_latency=args.skip_latency))
        check_comparable(choice.run, candidate)
    except (ConfigError, ResultsFileError) as exc:
        return _fail(str(exc))
    except SelectionError as exc:
        return _fail(f"{args.reference}: {exc}")
    except NotComparable as exc:
        return _fail(f"cannot compare: {exc}")
    except OSError as exc:  # e.g. the config is a folder or unreadable
        return _fail(f"{exc.filename}: {exc.strerror}")
    for note in choice.passed_over:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    gate = comparison_gate(choice.run, candidate, skip_latency=args.skip_latency)
    rows = compare_runs(choice.run, candidate, rules, latency=gate)
    warnings = warnings_of(choice.run, candidate,
                           latency_compared=not (gate.skip or gate.obstacle))
    header = Header(RunIdentity.of(choice.run), RunIdentity.of(candidate), choice.reason,
                    tuple(warnings), not_selected(choice.run, candidate))
    print_report(format_rows(rows, args.format, header=header))
    return outcome(rows).exit_code


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return EXIT_UNUSABLE
