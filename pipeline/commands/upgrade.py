"""`bench upgrade CANDIDATE`: gate a TensorFlow build or a LiteRT release in one command, the
steps of pipeline/upgrade/steps.py; see docs/gate.md, "Gate a new TensorFlow build in one
command" and "Gate a LiteRT upgrade"."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipeline import REPO_ROOT, RUNS_DIR
from pipeline.console import fail, print_report
from pipeline.measure.environment import cpu_count, cpu_model
from pipeline.options import WORKLOAD
from pipeline.upgrade.candidate import (
    CandidateError,
    parse_candidate,
)
from pipeline.upgrade.steps import PROG, Plan, Progress, environment_step, gate_workload
from pipeline.upgrade.verdict import EXIT_CODES, Step, report, summary, verdict
from pipeline.workloads import DEFAULT_WORKLOAD

EPILOG = """\
steps, in this order, for each --workload:
  1. the candidate's environment under --envs-dir: made once (the candidate, then the tf-keras
     of its line and tfmot without dependencies), reused while the candidate, the python and
     the requirements files are unchanged; `import tensorflow` must report the candidate. A
     LiteRT candidate (ai-edge-litert, ai-edge-litert-nightly, or its wheel) is installed
     beside the current environment's TensorFlow, pinned, and ai_edge_litert must import as it
  2. pytest bench --variants all under the candidate
  3. the gate: bench compare HISTORY <that run> --skip-latency (accuracy, size, sparsity,
     instruction counts against the newest TensorFlow line below the candidate on its LiteRT;
     for a LiteRT candidate, --upgrade litert: the newest LiteRT below it on its TensorFlow)
  4. pytest bench under the current environment (--reference-python), then the duel:
     bench duel <that run> <the candidate's run>, latency on this machine (for a LiteRT
     candidate the ai_edge_litert keys only; --skip-duel: neither)
then the markdown report (OUTPUT/report.md) and one verdict.

exit codes (as bench compare's):
  0  PASS: every step passed
  1  FAIL: a measurement regressed or is missing, a key of the duel regressed, or the
     candidate failed its own suite
  2  ERROR: a step could not be run (the candidate does not install or import, a run wrote no
     results, no reference run in the history); the report says which and why
  3  INCONCLUSIVE: nothing failed, but the gate could not judge something
  1 beats 2 beats 3: a regression found is certain even where another step
  could not run."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Gate a TensorFlow build or a LiteRT release against the history and the "
                    "current environment in one command: a nightly, a release candidate, a "
                    "release or a wheel.")
    parser.add_argument("candidate", metavar="CANDIDATE",
                        help="what pip installs: tf-nightly, tensorflow==2.22.0rc1, "
                             "tensorflow-cpu==2.21.0, path/to/tensorflow-*.whl, or a LiteRT: "
                             "ai-edge-litert==2.2.0, ai-edge-litert-nightly, "
                             "path/to/ai_edge_litert-*.whl")
    WORKLOAD.add_to(parser.add_argument, action="append")
    parser.add_argument("--variants", metavar="NAMES", default="all",
                        help="pytest bench --variants for both runs (default all)")
    parser.add_argument("--history", metavar="DIR", type=Path, default=REPO_ROOT / "results",
                        help="the history the gate chooses its reference run from "
                             "(default results/)")
    parser.add_argument("--reference-python", metavar="PY", default=sys.executable,
                        help="python of the current environment, whose run the candidate "
                             "duels (default: this python)")
    parser.add_argument("--skip-duel", action="store_true",
                        help="no run under the current environment and no duel: the gate "
                             "alone (latency is then not judged)")
    parser.add_argument("--envs-dir", metavar="DIR", type=Path,
                        default=REPO_ROOT / ".bench-upgrade",
                        help="where candidate environments are kept (default .bench-upgrade/, "
                             "git-ignored)")
    parser.add_argument("--recreate", action="store_true",
                        help="make the candidate's environment again even if its inputs are "
                             "unchanged (an unpinned tf-nightly: tonight's build)")
    parser.add_argument("--output", metavar="DIR", type=Path,
                        help="folder for both runs' CSVs and report.md (default "
                             "runs/upgrade/<UTC time>_<candidate>/)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The CLI; returns the verdict's exit code (0 pass, 1 fail, 2 error, 3 inconclusive)."""
    args = _parser().parse_args(argv)
    try:
        candidate = parse_candidate(args.candidate)
    except CandidateError as exc:
        return fail(PROG, str(exc))
    now = datetime.now(UTC)
    output = (args.output or RUNS_DIR / "upgrade"
              / f"{now:%Y%m%dT%H%M%SZ}_{candidate.slug}").absolute()
    output.mkdir(parents=True, exist_ok=True)
    say = Progress()
    plan = Plan(args.variants, args.history, args.reference_python, args.skip_duel,
                args.envs_dir, args.recreate)
    steps: list[Step] = []
    try:
        step, env = environment_step(candidate, plan, say)
        steps.append(step)
        if env is not None:
            for workload in args.workload or [DEFAULT_WORKLOAD]:
                steps += gate_workload(workload, candidate, env, plan, output, say)
    except KeyboardInterrupt:
        say("interrupted; an environment whose install did not finish is made again next time")
        return 130
    context = [f"command: `{PROG} {' '.join(argv if argv is not None else sys.argv[1:])}`",
               f"candidate: {candidate.spec} -> "
               + (f"{env.probe.label()}, in {env.path} (made {env.created_utc}"
                  f"{', reused' if env.reused else ''})" if env is not None
                  else "not installed"),
               f"current environment: {args.reference_python}",
               f"history: {args.history}",
               f"machine: {cpu_model()}, {cpu_count()} cpus; {now:%Y-%m-%d %H:%M} UTC"]
    text = report(f"{PROG} {candidate.spec}", context, steps)
    (output / "report.md").write_text(text + "\n")
    say(f"report: {output / 'report.md'}")
    print_report(summary(steps))
    return EXIT_CODES[verdict(steps)]
