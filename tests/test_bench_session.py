"""`pytest bench` as a user meets it: bad data, interruption, concurrent sessions, complete and
partial runs, and the history gate.

Each test runs the real suite in a subprocess on the small committed MNIST sample, so these
cover what unit tests cannot: the exit status, the message printed, and what is (not) left in
the results folder. Nothing here reaches the network: proxies point at a closed local port.
A session costs seconds of CPU, so sessions whose result several tests check run once per
module (the module-scoped fixtures below).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pipeline.build.variants import DEFAULT_VARIANTS, definitions_sha256
from pipeline.config import load_config
from pipeline.data import load_npz
from pipeline.judge.compare import SelectionError, load_reference
from pipeline.measure.environment import cpu_count, cpu_model, package_version, platform_label
from pipeline.measure.instructions import valgrind_version
from pipeline.results import COLUMNS, LATENCY_SETTING_COLUMNS, parse_samples, read_results
from pipeline.workloads import MNIST_CNN
from tests.test_results_reader import rewrite

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
RUNS = REPO_ROOT / "tests" / "fixtures" / "runs"
CLOSED_PORT_PROXY = "http://127.0.0.1:9"
#: How the terminal summary ends the line that names a partial run.
PARTIAL_SUFFIX = "(never chosen as a reference run)"


def bench_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without any MNIST source, and no way out to the network. Each
    test's sessions register in a registry of their own, so a session of another test (or a
    developer's own `pytest bench`) does not count as sharing the machine here."""
    env = {k: v for k, v in os.environ.items() if k != "MNIST_PATH"}
    env.update(KERAS_HOME=str(tmp_path / "keras_home"), HTTPS_PROXY=CLOSED_PORT_PROXY,
               HTTP_PROXY=CLOSED_PORT_PROXY, TF_CPP_MIN_LOG_LEVEL="2",
               BENCH_SESSION_REGISTRY=str(tmp_path / "session_registry"))
    return env


def bench_command(results: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "bench", "-q", "-p", "no:cacheprovider",
            "--results-dir", str(results), *args]


def run_bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bench_command(tmp_path / "results", "--run-dir",
                                        str(tmp_path / "run"), *args),
                          cwd=REPO_ROOT, env=bench_env(tmp_path), capture_output=True,
                          text=True, timeout=600)


def results_files(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "results"
    return sorted(folder.iterdir()) if folder.exists() else []


def only_run(tmp_path: Path) -> pd.DataFrame:
    """The one results CSV a session wrote, read by the strict reader."""
    (path,) = results_files(tmp_path)
    return read_results(path)


def partial_line(reason: str) -> str:
    return f"partial:   {reason} {PARTIAL_SUFFIX}"


def written_by(session: Session) -> Path:
    """The CSV a session's summary names on its `results:` line."""
    found = re.search(r"^results:   (\S+\.csv) \(\d+ rows\)$", session.output, re.MULTILINE)
    assert found, session.output
    return Path(found.group(1))


@dataclass(frozen=True)
class Session:
    """What one finished `pytest bench` subprocess left: its exit code, output and folder."""

    returncode: int
    output: str
    folder: Path


def finished(done: subprocess.CompletedProcess[str], folder: Path) -> Session:
    return Session(done.returncode, done.stdout + done.stderr, folder)


# ---------------------------------------------------------------------------------------------
# Sessions that stop before anything is measured
# ---------------------------------------------------------------------------------------------

def _truncated_sample(tmp_path: Path) -> Path:
    path = tmp_path / "truncated.npz"
    path.write_bytes(SAMPLE.read_bytes()[:5000])
    return path


def _empty_folder(tmp_path: Path) -> Path:
    path = tmp_path / "idx"
    path.mkdir()
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "nowhere" / "mnist.npz", "as MNIST: nothing exists at this path."),
    (_truncated_sample, "as MNIST: it is a damaged npz archive"),
    (_empty_folder, "as MNIST: it is empty."),
], ids=["missing", "truncated-npz", "empty-folder"])
def test_bad_data_stops_the_session_with_a_reason(tmp_path: Path, make: Callable[[Path], Path],
                                                  message: str) -> None:
    path = make(tmp_path)
    done = run_bench(tmp_path, "--mnist", str(path))
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "bench: Cannot use " in output and str(path) in output and message in output
    assert "The path was given by the --mnist option, so no other source was tried." in output
    assert results_files(tmp_path) == []


def test_a_machine_without_valgrind_stops_the_session_at_once_with_what_to_do(
        tmp_path: Path) -> None:
    """Never a run without instruction rows written as if complete: the session stops before
    any training, and --skip-instructions is the named way out (an incomplete run)."""
    env = bench_env(tmp_path)
    env["PATH"] = str(Path(sys.executable).parent)  # this venv's tools, no /usr/bin/valgrind
    done = subprocess.run(bench_command(tmp_path / "results", "--mnist", str(SAMPLE)),
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert ("bench: valgrind is not installed, so instructions cannot be counted; install it "
            "from the system's packages (Debian/Ubuntu: apt-get install valgrind); or pass "
            "--skip-instructions to run without instruction counts (the run is then marked "
            "incomplete, never a reference)") in output, output
    assert "train baseline" not in output and results_files(tmp_path) == []


def test_skip_instructions_writes_a_partial_run_without_counts(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--skip-instructions",
                     "--benchmark-disable", "-k", "instruction or baseline")
    output = done.stdout + done.stderr
    run = only_run(tmp_path)
    first = run.iloc[0]
    assert first["complete"] == False, output  # noqa: E712 (a numpy bool)
    assert "--skip-instructions" in first["incomplete_reason"]
    assert (first["valgrind"], first["instructions_tool"]) == ("", "")
    assert not run["metric"].str.startswith("instructions_").any()


def test_no_data_source_names_the_three_ways(tmp_path: Path) -> None:
    done = run_bench(tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert "bench: MNIST could not be loaded" in output
    for way in ("pass --mnist PATH", "set MNIST_PATH=PATH",
                f"caches it at {tmp_path / 'keras_home' / 'datasets' / 'mnist.npz'}"):
        assert way in output
    assert results_files(tmp_path) == []


#: Ctrl-C: pytest's own clean stop (exit 2). CPython then exits by SIGINT itself (status -2)
#: when the KeyboardInterrupt passed through code run by eval() or exec() of a string, as it
#: does inside `import tensorflow` (namedtuple, scipy's array-api clone): CPython's "unhandled
#: KeyboardInterrupt" flag is set there and survives pytest catching the exception. Both say
#: "interrupted" to the caller; 2 of 14 interrupts taken 0-5 s into a session exited by SIGINT.
CTRL_C_STATUSES = (pytest.ExitCode.INTERRUPTED, -signal.SIGINT)


@pytest.mark.parametrize(("signum", "returncodes"), [
    (signal.SIGINT, CTRL_C_STATUSES),
    (signal.SIGKILL, (-signal.SIGKILL,)),  # kill -9: no Python code runs at all
], ids=["ctrl-c", "kill"])
def test_interrupted_session_changes_nothing_in_results(tmp_path: Path, signum: int,
                                                        returncodes: tuple[int, ...]) -> None:
    results, run_dir = tmp_path / "results", tmp_path / "run"
    results.mkdir()
    history = results / "earlier_run.csv"
    history.write_text("an earlier complete run\n")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results.iterdir()}
    # The session gets SIGINT's default disposition, as under a terminal's Ctrl-C, however this
    # suite was started: `pytest tests &` in a non-interactive shell runs with SIGINT ignored,
    # which a child would inherit (exec keeps "ignored", resets a handler to the default), and
    # then no Ctrl-C could ever reach it.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(
            bench_command(results, "--run-dir", str(run_dir), "--mnist", str(SAMPLE)),
            cwd=REPO_ROOT, env=bench_env(tmp_path), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 300
    while not run_dir.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the run folder appears when the first stage starts
    assert process.poll() is None, f"session ended before it could be interrupted:\n" \
                                   f"{process.communicate()[0]}"
    time.sleep(1.0)  # well inside training
    process.send_signal(signum)
    output, _ = process.communicate(timeout=300)
    assert process.returncode in returncodes, output
    if signum == signal.SIGINT:
        assert "results:   none written (session did not run to the end)" in output
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in results.iterdir()}
    assert after == before


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
    run = only_run(full_session.folder)
    assert list(run.columns) == list(COLUMNS)
    first = run.iloc[0]
    assert (first["complete"], first["incomplete_reason"]) == (True, "")
    assert (first["machine_shared"], first["machine_shared_by"]) == (False, "")
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
    assert any(re.fullmatch(r"\d+ failed, \d+ passed, \d+ deselected in [\d.]+s", line)
               for line in lines[header:]), full_session.output
    assert set(run["model"]) == set(DEFAULT_VARIANTS)
    assert first["variants"] == " ".join(DEFAULT_VARIANTS)
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
    assert (first["valgrind"], first["instructions_tool"]) == (valgrind_version(), "callgrind")
    done = next(i for i, line in enumerate(lines) if re.fullmatch(
        r"bench \[ *[\d.]+ s\] instructions: done \(waited [\d.]+ s\)", line))
    timed = next(i for i, line in enumerate(lines) if " benchmark " in line)
    assert done < timed, full_session.output


def test_full_session_records_what_decides_comparability(full_session: Session) -> None:
    """The run columns schema 2 added hold this session's recipe, config, data and machine."""
    first = only_run(full_session.folder).iloc[0]
    config = load_config()
    assert first["schema_version"] == 6
    assert first["recipe_sha256"] == definitions_sha256(MNIST_CNN)
    assert (first["workload"], first["workload_sha256"]) == (
        "mnist_cnn", MNIST_CNN.sha256(load_npz(SAMPLE)))
    assert first["config_sha256"] == config.sha256
    assert first["dataset_sha256"] == load_npz(SAMPLE).sha256
    assert first["seed"] == 0
    assert {c: int(first[c]) for c in LATENCY_SETTING_COLUMNS} == {
        "latency_repetitions": config.latency.repetitions,
        "latency_warmup_invokes": config.latency.warmup_invokes,
        "latency_timed_invokes": config.latency.timed_invokes,
        "latency_order_seed": config.latency.order_seed}
    assert (first["cpu"], first["cpu_count"], first["platform"]) == (
        cpu_model(), cpu_count(), platform_label())


def test_full_session_latency_rows_hold_one_value_per_repetition(full_session: Session) -> None:
    """Every latency row has `repetitions` samples, and pytest-benchmark recorded the same
    repetitions (per call) for its own reports."""
    run = only_run(full_session.folder)
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
# Partial sessions: written, but marked, and never a reference run
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_k_baseline_sessions(tmp_path_factory: pytest.TempPathFactory) -> list[Session]:
    """Two `pytest bench -k baseline` sessions started at once into one results folder: the
    smallest selection (the baseline only), and two writers racing."""
    folder = tmp_path_factory.mktemp("concurrent")
    selection = ["-k", "baseline", "--mnist", str(SAMPLE)]
    processes = [subprocess.Popen(
        bench_command(folder / "results", "--run-dir", str(folder / f"run{i}"), *selection),
        cwd=REPO_ROOT, env=bench_env(folder), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    return [Session(p.returncode, out, folder) for p, out in zip(processes, outputs, strict=True)]


def test_two_concurrent_sessions_write_two_intact_files(
        two_k_baseline_sessions: list[Session]) -> None:
    # The sample is too small to reach the real accuracy floor: exit 1 is expected and still
    # writes its results, as a failed threshold is history worth keeping.
    assert [s.returncode for s in two_k_baseline_sessions] == [1, 1], \
        [s.output for s in two_k_baseline_sessions]
    files = results_files(two_k_baseline_sessions[0].folder)
    assert len(files) == 2 and files[0].name != files[1].name, files
    for path in files:
        frame = read_results(path)
        assert list(frame.columns) == list(COLUMNS)
        # Lazy fixtures: a test that needs only the baseline never triggers pruning.
        assert set(frame["model"]) == {"baseline"}
        assert set(frame["metric"]) == {"accuracy", "zipped_bytes", "raw_bytes",
                                        "stage_seconds"}
        assert frame["run_id"].nunique() == 1 and frame["run_id"][0] == path.stem
    # They shared the machine, and each says with which session.
    ids = [path.stem for path in files]
    for path, other in zip(files, reversed(ids), strict=True):
        first = read_results(path).iloc[0]
        assert (first["machine_shared"], first["machine_shared_by"]) == (
            True, f"bench session {other}"), first["machine_shared_by"]
    for session in two_k_baseline_sessions:
        assert any(line.startswith("shared:    bench session ") and
                   line.endswith(" ran meanwhile (latency never compared)")
                   for line in session.output.splitlines()), session.output


def test_k_selection_writes_a_partial_run_and_says_so(
        two_k_baseline_sessions: list[Session]) -> None:
    for session in two_k_baseline_sessions:
        first = read_results(written_by(session)).iloc[0]
        reason = first["incomplete_reason"]
        assert first["complete"] == False  # noqa: E712 (a numpy bool)
        assert re.fullmatch(r"-k 'baseline'; \d+ test\(s\) deselected", reason), reason
        assert partial_line(reason) in session.output.splitlines(), session.output


@pytest.mark.parametrize("flag", ["--benchmark-disable", "--benchmark-skip"])
def test_pytest_benchmark_flags_keep_working_and_make_the_run_partial(tmp_path: Path,
                                                                      flag: str) -> None:
    """Disabled (one latency test selected): invoke runs once, untimed, and the CSV holds the
    other rows but no latency. Skipped (whole selection): every latency test skips and
    everything else runs. Either way the run did not time latency, so it is partial."""
    if flag == "--benchmark-disable":
        keyword = "latency and pruned_quantized_tflite and tf.lite-1"
        done = run_bench(tmp_path, "--mnist", str(SAMPLE), flag, "-k", keyword)
    else:
        done = run_bench(tmp_path, "--mnist", str(SAMPLE), flag)
    output = done.stdout + done.stderr
    run = only_run(tmp_path)
    metrics = set(run["metric"])
    assert "accuracy" in metrics and "latency" not in metrics
    first = run.iloc[0]
    assert first["complete"] == False  # noqa: E712 (a numpy bool)
    reason = first["incomplete_reason"]
    if flag == "--benchmark-disable":
        assert done.returncode == 0, output
        assert "1 passed" in output
        assert re.fullmatch(rf"-k '{keyword}'; --benchmark-disable; \d+ test\(s\) deselected",
                            reason), reason
    else:
        assert done.returncode == 1, output  # the sample misses the size and sparsity bounds
        skipped = re.search(r"(\d+) skipped", output)
        assert skipped and int(skipped.group(1)) == 10, output
        assert reason == "--benchmark-skip; 10 test(s) skipped"
        assert set(run["model"]) == {"baseline", "pruned", "pruned_tflite",
                                     "pruned_quantized_tflite"}
    assert partial_line(reason) in output.splitlines(), output


# ---------------------------------------------------------------------------------------------
# --compare-to: the reference run is the latest complete run of the newest TensorFlow below the
# installed one (or of --compare-tf); partial and schema-1 runs are never chosen.
# ---------------------------------------------------------------------------------------------

#: file in tests/fixtures/runs -> (its timestamp_utc in the test history, whether its
#: dataset_sha256 becomes the sample's). Timestamps are moved into the past so that every run is
#: "written before" a session started now, whatever the clock of the machine says.
HISTORY: dict[str, tuple[str, bool]] = {
    "tf2.15.1.csv": ("2025-01-01T10:00:00+00:00", False),
    "tf2.20.0.csv": ("2025-01-02T10:00:00+00:00", True),
    "tf2.21.0_schema1.csv": ("2025-01-03T09:00:00+00:00", False),
    "tf2.21.0_a.csv": ("2025-01-03T10:00:00+00:00", True),
    "tf2.21.0_partial.csv": ("2025-01-03T11:00:00+00:00", True),
}
#: A partial 2.20.0 run written after the complete one: the latest 2.20.0 run, never chosen.
LATER_PARTIAL_RUN_ID = "20250104T100000Z_tf2.20.0_5a7e11"


@pytest.fixture(scope="module")
def gate_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A history of real runs. The sample's dataset is put on the 2.20.0 and 2.21.0 runs, so a
    session on the sample may be compared with them; the 2.15.1 run keeps full MNIST's. All get
    today's recipe_sha256: they were made before later variants joined the registry, with the
    four reference models built exactly as today."""
    folder = tmp_path_factory.mktemp("history")
    sample_sha256 = load_npz(SAMPLE).sha256
    recipe = definitions_sha256(MNIST_CNN)
    for name, (timestamp, sample_data) in HISTORY.items():
        rewrite(RUNS / name, folder / name, lambda rows, t=timestamp, s=sample_data: [
            {**r, "timestamp_utc": t, "recipe_sha256": recipe,
             **({"dataset_sha256": sample_sha256} if s else {})} for r in rows])
    rewrite(folder / "tf2.20.0.csv", folder / "tf2.20.0_later_partial.csv", lambda rows: [
        {**r, "run_id": LATER_PARTIAL_RUN_ID, "timestamp_utc": "2025-01-04T10:00:00+00:00",
         "complete": "False", "incomplete_reason": "-k 'pruned'; 9 test(s) deselected"}
        for r in rows])
    return folder


def run_id_in(history: Path, name: str) -> str:
    return str(read_results(history / name)["run_id"].iloc[0])


@pytest.mark.skipif(not package_version("tensorflow").startswith("2.21."),
                    reason="the test history's versions are chosen around TensorFlow 2.21 "
                           "(requirements/tf-2.21.txt): 2.20.0 is the newest below it")
def test_compare_to_fails_the_regressed_measurement_against_the_reference_run(
        tmp_path: Path, gate_history: Path) -> None:
    """A model trained on the 1,200-image sample is far less accurate than the real 2.20.0 run
    (0.98): its history-gate test must fail, naming the row. The reference is the complete
    2.20.0 run: not the later partial 2.20.0 run, not a run of the installed version."""
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(gate_history),
                     "-k", "accuracy_floor or history_gate and baseline-accuracy")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "FAILED bench/test_history_gate.py::test_no_regression_against_history" \
           "[baseline-accuracy]" in output, output
    assert "regressed against history (beyond -0.50 pt):" in output
    reference = run_id_in(gate_history, "tf2.20.0.csv")
    assert f"reference run {reference} (tensorflow 2.20.0, cpu " in output, output
    assert LATER_PARTIAL_RUN_ID not in output


def test_compare_tf_chooses_the_version_and_a_refused_comparison_keeps_the_run_whole(
        tmp_path: Path, gate_history: Path) -> None:
    """--compare-tf 2.15.1 picks that run; it was made on full MNIST, so the gate refuses to
    compare it with a run on the sample and fails its test with the reason. A refused
    comparison is a failed check, not a missing measurement: the only reason the run is partial
    is its -k."""
    keyword = "history_gate and baseline-accuracy"
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(gate_history),
                     "--compare-tf", "2.15.1", "-k", keyword)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    candidate = only_run(tmp_path).iloc[0]
    reference = read_results(gate_history / "tf2.15.1.csv").iloc[0]
    assert (f"cannot compare: runs differ in dataset_sha256: reference run "
            f"{reference['run_id']} has '{reference['dataset_sha256']}', candidate run "
            f"{candidate['run_id']} has '{candidate['dataset_sha256']}'") in output, output
    assert candidate["complete"] == False  # noqa: E712 (a numpy bool)
    assert re.fullmatch(rf"-k '{keyword}'; \d+ test\(s\) deselected",
                        candidate["incomplete_reason"]), candidate["incomplete_reason"]


def test_compare_skip_latency_gates_accuracy_and_size_and_names_the_reference(
        tmp_path: Path, gate_history: Path) -> None:
    """The one-step gate off the history's machine, as CI runs it: with
    --compare-skip-latency no latency or heap test is collected (the history was measured on
    another machine, where each would fail as "not compared"), the session names its
    reference run at the start and at the end, and a failing row says why."""
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(gate_history),
                     "--compare-tf", "2.20.0", "--compare-skip-latency", "-k", "history_gate")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    reference = run_id_in(gate_history, "tf2.20.0.csv")
    named = (f"reference run {reference} (tensorflow 2.20.0, cpu AMD EPYC (AuthenticAMD family "
             f"25 model 17 stepping 1)): the latest complete run of tensorflow 2.20.0 written "
             f"before the candidate (2 partial runs and 1 schema-1 run, whose completeness is "
             f"unknown, never chosen)")
    lines = output.splitlines()
    assert any(re.fullmatch(rf"bench \[ *[\d.]+ s\] history gate: {re.escape(named)}", line)
               for line in lines), output
    assert f"history:   {named}" in lines, output
    assert "latency" not in "".join(line for line in lines if line.startswith("FAILED"))
    assert "heap_growth_bytes" not in output
    assert ("FAILED bench/test_history_gate.py::test_no_regression_against_history"
            "[baseline-accuracy]") in output
    assert "regressed against history (beyond -0.50 pt):" in output
    # The test history's runs are schema 2, from before raw_bytes was recorded: nothing judges
    # this session's raw sizes, and the coverage test says so.
    assert ("4 gated measurement(s) of this session have no reference measurement in run "
            f"{reference}, so nothing judged them: baseline (raw_bytes), pruned (raw_bytes), "
            "pruned_tflite (raw_bytes), pruned_quantized_tflite (raw_bytes)") in output, output


def test_compare_to_a_reuse_run_fails_the_measurements_it_never_made(
        tmp_path: Path, gate_history: Path) -> None:
    """A --reuse-run reference holds only .tflite models: the session says, before training,
    what the reference lacks, and its coverage test fails naming every gated measurement
    nothing judged (was: those measurements silently passed)."""
    from tests.test_reference_coverage import TFLITE_TWO, as_schema4, tflite_only

    history = tmp_path / "history"
    history.mkdir()
    reuse = as_schema4(gate_history / "tf2.20.0.csv", history / "reuse.csv",
                       variants=TFLITE_TWO, source_run_id="20250102T090000Z_tf2.20.0_000000",
                       edit=tflite_only)
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(history),
                     "--compare-skip-latency", "-k", "history_gate and not no_regression")
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert ("this one lacks baseline, pruned (not measured)") in output, output
    reference = read_results(reuse)["run_id"].iloc[0]
    assert (f"gated measurement(s) of this session have no reference measurement in run "
            f"{reference}, so nothing judged them: baseline (accuracy, zipped_bytes, "
            f"raw_bytes), pruned (accuracy, zipped_bytes, raw_bytes, sparsity), pruned_tflite "
            f"(raw_bytes), pruned_quantized_tflite (raw_bytes)") in output, output


def test_compare_to_without_an_eligible_run_stops_before_training(tmp_path: Path,
                                                                  gate_history: Path) -> None:
    """Only partial and schema-1 runs: none may be a reference, and the session says so before
    any training, with the selection's own message."""
    history = tmp_path / "history"
    history.mkdir()
    for name in ("tf2.21.0_partial.csv", "tf2.21.0_schema1.csv", "tf2.20.0_later_partial.csv"):
        shutil.copy(gate_history / name, history / name)
    with pytest.raises(SelectionError) as expected:
        load_reference(history, candidate_tf=package_version("tensorflow"),
                       before=pd.Timestamp.now(tz="UTC"))
    assert "never chosen" in str(expected.value)
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(history))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert f"ERROR: --compare-to: {history}: {expected.value}" in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []


def test_compare_to_an_unusable_history_stops_before_training(tmp_path: Path) -> None:
    bad = REPO_ROOT / "tests" / "fixtures" / "results" / "bad_nan_value.csv"
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--compare-to", str(bad))
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert f"ERROR: --compare-to: {bad}: " in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []


def test_two_tensorflow_distributions_stop_the_session_before_anything_runs(
        tmp_path: Path) -> None:
    """A second distribution that unpacks into tensorflow/ (here a fake tensorflow-cpu on the
    path) makes what runs unknowable: the session refuses, saying how to repair it."""
    site = tmp_path / "site"
    info = site / "tensorflow_cpu-2.21.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow-cpu\n"
                                   "Version: 2.21.0\n")
    (info / "RECORD").write_text("tensorflow/__init__.py,,\n")
    env = {**bench_env(tmp_path), "PYTHONPATH": str(site)}
    done = subprocess.run(bench_command(tmp_path / "results", "--mnist", str(SAMPLE)),
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert ("ERROR: bench: 2 distributions provide the tensorflow package: tensorflow 2.21.0, "
            "tensorflow-cpu 2.21.0.") in done.stderr, done.stderr
    assert "pip uninstall -y tensorflow tensorflow-cpu" in done.stderr
    assert results_files(tmp_path) == []


def test_an_unknown_variant_stops_before_training_naming_the_known_ones(tmp_path: Path) -> None:
    done = run_bench(tmp_path, "--mnist", str(SAMPLE), "--variants", "int8_tflite,int4_tflite")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, done.stdout + done.stderr
    assert ("ERROR: --variants: unknown variant(s) 'int4_tflite'; known: baseline, pruned, "
            "pruned_tflite, pruned_quantized_tflite, int8_tflite,") in done.stderr
    assert not (tmp_path / "run").exists() and results_files(tmp_path) == []


def test_a_bench_session_does_not_import_hypothesis(tmp_path: Path) -> None:
    """hypothesis' pytest plugin imports all of hypothesis at the end of a session (0.8 s);
    bench/conftest.py leaves the plugin out of sessions without hypothesis tests."""
    done = subprocess.run([sys.executable, "-X", "importtime", *bench_command(
        tmp_path / "results", "--collect-only")[1:]], cwd=REPO_ROOT, env=bench_env(tmp_path),
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")]
    assert "pytest" in imported and "hypothesis" not in imported


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
    run = read_results(new[0])
    first = run.iloc[0]
    assert first["source_run_id"] == source_csv.stem
    assert (first["complete"], first["variants"]) == (True, "pruned_tflite pruned_quantized_tflite")
    assert set(run["model"]) == {"pruned_tflite", "pruned_quantized_tflite"}
    assert set(run["metric"]) == {"accuracy", "zipped_bytes", "raw_bytes", "latency",
                                  "instructions_per_invoke", "instructions_first_invoke",
                                  "instructions_allocate",
                                  "init_seconds", "first_invoke_seconds", "heap_growth_bytes",
                                  "peak_rss_growth_bytes", "stage_seconds"}
    assert set(run.loc[run["metric"] == "stage_seconds", "stage"]) == {"evaluate"}
    source = read_results(source_csv)
    for model in ("pruned_tflite", "pruned_quantized_tflite"):
        assert run.loc[(run["model"] == model) & (run["metric"] == "accuracy"), "value"].item() \
            == source.loc[(source["model"] == model) & (source["metric"] == "accuracy"),
                          "value"].item()


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
                     if read_results(p)["source_run_id"].iloc[0] == ""]
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
                     if read_results(p)["source_run_id"].iloc[0] == ""]
    cut = tmp_path / "runs" / source_csv.stem
    shutil.copytree(source_run / "runs" / source_csv.stem, cut)
    (cut / "pruned_quantized_tflite.tflite").unlink()
    session = reuse(tmp_path, source_run, cut)
    assert session.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"is missing {cut}/pruned_quantized_tflite.tflite; reuse a folder" in session.output
