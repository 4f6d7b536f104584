"""docs/variants-and-workloads.md's "Gate your own model", end to end, as a user outside the
repository does it: examples/own_workload/ copied to a temporary folder with its data, `pytest
bench --workload tiny_cnn:WORKLOAD` run from there; then the module renamed and moved into a
package in another folder, a comment of its bounds file edited, and run again; the second run
gated against the first (PASS, with no warning: identities are declared values,
pipeline.identity), and the gate refusing to compare it with a run of the reference recipe's
workload (exit 2)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.results import read_results
from tests.helpers import EXAMPLE, REPO_ROOT, SAMPLE, _run

MNIST_CNN_RUN = REPO_ROOT / "tests" / "fixtures" / "runs" / "tf2.21.0_counted.csv"

#: Every test here runs `pytest bench` in a subprocess: the slow lane (tests/conftest.py).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    outside = tmp_path_factory.mktemp("outside")
    folder = outside / "my_models"
    shutil.copytree(EXAMPLE, folder)
    shutil.copyfile(SAMPLE, folder / "data.npz")
    # The same workload after a refactor: its module renamed and moved into a package of
    # another folder, a comment of its bounds file corrected.
    moved = outside / "refactored"
    package = moved / "gated"
    package.mkdir(parents=True)
    shutil.copyfile(folder / "tiny_cnn.py", package / "renamed_cnn.py")
    shutil.copyfile(folder / "data.npz", package / "data.npz")
    bounds = (folder / "tiny_cnn_bounds.toml").read_text()
    (package / "tiny_cnn_bounds.toml").write_text("# moved with its module\n" + bounds)
    results = outside / "results"
    runs = []
    for attempt, cwd, spec in (("first", folder, "tiny_cnn:WORKLOAD"),
                               ("second", moved, "gated.renamed_cnn:WORKLOAD")):
        done = _run(["-m", "pytest", str(REPO_ROOT / "bench"), "-q", "-p", "no:cacheprovider",
                     "--workload", spec, "--results-dir", str(results),
                     "--run-dir", str(outside / "runs" / attempt)], cwd=cwd)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        runs.append(max(results.glob("*.csv"), key=lambda p: p.stat().st_mtime))
    return folder, runs


def test_a_workload_of_your_own_runs_and_records_itself(own_runs: tuple[Path, list[Path]]
                                                        ) -> None:
    folder, runs = own_runs
    first = read_results(runs[0]).info
    assert (first.workload, first.complete) == ("tiny_cnn", True)
    second = read_results(runs[1]).info
    assert (second.workload_sha256, second.recipe_sha256, second.config_sha256) == (
        first.workload_sha256, first.recipe_sha256, first.config_sha256)
    assert str(folder) not in str(REPO_ROOT) and not str(folder).startswith(str(REPO_ROOT))


def test_its_second_run_passes_the_gate_against_the_first(own_runs: tuple[Path, list[Path]]
                                                          ) -> None:
    folder, (first, second) = own_runs
    # Wall-clock latency is left out: the suite's tests may share the machine with anything,
    # which a latency bound measured on a quiet machine does not allow (docs/latency.md).
    done = _run(["-m", "pipeline", "compare", str(first), str(second), "--skip-latency"],
                cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("PASS: ")
    assert "threshold configs" not in done.stdout and "workload_sha256" not in done.stdout


def test_it_is_never_compared_with_the_reference_recipe(own_runs: tuple[Path, list[Path]]
                                                        ) -> None:
    folder, (_, second) = own_runs
    done = _run(["-m", "pipeline", "compare", str(MNIST_CNN_RUN), str(second)], cwd=folder)
    assert (done.returncode, done.stdout) == (2, "")
    assert "cannot compare: runs differ in workload: reference run " in done.stderr
    assert "has 'mnist_cnn', candidate run" in done.stderr and "has 'tiny_cnn'" in done.stderr
