"""`python -m pipeline.compare REFERENCE CANDIDATE`: the gate for a TensorFlow or LiteRT
upgrade."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.console import fail, print_report
from pipeline.judge.compare.report import (
    FORMATS,
    Header,
    format_rows,
    outcome,
)
from pipeline.judge.compare.rules import ComparisonRow, compare_runs, not_selected
from pipeline.judge.compare.selection import (
    UPGRADES,
    NotComparable,
    RunIdentity,
    SelectionError,
    candidate_gaps,
    check_comparable,
    comparison_gate,
    load_reference,
    warnings_of,
)
from pipeline.options import THRESHOLDS
from pipeline.results import ResultsFileError, read_results

#: Its name in messages and --help: `python -m pipeline.compare` and bench-compare run it too.
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
                             "candidate's, on the candidate's LiteRT, that covers every gated "
                             "measurement of the candidate (see --upgrade). The candidate's "
                             "own file and run are never picked")
    parser.add_argument("candidate", metavar="CANDIDATE", type=Path,
                        help="the results CSV of the run to judge")
    parser.add_argument("--tf", metavar="VERSION",
                        help="use the latest complete run of this TensorFlow version written "
                             "before the candidate")
    parser.add_argument("--litert", metavar="VERSION",
                        help="use a run of this LiteRT (ai-edge-litert) version: with "
                             "--upgrade tensorflow the LiteRT the reference stays on (default "
                             "the candidate's), with --upgrade litert the one it had")
    parser.add_argument("--upgrade", choices=UPGRADES, default="tensorflow",
                        help="what the candidate upgrades: tensorflow (default: the reference "
                             "has the candidate's LiteRT and the newest TensorFlow below its) "
                             "or litert (the candidate's TensorFlow and the newest LiteRT "
                             "below its)")
    parser.add_argument("--run-id", metavar="ID",
                        help="use the (complete) reference run with this run_id")
    parser.add_argument("--skip-latency", action="store_true",
                        help="gate accuracy, size, sparsity and instruction counts only: "
                             "wall-clock latency and heap rows (bound to one machine) are "
                             "shown but not gated, and the summary says so")
    parser.add_argument("--format", choices=tuple(FORMATS), default="text",
                        help="text (default), markdown (GitHub table for a CI job summary) or "
                             "json (runs, warnings, rows and a summary)")
    THRESHOLDS.add_to(parser.add_argument, type=Path, default=DEFAULT_CONFIG_PATH)
    return parser


@dataclass(frozen=True)
class GateResult:
    """The gate's rows and the header that names both runs; `notes` are runs passed over."""

    rows: list[ComparisonRow]
    header: Header
    notes: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return outcome(self.rows).exit_code


def gate(reference: Path, candidate_path: Path, *, tf: str | None = None,
         litert: str | None = None, upgrade: str = "tensorflow",
         run_id: str | None = None, skip_latency: bool = False,
         config: Path = DEFAULT_CONFIG_PATH) -> GateResult:
    """Judge the run of `candidate_path` against its reference in `reference` (a CSV or the
    history folder). Raises GateError with the one line the CLI prints when the gate cannot be
    run (exit 2)."""
    try:
        rules = load_config(config).compare
        candidate = read_results(candidate_path)
        choice = load_reference(reference, candidate=candidate, tf=tf, litert=litert,
                                upgrade=upgrade, run_id=run_id,
                                exclude_path=candidate_path,
                                gaps=candidate_gaps(candidate, rules, skip_latency=skip_latency))
        check_comparable(choice.run, candidate)
    except (ConfigError, ResultsFileError) as exc:
        raise GateError(str(exc)) from None
    except SelectionError as exc:
        raise GateError(f"{reference}: {exc}") from None
    except NotComparable as exc:
        raise GateError(f"cannot compare: {exc}") from None
    except OSError as exc:  # e.g. the config is a folder or unreadable
        raise GateError(f"{exc.filename}: {exc.strerror}") from None
    latency = comparison_gate(choice.run, candidate, skip_latency=skip_latency)
    rows = compare_runs(choice.run, candidate, rules, latency=latency)
    warnings = warnings_of(choice.run, candidate,
                           latency_compared=not (latency.skip or latency.obstacle))
    header = Header(RunIdentity.of(choice.run), RunIdentity.of(candidate), choice.reason,
                    tuple(warnings), not_selected(choice.run, candidate))
    return GateResult(rows, header, tuple(choice.passed_over))


class GateError(ValueError):
    """The gate cannot be run: an unusable input, no eligible reference, runs that may not be
    compared (exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the exit code (0 pass, 1 fail, 2 unusable input, 3 inconclusive)."""
    args = _parser().parse_args(argv)
    try:
        result = gate(args.reference, args.candidate, tf=args.tf, litert=args.litert,
                      upgrade=args.upgrade, run_id=args.run_id,
                      skip_latency=args.skip_latency, config=args.thresholds)
    except GateError as exc:
        return fail(PROG, str(exc))
    for note in result.notes:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    print_report(format_rows(result.rows, args.format, header=result.header))
    return result.exit_code

