"""pipeline.suite.session without a pytest session: what a `pytest bench` session refuses at its
start, when its run is incomplete, what its results CSV holds and what its last screen says.

tests/test_bench_*.py run the real suite in a subprocess for the same behaviour as a user
meets it; these pin the decisions themselves, in milliseconds and with exact messages.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.config import DEFAULT_CONFIG_PATH, Config, load_config
from pipeline.data import Dataset, load_npz
from pipeline.judge.compare.options import GateOptions
from pipeline.measure.callgrind import InstructionsUnavailable
from pipeline.measure.environment import installed
from pipeline.measure.latency import LATENCY_COMBINATIONS, LatencyKey
from pipeline.results import Measurement, MeasurementKey, read_results
from pipeline.run.source import SourceRun
from pipeline.suite import session as session_module
from pipeline.suite import timing
from pipeline.suite.session import (
    BenchSession,
    SessionError,
    SessionOptions,
    SessionStop,
    counting_valgrind,
)
from pipeline.variants.registry import UnknownVariant, select
from pipeline.workloads import MNIST_CNN
from tests.helpers import REPO_ROOT, SAMPLE

#: A real run's results CSV (tests/fixtures/make_results_fixtures.py).
BASE_RUN = Path(__file__).resolve().parent / "fixtures" / "results" / "base.csv"
#: Two real .tflite files of the seed's recipe (tests/fixtures/duel).
DUEL_MODELS = Path(__file__).resolve().parent / "fixtures" / "duel"
#: The committed history.
RESULTS = REPO_ROOT / "results"


@pytest.fixture(autouse=True)
def own_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions made here register in a registry of their own, not the machine's."""
    monkeypatch.setenv("BENCH_SESSION_REGISTRY", str(tmp_path / "registry"))


@pytest.fixture(scope="module")
def thresholds() -> Config:
    return load_config(DEFAULT_CONFIG_PATH, bounds=MNIST_CNN.bounds)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_npz(SAMPLE)


def uncounted(tmp_path: Path, **options: object) -> SessionOptions:
    """Options of a session that counts no instructions (no valgrind needed) and writes into
    tmp_path."""
    return SessionOptions(seed=0, results_dir=tmp_path / "results", run_dir=tmp_path / "run",
                          skip_instructions=True, **options)  # type: ignore[arg-type]


def test_an_unknown_variant_is_refused_with_the_option_named(tmp_path: Path,
                                                             thresholds: Config) -> None:
    with pytest.raises(UnknownVariant) as known:
        select("pruned,no_such_variant", MNIST_CNN)
    with pytest.raises(SessionError) as refused:
        BenchSession(uncounted(tmp_path, variants="pruned,no_such_variant"), MNIST_CNN,
                     thresholds)
    assert str(refused.value) == f"--variants: {known.value}"


def test_variants_and_reuse_run_together_are_refused(tmp_path: Path,
                                                     thresholds: Config) -> None:
    with pytest.raises(SessionError) as refused:
        BenchSession(uncounted(tmp_path, variants="all", reuse_run=tmp_path / "run0"),
                     MNIST_CNN, thresholds)
    assert str(refused.value) == ("--variants cannot be combined with --reuse-run: the reused "
                                  "run's TFLite models are re-measured")


def test_a_missing_reuse_run_is_refused_before_anything_is_loaded(tmp_path: Path,
                                                                  thresholds: Config) -> None:
    with pytest.raises(SessionError, match=r"^--reuse-run: "):
        BenchSession(uncounted(tmp_path, reuse_run=tmp_path / "no_such_run"), MNIST_CNN,
                     thresholds)


def test_a_missing_compare_to_path_is_refused_before_anything_is_loaded(
        tmp_path: Path, thresholds: Config) -> None:
    with pytest.raises(SessionError, match=r"^--compare-to: "):
        BenchSession(uncounted(tmp_path, compare_to=str(tmp_path / "no_such_history")), MNIST_CNN,
                     thresholds)


@pytest.mark.skipif(installed("tensorflow")[1] != "2.21.0" or installed("litert")[1] != "2.3.0",
                    reason="the committed history's LiteRT releases are chosen around TF 2.21.0 "
                           "and LiteRT 2.3.0 (requirements/tf-2.21.txt)")
@pytest.mark.parametrize(("upgrade", "tensorflow", "litert"), [
    ("tensorflow", "2.20.0", "2.3.0"), ("litert", "2.21.0", "2.2.0")])
def test_compare_upgrade_chooses_the_reference_as_bench_compare_upgrade_does(
        tmp_path: Path, thresholds: Config, upgrade: str, tensorflow: str, litert: str) -> None:
    """`pytest bench --compare-to results/ --compare-upgrade litert` (the gate's own --upgrade,
    declared once for both): the committed history's run of the newest LiteRT below the
    installed one, on the installed TensorFlow; by default the newest TensorFlow below, on the
    installed LiteRT."""
    session = BenchSession(uncounted(tmp_path, compare_to=str(RESULTS),
                                     compare=GateOptions(upgrade=upgrade)), MNIST_CNN, thresholds)
    assert session.history is not None
    info = session.history.run.info
    assert (info.workload, info.tensorflow, info.litert) == ("mnist_cnn", tensorflow, litert)


def test_a_machine_that_cannot_count_stops_the_session_with_the_way_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> str:
        raise InstructionsUnavailable("valgrind is not installed (apt-get install valgrind)")

    monkeypatch.setattr(session_module, "ensure_countable", missing)
    with pytest.raises(SessionError) as refused:
        counting_valgrind(False, ("baseline", "pruned_tflite"))
    assert str(refused.value) == (
        "bench: valgrind is not installed (apt-get install valgrind); or pass "
        "--skip-instructions to run without instruction counts (the run is then marked "
        "incomplete, never a reference)")
    # Nothing to count, nothing to refuse: no TFLite variant, or counting skipped.
    assert counting_valgrind(False, ("baseline", "pruned")) == ""
    assert counting_valgrind(True, ("pruned_tflite",)) == ""


def test_skip_instructions_and_a_narrowed_selection_make_the_run_incomplete_in_order(
        tmp_path: Path, thresholds: Config) -> None:
    session = BenchSession(uncounted(tmp_path), MNIST_CNN, thresholds,
                           narrowed=["-k 'size'"])
    assert (session.valgrind, session.instructions_tool) == ("", "")
    assert session.incomplete == ["-k 'size'", "--skip-instructions"]
    session.note_incomplete("-k 'size'")  # a reason is noted once
    assert session.incomplete == ["-k 'size'", "--skip-instructions"]


def measured(tmp_path: Path, thresholds: Config, dataset: Dataset) -> BenchSession:
    """A started session with one recorded measurement, as if a size test had run."""
    session = BenchSession(uncounted(tmp_path), MNIST_CNN, thresholds)
    lines: list[str] = []
    session.start(dataset, lines.append)
    assert session.bench_run is not None
    session.bench_run.record(Measurement("baseline", "zipped_bytes", 78185.0, "bytes"))
    return session


def test_the_session_records_latency_and_footprint_rows_as_it_measures_them(
        tmp_path: Path, thresholds: Config, dataset: Dataset) -> None:
    """No test body decides which rows reach the CSV: the session records each measurement
    when it takes it (tests only assert on them), and nothing for --benchmark-disable's single
    untimed call."""
    quick = replace(thresholds, latency=replace(thresholds.latency, repetitions=3,
                                                warmup_invokes=1, timed_invokes=5),
                    footprint=replace(thresholds.footprint, repetitions=2))
    session = BenchSession(uncounted(tmp_path), MNIST_CNN, quick)
    session.start(dataset, [].append)
    assert session.bench_run is not None
    key = LatencyKey("pruned_tflite", "ai_edge_litert", 1)
    paths = {"pruned_tflite": DUEL_MODELS / "pruned_tflite.tflite"}
    image = MNIST_CNN.scale(dataset.x_test[0])
    run = session.bench_run
    timing.latency_blocks(run, quick, [key], paths, image, single_call=True)
    assert not [m for m in run.measurements if m.metric == "latency"]
    blocks = timing.latency_blocks(run, quick, [key], paths, image)[key]
    footprints = timing.footprints(run, quick, [key], paths, image)[key]
    recorded = {m.metric: m for m in session.bench_run.measurements}
    assert recorded["latency"].key == MeasurementKey("pruned_tflite", "ai_edge_litert", 1,
                                                      "latency", None)
    assert recorded["latency"].samples == tuple(b.seconds_per_call for b in blocks)
    assert recorded["heap_growth_bytes"].samples == tuple(
        float(f.heap_growth_bytes) for f in footprints)


def test_a_session_whose_tests_all_ran_writes_one_csv_and_says_where(
        tmp_path: Path, thresholds: Config, dataset: Dataset) -> None:
    session = measured(tmp_path, thresholds, dataset)
    session.finished_items = 3
    written = session.finish(tests_ran=True, items=3)
    assert written == tmp_path / "results" / f"{session.run_id}.csv"
    run = read_results(written)
    assert len(run.rows) == 1
    # --skip-instructions (uncounted) is the one reason this run is partial.
    assert run.rows["incomplete_reason"].tolist() == ["--skip-instructions"]
    assert session.summary_lines()[-3:] == [
        f"artifacts: {tmp_path / 'run'}",
        f"results:   {written} (1 rows)",
        "partial:   --skip-instructions (never chosen as a reference run)",
    ]


def test_skipped_and_unfinished_tests_are_the_reasons_a_run_is_partial(
        tmp_path: Path, thresholds: Config, dataset: Dataset) -> None:
    session = measured(tmp_path, thresholds, dataset)
    session.skipped.add("bench/test_latency.py::test_invoke_latency[x]")
    session.finished_items = 2
    written = session.finish(tests_ran=True, items=5)
    assert written is not None
    assert read_results(written).info.incomplete_reason == (
        "--skip-instructions; 1 test(s) skipped; stopped after 2 of 5 tests")


def test_an_interrupted_session_writes_nothing_and_says_so(
        tmp_path: Path, thresholds: Config, dataset: Dataset) -> None:
    session = measured(tmp_path, thresholds, dataset)
    assert session.finish(tests_ran=False, items=3) is None
    assert not (tmp_path / "results").exists()
    assert session.summary_lines()[-1] == ("results:   none written (session did not run to "
                                           "the end)")


def test_a_session_that_never_started_has_no_last_screen(tmp_path: Path,
                                                         thresholds: Config) -> None:
    session = BenchSession(uncounted(tmp_path), MNIST_CNN, thresholds)
    assert session.finish(tests_ran=True, items=0) is None
    assert session.summary_lines() == []


def test_a_reused_run_of_another_seed_stops_the_session(
        tmp_path: Path, thresholds: Config, dataset: Dataset) -> None:
    session = BenchSession(replace(uncounted(tmp_path), seed=1), MNIST_CNN, thresholds)
    session.source = _source(session.run_id, dataset_sha256=dataset.sha256, seed=0)
    with pytest.raises(SessionStop) as stopped:
        session.start(dataset, print)
    assert str(stopped.value) == (f"--reuse-run: run {session.run_id} used seed 0, this session "
                                  f"1; pass --seed 0")


def test_a_reused_run_of_other_data_stops_the_session(
        tmp_path: Path, thresholds: Config, dataset: Dataset) -> None:
    session = BenchSession(uncounted(tmp_path), MNIST_CNN, thresholds)
    session.source = _source(session.run_id, dataset_sha256="0" * 64, seed=0)
    with pytest.raises(SessionStop) as stopped:
        session.start(dataset, print)
    assert str(stopped.value) == (f"--reuse-run: run {session.run_id} was measured on dataset "
                                  f"{'0' * 64}, this session loads {dataset.sha256}; pass the "
                                  f"same data (--data)")


def _source(run_id: str, *, dataset_sha256: str, seed: int) -> SourceRun:
    """A reused run as load_source_run returns it, differing from a real run only in what
    start() checks."""
    info = replace(read_results(BASE_RUN).info, run_id=run_id, dataset_sha256=dataset_sha256,
                   seed=seed)
    return SourceRun(folder=Path("."), info=info, variants=("pruned_tflite",), values={})


def test_a_test_applies_to_the_selected_variants_its_marker_filters_admit(
        tmp_path: Path, thresholds: Config) -> None:
    default = BenchSession(uncounted(tmp_path), MNIST_CNN, thresholds)
    assert default.variants_for() == ["baseline", "pruned", "pruned_tflite",
                                      "pruned_quantized_tflite"]
    assert default.variants_for(kind="tflite") == ["pruned_tflite", "pruned_quantized_tflite"]
    # The baseline is the root: no size ratio or accuracy drop is bounded for it.
    assert default.variants_for(bound="size_ratio_min") == ["pruned", "pruned_tflite",
                                                            "pruned_quantized_tflite"]
    assert default.variants_for(measure="sparsity") == ["pruned"]
    assert default.variants_for(option="m_by_n") == []  # the m:n test is then not applicable
    every = BenchSession(uncounted(tmp_path, variants="all"), MNIST_CNN, thresholds)
    assert every.variants_for(option="m_by_n") == ["pruned_2by4"]
    assert every.variants_for(measure="distinct_weights") == ["clustered",
                                                              "clustered_cqat_int8_tflite"]
    assert default.history_keys() == []  # no --compare-to: no history-gate test


def test_the_timing_matrix_is_what_every_committed_run_timed() -> None:
    """LATENCY_COMBINATIONS is declared once (pipeline/measure/latency.py) and is what the
    history holds: every committed run timed each TFLite model at exactly these (runtime,
    threads), so a change to the matrix is a change of what runs measure, seen here first."""
    from pipeline.results import read_history

    want = set(LATENCY_COMBINATIONS)
    runs = list(read_history(RESULTS))
    assert runs
    for run in runs:
        latency = run.rows[run.rows["metric"] == "latency"]
        assert not latency.empty, run.run_id
        for model, rows in latency.groupby("model"):
            timed = set(zip(rows["runtime"], rows["threads"].astype(int), strict=True))
            assert timed == want, (run.run_id, model, timed ^ want)

