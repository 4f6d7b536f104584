"""The `pytest bench` session: options, lazy session fixtures, and the results CSV.

Thin by design: fixtures call `pipeline`, tests assert on what it returns. Each stage is built
once per session, on first use (see pipeline/run.py). At the end of a session whose tests all
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
import time
from collections.abc import Callable, Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.compare import LatencyGate, ReferenceChoice, RunIdentity, SelectionError, gated_keys
from pipeline.compare.session import SessionPlan, session_reference
from pipeline.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from pipeline.data import DataError, Dataset
from pipeline.environment import (
    REPO_ROOT,
    collect_run_info,
    cpu_count,
    cpu_model,
    installed,
    new_run_id,
    platform_label,
)
from pipeline.footprint import FOOTPRINT_THREADS, Footprint, measure_footprint
from pipeline.instructions import (
    TOOL,
    InstructionCount,
    InstructionCounter,
    InstructionsUnavailable,
    ensure_countable,
    wrapper_path,
)
from pipeline.interpreters import RuntimeUnavailable, interpreter_class
from pipeline.latency import Block, LatencyKey, interleaved_order, measure_interleaved
from pipeline.machine_sharing import (
    SessionRegistry,
    Sharing,
    combine,
    default_registry,
    tox_parallel_ancestor,
)
from pipeline.recipe import DEFAULT_SEED
from pipeline.results import MeasurementKey, ResultsFileError, RunInfo, to_frame, write_atomic
from pipeline.reuse import ReuseError, SourceRun, load_source_run
from pipeline.run import Artifact, BenchRun
from pipeline.summary import SUMMARY_THREADS, format_summary, summary_table
from pipeline.tfenv import EnvironmentProblem, ensure_single_tensorflow
from pipeline.variants import VARIANTS, UnknownVariant, definitions_sha256, select
from pipeline.workload import Workload, WorkloadError
from pipeline.workloads import DEFAULT_WORKLOAD, resolve_workload

BENCH_DIR = Path(__file__).resolve().parent
#: The latency test, whose selected parameters decide which combinations are timed.
LATENCY_TEST = "test_invoke_latency"
#: The instruction-count test, whose selected parameters decide what is counted.
INSTRUCTIONS_TEST = "test_instruction_count"

#: pytest's exit code for a session stopped by a data or environment problem (usage error).
SETUP_PROBLEM_EXIT = pytest.ExitCode.USAGE_ERROR


class BenchSession:
    """Per-session state shared by the fixtures and the end-of-session hooks."""

    def __init__(self, config: pytest.Config, workload: Workload, thresholds: Config):
        #: The model this session builds (--workload) and the bounds it is checked against.
        self.workload = workload
        self.thresholds = thresholds
        self.seed: int = config.getoption("seed")
        self.run_id = new_run_id()
        run_dir = config.getoption("run_dir")
        self.run_dir = Path(run_dir) if run_dir else REPO_ROOT / "runs" / self.run_id
        #: Whether another benchmark runs meanwhile: tox parallel (known now) and other bench
        #: sessions (registered once this one starts measuring, read again at its end).
        self.tox_parallel = tox_parallel_ancestor()
        self.registry = SessionRegistry(default_registry(), self.run_id)
        self.results_dir = Path(config.getoption("results_dir"))
        self.mnist_option: str | None = config.getoption("mnist")
        self.bench_run: BenchRun | None = None
        self.results_path: Path | None = None
        try:
            #: The variants this session builds and checks (--variants), in registry order.
            self.variants: tuple[str, ...] = select(config.getoption("variants"), workload)
            for name in self.variants:
                thresholds.bounds(name)
        except UnknownVariant as exc:
            raise pytest.UsageError(f"--variants: {exc}") from None
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None
        #: The earlier run whose files this session re-measures (--reuse-run), checked before
        #: anything is loaded; it decides the variants: its TFLite models.
        self.source: SourceRun | None = None
        reuse = config.getoption("reuse_run")
        if reuse is not None:
            if config.getoption("variants") != "default":
                raise pytest.UsageError("--variants cannot be combined with --reuse-run: the "
                                        "reused run's TFLite models are re-measured")
            try:
                self.source = load_source_run(Path(reuse), self.results_dir,
                                              recipe_sha256=definitions_sha256(workload),
                                              workload=workload.name)
            except ReuseError as exc:
                raise pytest.UsageError(f"--reuse-run: {exc}") from None
            self.variants = self.source.tflite_variants
        #: The valgrind that counts instructions ("": none counted, --skip-instructions or no
        #: TFLite variant selected), checked now: a session that cannot count says so at once.
        self.valgrind = _valgrind(config, self.variants)
        self.counter: InstructionCounter | None = None
        #: --compare-to: the reference run and why it was chosen; --compare-skip-latency.
        self.history_skip_latency: bool = config.getoption("compare_skip_latency")
        self.history: ReferenceChoice | None = _history_reference(config, self)
        #: Why this session is not a complete run (empty: complete), in the order noticed.
        self.incomplete: list[str] = _selection_narrowed(config)
        if config.getoption("skip_instructions"):
            self.incomplete.append("--skip-instructions")
        self.finished_items = 0
        self.skipped: set[str] = set()
        #: Tests that apply to none of the selected variants: deselected, not a narrowing.
        self.not_applicable: set[str] = set()
        #: What the session shared the machine with, once it has finished.
        self.final_sharing = Sharing(False, "")

    @property
    def instructions_tool(self) -> str:
        """The valgrind tool that counts this session's instructions ("": none counted)."""
        return TOOL if self.valgrind else ""

    @property
    def history_reference(self) -> pd.DataFrame | None:
        """The --compare-to reference run's rows (None without --compare-to)."""
        return None if self.history is None else self.history.run

    def sharing(self) -> Sharing:
        """Whether this session shared the machine, as far as known now (before it registers:
        the sessions measuring at this moment)."""
        return combine(self.tox_parallel, self.registry.seen())

    def note_incomplete(self, reason: str) -> None:
        if reason not in self.incomplete:
            self.incomplete.append(reason)

    # Registered as a plugin (pytest_configure), so pytest calls these two hooks on it.
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:
            self.skipped.add(report.nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location: object) -> None:
        self.finished_items += 1


def _valgrind(config: pytest.Config, variants: tuple[str, ...]) -> str:
    """The valgrind version that will count this session's TFLite models; "" when nothing is
    to be counted. A machine that cannot count stops the session before any training, with
    what to do: a run must not lack its instruction rows unannounced."""
    if config.getoption("skip_instructions") or not any(VARIANTS[name].kind == "tflite"
                                                        for name in variants):
        return ""
    try:
        return ensure_countable()
    except InstructionsUnavailable as exc:
        raise pytest.UsageError(f"bench: {exc}; or pass --skip-instructions to run without "
                                f"instruction counts (the run is then marked incomplete, never "
                                f"a reference)") from None


def _history_reference(config: pytest.Config, state: BenchSession) -> ReferenceChoice | None:
    """The run `--compare-to` selects, read before any training so a bad path fails at once:
    the choice pipeline.compare would make for this session's variants on this machine."""
    path = config.getoption("compare_to")
    if path is None:
        return None
    plan = SessionPlan(
        variants=state.variants, workload=state.workload.name, cpu=cpu_model(),
        cpu_count=cpu_count(),
        platform=platform_label(), latency_settings=state.thresholds.latency.columns(),
        machine_shared_by=state.sharing().by, skip_latency=state.history_skip_latency,
        valgrind=state.valgrind, instructions_tool=state.instructions_tool)
    try:
        return session_reference(Path(path), plan, installed_tf=installed("tensorflow")[1],
                                 tf=config.getoption("compare_tf"),
                                 run_id=config.getoption("compare_run_id"))
    except ResultsFileError as exc:
        raise pytest.UsageError(f"--compare-to: {exc}") from None
    except SelectionError as exc:
        raise pytest.UsageError(f"--compare-to: {path}: {exc}") from None


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


_SESSION = pytest.StashKey[BenchSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "TensorFlow model compression benchmark")
    group.addoption("--workload", metavar="NAME", default=DEFAULT_WORKLOAD,
                    help=f"the model to build and check: a built-in workload (default "
                         f"{DEFAULT_WORKLOAD}; ds_cnn) or package.module:attribute naming a "
                         f"pipeline.workload.Workload of your own "
                         f"(docs/variants-and-workloads.md, 'Gate your own model').")
    group.addoption("--mnist", metavar="PATH", default=None,
                    help="MNIST as a Keras-layout .npz or a folder of the four IDX files "
                         "(default: $MNIST_PATH, then the Keras cache, then Keras' download); "
                         "a workload of your own receives it as its data path.")
    group.addoption("--seed", type=int, default=DEFAULT_SEED,
                    help=f"seed for training and pruning (default {DEFAULT_SEED}); recorded.")
    group.addoption("--variants", metavar="NAMES", default="default",
                    help="which variants of pipeline/variants.py to build and check: 'default' "
                         "(the reference recipe's four), 'all', or comma-separated names "
                         "(added to the default four, with what they are built from).")
    group.addoption("--reuse-run", metavar="RUN_DIR", default=None,
                    help="re-measure the .tflite files of an earlier complete run "
                         "(runs/<run_id>, its CSV in --results-dir) instead of training: "
                         "latency, interpreter accuracy, sizes; the new CSV's source_run_id "
                         "names that run.")
    group.addoption("--results-dir", metavar="DIR", default=str(REPO_ROOT / "runs"),
                    help="folder that receives this session's results CSV (default runs/, "
                         "beside the artifacts and git-ignored; copy a run into results/ to "
                         "make it history).")
    group.addoption("--run-dir", metavar="DIR", default=None,
                    help="folder for this session's artifacts (default runs/<run_id>/).")
    group.addoption("--thresholds", metavar="PATH", default=None,
                    help="threshold config (default bench/thresholds.toml).")
    group.addoption("--compare-to", metavar="PATH", default=None,
                    help="results CSV or history folder: fail a test for each measurement "
                         "that regressed against its reference run ([compare] rules): the "
                         "latest complete run of the newest TensorFlow below the installed one.")
    group.addoption("--compare-tf", metavar="VERSION", default=None,
                    help="with --compare-to: the reference run is the latest complete run of "
                         "this TensorFlow version.")
    group.addoption("--compare-run-id", metavar="ID", default=None,
                    help="with --compare-to: the reference run is the (complete) run with "
                         "this run_id.")
    group.addoption("--compare-skip-latency", action="store_true", default=False,
                    help="with --compare-to: wall-clock latency and heap rows are not gated "
                         "(as pipeline.compare --skip-latency), e.g. on a CI runner that is not "
                         "the history's machine; accuracy, size, sparsity and instruction "
                         "counts are.")
    group.addoption("--skip-instructions", action="store_true", default=False,
                    help="do not count instructions under valgrind (e.g. where valgrind "
                         "cannot be installed); the run is marked incomplete, never a "
                         "reference.")


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
        thresholds = load_config(path or DEFAULT_CONFIG_PATH, bounds=workload.bounds)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    state = BenchSession(config, workload, thresholds)
    config.stash[_SESSION] = state
    config.pluginmanager.register(state, "bench-session")


def _applies(name: str, thresholds: Config, *, bound: str | None = None,
             kind: str | None = None, measure: str | None = None,
             option: str | None = None) -> bool:
    """Whether variant `name` matches every filter given to a test's `variants` marker."""
    variant = VARIANTS[name]
    return ((bound is None or getattr(thresholds.bounds(name), bound) is not None)
            and (kind is None or variant.kind == kind)
            and (measure is None or measure in variant.measures)
            and (option is None or option in variant.options))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`variant`: each selected variant the test's `variants` marker applies to.
    `history_key`: one history-gate test per gated measurement key of the --compare-to
    reference run."""
    state = metafunc.config.stash[_SESSION]
    if "variant" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("variants")
        filters = marker.kwargs if marker else {}
        names = [n for n in state.variants if _applies(n, state.thresholds, **filters)]
        metafunc.parametrize("variant", names, ids=names)
    if "history_key" not in metafunc.fixturenames:
        return
    reference = state.history_reference
    gate = LatencyGate(skip=state.history_skip_latency)
    keys = ([k for k in gated_keys(reference, state.thresholds.compare, gate)
             if k.model in state.variants] if reference is not None else [])
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
    others = [item for item in items
              if not _is_gate(item) and item.nodeid not in state.not_applicable]
    if others:
        state.note_incomplete(f"{len(others)} test(s) deselected")


def _not_applicable(item: pytest.Item) -> bool:
    """A test parametrized over no variant: none of the selected variants has what it checks
    (e.g. the m:n block test when no m:n variant is selected)."""
    return any(str(mark.kwargs.get("reason", "")).startswith("got empty parameter set")
               for mark in item.iter_markers("skip"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """History-gate tests run last (they judge what the other tests measured), and only with
    --compare-to; without it they are deselected rather than reported as skipped. A test that
    applies to none of the selected variants is deselected too, and counted so by pytest: it
    has nothing to check in this selection, which is not an incomplete run."""
    state = config.stash[_SESSION]
    not_applicable = [item for item in items if _not_applicable(item)]
    if not_applicable:
        state.not_applicable.update(item.nodeid for item in not_applicable)
        config.hook.pytest_deselected(items=not_applicable)
        items[:] = [item for item in items if item.nodeid not in state.not_applicable]
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


@pytest.fixture(scope="session")
def thresholds(request: pytest.FixtureRequest) -> Config:
    return _session(request).thresholds


@pytest.fixture(scope="session")
def dataset(request: pytest.FixtureRequest) -> Dataset:
    """The workload's data: for the built-in ones MNIST from --mnist, $MNIST_PATH, the Keras
    cache or Keras' download; else stop the run with what to do."""
    session = _session(request)
    try:
        return session.workload.load(session.mnist_option)
    except (DataError, WorkloadError) as exc:
        pytest.exit(f"bench: {exc}", returncode=SETUP_PROBLEM_EXIT)


@pytest.fixture(scope="session")
def history_reference(request: pytest.FixtureRequest) -> pd.DataFrame:
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
    return _session(request).history_skip_latency


def _run_info(state: BenchSession, run: BenchRun, sharing: Sharing) -> RunInfo:
    reason = "; ".join(state.incomplete)
    return collect_run_info(state.run_id, dataset_sha256=run.dataset.sha256, seed=run.seed,
                            recipe_sha256=definitions_sha256(run.workload),
                            config=state.thresholds,
                            variants=state.variants, complete=not reason,
                            incomplete_reason=reason,
                            source_run_id="" if run.source is None else run.source.run_id,
                            machine_shared=sharing.shared, machine_shared_by=sharing.by,
                            valgrind=state.valgrind,
                            instructions_tool=state.instructions_tool,
                            workload=run.workload.name,
                            workload_sha256=run.workload.sha256(run.dataset))


@pytest.fixture(scope="session")
def run_info(request: pytest.FixtureRequest, bench_run: BenchRun) -> RunInfo:
    """This session's run columns as far as known now (completeness and sharing are known at
    the end)."""
    state = _session(request)
    return _run_info(state, bench_run, state.sharing())


def terminal_line(config: pytest.Config) -> Callable[[str], None]:
    """Write one line to the terminal now, even under -q and while pytest captures output:
    the way pytest's own live logging does (capture suspended around the write)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        if reporter is None:
            return
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter._tw.width_of_current_line:  # after -q's progress characters
                reporter.write_line("")
            reporter.write_line(f"bench {line}")

    return write


@pytest.fixture(scope="session")
def bench_run(request: pytest.FixtureRequest, dataset: Dataset) -> BenchRun:
    session = _session(request)
    source = session.source
    if source is not None:
        recorded = str(source.results["dataset_sha256"].iloc[0])
        if recorded != dataset.sha256:
            pytest.exit(f"bench: --reuse-run: run {source.run_id} was measured on dataset "
                        f"{recorded}, this session loads {dataset.sha256}; pass the same MNIST "
                        f"(--mnist)", returncode=SETUP_PROBLEM_EXIT)
        if int(source.results["seed"].iloc[0]) != session.seed:
            pytest.exit(f"bench: --reuse-run: run {source.run_id} used seed "
                        f"{source.results['seed'].iloc[0]}, this session {session.seed}; pass "
                        f"--seed {source.results['seed'].iloc[0]}",
                        returncode=SETUP_PROBLEM_EXIT)
    session.registry.start()
    session.bench_run = BenchRun(dataset, session.run_dir, session.seed, session.workload,
                                 progress=terminal_line(request.config), source=source)
    sharing = session.sharing()
    if sharing.shared:
        session.bench_run.say(f"sharing the machine with {sharing.by}: this run's latency will "
                              f"never be compared")
    if session.history is not None:
        session.bench_run.say(f"history gate: {_reference_line(session.history)}")
    if session.valgrind:
        _start_counting(request, session, dataset)
    return session.bench_run


def _start_counting(request: pytest.FixtureRequest, session: BenchSession,
                    dataset: Dataset) -> None:
    """Start the callgrind workers now, so they load while the session trains, and have the
    run hand them each selected TFLite variant as soon as its file exists."""
    assert session.bench_run is not None
    keys = {(params["variant"], params["runtime"])
            for params in _selected_params(request, INSTRUCTIONS_TEST)}
    runtimes = sorted({runtime for _, runtime in keys if _countable(runtime)})
    if not runtimes:
        return
    session.counter = InstructionCounter(runtimes, latency_image(session.workload,
                                                                 dataset)).start()
    session.bench_run.count_instructions(session.counter, {model for model, _ in keys})
    session.bench_run.say(f"instructions: valgrind {session.valgrind} counting "
                          f"{len(keys)} combinations beside the session ...")


def _countable(runtime: str) -> bool:
    try:
        wrapper_path(runtime)
    except InstructionsUnavailable:
        return False
    return True


def _reference_line(choice: ReferenceChoice) -> str:
    return f"reference run {RunIdentity.of(choice.run).label()}: {choice.reason}"


def build(bench_run: BenchRun, name: str) -> Artifact:
    """Build a variant; an environment problem (e.g. Keras 3 in use) stops the whole session."""
    try:
        return bench_run.artifact(name)
    except EnvironmentProblem as exc:
        pytest.exit(f"bench: {exc}", returncode=SETUP_PROBLEM_EXIT)


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


def _available(runtime: str) -> bool:
    try:
        interpreter_class(runtime)
    except RuntimeUnavailable:
        return False
    return True


def _selected(request: pytest.FixtureRequest, bench_run: BenchRun, test_name: str,
              threads_of: Callable[[dict[str, Any]], int],
              ) -> tuple[list[LatencyKey], dict[str, Path]]:
    """The (variant, runtime, threads) keys of the selected items of `test_name` whose runtime
    is installed and whose variant could be built (_built_paths), and each such variant's
    .tflite path."""
    keys = sorted({LatencyKey(params["variant"], params["runtime"], threads_of(params))
                   for params in _selected_params(request, test_name)})
    keys = [key for key in keys if _available(key.runtime)]
    paths = _built_paths(bench_run, {k.model for k in keys})
    return [key for key in keys if key.model in paths], paths


def _selected_params(request: pytest.FixtureRequest, test_name: str) -> list[dict[str, Any]]:
    """The parameters of each selected item of the test function `test_name`."""
    return [item.callspec.params for item in request.session.items
            if getattr(item, "originalname", None) == test_name]


def _built_paths(bench_run: BenchRun, models: set[str]) -> dict[str, Path]:
    """Each of `models` built (in sorted order), by its file; one that cannot be built is left
    out: its own tests raise the error (BenchRun caches it), and the others are measured."""
    paths = {}
    for model in sorted(models):
        try:
            paths[model] = build(bench_run, model).path
        except Exception:
            continue
    return paths


@pytest.fixture(scope="session")
def instruction_counts(request: pytest.FixtureRequest,
                       ) -> dict[tuple[str, str], InstructionCount | InstructionsUnavailable]:
    """Every selected (variant, runtime)'s instruction count, or why it could not be taken,
    once every counting process has finished; empty when nothing is counted."""
    bench_run: BenchRun = request.getfixturevalue("bench_run")
    counter = _session(request).counter
    if counter is None:
        return {}
    _built_paths(bench_run, {params["variant"]
                             for params in _selected_params(request, INSTRUCTIONS_TEST)})
    start = time.perf_counter()
    counts = counter.results()
    bench_run.say(f"instructions: done (waited {time.perf_counter() - start:.1f} s)")
    return counts


@pytest.fixture(scope="session")
def latency_blocks(request: pytest.FixtureRequest, dataset: Dataset,
                   thresholds: Config) -> dict[LatencyKey, list[Block]]:
    """Every selected latency combination's repetitions, measured once, interleaved.

    The combinations are those of the selected `test_invoke_latency` items whose runtime is
    installed (the others skip with the reason). Under --benchmark-disable each gets a single
    untimed call, enough for the tests' correctness check. Instruction counting has finished
    first: the clock runs on a machine it has to itself.
    """
    bench_run = request.getfixturevalue("bench_run")
    request.getfixturevalue("instruction_counts")
    keys, paths = _selected(request, bench_run, LATENCY_TEST,
                            lambda params: params["threads"])
    settings = thresholds.latency
    if request.config.getoption("benchmark_disable", default=False):
        settings = replace(settings, repetitions=1, warmup_invokes=0, timed_invokes=1)
    bench_run.say(f"benchmark {len(keys)} combinations x {settings.repetitions} repetitions ...")
    start = time.perf_counter()
    blocks = measure_interleaved(paths, keys, latency_image(bench_run.workload, dataset),
                                 repetitions=settings.repetitions,
                                 warmup_invokes=settings.warmup_invokes,
                                 timed_invokes=settings.timed_invokes, seed=settings.order_seed)
    bench_run.say(f"benchmark: done in {time.perf_counter() - start:.1f} s")
    return blocks


#: The footprint test, whose selected parameters decide which combinations are measured.
FOOTPRINT_TEST = "test_interpreter_footprint"


@pytest.fixture(scope="session")
def footprints(request: pytest.FixtureRequest, dataset: Dataset,
               thresholds: Config) -> dict[LatencyKey, list[Footprint]]:
    """Every selected footprint combination, `repetitions` fresh processes each, in one seeded
    shuffled order (as latency: drift in machine load is spread over all combinations)."""
    bench_run = request.getfixturevalue("bench_run")
    keys, paths = _selected(request, bench_run, FOOTPRINT_TEST,
                            lambda params: FOOTPRINT_THREADS)
    settings = thresholds.footprint
    bench_run.say(f"footprint {len(keys)} combinations x {settings.repetitions} processes ...")
    start = time.perf_counter()
    image = latency_image(bench_run.workload, dataset)
    measured: dict[LatencyKey, list[Footprint]] = {key: [] for key in keys}
    for key in interleaved_order(keys, settings.repetitions, thresholds.latency.order_seed):
        measured[key].append(measure_footprint(paths[key.model], key.runtime, key.threads,
                                               image, invokes=settings.invokes))
    bench_run.say(f"footprint: done in {time.perf_counter() - start:.1f} s")
    return measured


def latency_image(workload: Workload, dataset: Dataset) -> Any:
    """The timed (and counted) input: test image 0, scaled as the workload scales every input."""
    return workload.scale(dataset.x_test[0])


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
    if state is None:
        return
    sharing = combine(state.tox_parallel, state.registry.finish()) if state.registry.started \
        else state.sharing()
    state.final_sharing = sharing
    if state.counter is not None:  # whatever was not collected (an interrupted session)
        state.counter.close()
    if state.bench_run is None or not state.bench_run.measurements:
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    if state.skipped:
        state.note_incomplete(f"{len(state.skipped)} test(s) skipped")
    if state.finished_items < len(session.items):
        state.note_incomplete(f"stopped after {state.finished_items} of {len(session.items)} "
                              f"tests")
    frame = to_frame(_run_info(state, state.bench_run, sharing), state.bench_run.measurements)
    state.results_path = write_atomic(frame, state.results_dir / f"{state.run_id}.csv")


@pytest.hookimpl(trylast=True)  # after pytest-benchmark's tables: the last screen is ours
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or state.bench_run is None:
        return
    terminalreporter.section("bench")
    measurements = state.bench_run.measurements
    if any(m.metric == "accuracy" for m in measurements):
        for line in format_summary(summary_table(measurements)):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"(latency: median microseconds per invoke, "
                                    f"{SUMMARY_THREADS} thread; ratio: zipped baseline / zipped "
                                    f"model)")
    terminalreporter.write_line(f"artifacts: {state.run_dir}")
    if state.results_path is not None:
        terminalreporter.write_line(f"results:   {state.results_path} "
                                    f"({len(state.bench_run.measurements)} rows)")
        if state.incomplete:
            terminalreporter.write_line(f"partial:   {'; '.join(state.incomplete)} (never "
                                        f"chosen as a reference run)")
        if state.final_sharing.shared:
            terminalreporter.write_line(f"shared:    {state.final_sharing.by} ran meanwhile "
                                        f"(latency never compared)")
    else:
        terminalreporter.write_line("results:   none written (session did not run to the end)")
    if state.history is not None:
        terminalreporter.write_line(f"history:   {_reference_line(state.history)}")
