"""The comparison gate against frozen CSVs: verdicts, exit codes and exact error lines.

Like pytest-benchmark's own tests, the gate logic is exercised on committed results files
(tests/fixtures/results, made by make_results_fixtures.py), so a change of rule or message shows
up here rather than in a TensorFlow upgrade PR.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.compare import (
    ComparisonRow,
    SelectionError,
    compare_runs,
    format_rows,
    main,
    select_run,
)
from pipeline.config import DEFAULT_CONFIG_PATH, CompareRules
from pipeline.results import read_history, read_results
from tests.test_results_reader import BAD_REASONS, FIXTURES, rewrite

BASE = FIXTURES / "base.csv"
RULES = CompareRules(accuracy_drop_max_points=0.5, size_growth_max=0.02,
                     latency_slowdown_max=1.10, latency_alpha=0.01)
PQT = "pruned_quantized_tflite"
LATENCY_KEYS = {(model, runtime, threads) for model in ("pruned_tflite", PQT)
                for runtime in ("tf.lite", "ai_edge_litert") for threads in (1, 2)}
AMD, INTEL = "AMD EPYC 7763 64-Core Processor", "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz"


Cli = Callable[..., tuple[int, str, str]]


def run_cli(*args: object) -> tuple[int, str, str]:
    """main() with its exit code, stdout and stderr; never a subprocess, so it stays fast."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """run_cli with a threshold config whose [compare] rules are RULES, so these tests keep
    their meaning when bench/thresholds.toml is retuned; the other tables are the repository's,
    so the config still passes load_config."""
    raw = tomllib.loads(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    raw["compare"] = asdict(RULES)
    config = tmp_path_factory.mktemp("config") / "thresholds.toml"
    config.write_text("\n".join(f"[{table}]\n" + "".join(f"{k} = {v!r}\n" for k, v in keys.items())
                                for table, keys in raw.items()))

    def run(*args: object) -> tuple[int, str, str]:
        return run_cli(*args, "--config", config)

    return run


def rows_of(candidate: str, **kwargs: object) -> list[ComparisonRow]:
    return compare_runs(read_results(BASE), read_results(FIXTURES / candidate), RULES, **kwargs)


def regressed(rows: list[ComparisonRow]) -> set[tuple[object, ...]]:
    return {(r.model, r.metric, r.runtime, r.threads) for r in rows if r.verdict == "regressed"}


def test_unchanged_run_passes(cli: Cli) -> None:
    code, out, err = cli(BASE, FIXTURES / "same.csv")
    assert (code, err) == (0, "")
    rows = rows_of("same.csv")
    assert len(rows) == 25
    assert {r.verdict for r in rows} == {"ok", "info"}
    assert out.splitlines()[-1] == "PASS: 16 ok, 9 info"


def test_latency_x125_fails_on_latency_rows_only(cli: Cli) -> None:
    code, out, _ = cli(BASE, FIXTURES / "latency_x125.csv")
    assert code == 1
    rows = rows_of("latency_x125.csv")
    assert regressed(rows) == {(m, "latency", rt, t) for m, rt, t in LATENCY_KEYS}
    latency = [r for r in rows if r.metric == "latency"]
    assert {r.change for r in latency} == {"x1.25"}
    assert all(r.allowed == "x1.10 and p<0.01" and r.detail.startswith("p=") for r in latency)
    assert out.splitlines()[-1] == "FAIL: 8 regressed, 8 ok, 9 info"


def test_accuracy_minus_one_point_flags_exactly_that_row(cli: Cli) -> None:
    code, _, _ = cli(BASE, FIXTURES / "accuracy_minus_1pt.csv")
    assert code == 1
    rows = rows_of("accuracy_minus_1pt.csv")
    assert regressed(rows) == {(PQT, "accuracy", None, None)}
    [row] = [r for r in rows if r.verdict == "regressed"]
    assert (row.change, row.allowed) == ("-1.00 pt", "-0.50 pt")


def test_size_plus_ten_percent_flags_exactly_that_row(cli: Cli) -> None:
    code, _, _ = cli(BASE, FIXTURES / "size_plus_10pct.csv")
    assert code == 1
    rows = rows_of("size_plus_10pct.csv")
    assert regressed(rows) == {(PQT, "zipped_bytes", None, None)}
    [row] = [r for r in rows if r.verdict == "regressed"]
    assert (row.baseline, row.candidate, row.change, row.allowed) == (8031, 8834, "+10.0%", "+2.0%")


def test_other_cpu_latency_is_not_comparable_unless_forced(cli: Cli) -> None:
    code, out, _ = cli(BASE, FIXTURES / "other_cpu.csv")
    assert code == 0
    latency = [r for r in rows_of("other_cpu.csv") if r.metric == "latency"]
    assert {r.verdict for r in latency} == {"not comparable"}
    assert {r.detail for r in latency} == {f"cpu differs: {AMD!r} vs {INTEL!r}"}
    assert out.splitlines()[-1] == "PASS: 8 ok, 8 not comparable, 9 info"

    code, _, _ = cli(BASE, FIXTURES / "other_cpu.csv", "--force-latency")
    assert code == 1
    forced = rows_of("other_cpu.csv", force_latency=True)
    assert regressed(forced) == {(m, "latency", rt, t) for m, rt, t in LATENCY_KEYS}
    assert all(r.detail.endswith(f"; forced although cpu differs: {AMD!r} vs {INTEL!r}")
               for r in forced if r.metric == "latency")


def test_improvements_are_reported_and_pass(cli: Cli) -> None:
    """The x1.25 run as baseline and the base run as candidate: everything that moved improved."""
    rows = compare_runs(read_results(FIXTURES / "latency_x125.csv"), read_results(BASE), RULES)
    assert {r.verdict for r in rows if r.metric == "latency"} == {"improved"}
    rows = compare_runs(read_results(FIXTURES / "accuracy_minus_1pt.csv"), read_results(BASE),
                        RULES)
    assert [(r.model, r.metric) for r in rows if r.verdict == "improved"] == [(PQT, "accuracy")]
    code, _, _ = cli(FIXTURES / "size_plus_10pct.csv", BASE)
    assert code == 0


@pytest.mark.parametrize(("drop", "verdict"), [(0.005, "ok"), (0.0051, "regressed")])
def test_accuracy_drop_exactly_at_the_limit_is_ok(tmp_path: Path, drop: float,
                                                  verdict: str) -> None:
    def lower(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for row in rows:
            if row["model"] == "baseline" and row["metric"] == "accuracy":
                row["value"] = repr(float(row["value"]) - drop)
        return rows

    candidate = rewrite(FIXTURES / "same.csv", tmp_path / "cand.csv", lower)
    rows = compare_runs(read_results(BASE), read_results(candidate), RULES)
    [row] = [r for r in rows if r.model == "baseline" and r.metric == "accuracy"]
    assert row.verdict == verdict


def test_latency_slowdown_without_significance_is_ok(tmp_path: Path) -> None:
    """A big median ratio from noisy, overlapping samples is not evidence: no regression."""
    def noisy(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        for row in rows:
            if row["metric"] == "latency":
                row.update(value="2e-05", rounds="4", samples="1e-05 3e-05 1.1e-05 2.9e-05")
        return rows

    base = rewrite(BASE, tmp_path / "base.csv", noisy)
    cand = rewrite(FIXTURES / "same.csv", tmp_path / "cand.csv",
                   lambda rows: [{**r, "value": "2.4e-05"} if r["metric"] == "latency" else r
                                 for r in noisy(rows)])
    latency = [r for r in compare_runs(read_results(base), read_results(cand), RULES)
               if r.metric == "latency"]
    assert {(r.change, r.verdict) for r in latency} == {("x1.20", "ok")}


def test_key_on_one_side_only_is_listed_and_does_not_fail(tmp_path: Path, cli: Cli) -> None:
    def reshape(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        kept = [r for r in rows if r["metric"] != "sparsity"]
        four_threads = next(r for r in rows if r["metric"] == "latency") | {"threads": "4"}
        return [*kept, four_threads]

    candidate = rewrite(FIXTURES / "same.csv", tmp_path / "cand.csv", reshape)
    code, out, _ = cli(BASE, candidate)
    assert code == 0
    rows = compare_runs(read_results(BASE), read_results(candidate), RULES)
    one_side = [(r.model, r.metric, r.runtime, r.threads, r.verdict, r.baseline is None,
                 r.candidate is None) for r in rows if r.verdict.endswith(" only")]
    assert one_side == [("pruned", "sparsity", None, None, "baseline only", False, True),
                        ("pruned_tflite", "latency", "tf.lite", 4, "candidate only", True, False)]
    assert out.splitlines()[-1] == "PASS: 16 ok, 8 info, 1 baseline only, 1 candidate only"


def test_rows_follow_model_then_metric_order() -> None:
    rows = rows_of("same.csv")
    assert [r.model for r in rows] == sorted(
        [r.model for r in rows],
        key=["baseline", "pruned", "pruned_tflite", PQT].index)
    assert [(r.metric, r.runtime, r.threads, r.stage) for r in rows if r.model == PQT] == [
        ("accuracy", None, None, None), ("zipped_bytes", None, None, None),
        ("latency", "ai_edge_litert", 1, None), ("latency", "ai_edge_litert", 2, None),
        ("latency", "tf.lite", 1, None), ("latency", "tf.lite", 2, None),
        ("stage_seconds", None, None, "convert"), ("stage_seconds", None, None, "evaluate"),
    ]


@pytest.mark.parametrize("name", sorted(BAD_REASONS))
def test_bad_candidate_exits_2_with_one_line(name: str, cli: Cli) -> None:
    code, out, err = cli(BASE, FIXTURES / name)
    assert (code, out) == (2, "")
    assert err == f"pipeline.compare: error: {FIXTURES / name}: {BAD_REASONS[name]}\n"


@pytest.mark.parametrize("name", ["bad_empty.csv", "bad_schema_v99.csv"])
def test_bad_baseline_file_exits_2_with_one_line(name: str, cli: Cli) -> None:
    code, _, err = cli(FIXTURES / name, FIXTURES / "same.csv")
    assert code == 2
    assert err == f"pipeline.compare: error: {FIXTURES / name}: {BAD_REASONS[name]}\n"


def test_history_folder_with_one_bad_file_exits_2_naming_it(tmp_path: Path, cli: Cli) -> None:
    for name in ("base.csv", "tf_2_19.csv", "bad_duplicate_rows.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    code, out, err = cli(tmp_path, FIXTURES / "same.csv")
    assert (code, out) == (2, "")
    assert err == (f"pipeline.compare: error: {tmp_path / 'bad_duplicate_rows.csv'}: "
                   f"{BAD_REASONS['bad_duplicate_rows.csv']}\n")


def test_empty_history_folder_exits_2(tmp_path: Path, cli: Cli) -> None:
    code, _, err = cli(tmp_path, FIXTURES / "same.csv")
    assert code == 2
    assert err == (f"pipeline.compare: error: {tmp_path}: no *.csv results files in this folder; "
                   f"run `pytest bench` first or pass the folder that holds them\n")


def test_candidate_inside_the_history_folder_is_never_its_own_baseline(tmp_path: Path,
                                                                       cli: Cli) -> None:
    """`pytest bench` writes the new run into results/: the gate must still compare it with the
    previous run, not with itself (which would always pass)."""
    for name in ("base.csv", "latency_x125.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    code, out, _ = cli(tmp_path, tmp_path / "latency_x125.csv")
    assert code == 1
    assert out.splitlines()[0].startswith("baseline 20250601T120000Z-3f2a9c1 ")

    code, _, err = cli(FIXTURES / "same.csv", FIXTURES / "same.csv")
    assert code == 2
    assert err == (f"pipeline.compare: error: {FIXTURES / 'same.csv'}: holds only the "
                   f"candidate's own run '20250608T120000Z-a1b2c3d'; pass a history with an "
                   f"earlier run as BASELINE\n")


@pytest.fixture
def two_tf_history(tmp_path: Path) -> Path:
    for name in ("base.csv", "tf_2_19.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def test_tf_selector_picks_the_latest_run_of_that_version(two_tf_history: Path,
                                                          cli: Cli) -> None:
    header = ("baseline {} (tensorflow {}, cpu AMD EPYC 7763 64-Core Processor) vs candidate "
              "20250608T120000Z-a1b2c3d (tensorflow 2.20.0, cpu AMD EPYC 7763 64-Core Processor)")
    _, out, _ = cli(two_tf_history, FIXTURES / "same.csv")
    assert out.splitlines()[0] == header.format("20250601T120000Z-3f2a9c1", "2.20.0")
    code, out, _ = cli(two_tf_history, FIXTURES / "same.csv", "--tf", "2.19.0")
    assert code == 0
    assert out.splitlines()[0] == header.format("20250520T120000Z-9f8e7d6", "2.19.0")
    _, out, _ = cli(two_tf_history, FIXTURES / "same.csv",
                        "--run-id", "20250520T120000Z-9f8e7d6")
    assert out.splitlines()[0] == header.format("20250520T120000Z-9f8e7d6", "2.19.0")


def test_unknown_selector_exits_2_listing_what_is_available(two_tf_history: Path,
                                                            cli: Cli) -> None:
    code, out, err = cli(two_tf_history, FIXTURES / "same.csv", "--tf", "2.18.0")
    assert (code, out) == (2, "")
    assert err == (f"pipeline.compare: error: {two_tf_history}: no run with tensorflow '2.18.0'; "
                   f"available: 2.19.0 (1 run), 2.20.0 (1 run)\n")
    code, _, err = cli(two_tf_history, FIXTURES / "same.csv", "--run-id", "nope")
    assert code == 2
    assert err == (f"pipeline.compare: error: {two_tf_history}: no run with run_id 'nope'; "
                   f"available run ids (newest first): 20250601T120000Z-3f2a9c1, "
                   f"20250520T120000Z-9f8e7d6\n")


def test_select_run_orders_versions_numerically_and_takes_the_latest() -> None:
    history = read_history([FIXTURES / "base.csv", FIXTURES / "same.csv",
                            FIXTURES / "tf_2_19.csv"])
    assert select_run(history)["run_id"].iloc[0] == "20250608T120000Z-a1b2c3d"
    assert select_run(history, tf="2.20.0")["run_id"].iloc[0] == "20250608T120000Z-a1b2c3d"
    with pytest.raises(SelectionError, match=r"^no run with tensorflow '2\.9\.0'; available: "
                                             r"2\.19\.0 \(1 run\), 2\.20\.0 \(2 runs\)$"):
        select_run(history, tf="2.9.0")


def test_default_config_is_the_repository_thresholds() -> None:
    code, out, err = run_cli(BASE, FIXTURES / "same.csv")
    assert (code, err) == (0, "")
    assert out.splitlines()[-1].startswith("PASS: ")


def test_config_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    code, _, err = run_cli(BASE, FIXTURES / "same.csv", "--config", missing)
    assert code == 2
    assert err == (f"pipeline.compare: error: {missing}: threshold config not found; pass "
                   f"--thresholds PATH or restore bench/thresholds.toml.\n")
    code, _, err = run_cli(BASE, FIXTURES / "same.csv", "--config", tmp_path)
    assert code == 2
    assert err.startswith(f"pipeline.compare: error: {tmp_path}: ") and err.count("\n") == 1


def test_usage_errors_exit_2_and_help_explains_exit_codes(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([str(BASE)])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exit codes: 0 = nothing regressed" in help_text
    assert "1 = at least one row regressed" in help_text
    assert "2 = an input could not be used" in help_text


def test_markdown_is_a_github_table_with_one_line_per_row(cli: Cli) -> None:
    code, out, _ = cli(BASE, FIXTURES / "accuracy_minus_1pt.csv", "--format", "markdown")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("**Baseline** `20250601T120000Z-3f2a9c1` (tensorflow 2.20.0")
    table = [line for line in lines if line.startswith("|")]
    assert table[0] == ("| model | metric | runtime | threads | stage | baseline | candidate | "
                        "change | allowed | verdict | detail |")
    assert table[1] == "|---|---|---|---:|---|---:|---:|---:|---|---|---|"
    assert len(table) == 2 + 25
    assert all(line.count(" | ") == 10 for line in table[2:])
    assert ("| pruned_quantized_tflite | accuracy |  |  |  | 0.9733 | 0.9633 | -1.00 pt | "
            "-0.50 pt | **regressed** |  |") in table
    assert lines[-1] == "**FAIL: 1 regressed, 15 ok, 9 info**"


def test_json_is_rows_plus_summary(cli: Cli) -> None:
    code, out, _ = cli(BASE, FIXTURES / "latency_x125.csv", "--format", "json")
    assert code == 1
    document = json.loads(out)
    assert document["runs"]["candidate"]["run_id"] == "20250609T120000Z-b2c3d4e"
    assert len(document["rows"]) == 25
    assert set(document["rows"][0]) == {"model", "runtime", "threads", "metric", "stage",
                                        "baseline", "candidate", "change", "allowed", "verdict",
                                        "detail"}
    assert document["summary"] == {
        "counts": {"regressed": 8, "improved": 0, "ok": 8, "not comparable": 0, "info": 9,
                   "baseline only": 0, "candidate only": 0},
        "passed": False, "exit_code": 1,
    }
    first = document["rows"][0]
    assert (first["model"], first["metric"], first["runtime"], first["baseline"]) == (
        "baseline", "accuracy", None, 0.9806)


def test_format_rows_without_header() -> None:
    rows = rows_of("same.csv")
    assert format_rows(rows, "text").splitlines()[0].split() == [
        "model", "metric", "runtime", "threads", "stage", "baseline", "candidate", "change",
        "allowed", "verdict", "detail"]
    assert "runs" not in json.loads(format_rows(rows, "json"))


# ---------------------------------------------------------------------------------------------
# Whatever the candidate file holds, the CLI answers 0, 1 or 2 and never raises.
# ---------------------------------------------------------------------------------------------

_BASE_TEXT = BASE.read_text()


@st.composite
def mutated_results(draw: st.DrawFn) -> bytes:
    """A valid file with one slice replaced: reaches the checks behind the header."""
    start = draw(st.integers(0, len(_BASE_TEXT)))
    end = draw(st.integers(start, min(len(_BASE_TEXT), start + 200)))
    return (_BASE_TEXT[:start] + draw(st.text(max_size=20)) + _BASE_TEXT[end:]).encode(
        "utf-8", "surrogatepass")


CANDIDATE_BYTES = (st.binary(max_size=300) | st.text(max_size=300).map(
    lambda t: t.encode("utf-8", "surrogatepass")) | mutated_results())
EXTRA_ARGS = st.sampled_from([(), ("--format", "json"), ("--format", "markdown"),
                              ("--force-latency",), ("--format", "xml")])


@settings(max_examples=50, deadline=None)
@given(data=CANDIDATE_BYTES, extra=EXTRA_ARGS)
def test_any_candidate_bytes_give_an_exit_code_never_an_exception(
        tmp_path_factory: pytest.TempPathFactory, data: bytes, extra: tuple[str, ...]) -> None:
    candidate = tmp_path_factory.mktemp("fuzz") / "candidate.csv"
    candidate.write_bytes(data)
    baseline = FIXTURES / "same.csv"
    try:
        code, _, err = run_cli(baseline, candidate, *extra)
    except SystemExit as exc:  # argparse refuses --format xml before reading anything
        assert exc.code == 2 and extra == ("--format", "xml")
        return
    assert code in (0, 1, 2)
    if code == 2:  # names the candidate, or the baseline when the mutated file is that very run
        assert err.startswith((f"pipeline.compare: error: {candidate}: ",
                               f"pipeline.compare: error: {baseline}: "))
        assert err.count("\n") == 1
