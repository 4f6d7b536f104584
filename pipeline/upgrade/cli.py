"""`bench-upgrade CANDIDATE` (or `python -m pipeline.upgrade`): gate a TensorFlow build or a
LiteRT release in one command; see docs/gate.md, "Gate a new TensorFlow build in one command"
and "Gate a LiteRT upgrade"."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipeline import REPO_ROOT, RUNS_DIR
from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.console import fail, print_report
from pipeline.judge.compare.cli import GateError, gate
from pipeline.judge.compare.report import format_markdown, markdown_header, markdown_table, outcome
from pipeline.judge.compare.report import summary_line as gate_summary
from pipeline.judge.duel.cli import duel
from pipeline.judge.duel.report import exit_code as duel_exit_code
from pipeline.judge.duel.report import format_report as duel_report
from pipeline.judge.duel.report import summary_line as duel_summary
from pipeline.judge.duel.schedule import DuelError
from pipeline.measure.duel_worker import WorkerError
from pipeline.measure.environment import cpu_count, cpu_model
from pipeline.options import WORKLOAD
from pipeline.results import ResultsFileError
from pipeline.upgrade.candidate import (
    Candidate,
    CandidateError,
    current_tensorflow,
    parse_candidate,
)
from pipeline.upgrade.environment import CandidateEnvironment, prepare, run_probe
from pipeline.upgrade.verdict import DONE, EXIT_CODES, Step, report, summary, verdict
from pipeline.workloads import DEFAULT_WORKLOAD

#: Its name in messages and --help: `python -m pipeline.upgrade` and bench-upgrade run it too.
PROG = "bench upgrade"
#: Gate rows shown above the fold of the report: what moved or could not be judged.
NOTABLE = frozenset({"missing", "regressed", "improved", "not compared", "no reference"})

EPILOG = """\
steps, in this order, for each --workload:
  1. the candidate's environment under --envs-dir: made once (the candidate, then the tf-keras
     of its line and tfmot without dependencies), reused while the candidate, the python and
     the requirements files are unchanged; `import tensorflow` must report the candidate. A
     LiteRT candidate (ai-edge-litert, ai-edge-litert-nightly, or its wheel) is installed
     beside the current environment's TensorFlow, pinned, and ai_edge_litert must import as it
  2. pytest bench --variants all under the candidate
  3. the gate: pipeline.compare HISTORY <that run> --skip-latency (accuracy, size, sparsity,
     instruction counts against the newest TensorFlow line below the candidate on its LiteRT;
     for a LiteRT candidate, --upgrade litert: the newest LiteRT below it on its TensorFlow)
  4. pytest bench under the current environment (--reference-python), then the duel:
     pipeline.duel <that run> <the candidate's run>, latency on this machine (for a LiteRT
     candidate the ai_edge_litert keys only; --skip-duel: neither)
then the markdown report (OUTPUT/report.md) and one verdict.

exit codes (as pipeline.compare's):
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


class Progress:
    """`bench-upgrade [  12.3 s] ...` lines on stderr, like pytest bench's stage lines."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"{PROG} [{time.monotonic() - self.start:6.1f} s] {message}", file=sys.stderr,
              flush=True)


def _environment_variables(python: Path | str) -> dict[str, str]:
    """This process's variables for a child in another environment: its bin/ first on PATH,
    no VIRTUAL_ENV pointing elsewhere."""
    variables = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    variables["PATH"] = os.pathsep.join([str(Path(python).parent), variables.get("PATH", "")])
    variables.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return variables


def stream(argv: Sequence[str]) -> int:
    """Run from the repository with the output shown as it comes."""
    return subprocess.run(list(argv), cwd=REPO_ROOT, env=_environment_variables(argv[0]),
                          check=False).returncode


def capture(argv: Sequence[str]) -> tuple[int, str, str]:
    done = subprocess.run(list(argv), cwd=REPO_ROOT, env=_environment_variables(argv[0]),
                          capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def junit_counts(path: Path) -> str:
    """`111 passed, 2 failed` from pytest's --junitxml file ("" when there is none)."""
    try:
        suite = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return ""
    if suite.tag != "testsuite":  # pytest writes <testsuites><testsuite .../></testsuites>
        suite = next(iter(suite.iter("testsuite")), suite)
    counts = {name: int(suite.get(name, "0")) for name in ("tests", "failures", "errors",
                                                           "skipped")}
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    parts = [f"{passed} passed"] + [f"{counts[k]} {label}" for k, label in
                                     (("failures", "failed"), ("errors", "errors"),
                                      ("skipped", "skipped")) if counts[k]]
    return ", ".join(parts)


def bench_step(name: str, python: str, workload: str, variants: str, results: Path, *,
               judged: bool) -> tuple[Step, Path | None]:
    """`pytest bench` under `python`; the step and the CSV it wrote. The candidate's run is
    judged (its own suite failing is a FAIL); the current environment's must simply work."""
    results.mkdir(parents=True, exist_ok=True)
    junit = results / "junit.xml"
    started = time.monotonic()
    code = stream([python, "-m", "pytest", "bench", "-q", "--workload", workload, "--variants",
                variants, "--results-dir", str(results), "--junitxml", str(junit)])
    seconds = time.monotonic() - started
    csvs = sorted(results.glob("*.csv"))
    counts = junit_counts(junit) or "no tests ran"
    if len(csvs) != 1:
        return Step(name, "ERROR", f"exit {code}, {counts}; wrote {len(csvs)} results CSVs "
                                   f"in {results}, not one", seconds), None
    detail = f"{counts} (exit {code}); {csvs[0].name}"
    if code == 0:
        return Step(name, "PASS" if judged else DONE, detail, seconds), csvs[0]
    if code == 1 and judged:
        return Step(name, "FAIL", detail, seconds), csvs[0]
    why = "" if judged else "; the current environment must pass its own suite"
    return Step(name, "ERROR", detail + why, seconds), csvs[0]


def gate_step(name: str, history: Path, candidate_csv: Path, upgrade: str = "tensorflow") -> Step:
    """The gate against the history, latency left to the duel (--skip-latency); `upgrade` is
    what the candidate upgrades (pipeline.compare --upgrade)."""
    started = time.monotonic()
    try:
        result = gate(history, candidate_csv, skip_latency=True, upgrade=upgrade)
    except GateError as exc:
        return Step(name, "ERROR", str(exc), time.monotonic() - started)
    judged = outcome(result.rows)
    line = gate_summary(judged)
    notable = [row for row in result.rows if row.verdict in NOTABLE]
    section = "\n".join(markdown_header(result.header)).rstrip() + f"\n\n**{line}**\n"
    if notable:
        table = "\n".join(markdown_table(notable))
        section += f"\n{len(notable)} rows moved or were not judged:\n\n{table}\n"
    full = format_markdown(result.rows, result.header)
    section += (f"\n<details><summary>all {len(result.rows)} rows</summary>\n\n{full}\n\n"
                f"</details>\n")
    return Step(name, judged.verdict, line, time.monotonic() - started, section)


def duel_step(name: str, reference_csv: Path, candidate_csv: Path, reference_python: str,
              candidate_python: str, interpreters: frozenset[str] | None = None) -> Step:
    started = time.monotonic()
    try:
        settings = load_config(DEFAULT_CONFIG_PATH).duel
        rows, reference, candidate = duel(reference_csv, candidate_csv, settings,
                                          reference_python=reference_python,
                                          candidate_python=candidate_python,
                                          interpreters=interpreters)
    except (DuelError, WorkerError, ResultsFileError, ConfigError) as exc:
        return Step(name, "ERROR", str(exc), time.monotonic() - started)
    return Step(name, "FAIL" if duel_exit_code(rows) else "PASS", duel_summary(rows),
                time.monotonic() - started,
                duel_report(rows, reference, candidate, settings, "markdown"))


def current_environment_tensorflow(python: str) -> Candidate:
    """The TensorFlow of the current environment (`python`), pinned: what a LiteRT candidate is
    installed beside."""
    probe = run_probe(capture, python, "metadata", failed="cannot tell which TensorFlow the "
                      "current environment holds; pass --reference-python")
    return current_tensorflow(probe.tensorflow, python)


def environment_step(candidate: Candidate, args: argparse.Namespace,
                     say: Progress) -> tuple[Step, CandidateEnvironment | None]:
    started = time.monotonic()
    try:
        beside = (current_environment_tensorflow(args.reference_python)
                  if candidate.upgrade == "litert" else None)
        if beside is not None:
            say(f"{candidate.spec} is a LiteRT candidate: installed beside {beside.spec}, the "
                f"current environment's TensorFlow")
        env = prepare(candidate, args.envs_dir, recreate=args.recreate, stream=stream,
                      capture=capture, say=say, beside=beside)
    except CandidateError as exc:
        return Step("environment", "ERROR", str(exc), time.monotonic() - started), None
    how = "reused" if env.reused else "made"
    return Step("environment", DONE, f"{how}: {env.probe.label()}",
                time.monotonic() - started), env


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
    steps: list[Step] = []
    try:
        step, env = environment_step(candidate, args, say)
        steps.append(step)
        if env is not None:
            for workload in args.workload or [DEFAULT_WORKLOAD]:
                steps += _gate_workload(workload, candidate, env, args, output, say)
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


def _gate_workload(workload: str, candidate: Candidate, env: CandidateEnvironment,
                   args: argparse.Namespace, output: Path, say: Progress) -> list[Step]:
    steps: list[Step] = []
    say(f"{workload}: pytest bench --variants {args.variants} under {env.probe.label()}")
    bench, candidate_csv = bench_step(f"pytest bench, candidate, {workload}", str(env.python),
                                      workload, args.variants, output / "candidate" / workload,
                                      judged=True)
    steps.append(bench)
    if candidate_csv is None:
        return steps
    say(f"{workload}: the gate against {args.history}")
    steps.append(gate_step(f"gate against the history, {workload}", args.history,
                           candidate_csv, candidate.upgrade))
    print_report(steps[-1].section)
    if args.skip_duel:
        return steps
    say(f"{workload}: pytest bench --variants {args.variants} under the current environment")
    bench, reference_csv = bench_step(f"pytest bench, current environment, {workload}",
                                      args.reference_python, workload, args.variants,
                                      output / "reference" / workload, judged=False)
    steps.append(bench)
    if reference_csv is None:
        return steps
    say(f"{workload}: the duel, current environment vs candidate, on this machine")
    # A LiteRT release changes the ai_edge_litert runtime only: its tf.lite keys are the same
    # TensorFlow on both sides, so they are not duelled.
    interpreters = frozenset({"ai_edge_litert"}) if candidate.upgrade == "litert" else None
    steps.append(duel_step(f"duel with the current environment, {workload}", reference_csv,
                           candidate_csv, args.reference_python, str(env.python), interpreters))
    print_report(steps[-1].section)
    return steps
