"""The two lanes of the unit tests, their workers, and the fixtures the test modules share.

`pytest tests` runs the fast lane: every test that needs no trained model, no `pytest bench`
session, no Valgrind and no process that imports TensorFlow. The others carry the `slow` marker
(declared in pyproject.toml) and run with `pytest tests -m slow`. Any `-m` expression is taken
as given, so `pytest tests -m "slow or not slow"` runs both lanes at once.

Both lanes run in two pytest-xdist workers unless `-n` says otherwise (`-n 0`: one process,
as for a debugger), one test file at a time per worker (`--dist loadfile`): the tests of a file
share its module-scoped fixtures (a session, a trained model, a picture), which would be made
once per worker if a file's tests were spread.

The fast lane guards its own definition: a test in it that fits a Keras model or starts a
`pytest bench` session or a Valgrind process fails, naming the marker to add, so the lane
cannot slow down unnoticed (a duration budget could not be a test: durations depend on the
machine).

`sample_run` is the one trained sample model of a test process, shared by every slow test
that needs a trained model but not a fresh one. The functions and constants that several test
modules share are in tests/helpers.py, so that no test module imports another.
"""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline import tfenv
from pipeline.data import Dataset, load_npz
from pipeline.run.bench_run import BenchRun

TESTS_DIR = Path(__file__).resolve().parent
SAMPLE = TESTS_DIR / "data" / "mnist_sample.npz"
#: The marker of the slow lane.
SLOW = "slow"
#: The seed of the shared sample run: the suite's default.
SAMPLE_SEED = 0


#: Workers when `-n` is not given: the CI machines have two cores.
DEFAULT_WORKERS = 2


def _only_unit_tests(config: pytest.Config) -> bool:
    """Whether every path the command line runs lies in tests/ (`pytest bench` loads this
    file too, as an initial conftest of `testpaths`, and must stay one process)."""
    paths = [arg.split("::")[0] for arg in config.args]
    return bool(paths) and all(
        (config.invocation_params.dir / path).resolve().is_relative_to(TESTS_DIR)
        for path in paths)


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """`-n DEFAULT_WORKERS --dist loadfile` for a run of the unit tests, unless the command
    line chose (pytest-xdist reads these options in its own pytest_cmdline_main, after this
    one). A worker (xdist gives it `workerinput`) runs its tests itself."""
    if hasattr(config, "workerinput") or not _only_unit_tests(config):
        return
    if config.getoption("numprocesses", None) is None and (os.cpu_count() or 1) > 1:
        config.option.numprocesses = DEFAULT_WORKERS
        if config.option.dist == "no":
            config.option.dist = "loadfile"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without -m, the tests under tests/ that are marked slow are deselected (counted so)."""
    if config.option.markexpr:
        return
    slow = [item for item in items
            if item.get_closest_marker(SLOW) and Path(item.path).is_relative_to(TESTS_DIR)]
    if slow:
        config.hook.pytest_deselected(items=slow)
        chosen = set(map(id, slow))
        items[:] = [item for item in items if id(item) not in chosen]


class SlowWork(AssertionError):
    """A fast-lane test did what only the slow lane may do."""


def _refuse(what: str, nodeid: str) -> SlowWork:
    return SlowWork(f"{nodeid} {what}, which the fast lane never does: mark it "
                    f"@pytest.mark.{SLOW} (tests/conftest.py says what belongs in each lane)")


def _slow_command(argv: Sequence[str]) -> str | None:
    """What makes a command slow-lane work, or None."""
    words = [str(word) for word in argv]
    if words and Path(words[0]).name == "valgrind":
        return "runs valgrind"
    if "pytest" in words and any(Path(w).name == "bench" for w in words):
        return "starts a pytest bench session"
    return None


@pytest.fixture(autouse=True)
def fast_lane_guard(request: pytest.FixtureRequest,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In the fast lane, Keras fits and slow commands raise SlowWork (every model the pipeline
    fits comes from `pipeline.tfenv`, every command it starts from subprocess.Popen)."""
    if request.node.get_closest_marker(SLOW):
        yield
        return
    nodeid = request.node.nodeid

    class GuardedPopen(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: Any, *rest: Any, **options: Any) -> None:
            argv = [args] if isinstance(args, str | bytes | Path) else list(args)
            what = _slow_command(argv)
            if what is not None:
                raise _refuse(what, nodeid)
            super().__init__(args, *rest, **options)

    def refused_fit(*args: Any, **kwargs: Any) -> Any:
        raise _refuse("fits a Keras model", nodeid)

    monkeypatch.setattr(subprocess, "Popen", GuardedPopen)
    if "tensorflow" in sys.modules:
        monkeypatch.setattr(tfenv.keras().Model, "fit", refused_fit)
    else:  # import TensorFlow (5-9 s) only for a test that uses it: the pipeline's only way in
        unguarded = tfenv.tensorflow

        def tensorflow() -> Any:
            monkeypatch.setattr(tfenv, "tensorflow", unguarded)
            module = unguarded()
            try:
                model = module.keras.Model
            except (AttributeError, ImportError):  # a test's stand-in for TensorFlow
                return module
            monkeypatch.setattr(model, "fit", refused_fit)
            return module

        monkeypatch.setattr(tfenv, "tensorflow", tensorflow)
    yield


@pytest.fixture(scope="session")
def sample() -> Dataset:
    """The committed 1,200-image MNIST sample."""
    return load_npz(SAMPLE)


@pytest.fixture(scope="session")
def sample_run(sample: Dataset, tmp_path_factory: pytest.TempPathFactory) -> BenchRun:
    """One BenchRun on the sample (seed 0) per test process: each variant a test asks of it is
    built once, for every test after it. Tests that check how a model is built make their own."""
    return BenchRun(sample, tmp_path_factory.mktemp("sample_run"), seed=SAMPLE_SEED)
