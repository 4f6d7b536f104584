"""bench duel: the schedule, verdicts on frozen real samples, the report, the exit codes and
the refusals, plus one end-to-end duel with real workers on small real .tflite files.

Fixtures (tests/fixtures/duel, see its README.md): the two .tflite files of a real run, `run.csv`
(that run's latency rows, samples cut short), and `aa_duel.json`, the per-pair block times of a
real A/A duel recorded with `python scripts/duel_validity.py record`.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import pytest

import pipeline.judge.duel as duel
from pipeline import REPO_ROOT
from pipeline.commands.duel import main as duel_command
from pipeline.config import DuelSettings
from pipeline.judge.duel import (
    PairedSamples,
    Run,
    duel_rows,
    exit_code,
    format_report,
    judge,
    process_of,
    run_schedule,
    schedule,
)
from pipeline.measure.duel_worker import Worker, WorkerError
from pipeline.measure.environment import package_version
from pipeline.measure.latency import LatencyKey
from tests.helpers import COUNTED, as_schema6

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "duel"
RUN_CSV = FIXTURES / "run.csv"
RUN_ID = "20261127T212023Z_tf2.21.0_ad823c"
PQT = "pruned_quantized_tflite"
KEYS = sorted(LatencyKey(model, runtime, threads) for model in ("pruned_tflite", PQT)
              for runtime in ("tf.lite", "ai_edge_litert") for threads in (1, 2))
#: The rule under test, pinned here so that retuning bench/thresholds.toml does not change what
#: these tests mean.
SETTINGS = DuelSettings(pairs=64, warmup_invokes=50, timed_invokes=300, confidence=0.99,
                        slowdown_max=1.05, seed=0, processes=4)


def run_cli(*args: object) -> tuple[int, str, str]:
    """main() with its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = duel_command([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def write_run(path: Path, *, drop: Iterable[LatencyKey] = (), **columns: str) -> Path:
    """run.csv with some latency rows dropped and some run columns (run_id, tensorflow,
    litert) replaced."""
    with RUN_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    dropped = set(drop)
    kept = [{**row, **columns} for row in rows
            if LatencyKey(row["model"], row["runtime"], int(row["threads"])) not in dropped]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return path


def fake_python(path: Path, script: str) -> Path:
    """An executable standing in for an environment's python: it ignores its arguments
    (`-m pipeline.measure.duel_worker`) and runs `script` with this python instead."""
    path.write_text(f"#!/bin/sh\nexec {sys.executable} -c '{script}'\n")
    path.chmod(0o755)
    return path


def make_run(side: duel.Side, keys: Iterable[LatencyKey] = KEYS, run_id: str = RUN_ID,
             tensorflow: str = "2.21.0") -> Run:
    return Run(side, run_id, tensorflow, "2.3.0", "mnist_cnn", frozenset(keys), FIXTURES,
               sys.executable)


# --- the schedule --------------------------------------------------------------------------------

def test_schedule_pairs_are_adjacent_and_abba() -> None:
    keys = KEYS[:3]
    steps = schedule(keys, pairs=4, seed=0)
    assert len(steps) == 4 * 3 * 2
    for pair in range(4):
        blocks = [(key, side) for p, key, side in steps if p == pair]
        first, second = ("reference", "candidate") if pair % 2 == 0 else ("candidate",
                                                                           "reference")
        assert [side for _, side in blocks] == [first, second] * 3
        assert [key for key, _ in blocks[::2]] == [key for key, _ in blocks[1::2]]
        assert sorted(key for key, _ in blocks[::2]) == sorted(keys)
    assert [p for p, _, _ in steps] == sorted(p for p, _, _ in steps)


def test_schedule_is_seeded_and_shuffled_per_pair() -> None:
    first = schedule(KEYS, pairs=20, seed=0)
    assert schedule(list(reversed(KEYS)), pairs=20, seed=0) == first
    assert schedule(KEYS, pairs=20, seed=1) != first
    orders = {tuple(key for p, key, side in first if p == pair and side == "reference")
              for pair in range(20)}
    assert len(orders) > 10


def test_run_schedule_pairs_cancel_a_load_drift() -> None:
    """The machine slows down 3x over the duel; the candidate is 1.2x slower throughout. Each
    pair's two blocks are adjacent, so the drift cancels in its ratio and every key is judged
    x1.20, regressed."""
    calls: list[tuple[duel.Side, LatencyKey]] = []

    def measure(side: duel.Side, key: LatencyKey, process: int) -> float:
        calls.append((side, key))
        load = 1 + 2 * len(calls) / (SETTINGS.pairs * len(KEYS) * 2)
        return 10e-6 * key.threads * load * (1.2 if side == "candidate" else 1.0)

    samples = run_schedule(KEYS, SETTINGS, measure)
    assert calls == [(side, key) for _, key, side in schedule(KEYS, SETTINGS.pairs,
                                                              SETTINGS.seed)]
    assert list(samples) == KEYS
    for key, pairs in samples.items():
        assert len(pairs.reference) == len(pairs.candidate) == SETTINGS.pairs
        assert pairs.process == tuple((pair // 2) % 4 for pair in range(SETTINGS.pairs))
        row = judge(key, pairs, SETTINGS)
        assert row.verdict == "regressed"
        assert row.ratio == pytest.approx(1.2, rel=0.01)
        assert 1.18 < row.ci_low < row.ci_high < 1.22  # type: ignore[operator]


# --- verdicts on frozen real samples -------------------------------------------------------------

def real_samples(factor: float = 1.0) -> dict[LatencyKey, PairedSamples]:
    """The recorded A/A duel, the candidate's block times multiplied by `factor`."""
    recorded = json.loads((FIXTURES / "aa_duel.json").read_text())
    return {LatencyKey(k["model"], k["runtime"], k["threads"]):
            PairedSamples(tuple(k["reference"]), tuple(t * factor for t in k["candidate"]),
                          tuple(k["process"]))
            for k in recorded["keys"]}


def verdicts(samples: Mapping[LatencyKey, PairedSamples]) -> dict[LatencyKey, str]:
    return {key: judge(key, pairs, SETTINGS).verdict for key, pairs in samples.items()}


def test_real_samples_cover_every_key() -> None:
    samples = real_samples()
    assert sorted(samples) == KEYS
    assert {len(p.reference) for p in samples.values()} == {len(p.candidate)
                                                             for p in samples.values()} == {64}
    assert {len(set(p.process)) for p in samples.values()} == {4}


def test_real_aa_duel_finds_no_change() -> None:
    assert set(verdicts(real_samples()).values()) == {"ok"}


def test_real_samples_ten_percent_slower_regress_where_the_processes_agree() -> None:
    """x1.10 on real data: the interval is over process pairs (four), so a key regresses where
    its processes agree; in this recording 5 of the 8 keys (the other three's A/A intervals
    reach below x0.91), and none is called improved."""
    judged = verdicts(real_samples(1.10))
    assert set(judged.values()) == {"regressed", "ok"}
    assert list(judged.values()).count("regressed") == 5


def test_real_samples_ten_percent_faster_improve_where_the_processes_agree() -> None:
    judged = verdicts(real_samples(1 / 1.10))
    assert set(judged.values()) == {"improved", "ok"}
    assert list(judged.values()).count("improved") == 4


def test_real_samples_quarter_slower_regress_everywhere() -> None:
    assert set(verdicts(real_samples(1.25)).values()) == {"regressed"}


def test_real_samples_three_percent_slower_stay_within_the_factor() -> None:
    """x1.03 is a real slowdown, and for the quieter keys a certain one (the interval lies above
    1), but it is within the x1.05 factor: not worth failing an upgrade for."""
    rows = [judge(key, pairs, SETTINGS) for key, pairs in real_samples(1.03).items()]
    assert {row.verdict for row in rows} == {"ok"}
    assert any(row.ci_low is not None and row.ci_low > 1 for row in rows)


def test_real_samples_need_the_interval_not_only_the_ratio() -> None:
    """Every key scaled so its median ratio is x1.06, just beyond the factor: only the keys
    whose interval then lies above 1 regress. The noisier keys (2 threads on a 2-core machine)
    keep an interval reaching below 1 and stay ok, so a rule that looked at the ratio alone
    would fail here."""
    judged = {}
    for key, pairs in real_samples().items():
        aa = judge(key, pairs, SETTINGS)
        assert aa.ratio is not None and aa.ci_low is not None
        shifted = judge(key, real_samples(1.06 / aa.ratio)[key], SETTINGS)
        assert shifted.ratio == pytest.approx(1.06)
        assert shifted.ci_low is not None
        judged[key] = (shifted.verdict, shifted.ci_low > 1)
    assert {v for v, above in judged.values()} == {"regressed", "ok"}
    assert all((verdict == "regressed") == above for verdict, above in judged.values())


# --- the report ----------------------------------------------------------------------------------

def report_rows() -> tuple[list[duel.DuelRow], Run, Run]:
    key_a, key_b, key_c = LatencyKey("pruned_tflite", "tf.lite", 1), \
        LatencyKey(PQT, "ai_edge_litert", 2), LatencyKey(PQT, "tf.lite", 1)
    # Two pairs per process, each process's two ratios equal: its median is that ratio.
    processes = tuple(pair // 2 for pair in range(16))
    samples = {
        key_a: PairedSamples((8e-6,) * 16, tuple(8e-6 * f for f in
                                                  (1.10, 1.11, 1.12, 1.13, 1.14, 1.15, 1.16, 1.17)
                                                  for _ in range(2)), processes),
        key_b: PairedSamples((10e-6,) * 16, tuple(10e-6 * f for f in
                                                   (0.97, 0.98, 0.99, 1.0, 1.0, 1.01, 1.02, 1.03)
                                                   for _ in range(2)), processes),
    }
    reference = make_run("reference", [key_a, key_b, key_c])
    candidate = make_run("candidate", [key_a, key_b], run_id="20261128T000000Z_tf2.20.0_aaaaaa",
                         tensorflow="2.20.0")
    settings = replace(SETTINGS, pairs=16, processes=8)
    return duel_rows(reference, candidate, samples, settings), reference, candidate


def test_text_report() -> None:
    rows, reference, candidate = report_rows()
    text = format_report(rows, reference, candidate, replace(SETTINGS, pairs=16, processes=8),
                         "text")
    assert text.splitlines() == [
        f"reference {RUN_ID} (tensorflow 2.21.0, litert 2.3.0) vs candidate "
        f"20261128T000000Z_tf2.20.0_aaaaaa (tensorflow 2.20.0, litert 2.3.0)",
        "16 pairs of 300-invoke blocks per key, ABBA, seed 0, over 8 worker processes per "
        "side; ratio = geometric mean over process pairs of their median candidate/reference; "
        "regressed when ratio > x1.05 and its 99% CI (t, over the process pairs) is above x1",
        "model                    runtime         threads  reference  candidate   ratio"
        "         99% CI  verdict",
        "pruned_quantized_tflite  ai_edge_litert        2   10.00 us   10.00 us  x1.000"
        "  x0.975-x1.025  ok",
        "pruned_quantized_tflite  tf.lite               1" + " " * 47 + "reference only",
        "pruned_tflite            tf.lite               1    8.00 us    9.08 us  x1.135"
        "  x1.105-x1.165  regressed",
        "FAIL: 1 regressed, 1 ok, 1 reference only",
    ]
    assert exit_code(rows) == 1


def test_markdown_report() -> None:
    rows, reference, candidate = report_rows()
    lines = format_report(rows, reference, candidate, replace(SETTINGS, pairs=16, processes=8),
                          "markdown").splitlines()
    assert lines[0] == (f"**Duel** reference {RUN_ID} (tensorflow 2.21.0, litert 2.3.0) vs "
                        f"candidate 20261128T000000Z_tf2.20.0_aaaaaa (tensorflow 2.20.0, litert "
                        f"2.3.0)")
    assert lines[4] == ("| model | runtime | threads | reference | candidate | ratio | 99% CI "
                        "| verdict |")
    assert lines[5] == "|---|---|---:|---:|---:|---:|---:|---|"
    assert lines[8] == ("| pruned_tflite | tf.lite | 1 | 8.00 us | 9.08 us | x1.135 | "
                        "x1.105-x1.165 | **regressed** |")
    assert lines[-1] == "**FAIL: 1 regressed, 1 ok, 1 reference only**"


def test_json_report() -> None:
    rows, reference, candidate = report_rows()
    records = json.loads(format_report(rows, reference, candidate, SETTINGS, "json"))
    assert [r["verdict"] for r in records] == ["ok", "reference only", "regressed"]
    assert records[2] == {
        "model": "pruned_tflite", "runtime": "tf.lite", "threads": 1, "verdict": "regressed",
        "pairs": 16, "processes": 8, "reference_median_s": 8e-6,
        "candidate_median_s": pytest.approx(9.08e-6),
        "ratio": pytest.approx(1.1348, abs=1e-4), "ci_low": pytest.approx(1.1049, abs=1e-4),
        "ci_high": pytest.approx(1.1655, abs=1e-4), "reference_run_id": RUN_ID,
        "candidate_run_id": "20261128T000000Z_tf2.20.0_aaaaaa",
        "reference_tensorflow": "2.21.0", "candidate_tensorflow": "2.20.0"}
    assert records[1]["ratio"] is None


# --- the command line without workers (run_duel replaced) ----------------------------------------

@pytest.fixture()
def fake_duel(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Replace run_duel by one returning fixed pair data; the returned dict sets the candidate's
    factor per "model runtime threads" (default 1.0)."""
    factors: dict[str, float] = {}

    def run_duel(reference: Run, candidate: Run, keys: list[LatencyKey],
                 settings: duel.DuelSettings) -> dict[LatencyKey, PairedSamples]:
        noise = [1 + 0.002 * ((3 * i) % 7 - 3) for i in range(settings.pairs)]
        return {key: PairedSamples(
            tuple(10e-6 for _ in noise),
            tuple(10e-6 * n * factors.get(" ".join(map(str, key)), 1.0) for n in noise),
            tuple(process_of(pair, settings.processes) for pair in range(settings.pairs)))
            for key in keys}

    monkeypatch.setattr(duel.runs, "run_duel", run_duel)
    return factors


def test_cli_passes_on_no_change(fake_duel: dict[str, float], tmp_path: Path) -> None:
    code, out, err = run_cli(RUN_CSV, RUN_CSV, "--csv", tmp_path / "duel.csv")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "PASS: 8 ok"
    written = list(csv.DictReader((tmp_path / "duel.csv").open()))
    assert len(written) == 8 and {r["verdict"] for r in written} == {"ok"}
    assert written[0]["reference_run_id"] == RUN_ID


def test_cli_fails_on_a_regression(fake_duel: dict[str, float]) -> None:
    fake_duel["pruned_tflite tf.lite 1"] = 1.08
    fake_duel[f"{PQT} ai_edge_litert 2"] = 0.9
    code, out, _ = run_cli(RUN_CSV, RUN_CSV, "--format", "json")
    assert code == 1
    judged = {(r["model"], r["runtime"], r["threads"]): r["verdict"] for r in json.loads(out)}
    assert judged.pop(("pruned_tflite", "tf.lite", 1)) == "regressed"
    assert judged.pop((PQT, "ai_edge_litert", 2)) == "improved"
    assert set(judged.values()) == {"ok"}


def test_cli_lists_keys_of_one_run_only(fake_duel: dict[str, float], tmp_path: Path) -> None:
    candidate = write_run(tmp_path / "candidate.csv", drop=[KEYS[0]], run_id="cand")
    code, out, _ = run_cli(RUN_CSV, candidate)
    assert code == 0
    assert out.splitlines()[-1] == "PASS: 7 ok, 1 reference only"


def test_a_litert_upgrade_duels_the_ai_edge_litert_keys_only(fake_duel: dict[str, float],
                                                              tmp_path: Path) -> None:
    """bench upgrade of a LiteRT candidate: the tf.lite keys are the same TensorFlow on both
    sides, so they are neither duelled nor listed as one side's (a candidate key the duel left
    out read `candidate only` before)."""
    tf_lite = [key for key in KEYS if key.runtime == "tf.lite"]
    candidate = write_run(tmp_path / "candidate.csv", drop=tf_lite[:1], run_id="cand")
    rows, _, _ = duel.duel(RUN_CSV, candidate, SETTINGS,
                               interpreters=frozenset({"ai_edge_litert"}))
    assert {row.runtime for row in rows} == {"ai_edge_litert"}
    assert {row.verdict for row in rows} == {"ok"}
    assert len(rows) == len([k for k in KEYS if k.runtime == "ai_edge_litert"])


def test_cli_output_to_a_closed_pipe_is_quiet() -> None:
    """`bench duel ... | head -1`: the reader goes away; no traceback."""
    script = ("import pipeline.judge.duel.runs as runs\n"
              "from pipeline.commands.duel import main\n"
              "from pipeline.judge.duel import PairedSamples\n"
              "runs.run_duel = lambda r, c, keys, s: {k: PairedSamples((1.0,) * s.pairs, "
              "(1.0,) * s.pairs, tuple(range(s.pairs))) for k in keys}\n"
              f"raise SystemExit(main([{str(RUN_CSV)!r}, {str(RUN_CSV)!r}]))\n")
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run([sys.executable, "-c", script], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, timeout=60)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")


# --- refusals: exit 2 with one line ---------------------------------------------------------------

def test_missing_artifact(tmp_path: Path) -> None:
    code, out, err = run_cli(RUN_CSV, RUN_CSV, "--reference-run-dir", FIXTURES,
                             "--candidate-run-dir", tmp_path)
    assert (code, out) == (2, "")
    assert err == (f"bench duel: error: candidate run {RUN_ID}: "
                   f"{tmp_path}/pruned_quantized_tflite.tflite not found; a duel times the run's "
                   f"own .tflite files: pass --candidate-run-dir DIR holding them (pytest bench "
                   f"writes them to runs/<run_id>/)\n")


def test_default_artifact_folder_is_runs_run_id(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run.csv", run_id="no_such_run_here")
    code, _, err = run_cli(run, RUN_CSV, "--candidate-run-dir", FIXTURES)
    assert code == 2
    assert err.startswith(f"bench duel: error: reference run no_such_run_here: "
                          f"{REPO_ROOT}/runs/no_such_run_here/pruned_quantized_tflite.tflite "
                          f"not found;")


def test_bad_python_path() -> None:
    code, _, err = run_cli(RUN_CSV, RUN_CSV, "--reference-run-dir", FIXTURES,
                           "--candidate-run-dir", FIXTURES,
                           "--reference-python", "/no/such/python")
    assert code == 2
    assert err == ("bench duel: error: reference python '/no/such/python' was not found or "
                   "is not executable; pass --reference-python the python of the environment "
                   "that made the reference run (e.g. .tox/tf221/bin/python)\n")


def test_python_that_cannot_import_the_pipeline(tmp_path: Path) -> None:
    python = fake_python(tmp_path / "python",
                         "import sys; sys.exit(\"ModuleNotFoundError: No module named numpy\")")
    code, _, err = run_cli(RUN_CSV, RUN_CSV, "--reference-run-dir", FIXTURES,
                           "--candidate-run-dir", FIXTURES, "--candidate-python", python)
    assert code == 2
    assert err == (f"bench duel: error: candidate worker ({python} -m "
                   f"pipeline.measure.duel_worker) closed its output while starting (it must "
                   f"import this repository's pipeline; its environment needs the packages of "
                   f"requirements/tf-X.Y.txt) and exited with status 1: ModuleNotFoundError: "
                   f"No module named numpy\n")


def test_python_of_another_environment(tmp_path: Path) -> None:
    """The default python for both sides, but the reference run was made with TF 2.20."""
    reference = write_run(tmp_path / "ref.csv", tensorflow="2.20.0", run_id="ref220")
    code, _, err = run_cli(reference, RUN_CSV, "--reference-run-dir", FIXTURES,
                           "--candidate-run-dir", FIXTURES)
    assert code == 2
    assert err == (f"bench duel: error: reference run ref220 was made with tensorflow 2.20.0, "
                   f"litert 2.3.0, but {os.path.abspath(sys.executable)} has tensorflow "
                   f"{package_version('tensorflow')}, litert {package_version('litert')}; pass "
                   f"--reference-python the python of that run's environment "
                   f"(e.g. .tox/tf220/bin/python)\n")


def test_runtime_unavailable_in_an_environment(tmp_path: Path) -> None:
    python = fake_python(tmp_path / "python", (
        "import json, sys\n"
        "print(json.dumps({\"versions\": {\"tensorflow\": \"2.21.0\", \"litert\": \"2.3.0\"}}), "
        "flush=True)\n"
        "for line in sys.stdin:\n"
        "    print(json.dumps({\"error\": \"runtime unavailable\", \"message\": "
        "\"ai_edge_litert is not installed (pip install ai-edge-litert)\"}), flush=True)\n"))
    only_litert = write_run(tmp_path / "run.csv", drop=[k for k in KEYS if k.runtime == "tf.lite"])
    code, _, err = run_cli(only_litert, only_litert, "--reference-run-dir", FIXTURES,
                           "--candidate-run-dir", FIXTURES, "--reference-python", python)
    assert code == 2
    assert err == (f"bench duel: error: the reference environment ({python}) cannot run "
                   f"ai_edge_litert: ai_edge_litert is not installed (pip install "
                   f"ai-edge-litert); install it there, or pass --reference-python the python of "
                   f"the environment that made the reference run\n")


def test_hung_worker_times_out(tmp_path: Path) -> None:
    python = fake_python(tmp_path / "python", "import time; time.sleep(60)")
    with Worker("candidate", str(python), timeout=0.5) as worker, \
            pytest.raises(WorkerError) as info:
        worker.wait_ready()
    assert str(info.value) == (
        f"candidate worker ({python} -m pipeline.measure.duel_worker) sent nothing for 0.5 s while "
        f"starting (it must import this repository's pipeline; its environment needs the "
        f"packages of requirements/tf-X.Y.txt) and is still running: nothing on stderr")


@pytest.mark.parametrize(("args", "message"), [
    (["--pairs", "12"], "12 pairs cannot be spread evenly over 4 processes per side: pass a "
                        "multiple of 8 (each process times as many AB as BA pairs)"),
    (["--processes", "1"], "1 worker process per side gives no interval over processes; pass "
                           "--processes 2 or more"),
    (["--timed-invokes", "0"], "timed invokes 0 and warm-up invokes 50 must be at least 1 and 0"),
    (["--csv", "/no/such/folder/duel.csv"],
     "--csv /no/such/folder/duel.csv: folder /no/such/folder does not exist"),
])
def test_unusable_settings(args: list[str], message: str) -> None:
    code, _, err = run_cli(RUN_CSV, RUN_CSV, *args)
    assert (code, err) == (2, f"bench duel: error: {message}\n")


def test_unreadable_results_csv(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    code, _, err = run_cli(tmp_path / "empty.csv", RUN_CSV)
    assert code == 2
    assert err.startswith(f"bench duel: error: {tmp_path}/empty.csv: empty file;")
    assert err.count("\n") == 1


def test_no_shared_latency_key(tmp_path: Path) -> None:
    reference = write_run(tmp_path / "ref.csv", drop=KEYS[:4])
    candidate = write_run(tmp_path / "cand.csv", drop=KEYS[4:], run_id="cand")
    code, _, err = run_cli(reference, candidate)
    assert (code, err) == (2, f"bench duel: error: no latency key is in both runs (reference "
                              f"{RUN_ID} has 4, candidate cand has 4); duel two runs that both "
                              f"timed latency\n")


def test_help_documents_the_exit_codes() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        duel_command(["--help"])
    text = " ".join(out.getvalue().split())
    for option in ("--reference-run-dir", "--candidate-python", "--pairs", "--timed-invokes",
                   "--format", "--csv"):
        assert option in text
    assert "0 = no key regressed; 1 = at least one key regressed; 2 = the duel could not be run" \
        in text


# --- end to end, real workers --------------------------------------------------------------------

def test_end_to_end_with_real_workers(tmp_path: Path) -> None:
    """Two real workers (this python) time both fixture models with LiteRT, one thread: a
    short A/A duel whose every row has a ratio near 1. LiteRT only, because it imports in a
    fraction of a second where TensorFlow takes seconds; the worker runs tf.lite through the
    same time_block call."""
    pytest.importorskip("ai_edge_litert")
    versions = {"tensorflow": package_version("tensorflow"), "litert": package_version("litert")}
    keys = [k for k in KEYS if k.runtime == "ai_edge_litert" and k.threads == 1]
    run = write_run(tmp_path / "run.csv", drop=[k for k in KEYS if k not in keys], **versions)
    code, out, err = run_cli(run, run, "--reference-run-dir", FIXTURES,
                             "--candidate-run-dir", FIXTURES, "--pairs", 8, "--warmup-invokes",
                             5, "--timed-invokes", 20, "--format", "json")
    assert code in (0, 1), err  # an A/A duel of 8 tiny blocks may flag by chance (< 1%)
    rows = json.loads(out)
    assert [(r["model"], r["runtime"], r["threads"]) for r in rows] == keys
    for row in rows:
        assert row["pairs"] == 8
        assert 1e-7 < row["reference_median_s"] < 1e-2
        assert row["ci_low"] <= row["ratio"] <= row["ci_high"]
        assert 0.5 < row["ratio"] < 2


def test_runs_of_two_workloads_are_not_duelled(tmp_path: Path) -> None:
    """A duel times the same models on both sides; runs of two workloads have none."""
    ds_cnn = as_schema6(COUNTED, tmp_path / "ds.csv", "ds_cnn", run_id="ds_run")
    code, _, err = run_cli(RUN_CSV, ds_cnn, "--reference-run-dir", FIXTURES,
                           "--candidate-run-dir", FIXTURES)
    assert code == 2
    assert err == (f"bench duel: error: the runs built different workloads: reference "
                   f"{RUN_ID} 'mnist_cnn', candidate ds_run 'ds_cnn'; duel two runs of one "
                   f"workload\n")
