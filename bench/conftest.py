"""The `pytest bench` session: options, lazy session fixtures, and the pytest events a session
needs to know about.

Thin by design: what a session decides (its variants, a reused run, the --compare-to reference,
whether it is complete, its results CSV and summary) is pipeline/suite/session.py, tested without
pytest; fixtures call `pipeline`, tests assert on what it returns. Each stage is built once per
session, on first use (see pipeline/run/bench_run.py). At the end of a session whose tests all
ran (passed or failed), every recorded measurement goes into one new CSV under
`--results-dir`; an interrupted session, or one stopped by a data or environment problem,
writes nothing there.

A session that ran less than the whole default selection (-k, -m, a narrower path, a skipped
or erroring test, --benchmark-disable/--benchmark-skip, -x stopping early) still writes its CSV
(a failure is history too) but marks it `complete=False` with the reason, so the gate never
picks it as a reference run.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pipeline import RUNS_DIR
from pipeline.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from pipeline.data import DataError, Dataset
from pipeline.judge.compare.options import PYTEST_PREFIX, GateOptions, add_gate_options
from pipeline.measure.callgrind import InstructionCount, InstructionsUnavailable
from pipeline.measure.footprint import FOOTPRINT_THREADS, Footprint
from pipeline.measure.interpreters import is_available
from pipeline.measure.latency import Block, LatencyKey
from pipeline.options import DATA, THRESHOLDS, WORKLOAD
from pipeline.recipe import DEFAULT_SEED
from pipeline.results import MeasurementKey, Run, RunInfo
from pipeline.run.bench_run import Artifact, BenchRun
from pipeline.suite import timing
from pipeline.suite.session import BenchSession, SessionError, SessionOptions, SessionStop
from pipeline.tfenv import EnvironmentProblem, ensure_single_tensorflow
from pipeline.variants.registry import default_variants
from pipeline.workload import Workload, WorkloadError
from pipeline.workloads import DEFAULT_WORKLOAD, resolve_workload

BENCH_DIR = Path(__file__).resolve().parent
#: The latency test, whose selected parameters decide which combinations are timed.
LATENCY_TEST = "test_invoke_latency"
#: The instruction-count test, whose selected parameters decide what is counted.
INSTRUCTIONS_TEST = "test_instruction_count"
#: The footprint test, whose selected parameters decide which combinations are measured.
FOOTPRINT_TEST = "test_interpreter_footprint"

#: pytest's exit code for a session stopped by a data or environment problem (usage error).
SETUP_PROBLEM_EXIT = pytest.ExitCode.USAGE_ERROR

_SESSION = pytest.StashKey[BenchSession]()
_TERMINAL_LINE = pytest.StashKey["_TerminalLine"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "TensorFlow model compression benchmark")
    WORKLOAD.add_to(group.addoption, default=DEFAULT_WORKLOAD)
    DATA.add_to(group.addoption, default=None)
    group.addoption("--seed", type=int, default=DEFAULT_SEED,
                    help=f"seed for training and pruning (default {DEFAULT_SEED}); recorded.")
    group.addoption("--variants", metavar="NAMES", default="default",
                    help="which variants of pipeline/variants/registry.py to build and check: "
                         "'default' (the reference recipe's four), 'all', or comma-separated names "
                         "(added to the default four, with what they are built from).")
    group.addoption("--reuse-run", metavar="RUN_DIR", default=None,
                    help="re-measure the .tflite files of an earlier complete run "
                         "(runs/<run_id>, its CSV in --results-dir) instead of training: "
                         "latency, interpreter accuracy, sizes; the new CSV's source_run_id "
                         "names that run.")
    group.addoption("--results-dir", metavar="DIR", default=str(RUNS_DIR),
                    help="folder that receives this session's results CSV (default runs/, "
                         "beside the artifacts and git-ignored; copy a run into results/ to "
                         "make it history).")
    group.addoption("--run-dir", metavar="DIR", default=None,
                    help="folder for this session's artifacts (default runs/<run_id>/).")
    THRESHOLDS.add_to(group.addoption, default=None)
    group.addoption("--compare-to", metavar="PATH", default=None,
                    help="results CSV or history folder: fail a test for each measurement "
                         "that regressed against its reference run ([compare] rules): the "
                         "latest complete run of the newest TensorFlow below the installed one, "
                         "on the installed LiteRT; the --compare-* options below are bench "
                         "compare's, prefixed.")
    add_gate_options(group.addoption, PYTEST_PREFIX)
    group.addoption("--skip-instructions", action="store_true", default=False,
                    help="do not count instructions under valgrind (e.g. where valgrind "
                         "cannot be installed); the run is marked incomplete, never a "
                         "reference.")


def _options(config: pytest.Config) -> SessionOptions:
    """The bench options of this command line, as the plain values the session takes."""

    def path(name: str) -> Path | None:
        value = config.getoption(name)
        return None if value is None else Path(value)

    return SessionOptions(
        seed=config.getoption("seed"), variants=config.getoption("variants"),
        data=config.getoption("data"), results_dir=Path(config.getoption("results_dir")),
        run_dir=path("run_dir"), reuse_run=path("reuse_run"),
        compare_to=config.getoption("compare_to"),
        compare=GateOptions.read(config.getoption, PYTEST_PREFIX),
        skip_instructions=config.getoption("skip_instructions"))


def _selection_narrowed(config: pytest.Config) -> list[str]:
    """Reasons visible in the command line why this session is not the whole default run."""
    reasons = []
    if config.option.keyword:
        reasons.append(f"-k {config.option.keyword!r}")
    if config.option.markexpr:
        reasons.append(f"-m {config.option.markexpr!r}")
    narrower = [arg for arg in config.args
                if "::" in arg or Path(arg).resolve() != BENCH_DIR]
    if narrower or not config.args:
        reasons.append(f"selection {' '.join(config.args)!r} is not the whole bench/ folder")
    for flag in ("benchmark_disable", "benchmark_skip"):
        if config.getoption(flag, default=False):
            reasons.append(f"--{flag.replace('_', '-')}")
    return reasons


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "variants(bound=, kind=, measure=, option=): parametrize the test's "
                   "`variant` over the selected variants with that threshold bound, kind "
                   "('keras'/'tflite'), declared measure or step option")
    try:
        ensure_single_tensorflow()
    except EnvironmentProblem as exc:
        raise pytest.UsageError(f"bench: {exc}") from None
    try:
        workload = resolve_workload(config.getoption("workload"))
    except WorkloadError as exc:
        raise pytest.UsageError(f"--workload: {exc}") from None
    path = config.getoption("thresholds")
    try:
        thresholds = load_config(path or DEFAULT_CONFIG_PATH, bounds=workload.bounds,
                                 required=default_variants(workload))
        config.stash[_SESSION] = BenchSession(_options(config), workload, thresholds,
                                              narrowed=_selection_narrowed(config))
    except (ConfigError, SessionError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(_TestEvents(config.stash[_SESSION]), "bench-session")
    config.stash[_TERMINAL_LINE] = _TerminalLine(config)
    config.pluginmanager.register(config.stash[_TERMINAL_LINE], "bench-terminal-line")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`variant`: each selected variant the test's `variants` marker applies to.
    `history_key`: one history-gate test per gated measurement key of the --compare-to
    reference run."""
    state = metafunc.config.stash[_SESSION]
    if "variant" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("variants")
        filters = marker.kwargs if marker else {}
        names = state.variants_for(**filters)
        metafunc.parametrize("variant", names, ids=names)
    if "history_key" in metafunc.fixturenames:
        keys = state.history_keys()
        metafunc.parametrize("history_key", keys, ids=[_key_id(k) for k in keys])


def _key_id(key: MeasurementKey) -> str:
    return "-".join(str(part) for part in key if part is not None)


def _is_gate(item: pytest.Item) -> bool:
    """A history-gate test: collected only with --compare-to."""
    return "history_reference" in getattr(item, "fixturenames", ())


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Any deselection but that of the history-gate tests and of tests that apply to no
    selected variant makes the run incomplete."""
    if not items:
        return
    state = items[0].config.stash[_SESSION]
    others = [item for item in items if not _is_gate(item)
              and item.nodeid not in state.not_applicable | state.not_available]
    if others:
        state.note_incomplete(f"{len(others)} test(s) deselected")


def _not_applicable(item: pytest.Item) -> bool:
    """A test parametrized over no variant: none of the selected variants has what it checks
    (e.g. the m:n block test when no m:n variant is selected)."""
    return any(str(mark.kwargs.get("reason", "")).startswith("got empty parameter set")
               for mark in item.iter_markers("skip"))


def _runtime(item: pytest.Item) -> str | None:
    """The TFLite runtime a test is parametrized over, if any."""
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("runtime")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """History-gate tests run last (they judge what the other tests measured), and only with
    --compare-to; without it they are deselected rather than reported as skipped. A test that
    applies to none of the selected variants is deselected too, and counted so by pytest: it
    has nothing to check in this selection, which is not an incomplete run. So is a test of a
    runtime this environment does not provide (a TensorFlow without tf.lite.Interpreter): the
    run records the runtime as not available, a declared state, rather than skipping."""
    state = config.stash[_SESSION]
    if not config.option.collectonly:
        # The data first: a session that cannot load it stops in a second, before finding
        # the runtimes imports TensorFlow (5 s).
        _load_data(state)
    not_applicable = [item for item in items if _not_applicable(item)]
    if not_applicable:
        state.not_applicable.update(item.nodeid for item in not_applicable)
        config.hook.pytest_deselected(items=not_applicable)
        items[:] = [item for item in items if item.nodeid not in state.not_applicable]
    runtimes = {_runtime(item) for item in items} - {None}
    absent = {r for r in runtimes if not is_available(r, state.unavailable_runtimes)}
    not_available = [item for item in items if _runtime(item) in absent]
    if not_available:
        state.not_available.update(item.nodeid for item in not_available)
        config.hook.pytest_deselected(items=not_available)
        items[:] = [item for item in items if item.nodeid not in state.not_available]
    gate = [item for item in items if _is_gate(item)]
    others = [item for item in items if item not in gate]
    if state.history_reference is None:
        if gate:
            config.hook.pytest_deselected(items=gate)
        items[:] = others
    else:
        items[:] = others + gate


#: The entry-point name of hypothesis' pytest plugin.
HYPOTHESIS_PLUGIN = "hypothesispytest"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Leave hypothesis' pytest plugin out of a session that collected no hypothesis test.

    The plugin imports all of hypothesis at the end of every session (0.8 s, `python -X
    importtime`) to look for output only hypothesis tests write. It tells a session without
    such tests by hypothesis not being imported at collection, and so does this hook; a
    `pytest bench tests` session keeps the plugin.
    """
    if "hypothesis" not in sys.modules:
        session.config.pluginmanager.unregister(name=HYPOTHESIS_PLUGIN)


def _session(request: pytest.FixtureRequest) -> BenchSession:
    return request.config.stash[_SESSION]


def _stop(exc: Exception) -> NoReturn:
    """Stop the whole session on a data or environment problem, writing nothing."""
    pytest.exit(f"bench: {exc}", returncode=SETUP_PROBLEM_EXIT)


@pytest.fixture(scope="session")
def thresholds(request: pytest.FixtureRequest) -> Config:
    return _session(request).thresholds


@pytest.fixture(scope="session")
def dataset(request: pytest.FixtureRequest) -> Dataset:
    """The workload's data: for the built-in ones MNIST from --data, $MNIST_PATH, the Keras
    cache or Keras' download; else stop the run with what to do."""
    return _load_data(_session(request))


def _load_data(session: BenchSession) -> Dataset:
    """The session's data, or the session stopped with what to do."""
    try:
        return session.dataset
    except (DataError, WorkloadError) as exc:
        _stop(exc)


@pytest.fixture(scope="session")
def history_reference(request: pytest.FixtureRequest) -> Run:
    reference = _session(request).history_reference
    assert reference is not None, "history-gate tests run only with --compare-to"
    return reference


@pytest.fixture(scope="session")
def selected_variants(request: pytest.FixtureRequest) -> tuple[str, ...]:
    """The variants this session selected (--variants, or a --reuse-run run's TFLite models)."""
    return _session(request).variants


@pytest.fixture(scope="session")
def counting_valgrind(request: pytest.FixtureRequest) -> str:
    """The valgrind version counting instructions; "" when this session counts none."""
    return _session(request).valgrind


@pytest.fixture(scope="session")
def history_skip_latency(request: pytest.FixtureRequest) -> bool:
    """--compare-skip-latency: latency and heap rows are not gated."""
    return _session(request).options.compare.skip_latency


@pytest.fixture(scope="session")
def run_info(request: pytest.FixtureRequest, bench_run: BenchRun) -> RunInfo:
    """This session's run columns as far as known now (completeness and sharing are known at
    the end)."""
    return _session(request).run_info()


class _TerminalLine:
    """Writes the session's own lines ("bench [ 12.3 s] ...") to the terminal now, each on a
    line of its own, even under -q and while pytest captures output (capture suspended around
    the write, as pytest's live logging does), through pytest's public API only.

    Under -q pytest writes its progress letters with no file name before them, so its reporter
    does not know the line is open (`currentfspath` is unset); this plugin does, from the
    reports that carry a letter (pytest_report_teststatus, the hook the reporter asks).
    """

    def __init__(self, config: pytest.Config):
        self.config = config
        self.open_line = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        status = self.config.hook.pytest_report_teststatus(report=report, config=self.config)
        self.open_line = self.open_line or bool(status and status[1])

    def write(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if self.open_line and not reporter.currentfspath:  # after -q's progress letters
                reporter.write("\n")
            reporter.write_line(f"bench {line}")
        self.open_line = False


@pytest.fixture(scope="session")
def bench_run(request: pytest.FixtureRequest, dataset: Dataset) -> BenchRun:
    session = _session(request)
    try:
        run = session.start(dataset, request.config.stash[_TERMINAL_LINE].write)
    except SessionStop as exc:
        _stop(exc)
    if session.valgrind:
        session.start_counting({(params["variant"], params["runtime"])
                                for params in _selected_params(request, INSTRUCTIONS_TEST)},
                               latency_image(session.workload, dataset))
    return run


def build(bench_run: BenchRun, name: str) -> Artifact:
    """Build a variant; an environment problem (e.g. Keras 3 in use) stops the whole session."""
    try:
        return bench_run.artifact(name)
    except EnvironmentProblem as exc:
        _stop(exc)


@pytest.fixture(scope="session")
def baseline(bench_run: BenchRun) -> Artifact:
    """The root every size ratio is taken against."""
    return build(bench_run, "baseline")


@pytest.fixture(scope="session")
def build_variant(bench_run: BenchRun) -> Callable[[str], Artifact]:
    """Build any variant by name, for a test that needs one besides its own `variant`."""
    return lambda name: build(bench_run, name)


@pytest.fixture
def artifact(bench_run: BenchRun, variant: str) -> Artifact:
    """The parametrized `variant`, built (with what it is built from) on first use."""
    return build(bench_run, variant)


def _selected_params(request: pytest.FixtureRequest, test_name: str) -> list[dict[str, Any]]:
    """The parameters of each selected item of the test function `test_name`."""
    return [item.callspec.params for item in request.session.items
            if getattr(item, "originalname", None) == test_name]


def _selected(request: pytest.FixtureRequest, bench_run: BenchRun, test_name: str,
              threads_of: Callable[[dict[str, Any]], int],
              ) -> tuple[list[LatencyKey], dict[str, Path]]:
    """The (variant, runtime, threads) keys of the selected items of `test_name` whose variant
    could be built, and each such variant's .tflite path (a runtime this environment lacks
    has no selected items: pytest_collection_modifyitems deselected them)."""
    keys = sorted({LatencyKey(params["variant"], params["runtime"], threads_of(params))
                   for params in _selected_params(request, test_name)})
    paths = timing.built_paths({k.model for k in keys}, lambda name: build(bench_run, name))
    return [key for key in keys if key.model in paths], paths


@pytest.fixture(scope="session")
def instruction_counts(request: pytest.FixtureRequest,
                       ) -> dict[tuple[str, str], InstructionCount | InstructionsUnavailable]:
    """Every selected (variant, runtime)'s instruction count, or why it could not be taken,
    once every counting process has finished; empty when nothing is counted."""
    bench_run: BenchRun = request.getfixturevalue("bench_run")
    session = _session(request)
    if session.counter is not None:  # the counter waits for every counted variant's file
        timing.built_paths({params["variant"]
                            for params in _selected_params(request, INSTRUCTIONS_TEST)},
                           lambda name: build(bench_run, name))
    return session.instruction_counts()


@pytest.fixture(scope="session")
def latency_blocks(request: pytest.FixtureRequest,
                   dataset: Dataset) -> dict[LatencyKey, list[Block]]:
    """Every selected latency combination's repetitions, measured once, interleaved.

    The combinations are those of the selected `test_invoke_latency` items whose runtime is
    installed (the others skip with the reason). Under --benchmark-disable each gets a single
    untimed call, enough for the tests' correctness check. Instruction counting has finished
    first: the clock runs on a machine it has to itself.
    """
    bench_run = request.getfixturevalue("bench_run")
    request.getfixturevalue("instruction_counts")
    keys, paths = _selected(request, bench_run, LATENCY_TEST, lambda params: params["threads"])
    return timing.latency_blocks(
        bench_run, _session(request).thresholds, keys, paths,
        latency_image(bench_run.workload, dataset),
        single_call=request.config.getoption("benchmark_disable", default=False))


@pytest.fixture(scope="session")
def footprints(request: pytest.FixtureRequest,
               dataset: Dataset) -> dict[LatencyKey, list[Footprint]]:
    """Every selected footprint combination, `repetitions` fresh processes each."""
    bench_run = request.getfixturevalue("bench_run")
    keys, paths = _selected(request, bench_run, FOOTPRINT_TEST, lambda params: FOOTPRINT_THREADS)
    return timing.footprints(bench_run, _session(request).thresholds, keys, paths,
                             latency_image(bench_run.workload, dataset))


def latency_image(workload: Workload, dataset: Dataset) -> Any:
    """The timed (and counted) input: test image 0, scaled as the workload scales every input."""
    return workload.scale(dataset.x_test[0])


class _TestEvents:
    """The pytest events a session counts towards its completeness: tests skipped, finished."""

    def __init__(self, session: BenchSession):
        self.session = session

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.session.skipped.add(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        self.session.finished_items += 1


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """An exception other than a failed check (a stage that raised, a broken runtime) means
    something was not measured: the run is then incomplete. A failed check is an assertion or
    pytest.fail (the history gate's "cannot compare"): its test fails, the run stays whole."""
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and not excinfo.errisinstance(
            (AssertionError, pytest.fail.Exception, pytest.skip.Exception,
             pytest.exit.Exception)):
        item.config.stash[_SESSION].note_incomplete(
            f"{item.name} raised {excinfo.typename}")
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the CSV of a session whose tests ran (passed or failed), marked complete or not;
    nothing for an interrupted or stopped session."""
    state = session.config.stash.get(_SESSION, None)
    if state is not None:
        state.finish(tests_ran=exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED),
                     items=len(session.items))


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's tables: the last screen is ours
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    lines = [] if state is None else state.summary_lines()
    if lines:
        terminalreporter.section("bench")
        for line in lines:
            terminalreporter.write_line(line)
