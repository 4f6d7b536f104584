"""`bench compare REFERENCE CANDIDATE`: the gate for a TensorFlow or LiteRT upgrade
(pipeline/judge/compare/gate.py)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.config import DEFAULT_CONFIG_PATH
from pipeline.console import fail, print_report
from pipeline.judge.compare.gate import GateError, gate
from pipeline.judge.compare.options import GateOptions, add_gate_options
from pipeline.judge.compare.report import FORMATS, format_rows
from pipeline.options import THRESHOLDS

#: Its name in messages and --help: the console script bench-compare runs it too.
PROG = "bench compare"

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
     --skip-latency to gate accuracy, size, sparsity and instructions only, bench duel
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
                             "candidate's, on the candidate's LiteRT, that covers every gated "
                             "measurement of the candidate (see --upgrade). The candidate's "
                             "own file and run are never picked")
    parser.add_argument("candidate", metavar="CANDIDATE", type=Path,
                        help="the results CSV of the run to judge")
    add_gate_options(parser.add_argument)
    parser.add_argument("--format", choices=tuple(FORMATS), default="text",
                        help="text (default), markdown (GitHub table for a CI job summary) or "
                             "json (runs, warnings, rows and a summary)")
    THRESHOLDS.add_to(parser.add_argument, type=Path, default=DEFAULT_CONFIG_PATH)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 pass, 1 fail, 2 unusable input, 3 inconclusive)."""
    args = _parser().parse_args(argv)
    try:
        result = gate(args.reference, args.candidate, GateOptions.read(vars(args).__getitem__),
                      config=args.thresholds)
    except GateError as exc:
        return fail(PROG, str(exc))
    for note in result.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    print_report(format_rows(result.rows, args.format, header=result.header))
    return result.exit_code
