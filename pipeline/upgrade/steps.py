"""The steps of `bench upgrade`, in order: the candidate's environment, its run, the gate
against the history, the current environment's run and the duel; each returns a Step for
verdict.py. The command (pipeline/commands/upgrade.py) parses its options into a Plan and
runs them."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import REPO_ROOT
from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config
from pipeline.console import print_report
from pipeline.judge.compare.gate import GateError, gate
from pipeline.judge.compare.options import GateOptions
from pipeline.judge.compare.report import format_markdown, markdown_header, markdown_table, outcome
from pipeline.judge.compare.report import summary_line as gate_summary
from pipeline.judge.duel.report import exit_code as duel_exit_code
from pipeline.judge.duel.report import format_report as duel_report
from pipeline.judge.duel.report import summary_line as duel_summary
from pipeline.judge.duel.runs import duel
from pipeline.judge.duel.schedule import DuelError
from pipeline.measure.duel_worker import WorkerError
from pipeline.results import ResultsFileError
from pipeline.upgrade.candidate import Candidate, CandidateError, current_tensorflow
from pipeline.upgrade.environment import CandidateEnvironment, prepare, run_probe
from pipeline.upgrade.verdict import DONE, Step

#: How progress lines are headed.
PROG = "bench upgrade"
#: Gate rows shown above the fold of the report: what moved or could not be judged.
NOTABLE = frozenset({"missing", "regressed", "improved", "not compared", "no reference"})


@dataclass(frozen=True)
class Plan:
    """What the command line asks of the steps."""

    variants: str
    history: Path
    reference_python: str
    skip_duel: bool
    envs_dir: Path
    recreate: bool


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
    what the candidate upgrades (bench compare --upgrade)."""
    started = time.monotonic()
    try:
        result = gate(history, candidate_csv, GateOptions(upgrade=upgrade, skip_latency=True))
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


def environment_step(candidate: Candidate, plan: Plan,
                     say: Progress) -> tuple[Step, CandidateEnvironment | None]:
    """The candidate's environment, made or reused (step 1)."""
    started = time.monotonic()
    try:
        beside = (current_environment_tensorflow(plan.reference_python)
                  if candidate.upgrade == "litert" else None)
        if beside is not None:
            say(f"{candidate.spec} is a LiteRT candidate: installed beside {beside.spec}, the "
                f"current environment's TensorFlow")
        env = prepare(candidate, plan.envs_dir, recreate=plan.recreate, stream=stream,
                      capture=capture, say=say, beside=beside)
    except CandidateError as exc:
        return Step("environment", "ERROR", str(exc), time.monotonic() - started), None
    how = "reused" if env.reused else "made"
    return Step("environment", DONE, f"{how}: {env.probe.label()}",
                time.monotonic() - started), env


def gate_workload(workload: str, candidate: Candidate, env: CandidateEnvironment,
                  plan: Plan, output: Path, say: Progress) -> list[Step]:
    """Steps 2-4 for one workload: the candidate's run, the gate, the current environment's
    run and the duel; a step that cannot give the next its input ends the list."""
    steps: list[Step] = []
    say(f"{workload}: pytest bench --variants {plan.variants} under {env.probe.label()}")
    bench, candidate_csv = bench_step(f"pytest bench, candidate, {workload}", str(env.python),
                                      workload, plan.variants, output / "candidate" / workload,
                                      judged=True)
    steps.append(bench)
    if candidate_csv is None:
        return steps
    say(f"{workload}: the gate against {plan.history}")
    steps.append(gate_step(f"gate against the history, {workload}", plan.history,
                           candidate_csv, candidate.upgrade))
    print_report(steps[-1].section)
    if plan.skip_duel:
        return steps
    say(f"{workload}: pytest bench --variants {plan.variants} under the current environment")
    bench, reference_csv = bench_step(f"pytest bench, current environment, {workload}",
                                      plan.reference_python, workload, plan.variants,
                                      output / "reference" / workload, judged=False)
    steps.append(bench)
    if reference_csv is None:
        return steps
    say(f"{workload}: the duel, current environment vs candidate, on this machine")
    # A LiteRT release changes the ai_edge_litert runtime only: its tf.lite keys are the same
    # TensorFlow on both sides, so they are not duelled.
    interpreters = frozenset({"ai_edge_litert"}) if candidate.upgrade == "litert" else None
    steps.append(duel_step(f"duel with the current environment, {workload}", reference_csv,
                           candidate_csv, plan.reference_python, str(env.python), interpreters))
    print_report(steps[-1].section)
    return steps
