"""A TensorFlow without tf.lite.Interpreter (scheduled for deletion): the runtime is a declared
state, not an error. Its absence is found and named, accuracy moves to ai_edge_litert, and the
gate reports the rows a build cannot have as `not available`, never `missing`
(tests/test_bench_full_run.py runs a whole session so)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline import tfenv
from pipeline.config import load_config
from pipeline.judge.compare import compare_runs
from pipeline.judge.compare.report import outcome, summary_line
from pipeline.measure import interpreters
from pipeline.measure.runtimes import NO_XNNPACK, RUNTIME_ENTRIES
from pipeline.results import RUN_COLUMNS, Run, read_results

COUNTED = Path(__file__).parent / "fixtures" / "runs" / "tf2.21.0_counted.csv"


@pytest.fixture
def without_tf_lite(monkeypatch: pytest.MonkeyPatch) -> str:
    """tf.lite.Interpreter taken away for the test; the message the runtime then gives."""
    tf = tfenv.tensorflow()
    monkeypatch.delattr(tf.lite, "Interpreter")
    return (f"tensorflow {tf.__version__} has no tf.lite.Interpreter (deprecated in favour of "
            f"ai_edge_litert, and removed)")


def test_a_missing_tf_lite_interpreter_is_named_and_accuracy_moves_to_litert(
        without_tf_lite: str) -> None:
    with pytest.raises(interpreters.RuntimeUnavailable) as excinfo:
        interpreters.interpreter_class("tf.lite:no_xnnpack")
    assert str(excinfo.value) == without_tf_lite
    assert interpreters.unavailable_runtimes() == {"tf.lite": without_tf_lite}
    assert interpreters.accuracy_runtime() == "ai_edge_litert"


def test_with_both_runtimes_nothing_is_unavailable_and_accuracy_stays_on_tf_lite() -> None:
    assert interpreters.unavailable_runtimes() == {}
    assert interpreters.accuracy_runtime() == "tf.lite"
    assert not interpreters.is_available("tf.lite:no_xnnpack", ["tf.lite"])
    assert interpreters.is_available("ai_edge_litert:no_xnnpack", ["tf.lite"])


def _without_tf_lite_rows(run: Run, *, declared: bool) -> Run:
    rows = run.rows[~run.rows["runtime"].fillna("").str.startswith("tf.lite")]
    info = replace(run.info, run_id="20261203T150000Z_tf2.22.0_000000",
                   runtimes_unavailable=("tf.lite",) if declared else ())
    return Run(info, rows.reset_index(drop=True))


def test_rows_a_build_cannot_have_are_not_available_and_pass_with_a_note() -> None:
    reference = read_results(COUNTED)
    candidate = _without_tf_lite_rows(reference, declared=True)
    rows = compare_runs(reference, candidate, load_config().compare)
    absent = [row for row in rows if row.runtime and row.runtime.startswith("tf.lite")]
    assert absent and {row.verdict for row in absent} == {"not available"}
    assert {row.detail for row in absent} == {
        "tf.lite is not available in the candidate's build (run "
        "20261203T150000Z_tf2.22.0_000000, runtimes_unavailable)"}
    assert {row.verdict for row in rows if row not in absent} <= {"ok", "info"}
    result = outcome(rows)
    assert (result.verdict, result.exit_code) == ("PASS", 0)
    assert summary_line(result).endswith(
        f"; {len(absent)} measurements of a runtime a build does not provide, not compared: "
        f"tf.lite is not available in the candidate's build (run "
        f"20261203T150000Z_tf2.22.0_000000, runtimes_unavailable)")


def test_the_same_rows_gone_without_the_declaration_are_missing() -> None:
    reference = read_results(COUNTED)
    rows = compare_runs(reference, _without_tf_lite_rows(reference, declared=False),
                        load_config().compare)
    assert "missing" in {row.verdict for row in rows if (row.runtime or "").startswith("tf.lite")}
    assert outcome(rows).verdict == "FAIL"


def test_a_reference_without_tf_lite_leaves_the_candidate_s_rows_unjudged_not_unreferenced(
        ) -> None:
    full = read_results(COUNTED)
    rows = compare_runs(_without_tf_lite_rows(full, declared=True), full, load_config().compare)
    absent = {row.verdict for row in rows if (row.runtime or "").startswith("tf.lite")}
    assert absent == {"not available"} and outcome(rows).verdict == "PASS"


@pytest.mark.parametrize("name", list(RUNTIME_ENTRIES))
def test_each_runtime_entry_declares_what_its_own_package_says(name: str) -> None:
    """A runtime is one declared entry (pipeline/measure/runtimes.py): its kernel modes' op
    resolver ids are its own module's OpResolverType values (the counting process passes them
    to the native wrapper), its version is a run column, and every runtime name runs record
    splits back into that entry and a mode."""
    entry = RUNTIME_ENTRIES[name]
    assert entry.missing() is None, f"{name} is not installed here"
    resolver = type(entry.builtin_kernels_only())
    assert entry.kernel_modes == {"": resolver.BUILTIN.value,
                                  NO_XNNPACK: resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES.value}
    assert entry.version_column in RUN_COLUMNS
    assert entry.interpreter().__name__ == "Interpreter"
    named = [runtime for runtime in interpreters.RUNTIMES
             if interpreters.interpreter_of(runtime) == name]
    assert {interpreters.kernel_mode_of(runtime) for runtime in named} == set(entry.kernel_modes)
    assert all(interpreters.runtime_entry(runtime) is entry for runtime in named)
