"""The `pytest bench` session: options, lazy session fixtures, and the results CSV.

Thin by design: fixtures call `pipeline`, tests assert on what it returns. Each stage is built
once per session, on first use (see pipeline/run.py). At the end of a session that ran to
completion (tests passed or failed), every recorded measurement goes into one new CSV under
`--results-dir`; an interrupted or broken session writes nothing there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.compare import Key, SelectionError, gated_keys, load_baseline
from pipeline.config import Config, ConfigError, load_config
from pipeline.data import DataError, Mnist, resolve_mnist
from pipeline.environment import REPO_ROOT, collect_run_info, new_run_id
from pipeline.recipe import DEFAULT_SEED
from pipeline.results import ResultsFileError, RunInfo, to_frame, write_atomic
from pipeline.run import BenchRun, KerasArtifact, PrunedArtifact, TFLiteArtifact
from pipeline.tfenv import EnvironmentProblem

#: pytest's exit code for a session stopped by a data or environment problem (usage error).
SETUP_PROBLEM_EXIT = pytest.ExitCode.USAGE_ERROR


class BenchSession:
    """Per-session state shared by the fixtures and the end-of-session hooks."""

    def __init__(self, config: pytest.Config, thresholds: Config):
        self.thresholds = thresholds
        self.seed: int = config.getoption("seed")
        self.run_id = new_run_id()
        run_dir = config.getoption("run_dir")
        self.run_dir = Path(run_dir) if run_dir else REPO_ROOT / "runs" / self.run_id
        self.results_dir = Path(config.getoption("results_dir"))
        self.mnist_option: str | None = config.getoption("mnist")
        self.bench_run: BenchRun | None = None
        self.results_path: Path | None = None
        self.history_baseline = _history_baseline(config)


def _history_baseline(config: pytest.Config) -> pd.DataFrame | None:
    """The run `--compare-to` selects, read before any training so a bad path fails at once."""
    path = config.getoption("compare_to")
    if path is None:
        return None
    try:
        return load_baseline(Path(path), tf=config.getoption("compare_tf"))
    except ResultsFileError as exc:
        raise pytest.UsageError(f"--compare-to: {exc}") from None
    except SelectionError as exc:
        raise pytest.UsageError(f"--compare-to: {path}: {exc}") from None


_SESSION = pytest.StashKey[BenchSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench", "TensorFlow model compression benchmark")
    group.addoption("--mnist", metavar="PATH", default=None,
                    help="MNIST as a Keras-layout .npz or a folder of the four IDX files "
                         "(default: $MNIST_PATH, then the Keras cache, then Keras' download).")
    group.addoption("--seed", type=int, default=DEFAULT_SEED,
                    help=f"seed for training and pruning (default {DEFAULT_SEED}); recorded.")
    group.addoption("--results-dir", metavar="DIR", default=str(REPO_ROOT / "results"),
                    help="folder that receives this session's results CSV (default results/).")
    group.addoption("--run-dir", metavar="DIR", default=None,
                    help="folder for this session's artifacts (default runs/<run_id>/).")
    group.addoption("--thresholds", metavar="PATH", default=None,
                    help="threshold config (default bench/thresholds.toml).")
    group.addoption("--compare-to", metavar="PATH", default=None,
                    help="results CSV or history folder: fail a test for each measurement "
                         "that regressed against its latest run ([compare] rules).")
    group.addoption("--compare-tf", metavar="VERSION", default=None,
                    help="with --compare-to: compare against the latest run of this "
                         "TensorFlow version.")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("thresholds")
    try:
        thresholds = load_config(path) if path else load_config()
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_SESSION] = BenchSession(config, thresholds)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One history-gate test per gated measurement key of the --compare-to baseline run."""
    if "history_key" not in metafunc.fixturenames:
        return
    baseline = metafunc.config.stash[_SESSION].history_baseline
    keys = gated_keys(baseline) if baseline is not None else []
    metafunc.parametrize("history_key", keys, ids=[_key_id(k) for k in keys])


def _key_id(key: Key) -> str:
    return "-".join(str(part) for part in key if part is not None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """History-gate tests run last (they judge what the other tests measured), and only with
    --compare-to; without it they are deselected rather than reported as skipped."""
    gate = [item for item in items if "history_key" in getattr(item, "fixturenames", ())]
    others = [item for item in items if item not in gate]
    if config.stash[_SESSION].history_baseline is None:
        if gate:
            config.hook.pytest_deselected(items=gate)
        items[:] = others
    else:
        items[:] = others + gate


def _session(request: pytest.FixtureRequest) -> BenchSession:
    return request.config.stash[_SESSION]


@pytest.fixture(scope="session")
def thresholds(request: pytest.FixtureRequest) -> Config:
    return _session(request).thresholds


@pytest.fixture(scope="session")
def mnist(request: pytest.FixtureRequest) -> Mnist:
    """MNIST from --mnist, $MNIST_PATH, the Keras cache or Keras' download; else stop the run."""
    try:
        return resolve_mnist(_session(request).mnist_option)
    except DataError as exc:
        pytest.exit(f"bench: {exc}", returncode=SETUP_PROBLEM_EXIT)


@pytest.fixture(scope="session")
def history_baseline(request: pytest.FixtureRequest) -> pd.DataFrame:
    baseline = _session(request).history_baseline
    assert baseline is not None, "history-gate tests run only with --compare-to"
    return baseline


@pytest.fixture(scope="session")
def run_info(request: pytest.FixtureRequest, bench_run: BenchRun) -> RunInfo:
    """This session's run columns (the same values its CSV will carry)."""
    session = _session(request)
    return collect_run_info(session.run_id, bench_run.mnist.sha256, bench_run.seed)


@pytest.fixture(scope="session")
def bench_run(request: pytest.FixtureRequest, mnist: Mnist) -> BenchRun:
    session = _session(request)
    session.bench_run = BenchRun(mnist, session.run_dir, session.seed)
    return session.bench_run


def _stage(bench_run: BenchRun, name: str) -> Any:
    """Build a stage; an environment problem (e.g. Keras 3 in use) stops the whole session."""
    try:
        return getattr(bench_run, name)
    except EnvironmentProblem as exc:
        pytest.exit(f"bench: {exc}", returncode=SETUP_PROBLEM_EXIT)


@pytest.fixture(scope="session")
def baseline(bench_run: BenchRun) -> KerasArtifact:
    return _stage(bench_run, "baseline")


@pytest.fixture(scope="session")
def pruned(bench_run: BenchRun) -> PrunedArtifact:
    return _stage(bench_run, "pruned")


@pytest.fixture(scope="session")
def pruned_tflite(bench_run: BenchRun) -> TFLiteArtifact:
    return _stage(bench_run, "pruned_tflite")


@pytest.fixture(scope="session")
def pruned_quantized_tflite(bench_run: BenchRun) -> TFLiteArtifact:
    return _stage(bench_run, "pruned_quantized_tflite")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the CSV only for a session that ran to the end; never a partial history entry."""
    state = session.config.stash.get(_SESSION, None)
    if state is None or state.bench_run is None or not state.bench_run.measurements:
        return
    if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return
    run = state.bench_run
    info = collect_run_info(state.run_id, run.mnist.sha256, run.seed)
    frame = to_frame(info, run.measurements)
    state.results_path = write_atomic(frame, state.results_dir / f"{state.run_id}.csv")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or state.bench_run is None:
        return
    terminalreporter.section("bench")
    terminalreporter.write_line(f"artifacts: {state.run_dir}")
    if state.results_path is not None:
        terminalreporter.write_line(f"results:   {state.results_path} "
                                    f"({len(state.bench_run.measurements)} rows)")
    else:
        terminalreporter.write_line("results:   none written (session did not run to the end)")
