"""The gate fails closed: every way a candidate could wrongly pass, tried on real runs.

Each fixture under tests/fixtures/runs/ is a copy of a real `pytest bench` results CSV (made on
the 2-core development machine, seed 0, full MNIST): two complete TF 2.21.0 runs (a, b), a
partial 2.21.0 run (`-k baseline`), complete 2.20.0 and 2.15.1 runs, and a schema-1 2.21.0 run
from the old history. A test that needs a broken or relabelled candidate copies one of them and
changes only what the case is about, like a user who edits a file or runs the suite elsewhere.
Exit codes and whole messages are asserted, as pytest-benchmark's own tests do.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.commands.compare import main
from pipeline.config import DEFAULT_CONFIG_PATH, load_config
from pipeline.judge.compare import (
    ReferenceQuery,
    compare_runs,
    not_selected,
    select_reference,
)
from pipeline.results import measurements_of, read_history, read_results, run_of
from tests.helpers import (
    DEFAULT_FOUR,
    ERROR,
    PQT,
    RUNS,
    TF220,
    A,
    B,
    Rows,
    edited,
    field,
    history,
    last_line,
    relabelled,
    run_cli,
    run_id,
    verdicts,
    with_columns,
)

PARTIAL, SCHEMA1 = RUNS / "tf2.21.0_partial.csv", RUNS / "tf2.21.0_schema1.csv"
TF215 = RUNS / "tf2.15.1.csv"


def with_verdict(table: dict[tuple[object, ...], str], verdict: str) -> set[tuple[object, ...]]:
    return {key for key, v in table.items() if v == verdict}


# --- the cases that used to pass -------------------------------------------------------------

def test_candidate_missing_a_model_fails_with_every_missing_row(tmp_path: Path) -> None:
    """Was `PASS: 10 ok, 7 info, 8 baseline only`: a dropped model passed the gate."""
    candidate = edited(B, tmp_path / "cand.csv", lambda rows: [r for r in rows
                                                               if r["model"] != PQT])
    code, out, err = run_cli(A, candidate)
    assert (code, err) == (1, "")
    assert with_verdict(verdicts(A, candidate), "missing") == {
        (PQT, "accuracy", None, None, None), (PQT, "zipped_bytes", None, None, None),
        (PQT, "latency", "ai_edge_litert", 1, None), (PQT, "latency", "tf.lite", 1, None)}
    # Stage times and 2-thread latency are not gated: absent, they are listed, not failed.
    assert last_line(out) == "FAIL: 4 missing, 9 ok, 8 info, 4 reference only"
    lines = out.splitlines()
    table = next(i for i, line in enumerate(lines) if line.startswith("model  "))
    assert lines[table + 1].split()[:2] == ["baseline", "accuracy"]
    [missing_line] = [line for line in out.splitlines() if line.startswith(f"{PQT}  accuracy")]
    assert missing_line.split()[-10:] == ["missing", "measured", "in", "the", "reference", "run,",
                                          "absent", "from", "the", "candidate"]


def with_selection(src: Path, dst: Path, variants: str,
                   edit: Callable[[Rows], Rows] = lambda rows: rows) -> Path:
    """A copy of a real schema-2 run as schema 3 would write it, selecting `variants`."""
    return with_columns(src, dst, {"schema_version": "3", "variants": variants,
                                   "source_run_id": ""}, edit)


def also_int8(rows: Rows) -> Rows:
    """The run's rows plus an int8_tflite model (copies of the quantized model's rows)."""
    return rows + [{**r, "model": "int8_tflite"} for r in rows if r["model"] == PQT]


def test_a_model_the_candidate_did_not_select_is_left_out_and_named(tmp_path: Path) -> None:
    """Plain `pytest bench` against an all-variants reference run: the variants it did not
    select are not compared (and said so), not "missing"."""
    reference = with_selection(A, tmp_path / "ref.csv", DEFAULT_FOUR + " int8_tflite", also_int8)
    candidate = with_selection(B, tmp_path / "cand.csv", DEFAULT_FOUR)
    code, out, err = run_cli(reference, candidate)
    assert (code, err) == (0, ""), out
    assert ("not selected by the candidate, not compared: int8_tflite (run it with --variants "
            "to gate them)") in out.splitlines()
    assert not any(line.startswith("int8_tflite") for line in out.splitlines())


def test_a_selected_model_without_rows_is_missing(tmp_path: Path) -> None:
    """Selected but not measured fails closed, like any missing measurement."""
    reference = with_selection(A, tmp_path / "ref.csv", DEFAULT_FOUR + " int8_tflite", also_int8)
    candidate = with_selection(B, tmp_path / "cand.csv", DEFAULT_FOUR + " int8_tflite")
    code, out, _ = run_cli(reference, candidate)
    assert code == 1
    assert ("int8_tflite", "accuracy", None, None, None) in with_verdict(
        verdicts(reference, candidate), "missing")
    assert "not selected" not in out


def test_a_run_made_here_that_selected_nothing_leaves_nothing_out() -> None:
    """An empty selection says nothing about what was selected (as an unknown one): every
    model of the reference run is compared, and one the candidate lacks is missing."""
    reference, read = read_results(A), read_results(B)
    candidate = run_of(replace(read.info, variants=()), list(measurements_of(
        read.rows[read.rows["model"] != PQT])))
    rows = compare_runs(reference, candidate, load_config(DEFAULT_CONFIG_PATH).compare)
    assert not not_selected(reference, candidate)
    found = {row.verdict for row in rows if row.model == PQT}
    assert "missing" in found and found <= {"missing", "reference only"}  # info: stage times


@pytest.mark.parametrize(("column", "value"), [
    ("seed", "7"),
    ("dataset_sha256", "0d1c5bf1d2b5c4d8a6b3b1f7f0a2c1e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3"),
    ("recipe_sha256", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
], ids=["seed", "dataset", "recipe"])
def test_runs_of_another_seed_dataset_or_recipe_are_refused(tmp_path: Path, column: str,
                                                            value: str) -> None:
    """Was `PASS: 16 ok, 9 info` for seed 7, and `FAIL: 4 regressed` without a word for
    Fashion-MNIST: now exit 2 naming the field and both values."""
    candidate = relabelled(B, tmp_path / "cand.csv", **{column: value})
    code, out, err = run_cli(A, candidate)
    assert (code, out) == (2, "")
    ref_value = field(A, column)
    shown = (lambda v: v) if column == "seed" else repr
    assert err == (f"{ERROR}cannot compare: runs differ in {column}: reference run {run_id(A)} "
                   f"has {shown(ref_value)}, candidate run {run_id(candidate)} has "
                   f"{shown(value)}; compare runs of the same workload, dataset, seed and "
                   f"recipe (choose another reference run with --tf or --run-id, or re-run one "
                   f"side)\n")


def test_partial_run_is_never_the_reference_so_a_slow_candidate_fails(tmp_path: Path) -> None:
    """Was `2 ok, 2 info, 21 candidate only`: the `-k baseline` session, being the latest run,
    became the reference and a 2x slower candidate passed."""
    slow = edited(B, tmp_path / "slow.csv", lambda rows: [
        {**r, "value": repr(2 * float(r["value"])),
         "samples": " ".join(repr(2 * float(s)) for s in r["samples"].split())}
        if r["metric"] == "latency" else r for r in rows])
    folder = history(tmp_path, A, PARTIAL)
    code, out, _ = run_cli(folder, slow, "--tf", "2.21.0")
    assert code == 1
    assert out.splitlines()[0].startswith(f"reference run {run_id(A)} ")
    assert out.splitlines()[0].endswith(
        ": the latest complete run of tensorflow 2.21.0 written before the candidate (1 partial "
        "run never chosen)")
    assert with_verdict(verdicts(folder, slow, "--tf", "2.21.0"), "regressed") == {
        (m, "latency", rt, 1, None) for m in ("pruned_tflite", PQT)
        for rt in ("tf.lite", "ai_edge_litert")}


def test_partial_run_named_explicitly_is_refused(tmp_path: Path) -> None:
    code, _, err = run_cli(history(tmp_path, A, PARTIAL), B, "--run-id", run_id(PARTIAL))
    assert code == 2
    assert err == (f"{ERROR}{tmp_path / 'history'}: run {run_id(PARTIAL)!r} is partial "
                   f"({field(PARTIAL, 'incomplete_reason')}) and cannot be a reference run; "
                   f"name a complete run\n")
    assert field(PARTIAL, "incomplete_reason") == "-k 'baseline'; 16 test(s) deselected"


def test_other_machine_is_inconclusive_not_pass(tmp_path: Path) -> None:
    """Was exit 0 with every latency row `not comparable`."""
    xeon = "Intel(R) Xeon(R) CPU @ 2.20GHz (GenuineIntel family 6 model 85 stepping 7)"
    candidate = relabelled(B, tmp_path / "cand.csv", cpu=xeon)
    code, out, _ = run_cli(A, candidate)
    assert code == 3
    reason = f"machines differ: cpu {field(A, 'cpu')!r} vs {xeon!r}"
    assert last_line(out) == (f"INCONCLUSIVE: latency not compared ({reason}); 9 ok, "
                              f"4 not compared, 12 info")
    not_compared = [line for line in out.splitlines()[:-1] if " not compared " in line]
    assert len(not_compared) == 4 and all(line.endswith(reason) for line in not_compared)


def test_skip_latency_is_the_explicit_way_to_pass_across_machines(tmp_path: Path) -> None:
    candidate = relabelled(B, tmp_path / "cand.csv", cpu_count="4")
    code, out, _ = run_cli(A, candidate)
    assert code == 3
    assert "(machines differ: cpu_count 2 vs 4)" in last_line(out)
    code, out, _ = run_cli(A, candidate, "--skip-latency")
    assert code == 0
    assert last_line(out) == ("PASS: 9 ok, 4 not gated, 12 info; latency not gated, by request "
                              "(--skip-latency)")


@pytest.mark.parametrize(("platform", "compared"), [
    ("Linux-6.18.45-fc-v700-x86_64", True),   # a kernel patch release: same machine kind
    ("Linux-6.19.1-fc-v700-x86_64", False),   # another minor version
    ("Linux-6.18.44-fc-v595-aarch64", False),  # another architecture
])
def test_platform_is_compared_by_os_architecture_and_kernel_minor(
        tmp_path: Path, platform: str, compared: bool) -> None:
    assert field(A, "platform").startswith("Linux-6.18.")
    candidate = relabelled(B, tmp_path / "cand.csv", platform=platform)
    code, out, _ = run_cli(A, candidate)
    assert (code in (0, 1)) == compared
    if not compared:
        assert "machines differ: platform 'Linux 6.18 x86_64' vs 'Linux 6." in last_line(out) \
            or "vs 'Linux 6.18 aarch64'" in last_line(out)


def test_other_latency_settings_are_not_compared(tmp_path: Path) -> None:
    """Was silent: another `iterations` changed what "latency" means."""
    candidate = relabelled(B, tmp_path / "cand.csv", latency_timed_invokes="100")
    code, out, _ = run_cli(A, candidate)
    assert code == 3
    assert ("INCONCLUSIVE: latency not compared (latency settings differ: "
            f"latency_timed_invokes {field(A, 'latency_timed_invokes')} vs 100)") in out


def test_default_reference_is_never_newer_than_the_candidate(tmp_path: Path) -> None:
    """Was: candidate 205528 got reference 212023 (a later run)."""
    folder = history(tmp_path, TF215, TF220, A, B)
    code, out, _ = run_cli(folder, folder / A.name)
    assert code in (0, 1)
    assert out.splitlines()[0] == (
        f"reference run {run_id(TF220)} (tensorflow 2.20.0, cpu {field(TF220, 'cpu')}): the "
        f"latest complete run of the newest TensorFlow below the candidate's 2.21.0 (2.20.0), "
        f"written before the candidate; 1 complete run not written before the candidate left out")
    code, _, err = run_cli(folder, folder / A.name, "--tf", "2.21.0")
    assert code == 2
    assert err == (f"{ERROR}{folder}: no complete run of tensorflow '2.21.0' written before the "
                   f"candidate; 1 complete run not written before the candidate left out; complete "
                   f"runs: 2.15.1 (1 run), 2.20.0 (1 run)\n")


def test_no_older_version_gives_a_selection_error_naming_tf(tmp_path: Path) -> None:
    code, _, err = run_cli(history(tmp_path, A, SCHEMA1), B)
    assert code == 2
    assert err == (f"{ERROR}{tmp_path / 'history'}: no complete run of a TensorFlow version "
                   f"below the candidate's 2.21.0 written before it (1 schema-1 run, whose "
                   f"completeness is unknown, never chosen); complete runs: 2.21.0 (1 run) (pass "
                   f"--tf VERSION to compare with a run of that version)\n")


def test_compare_piped_into_head_exits_cleanly() -> None:
    """Was a BrokenPipeError traceback."""
    done = subprocess.run(f"{sys.executable} -m pipeline compare {A} {B} | head -1",
                          shell=True, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parent.parent)
    assert done.stderr == ""
    assert done.stdout == (f"reference run {run_id(A)} (tensorflow 2.21.0, cpu {field(A, 'cpu')}"
                           f"): the run named as the reference\n")


# --- what the gate does with runs that may be compared ---------------------------------------

def test_same_code_same_machine_passes() -> None:
    code, out, err = run_cli(A, B)
    assert (code, err) == (0, "")
    rows = compare_runs(read_results(A), read_results(B), load_config().compare)
    assert {r.verdict for r in rows if r.metric != "latency"} == {"ok", "info"}
    assert {r.verdict for r in rows if r.metric == "latency" and r.threads == 2} == {"info"}
    assert last_line(out).startswith("PASS: ")


def test_tf_2_15_to_2_21_finds_the_grown_quantized_model() -> None:
    """The history's one real regression: the pruned+quantized .tflite grew 5.7% after 2.15."""
    code, out, _ = run_cli(RUNS, B, "--tf", "2.15.1")
    assert code == 1
    [row] = [line.split() for line in out.splitlines() if line.endswith(" regressed")]
    assert row == [PQT, "zipped_bytes", "8,169", "8,636", "+5.7%", "+2.0%", "regressed"]


def test_tf_2_20_to_2_21_is_the_default_and_passes_on_accuracy_size_sparsity() -> None:
    code, out, _ = run_cli(RUNS, B, "--skip-latency")
    assert code == 0
    assert f"reference run {run_id(TF220)} " in out.splitlines()[0]


def toml_text(raw: dict[str, dict[str, object]]) -> str:
    """TOML for a config as tomllib read it: tables of numbers, and [variants.NAME] tables."""
    lines = []
    for table, keys in raw.items():
        nested = {k: v for k, v in keys.items() if isinstance(v, dict)}
        lines.append(f"[{table}]")
        lines += [f"{k} = {v!r}" for k, v in keys.items() if k not in nested]
        for name, values in nested.items():
            lines.append(f"[{table}.{name}]")
            lines += [f"{k} = {v!r}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def test_zero_tolerances_still_pass_identical_runs(tmp_path: Path) -> None:
    """What CI relies on: a same-recipe rerun is identical in accuracy, size and sparsity, so
    even zero tolerances pass, while any move fails."""
    raw = tomllib.loads(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["compare"].update(accuracy_drop_max_points=0, size_growth_max=0,
                          sparsity_drop_max_points=0)
    config = tmp_path / "zero.toml"
    config.write_text(toml_text(raw))
    code, out, _ = run_cli(A, B, "--skip-latency", "--config", config)
    assert code == 0, out
    bigger = edited(B, tmp_path / "bigger.csv", lambda rows: [
        {**r, "value": repr(float(r["value"]) + 1)}
        if (r["model"], r["metric"]) == ("pruned", "zipped_bytes") else r for r in rows])
    code, out, _ = run_cli(A, bigger, "--skip-latency", "--config", config)
    assert code == 1
    assert with_verdict(verdicts(A, bigger, "--skip-latency", "--config", config),
                        "regressed") == {("pruned", "zipped_bytes", None, None, None)}


@pytest.mark.parametrize(("metric", "delta", "verdict"), [
    ("accuracy", -0.005, "ok"), ("accuracy", -0.0051, "regressed"),
    ("sparsity", -0.005, "ok"), ("sparsity", -0.0051, "regressed"),
    ("sparsity", +0.0051, "improved"),
])
def test_points_rules_at_their_limits(tmp_path: Path, metric: str, delta: float,
                                      verdict: str) -> None:
    model = "pruned"
    candidate = edited(B, tmp_path / "cand.csv", lambda rows: [
        {**r, "value": repr(float(r["value"]) + delta)}
        if (r["model"], r["metric"]) == (model, metric) else r for r in rows])
    rows = compare_runs(read_results(A), read_results(candidate), load_config().compare)
    [row] = [r for r in rows if (r.model, r.metric) == (model, metric)]
    assert row.verdict == verdict


def test_threshold_config_and_dirty_code_are_warnings_in_every_format(tmp_path: Path) -> None:
    candidate = relabelled(B, tmp_path / "cand.csv", config_sha256="0" * 64, git_dirty="True")
    config_warning = (f"the runs were made with different threshold configs (config_sha256 "
                      f"{field(A, 'config_sha256')[:12]} vs 000000000000)")
    dirty_warning = (f"the candidate run {run_id(candidate)} was made from uncommitted changes "
                     f"(git_dirty); its git_commit {field(B, 'git_commit')[:12]} does not say "
                     f"exactly what ran")
    # Schema-2 runs do not record whether another benchmark shared the machine: said where
    # their latency is compared.
    sharing_warning = (f"the reference run {run_id(A)} (schema 2) and the candidate run "
                       f"{run_id(candidate)} (schema 2) do not record whether another benchmark "
                       f"shared the machine; latency is compared as if each ran alone")
    code, out, _ = run_cli(A, candidate)
    assert code == 0
    assert out.splitlines()[2:5] == [f"warning: {config_warning}", f"warning: {dirty_warning}",
                                     f"warning: {sharing_warning}"]
    _, out, _ = run_cli(A, candidate, "--format", "markdown")
    assert f"> **warning:** {config_warning}" in out.splitlines()
    _, out, _ = run_cli(A, candidate, "--format", "json")
    document = json.loads(out)
    assert document["warnings"] == [config_warning, dirty_warning, sharing_warning]
    _, out, _ = run_cli(A, candidate, "--skip-latency")
    assert f"warning: {sharing_warning}" not in out.splitlines()


def test_json_names_the_reference_run_and_the_outcome() -> None:
    code, out, _ = run_cli(A, B, "--format", "json")
    document = json.loads(out)
    assert document["runs"]["reference"]["run_id"] == run_id(A)
    assert document["runs"]["candidate"]["run_id"] == run_id(B)
    assert document["reference_choice"] == "the run named as the reference"
    assert set(document["rows"][0]) == {"model", "runtime", "threads", "metric", "stage",
                                        "reference", "candidate", "change", "allowed", "verdict",
                                        "detail"}
    assert document["summary"]["exit_code"] == code == 0
    assert document["summary"]["verdict"] == "PASS"


def test_counts_of_a_million_and_more_are_shown_whole() -> None:
    from pipeline.judge.compare.report import shown_value

    assert shown_value("instructions_allocate", 2524900.0) == "2524900"
    assert shown_value("instructions_per_invoke", 172031.0) == "172031"
    assert shown_value("distinct_weights", 16.0) == "16"


def test_markdown_is_a_github_table_with_one_line_per_row() -> None:
    _, out, _ = run_cli(A, B, "--format", "markdown")
    table = [line for line in out.splitlines() if line.startswith("|")]
    assert table[0] == ("| model | metric | runtime | threads | stage | reference | candidate | "
                        "change | allowed | verdict | detail |")
    assert len(table) == 2 + len(read_results(B).rows)
    assert out.splitlines()[0].startswith(f"reference run {run_id(A)} ")
    assert last_line(out).startswith("**PASS: ")


def test_schema1_runs_are_read_but_never_chosen_nor_compared(tmp_path: Path) -> None:
    code, _, err = run_cli(history(tmp_path, SCHEMA1), B, "--run-id", run_id(SCHEMA1))
    assert code == 2
    assert err == (f"{ERROR}{tmp_path / 'history'}: run {run_id(SCHEMA1)!r} is a schema-1 run, "
                   f"whose completeness is unknown, and cannot be a reference run; name a "
                   f"complete run\n")


def test_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    for line in ("  0  PASS: ", "  1  FAIL: ", "  2  an input cannot be used", "  3  INCONCLUSIVE"):
        assert line in text


def test_candidate_is_never_its_own_reference(tmp_path: Path) -> None:
    folder = history(tmp_path, B)
    code, _, err = run_cli(folder, folder / B.name, "--tf", "2.21.0")
    assert code == 2
    assert err == (f"{ERROR}{folder}: no *.csv results files in this folder; run `pytest bench` "
                   f"first or pass the folder that holds them\n")
    code, _, err = run_cli(B, B)
    assert code == 2
    assert err == (f"{ERROR}{B}: holds only the candidate's own run {run_id(B)!r}; pass a "
                   f"history with an earlier run as REFERENCE\n")


def test_select_reference_orders_versions_numerically_and_skips_partial_runs() -> None:
    runs = read_history([TF215, TF220, A, B, PARTIAL])
    choice = select_reference(runs, ReferenceQuery(candidate_tf="2.21.0",
                                                   before=read_results(B).info.time))
    assert choice.run.run_id == run_id(TF220)
    # 2.100 sorts after 2.21 (not as a string); the partial run is newer but never chosen.
    choice = select_reference(runs, ReferenceQuery(candidate_tf="2.100.0"))
    assert choice.run.run_id == run_id(B)
    assert choice.reason.endswith("(1 partial run never chosen)")


def test_config_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    code, _, err = run_cli(A, B, "--config", missing)
    assert code == 2
    assert err == (f"{ERROR}{missing}: threshold config not found; pass --thresholds PATH or "
                   f"restore bench/thresholds.toml.\n")


def test_history_folder_with_one_bad_file_exits_2_naming_it(tmp_path: Path) -> None:
    folder = history(tmp_path, TF220, A)
    (folder / "cut.csv").write_text(A.read_text()[:5000])
    code, out, err = run_cli(folder, B)
    assert (code, out) == (2, "")
    assert err.startswith(f"{ERROR}{folder / 'cut.csv'}: ") and err.count("\n") == 1


# --- whatever the candidate file holds, the CLI answers 0-3 and never raises ---------------

_REAL_TEXT = B.read_text()


@st.composite
def mutated_run(draw: st.DrawFn) -> bytes:
    """A real run with one slice replaced: reaches the checks behind the header."""
    start = draw(st.integers(0, len(_REAL_TEXT)))
    end = draw(st.integers(start, min(len(_REAL_TEXT), start + 200)))
    return (_REAL_TEXT[:start] + draw(st.text(max_size=20)) + _REAL_TEXT[end:]).encode(
        "utf-8", "surrogatepass")


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300) | mutated_run(),
       extra=st.sampled_from([(), ("--format", "json"), ("--skip-latency",),
                              ("--format", "markdown")]))
def test_any_candidate_bytes_give_an_exit_code_never_an_exception(
        tmp_path_factory: pytest.TempPathFactory, data: bytes, extra: tuple[str, ...]) -> None:
    candidate = tmp_path_factory.mktemp("fuzz") / "candidate.csv"
    candidate.write_bytes(data)
    code, _, err = run_cli(A, candidate, *extra)
    assert code in (0, 1, 2, 3)
    if code == 2:
        assert err.startswith(ERROR) and err.count("\n") == 1


def with_memory(rows: Rows, growth: float, metric: str = "heap_growth_bytes",
                base: float = 360_000) -> Rows:
    """The run plus a `metric` row per TFLite model on tf.lite, `base` B x growth (about the
    heap growth pipeline.measure.footprint measures here)."""
    template = next(r for r in rows if r["metric"] == "latency" and r["threads"] == "1")
    return rows + [{**template, "model": model, "metric": metric,
                    "value": str(base * growth), "unit": "bytes", "samples": "",
                    "rounds": "", "min": "", "median": "", "mean": "", "stddev": "", "iqr": ""}
                   for model in ("pruned_tflite", PQT)]


@pytest.mark.parametrize(("growth", "args", "verdict"), [
    (1.049, (), "ok"),
    (1.06, (), "regressed"),
    (1.06, ("--skip-latency",), "not gated"),
])
def test_heap_growth_is_gated_like_a_size_on_one_machine(tmp_path: Path, growth: float,
                                                         args: tuple[str, ...],
                                                         verdict: str) -> None:
    reference = edited(A, tmp_path / "ref.csv", lambda rows: with_memory(rows, 1.0))
    candidate = edited(B, tmp_path / "cand.csv", lambda rows: with_memory(rows, growth))
    limit = load_config().compare.memory_growth_max
    assert 1.049 <= 1 + limit < 1.06, "the cases sit around memory_growth_max"
    code, out, _ = run_cli(reference, candidate, *args)
    rows = [line.split() for line in out.splitlines() if "heap_growth_bytes" in line]
    assert len(rows) == 2 and all(verdict in " ".join(row) for row in rows), out
    assert code == (1 if verdict == "regressed" else 0)


def test_peak_resident_set_growth_is_info(tmp_path: Path) -> None:
    """Mostly shared-library pages: +80% between two checkouts of the same code, never gated."""
    def peak(growth: float) -> Callable[[Rows], Rows]:
        return lambda rows: with_memory(rows, growth, "peak_rss_growth_bytes", 7_000_000)
    reference = edited(A, tmp_path / "ref.csv", peak(1.0))
    candidate = edited(B, tmp_path / "cand.csv", peak(1.8))
    code, out, _ = run_cli(reference, candidate)
    rows = [line for line in out.splitlines() if "peak_rss_growth_bytes" in line]
    assert len(rows) == 2 and all(re.search(r"12,600,000\s+\+80\.0%\s+info", row)
                                  for row in rows), out
    assert code == 0


def test_heap_growth_across_machines_is_not_compared(tmp_path: Path) -> None:
    reference = edited(A, tmp_path / "ref.csv", lambda rows: with_memory(rows, 1.0))
    candidate = edited(B, tmp_path / "cand.csv", lambda rows: [
        {**r, "cpu": "Intel Xeon (GenuineIntel family 6 model 85 stepping 7)"}
        for r in with_memory(rows, 1.5)])
    code, out, _ = run_cli(reference, candidate)
    assert code == 3
    memory = [line for line in out.splitlines() if "heap_growth_bytes" in line]
    assert len(memory) == 2 and all("not compared" in line for line in memory)


def test_a_duel_or_spread_csv_in_the_history_is_passed_over_with_a_note(tmp_path: Path) -> None:
    """Was: exit 2 listing 37 missing columns, for a duel CSV written "beside the runs"."""
    folder = history(tmp_path, A)
    duel = folder / "duel.csv"
    duel.write_text("model,runtime,threads,verdict,pairs,reference_median_s,candidate_median_s,"
                    "ratio,ci_low,ci_high,reference_run_id,candidate_run_id,"
                    "reference_tensorflow,candidate_tensorflow\n"
                    "pruned_tflite,tf.lite,1,ok,60,7e-06,7e-06,1.0,0.99,1.01,a,b,2.20.0,2.21.0\n")
    spread = folder / "spread.csv"
    spread.write_text("seed,baseline.accuracy,pruned.sparsity_Dense\n0,0.9795,0.8\n")
    code, out, err = run_cli(folder, B, "--tf", "2.21.0")
    assert code == 0, out
    assert err == (f"{ERROR.replace('error: ', '')}note: {duel}: a bench duel CSV (per-key "
                   f"ratios of two runs), not a run; passed over (keep such files in "
                   f"results/duels/)\n"
                   f"{ERROR.replace('error: ', '')}note: {spread}: a bench spread CSV "
                   f"(figures per seed), not a run; passed over (keep such files in "
                   f"results/spread/)\n")
