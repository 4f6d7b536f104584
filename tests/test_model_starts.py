"""docs/variants-and-workloads.md's "Gate your own model" from a trained file and from a
.tflite file, end to end, as a user outside the repository does it: examples/own_workload/
copied to a temporary folder with its data, `python make_model_files.py` (the training a team
does elsewhere), then `pytest bench --workload trained_cnn:WORKLOAD` and `--workload
shipped_cnn:WORKLOAD` twice each, each second run gated against the first (PASS); and a run
from the trained file with one weight changed, which the gate refuses (exit 2) naming both
files' digests."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import h5py
import pytest

from pipeline.results import read_results
from tests.helpers import EXAMPLE, REPO_ROOT, SAMPLE, _run

pytestmark = pytest.mark.slow


def _session(folder: Path, spec: str, results: Path, run_dir: Path, *args: str) -> Path:
    done = _run(["-m", "pytest", str(REPO_ROOT / "bench"), "-q", "-p", "no:cacheprovider",
                 "--workload", spec, "--results-dir", str(results), "--run-dir", str(run_dir),
                 *args], cwd=folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return max(results.glob("*.csv"), key=lambda p: p.stat().st_mtime)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("outside") / "my_models"
    shutil.copytree(EXAMPLE, folder)
    shutil.copyfile(SAMPLE, folder / "data.npz")
    done = _run(["make_model_files.py"], cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not str(folder).startswith(str(REPO_ROOT))
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_trained_file_is_loaded_gated_and_refused_once_changed(example: Path) -> None:
    results = example.parent / "trained_results"
    first, second = (_session(example, "trained_cnn:WORKLOAD", results,
                              example.parent / "runs" / f"trained{i}") for i in (1, 2))
    run = read_results(first)
    digest = _sha256(example / "trained_cnn.h5")
    assert (run.info.workload, run.info.complete, run.info.model_file_sha256) == (
        "trained_cnn", True, digest)
    stages = run.rows[run.rows["metric"] == "stage_seconds"]
    assert set(stages[stages["model"] == "baseline"]["stage"]) == {"load", "evaluate"}
    done = _run(["-m", "pipeline", "compare", str(first), str(second), "--skip-latency"],
                cwd=example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("PASS: ")

    # One weight of the trained file changed: another model, never gated against the first.
    with h5py.File(example / "trained_cnn.h5", "r+") as weights:
        kernel = weights["model_weights/dense/dense/kernel:0"]
        kernel[0, 0] = kernel[0, 0] + 0.5
    changed = _sha256(example / "trained_cnn.h5")
    # One test is enough: the refusal reads the run's identity (its workload_sha256 holds the
    # model file's digest), which a partial run records as a complete one does.
    third = _session(example, "trained_cnn:WORKLOAD", results, example.parent / "runs" / "t3",
                     "-k", "accuracy_floor")
    assert read_results(third).info.complete is False
    done = _run(["-m", "pipeline", "compare", str(first), str(third), "--skip-latency"],
                cwd=example)
    assert (done.returncode, done.stdout) == (2, ""), done.stdout + done.stderr
    assert (f"cannot compare: runs differ in workload_sha256 (model file sha256 {digest} vs "
            f"{changed}): reference run ") in done.stderr


def test_a_tflite_file_is_measured_as_shipped_and_gated(example: Path) -> None:
    results = example.parent / "shipped_results"
    first, second = (_session(example, "shipped_cnn:WORKLOAD", results,
                              example.parent / "runs" / f"shipped{i}") for i in (1, 2))
    run = read_results(first)
    assert (run.info.workload, run.info.complete, run.info.variants) == (
        "shipped_cnn", True, ("shipped_tflite",))
    assert run.info.model_file_sha256 == _sha256(example / "shipped_cnn.tflite")
    # Accuracy on both runtimes, instruction counts, footprint: a TFLite model's rows, no
    # Keras stage.
    metrics = set(run.rows["metric"])
    assert {"accuracy", "zipped_bytes", "instructions_per_invoke", "latency"} <= metrics
    assert set(run.rows[run.rows["metric"] == "accuracy"]["runtime"].dropna()) == {
        "tf.lite", "ai_edge_litert"}
    assert set(run.rows[run.rows["metric"] == "stage_seconds"]["stage"]) == {"load",
                                                                              "evaluate"}
    done = _run(["-m", "pipeline", "compare", str(first), str(second), "--skip-latency"],
                cwd=example)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("PASS: ")
