"""A whole default `pytest bench` session: a complete run, with what decides comparability
recorded; and `--reuse-run`, which re-measures that run's .tflite files without training
(tests/helpers.py runs them)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from pipeline.config import load_config
from pipeline.data import load_npz
from pipeline.identity import config_sha256, recipe_sha256, workload_sha256
from pipeline.measure.callgrind import valgrind_version
from pipeline.measure.environment import cpu_count, cpu_model, package_version, platform_label
from pipeline.results import (
    COLUMNS,
    LATENCY_SETTING_COLUMNS,
    SCHEMA_VERSION,
    Run,
    parse_samples,
    read_results,
)
from pipeline.variants.registry import DEFAULT_VARIANTS
from pipeline.workloads import MNIST_CNN
from tests.helpers import (
    REPO_ROOT,
    SAMPLE,
    Session,
    bench_command,
    bench_env,
    finished,
    only_run,
    results_files,
    rewrite,
    run_bench,
    written_by,
)

#: Every test here runs `pytest bench` in a subprocess: the slow lane (tests/conftest.py).
pytestmark = pytest.mark.slow


# ---------------------------------------------------------------------------------------------
# A whole default session: a complete run, with what decides comparability recorded
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def full_session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """`pytest bench` with nothing narrowed, once for every test that checks its run."""
    folder = tmp_path_factory.mktemp("full")
    done = run_bench(folder, "--mnist", str(SAMPLE), "--benchmark-json",
                     str(folder / "benchmark.json"))
    return finished(done, folder)


def test_full_default_session_writes_a_complete_run(full_session: Session) -> None:
    # The 1,200-image sample cannot reach the real accuracy, size and sparsity bounds: failed
    # thresholds (exit 1) are history too, and do not make a run partial.
    assert full_session.returncode == pytest.ExitCode.TESTS_FAILED, full_session.output
    read = only_run(full_session.folder)
    run, info = read.rows, read.info
    assert list(run.columns) == list(COLUMNS)
    assert (info.complete, info.incomplete_reason) == (True, "")
    assert (info.machine_shared, info.machine_shared_by) == (False, "")
    assert "partial:" not in full_session.output and "shared:" not in full_session.output
    assert "was not used at all" not in full_session.output  # the latency tests record in it
    assert f"results:   {results_files(full_session.folder)[0]} ({len(run)} rows)" \
        in full_session.output
    # Progress while it works (-q too), then the one-screen summary, a line per model.
    lines = full_session.output.splitlines()
    for stage in ("train baseline", "prune pruned", "convert pruned_tflite",
                  "evaluate pruned_quantized_tflite", "benchmark"):
        assert any(re.fullmatch(rf"bench \[ *[\d.]+ s\] {stage}: done in [\d.]+ s", line)
                   for line in lines), stage
    assert any(re.fullmatch(r"bench \[ *[\d.]+ s\] baseline epoch 4/4: loss .*", line)
               for line in lines)
    header = next(i for i, line in enumerate(lines) if line.startswith("model  "))
    assert lines[header].split() == ["model", "accuracy", "zipped", "B", "raw", "B", "ratio",
                                     "ai_edge_litert", "us", "ai_edge_litert:no_xnnpack", "us",
                                     "tf.lite", "us"]
    assert [line.split()[0] for line in lines[header + 1:header + 5]] == list(DEFAULT_VARIANTS)
    # The summary comes after pytest-benchmark's tables, and the tests that apply to no
    # selected variant (and the history gate, without --compare-to) are counted deselected.
    legend = next(i for i, line in enumerate(lines) if line.startswith("Legend:"))
    assert legend < header, full_session.output
    # Past a minute (a loaded machine) pytest adds the time as "(0:01:15)".
    assert any(re.fullmatch(r"\d+ failed, \d+ passed, \d+ deselected in [\d.]+s"
                            r"( \(\d+:\d\d:\d\d\))?", line)
               for line in lines[header:]), full_session.output
    assert set(run["model"]) == set(DEFAULT_VARIANTS)
    assert info.variants == DEFAULT_VARIANTS
    assert run["variants"].iat[0] == " ".join(DEFAULT_VARIANTS)
    assert set(run["metric"]) == {"accuracy", "zipped_bytes", "raw_bytes", "sparsity",
                                  "latency", "init_seconds", "first_invoke_seconds",
                                  "heap_growth_bytes", "peak_rss_growth_bytes", "stage_seconds",
                                  "instructions_per_invoke", "instructions_first_invoke",
                                  "instructions_allocate"}
    footprint = run[run["metric"] == "heap_growth_bytes"]
    assert len(footprint) == 8 and (footprint["value"] > 0).all()  # 2 models x 4 runtimes
    assert set(footprint["rounds"]) == {load_config().footprint.repetitions}
    # Counted beside the session, and finished before the wall clock was taken.
    counted = run[run["metric"].str.startswith("instructions_")]
    assert len(counted) == 2 * 4 * 3 and (counted["value"] > 0).all()
    assert set(counted["threads"]) == {1}
    assert (info.valgrind, info.instructions_tool) == (valgrind_version(), "callgrind")
    done = next(i for i, line in enumerate(lines) if re.fullmatch(
        r"bench \[ *[\d.]+ s\] instructions: done \(waited [\d.]+ s\)", line))
    timed = next(i for i, line in enumerate(lines) if " benchmark " in line)
    assert done < timed, full_session.output


def test_full_session_records_what_decides_comparability(full_session: Session) -> None:
    """The run columns schema 2 added hold this session's recipe, config, data and machine."""
    info = only_run(full_session.folder).info
    config = load_config()
    assert info.schema_version == SCHEMA_VERSION
    assert info.model_file_sha256 == ""  # mnist_cnn is built, not loaded from a file
    assert info.recipe_sha256 == recipe_sha256(MNIST_CNN)
    assert (info.workload, info.workload_sha256) == (
        "mnist_cnn", workload_sha256(MNIST_CNN, load_npz(SAMPLE)))
    assert (info.identities, info.workload_version) == ("declared", MNIST_CNN.version)
    assert info.config_sha256 == config_sha256(config)
    assert info.dataset_sha256 == load_npz(SAMPLE).sha256
    assert info.seed == 0
    assert {c: getattr(info, c) for c in LATENCY_SETTING_COLUMNS} == {
        "latency_repetitions": config.latency.repetitions,
        "latency_warmup_invokes": config.latency.warmup_invokes,
        "latency_timed_invokes": config.latency.timed_invokes,
        "latency_order_seed": config.latency.order_seed}
    assert (info.cpu, info.cpu_count, info.platform) == (
        cpu_model(), cpu_count(), platform_label())


def test_full_session_latency_rows_hold_one_value_per_repetition(full_session: Session) -> None:
    """Every latency row has `repetitions` samples, and pytest-benchmark recorded the same
    repetitions (per call) for its own reports."""
    run = only_run(full_session.folder).rows
    repetitions = load_config().latency.repetitions
    latency = run[run["metric"] == "latency"]
    # 2 models x (2 runtimes x 1 and 2 threads + ai_edge_litert without XNNPACK x 1 thread)
    assert len(latency) == 10
    assert set(latency["runtime"]) == {"tf.lite", "ai_edge_litert", "ai_edge_litert:no_xnnpack"}
    recorded = json.loads((full_session.folder / "benchmark.json").read_text())["benchmarks"]
    by_key = {(b["extra_info"]["model"], b["extra_info"]["runtime"], b["extra_info"]["threads"]):
              b["stats"] for b in recorded}
    assert len(by_key) == 10
    for row in latency.to_dict("records"):
        samples = parse_samples(row["samples"])
        assert row["rounds"] == len(samples) == repetitions
        assert row["value"] == row["median"] == pytest.approx(pd.Series(samples).median())
        stats = by_key[(row["model"], row["runtime"], row["threads"])]
        assert stats["rounds"] == repetitions
        assert stats["median"] == pytest.approx(row["median"], rel=1e-9)



# ---------------------------------------------------------------------------------------------
# --reuse-run: re-measure an earlier run's .tflite files without training
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def source_run(full_session: Session, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history folder holding the full session's CSV, and its artifact folder under the
    run's id (run_bench named it `run`), as `pytest bench` leaves them by default."""
    home = tmp_path_factory.mktemp("reuse")
    csv = written_by(full_session)
    (home / "results").mkdir()
    shutil.copy(csv, home / "results" / csv.name)
    shutil.copytree(full_session.folder / "run", home / "runs" / csv.stem)
    return home


def reuse(tmp_path: Path, source: Path, run_dir: Path, *args: str) -> Session:
    """A --reuse-run session writing into `source`'s results folder (where the source CSV is)."""
    done = subprocess.run(
        bench_command(source / "results", "--run-dir", str(tmp_path / "rerun"), "--mnist",
                      str(SAMPLE), "--reuse-run", str(run_dir), *args),
        cwd=REPO_ROOT, env=bench_env(tmp_path), capture_output=True, text=True, timeout=600)
    return finished(done, tmp_path)


def test_reuse_run_re_measures_the_tflite_files_without_training(
        source_run: Path, tmp_path: Path) -> None:
    (source_csv,) = (source_run / "results").iterdir()
    session = reuse(tmp_path, source_run, source_run / "runs" / source_csv.stem)
    # The sample's sizes miss the real ratio bounds (exit 1); what matters is what ran.
    assert session.returncode == pytest.ExitCode.TESTS_FAILED, session.output
    assert " train baseline" not in session.output and " prune pruned" not in session.output
    assert f"reuse pruned_tflite from run {source_csv.stem}" in session.output
    new = [p for p in (source_run / "results").iterdir() if p != source_csv]
    assert len(new) == 1
    read = read_results(new[0])
    run, info = read.rows, read.info
    assert info.source_run_id == source_csv.stem
    assert (info.complete, info.variants) == (True, ("pruned_tflite", "pruned_quantized_tflite"))
    assert run["variants"].iat[0] == "pruned_tflite pruned_quantized_tflite"
    assert set(run["model"]) == {"pruned_tflite", "pruned_quantized_tflite"}
    assert set(run["metric"]) == {"accuracy", "zipped_bytes", "raw_bytes", "latency",
                                  "instructions_per_invoke", "instructions_first_invoke",
                                  "instructions_allocate",
                                  "init_seconds", "first_invoke_seconds", "heap_growth_bytes",
                                  "peak_rss_growth_bytes", "stage_seconds"}
    assert set(run.loc[run["metric"] == "stage_seconds", "stage"]) == {"evaluate"}
    source = read_results(source_csv).rows
    def accuracies(rows: pd.DataFrame, model: str) -> dict[str, float]:
        """The model's accuracy per runtime ("": the model's own, on the first interpreter)."""
        of = rows[(rows["model"] == model) & (rows["metric"] == "accuracy")]
        return dict(zip(of["runtime"].fillna(""), of["value"], strict=True))

    for model in ("pruned_tflite", "pruned_quantized_tflite"):
        assert accuracies(run, model) == accuracies(source, model)
        assert set(accuracies(run, model)) == {"", "tf.lite", "ai_edge_litert"}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda rows: [{**r, "complete": "False", "incomplete_reason": "-k 'pruned'"} for r in rows],
     "is partial (-k 'pruned'); reuse a complete run"),
    (lambda rows: [{**r, "recipe_sha256": "f" * 64} for r in rows],
     f"was made with recipe_sha256 '{'f' * 64}', this code builds"),
], ids=["partial", "other-recipe"])
def test_reuse_run_refuses_a_partial_run_or_another_recipe(
        source_run: Path, tmp_path: Path, edit: Callable[[list[dict[str, str]]],
                                                         list[dict[str, str]]],
        message: str) -> None:
    (source_csv,) = [p for p in (source_run / "results").iterdir()
                     if read_results(p).info.source_run_id == ""]
    home = tmp_path / "home"
    (home / "results").mkdir(parents=True)
    rewrite(source_csv, home / "results" / source_csv.name, edit)
    shutil.copytree(source_run / "runs" / source_csv.stem, home / "runs" / source_csv.stem)
    session = reuse(tmp_path, home, home / "runs" / source_csv.stem)
    assert session.returncode == pytest.ExitCode.USAGE_ERROR, session.output
    assert f"ERROR: --reuse-run: run {source_csv.stem} " in session.output
    assert message in session.output
    assert sorted(p.name for p in (home / "results").iterdir()) == [source_csv.name]


def test_reuse_run_refuses_a_missing_folder_or_file(source_run: Path, tmp_path: Path) -> None:
    session = reuse(tmp_path, source_run, tmp_path / "runs" / "20250101T000000Z_tf2.21.0_000000")
    assert session.returncode == pytest.ExitCode.USAGE_ERROR
    assert (f"ERROR: --reuse-run: {tmp_path}/runs/20250101T000000Z_tf2.21.0_000000 is not a "
            f"folder; pass the artifact folder of an earlier session, runs/<run_id>"
            in session.output), session.output
    (source_csv,) = [p for p in (source_run / "results").iterdir()
                     if read_results(p).info.source_run_id == ""]
    cut = tmp_path / "runs" / source_csv.stem
    shutil.copytree(source_run / "runs" / source_csv.stem, cut)
    (cut / "pruned_quantized_tflite.tflite").unlink()
    session = reuse(tmp_path, source_run, cut)
    assert session.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"is missing {cut}/pruned_quantized_tflite.tflite; reuse a folder" in session.output


# ---------------------------------------------------------------------------------------------
# A TensorFlow without tf.lite.Interpreter: the session measures ai_edge_litert, records tf.lite
# as not available, and the gate says so against a reference that has both
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def without_tf_lite(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """The default session with tf.lite.Interpreter taken away (tests/without_tf_lite.py)."""
    folder = tmp_path_factory.mktemp("without_tf_lite")
    return finished(run_bench(folder, "--mnist", str(SAMPLE), "-p", "tests.without_tf_lite"),
                    folder)


def test_a_session_without_tf_lite_is_complete_for_ai_edge_litert(
        full_session: Session, without_tf_lite: Session) -> None:
    assert without_tf_lite.returncode == pytest.ExitCode.TESTS_FAILED, without_tf_lite.output
    run, full = only_run(without_tf_lite.folder), only_run(full_session.folder)
    assert (run.info.complete, run.info.runtimes_unavailable) == (True, ("tf.lite",))
    assert full.info.runtimes_unavailable == ()
    version = package_version("tensorflow")
    assert (f"absent:    tf.lite is not available in this environment (tensorflow {version} "
            f"has no tf.lite.Interpreter (deprecated in favour of ai_edge_litert, and "
            f"removed)): the run records it in runtimes_unavailable and holds none of its "
            f"rows") in without_tf_lite.output.splitlines(), without_tf_lite.output
    assert "skipped" not in without_tf_lite.output and "partial:" not in without_tf_lite.output

    def keys(read: Run) -> set[tuple[object, ...]]:
        return set(zip(read.rows["model"], read.rows["runtime"].fillna(""),
                       read.rows["threads"].fillna(0), read.rows["metric"], strict=True))

    expected = {key for key in keys(full) if not str(key[1]).startswith("tf.lite")}
    assert keys(run) == expected
    assert {m for m, r, _, metric in expected if metric == "accuracy"} == set(DEFAULT_VARIANTS)
    assert {r for _, r, _, _ in expected} == {"", "ai_edge_litert", "ai_edge_litert:no_xnnpack"}


def test_its_gate_against_a_reference_with_both_runtimes_names_tf_lite_as_absent(
        full_session: Session, without_tf_lite: Session) -> None:
    """The docs' verdict (docs/gate.md, "Comparable runs"): PASS, the tf.lite rows `not
    available` and named in the note, never `missing`."""
    reference, candidate = written_by(full_session), written_by(without_tf_lite)
    done = subprocess.run([sys.executable, "-m", "pipeline", "compare", str(reference),
                           str(candidate), "--skip-latency"], capture_output=True, text=True,
                          cwd=REPO_ROOT,
                          env=bench_env(without_tf_lite.folder), timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.splitlines()[-1]
    assert last.startswith("PASS: ") and " missing" not in last, last
    absent = only_run(full_session.folder).rows["runtime"].fillna("").str.startswith("tf.lite")
    assert f"{int(absent.sum())} not available" in last, last
    assert last.endswith(f"measurements of a runtime a build does not provide, not compared: "
                         f"tf.lite is not available in the candidate's build (run "
                         f"{read_results(candidate).run_id}, runtimes_unavailable)"), last
