"""bench-upgrade: the candidate and its companions, the cached environment, the verdict and the
report, each on frozen inputs; the whole command with the environment and pytest replaced by
fakes that write real results CSVs (tests/fixtures/runs), so the gate it runs is the real one.

What is not here, because it needs a TensorFlow download: a real install. That run is quoted
in docs/gate.md ("Gate a new TensorFlow build in one command"), from a fresh clone.
"""
from __future__ import annotations

import contextlib
import io
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from pipeline.commands import upgrade as command
from pipeline.measure.environment import package_version
from pipeline.results import read_results
from pipeline.upgrade import environment, steps
from pipeline.upgrade.candidate import (
    CandidateError,
    current_tensorflow,
    parse_candidate,
    tf_keras_requirement,
)
from pipeline.upgrade.environment import CandidateEnvironment, Probe, check_import, prepare
from pipeline.upgrade.verdict import DONE, Step, report, summary, verdict
from tests.helpers import RUNS, relabelled

NIGHTLY = (("tf-nightly", "2.23.0.dev20261026"),)
NIGHTLY_KERAS = (("tf-keras-nightly", "2.23.0.dev2026102609"),)
STABLE, STABLE_KERAS = (("tensorflow", "2.21.0"),), (("tf-keras", "2.21.0"),)
LITERT_220 = (("ai-edge-litert", "2.2.0"),)


# --- the candidate ---------------------------------------------------------------------------

def test_a_nightly_is_any_version_of_its_distribution() -> None:
    candidate = parse_candidate("tf-nightly")
    assert (candidate.distribution, candidate.nightly, candidate.slug) == (
        "tf-nightly", True, "tf-nightly")
    assert candidate.accepts("tf_nightly", "2.23.0.dev20261026")
    assert not candidate.accepts("tensorflow", "2.23.0.dev20261026")


def test_a_release_candidate_is_that_version_only() -> None:
    candidate = parse_candidate("tensorflow==2.22.0rc1")
    assert (candidate.distribution, candidate.nightly, candidate.slug) == (
        "tensorflow", False, "tensorflow-2.22.0rc1")
    assert candidate.accepts("tensorflow", "2.22.0rc1")
    assert not candidate.accepts("tensorflow", "2.22.0")
    assert not candidate.accepts("tensorflow", "not a version")


def test_a_wheel_is_its_file_name_distribution_and_version(tmp_path: Path) -> None:
    wheel = tmp_path / "tf_nightly-2.23.0.dev20261026-cp311-cp311-manylinux_2_27_x86_64.whl"
    wheel.write_bytes(b"wheel")
    candidate = parse_candidate(str(wheel))
    assert (candidate.requirement, candidate.distribution, candidate.wheel) == (
        str(wheel), "tf-nightly", wheel)
    assert candidate.specifier == SpecifierSet("==2.23.0.dev20261026")
    assert candidate.slug == "tf-nightly-2.23.0.dev20261026-cp311-cp311-manylinux-2-27-x86-64"


@pytest.mark.parametrize(("spec", "message"), [
    ("missing-1.0-py3-none-any.whl", "wheel missing-1.0-py3-none-any.whl not found (looked for "),
    ("tensorflow===", "'tensorflow===' is neither a requirement nor a .whl file ("),
    ("tensorflow @ https://example.com/tf.whl", "'tensorflow @ https://example.com/tf.whl': "
     "URLs, extras and markers are not supported; give a name with a version "
     "(tensorflow==2.22.0rc1) or a downloaded .whl file"),
])
def test_a_candidate_that_cannot_be_one_says_what_to_give(spec: str, message: str) -> None:
    with pytest.raises(CandidateError) as raised:
        parse_candidate(spec)
    assert str(raised.value).startswith(message)


def test_tf_keras_of_the_same_line_release_candidates_included() -> None:
    assert tf_keras_requirement(parse_candidate("tf-nightly"), "2.23.0.dev20261026") == (
        "tf-keras-nightly")
    requirement = tf_keras_requirement(parse_candidate("tensorflow==2.22.0rc1"), "2.22.0rc1")
    assert requirement == "tf-keras>=2.22.0.dev0,<2.23"
    allowed = SpecifierSet(requirement.removeprefix("tf-keras"))
    assert [v for v in ("2.21.0", "2.22.0rc0", "2.22.0", "2.22.1", "2.23.0rc0", "2.23.0")
            if allowed.contains(v)] == ["2.22.0rc0", "2.22.0", "2.22.1"]


def test_a_litert_release_nightly_or_wheel_is_a_litert_candidate(tmp_path: Path) -> None:
    release = parse_candidate("ai-edge-litert==2.2.0")
    assert (release.upgrade, release.package, release.slug) == (
        "litert", "ai_edge_litert", "ai-edge-litert-2.2.0")
    nightly = parse_candidate("ai-edge-litert-nightly")
    assert (nightly.upgrade, nightly.accepts("ai_edge_litert_nightly", "2.4.0.dev20261026")) == (
        "litert", True)
    wheel = tmp_path / "ai_edge_litert-2.2.0-cp311-cp311-manylinux_2_27_x86_64.whl"
    wheel.write_bytes(b"wheel")
    assert parse_candidate(str(wheel)).upgrade == "litert"
    assert (parse_candidate("tf-nightly").upgrade, parse_candidate("tf-nightly").package) == (
        "tensorflow", "tensorflow")


def test_a_litert_candidate_goes_beside_the_one_current_tensorflow() -> None:
    beside = current_tensorflow(STABLE, "/venv/bin/python")
    assert (beside.requirement, beside.accepts("tensorflow", "2.21.0"),
            beside.accepts("tensorflow", "2.21.1")) == ("tensorflow==2.21.0", True, False)
    with pytest.raises(CandidateError) as raised:
        current_tensorflow((), "/venv/bin/python")
    assert str(raised.value) == (
        "a LiteRT candidate is installed beside the current environment's TensorFlow, but "
        "/venv/bin/python has 0 distributions providing the tensorflow package (none); pass "
        "--reference-python with the environment to gate it in")


# --- what the environment must import -------------------------------------------------------

@pytest.mark.parametrize(("probe", "message"), [
    (Probe((), NIGHTLY_KERAS), "installing tf-nightly left no distribution that provides the "
     "tensorflow package; is tf-nightly a TensorFlow build?"),
    (Probe((("tensorflow", "2.21.0"), *NIGHTLY), NIGHTLY_KERAS),
     "the environment holds 2 distributions providing the tensorflow package (tensorflow "
     "2.21.0, tf-nightly 2.23.0.dev20261026): a companion pulled in another TensorFlow; rerun "
     "with --recreate, and report the requirement that did it"),
    (Probe((("tensorflow", "2.21.0"),), ()), "the tensorflow package is provided by tensorflow "
     "2.21.0, not by the candidate tf-nightly; check the name and version given"),
    (Probe(NIGHTLY, NIGHTLY_KERAS, "2.22.0", "/x/tensorflow/__init__.py"),
     "import tensorflow reports '2.22.0' (/x/tensorflow/__init__.py), but the installed "
     "distribution is tf-nightly 2.23.0.dev20261026; rerun with --recreate"),
])
def test_an_environment_that_is_not_the_candidate_is_refused(probe: Probe, message: str) -> None:
    with pytest.raises(CandidateError) as raised:
        check_import(parse_candidate("tf-nightly"), probe)
    assert str(raised.value) == message


def test_a_nightly_reports_its_version_with_a_hyphen_and_is_accepted() -> None:
    probe = Probe(NIGHTLY, NIGHTLY_KERAS, "2.23.0-dev20261026", "/x", "0.8.1")
    assert check_import(parse_candidate("tf-nightly"), probe) == "2.23.0.dev20261026"
    assert probe.label() == ("tf-nightly 2.23.0.dev20261026, tf-keras-nightly "
                             "2.23.0.dev2026102609, tfmot 0.8.1")


@pytest.mark.parametrize(("probe", "message"), [
    (Probe(STABLE, STABLE_KERAS, "2.21.0", "/x", "0.8.1", (), ""),
     "installing ai-edge-litert==2.2.0 left no distribution that provides the ai_edge_litert "
     "package; is ai-edge-litert a LiteRT release?"),
    (Probe(STABLE, STABLE_KERAS, "2.21.0", "/x", "0.8.1",
           (("ai-edge-litert", "2.2.0"), ("ai-edge-litert-nightly", "2.4.0.dev20261026")), ""),
     "the environment holds 2 distributions providing the ai_edge_litert package "
     "(ai-edge-litert 2.2.0, ai-edge-litert-nightly 2.4.0.dev20261026): a companion pulled in "
     "another LiteRT; rerun with --recreate, and report the requirement that did it"),
    (Probe(STABLE, STABLE_KERAS, "2.21.0", "/x", "0.8.1", (("ai-edge-litert", "2.3.0"),), "/y"),
     "the ai_edge_litert package is provided by ai-edge-litert 2.3.0, not by the candidate "
     "ai-edge-litert==2.2.0; check the name and version given"),
    (Probe((("tensorflow", "2.20.0"),), STABLE_KERAS, "2.20.0", "/x", "0.8.1", LITERT_220, "/y"),
     "the tensorflow package is provided by tensorflow 2.20.0, not by the current "
     "environment's tensorflow==2.21.0; check the name and version given"),
    (Probe(STABLE, STABLE_KERAS, "2.21.0", "/x", "0.8.1", LITERT_220, ""),
     "ai_edge_litert.interpreter of ai-edge-litert 2.2.0 does not import beside tensorflow "
     "2.21.0; rerun with --recreate"),
])
def test_a_litert_environment_that_is_not_the_candidate_beside_the_current_tf_is_refused(
        probe: Probe, message: str) -> None:
    with pytest.raises(CandidateError) as raised:
        check_import(parse_candidate("ai-edge-litert==2.2.0"), probe,
                     parse_candidate("tensorflow==2.21.0"))
    assert str(raised.value) == message
    whole = replace(probe, tensorflow=STABLE, imported="2.21.0", litert=LITERT_220,
                    litert_imported_from="/y")
    assert check_import(parse_candidate("ai-edge-litert==2.2.0"), whole,
                        parse_candidate("tensorflow==2.21.0")) == "2.21.0"


@pytest.mark.slow  # the probe imports TensorFlow in a process of its own
def test_the_probe_runs_in_this_environment_and_finds_its_tensorflow() -> None:
    code, stdout, stderr = steps.capture([sys.executable, "-c", environment.PROBE, "import"])
    assert code == 0, stderr
    probe = Probe.parse(stdout)
    assert check_import(parse_candidate(f"tensorflow=={package_version('tensorflow')}"),
                        probe) == package_version("tensorflow")


# --- the cached environment ------------------------------------------------------------------

class FakeInstaller:
    """Stands in for venv and pip: records each command and 'installs' the nightly (or, with
    `litert`, TF 2.21.0 and that LiteRT)."""

    def __init__(self, fail_on: str = "", litert: tuple[tuple[str, str], ...] = ()) -> None:
        self.commands: list[list[str]] = []
        self.fail_on = fail_on
        self.litert = litert

    def stream(self, argv: Sequence[str]) -> int:
        self.commands.append(list(argv))
        if argv[1:3] == ["-m", "venv"]:
            python = environment.python_of(Path(argv[3]))
            python.parent.mkdir(parents=True)
            python.write_text("")
        return 1 if self.fail_on and self.fail_on in argv else 0

    def capture(self, argv: Sequence[str]) -> tuple[int, str, str]:
        imported = argv[-1] == "import"
        if self.litert:
            return 0, json.dumps({"tensorflow": STABLE, "tf_keras": STABLE_KERAS,
                                  "litert": self.litert,
                                  **({"imported": "2.21.0", "imported_from": "/x",
                                      "tfmot": "0.8.1", "litert_imported_from": "/y"}
                                     if imported else {})}), ""
        return 0, json.dumps({"tensorflow": NIGHTLY, "tf_keras": NIGHTLY_KERAS,
                              **({"imported": "2.23.0-dev20261026", "imported_from": "/x",
                                  "tfmot": "0.8.1"} if imported else {})}), ""

    def prepare(self, envs: Path, messages: list[str], **options: bool) -> CandidateEnvironment:
        return prepare(parse_candidate("tf-nightly"), envs, recreate=options.get("recreate",
                                                                                 False),
                       stream=self.stream, capture=self.capture, say=messages.append)


def test_the_environment_is_made_in_two_installs_then_reused(tmp_path: Path) -> None:
    installer, messages = FakeInstaller(), []
    made = installer.prepare(tmp_path, messages)
    path = tmp_path / "tf-nightly"
    requirements = environment.REQUIREMENTS
    assert [c[1:] for c in installer.commands] == [
        ["-m", "venv", str(path)],
        [*environment.PIP, "tf-nightly", "-r", str(requirements / "candidate.txt"), "-r",
         str(requirements / "test.txt"), "-r", str(requirements / "litert.txt")],
        [*environment.PIP, "--no-deps", "tf-keras-nightly", "-r",
         str(requirements / "tfmot-no-deps.txt")]]
    assert (made.reused, made.tensorflow, made.python) == (
        False, "2.23.0.dev20261026", environment.python_of(path))
    assert messages[0] == f"making {path} for tf-nightly (none made yet)"
    again = installer.prepare(tmp_path, messages)
    assert len(installer.commands) == 3 and again.reused
    assert messages[-1].startswith(f"reusing {path} (tf-nightly 2.23.0.dev20261026, ")
    assert messages[-1].endswith("; --recreate installs tf-nightly again)")
    installer.prepare(tmp_path, messages, recreate=True)
    assert len(installer.commands) == 6
    assert messages[-3] == f"making {path} for tf-nightly (--recreate)"


def test_a_litert_environment_pins_the_current_tensorflow_and_is_named_after_both(
        tmp_path: Path) -> None:
    installer, messages = FakeInstaller(litert=LITERT_220), []
    made = prepare(parse_candidate("ai-edge-litert==2.2.0"), tmp_path, recreate=False,
                   stream=installer.stream, capture=installer.capture, say=messages.append,
                   beside=parse_candidate("tensorflow==2.21.0"))
    path = tmp_path / "ai-edge-litert-2.2.0-beside-tensorflow-2.21.0"
    requirements = environment.REQUIREMENTS
    assert [c[1:] for c in installer.commands] == [
        ["-m", "venv", str(path)],
        [*environment.PIP, "ai-edge-litert==2.2.0", "tensorflow==2.21.0", "-r",
         str(requirements / "candidate.txt"), "-r", str(requirements / "test.txt")],
        [*environment.PIP, "--no-deps", "tf-keras>=2.21.0.dev0,<2.22", "-r",
         str(requirements / "tfmot-no-deps.txt")]]
    assert (made.tensorflow, made.probe.label()) == (
        "2.21.0", "tensorflow 2.21.0, tf-keras 2.21.0, ai-edge-litert 2.2.0, tfmot 0.8.1")
    with pytest.raises(CandidateError, match="LiteRT candidate, installed beside the current "
                                             "TensorFlow, which was not given"):
        prepare(parse_candidate("ai-edge-litert==2.2.0"), tmp_path, recreate=False,
                stream=installer.stream, capture=installer.capture, say=messages.append)


def test_changed_requirements_make_it_again(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "requirements"
    shutil.copytree(environment.REQUIREMENTS, copy)
    monkeypatch.setattr(environment, "REQUIREMENTS", copy)
    installer, messages = FakeInstaller(), []
    installer.prepare(tmp_path / "envs", messages)
    with (copy / "candidate.txt").open("a") as handle:
        handle.write("rich\n")
    installer.prepare(tmp_path / "envs", messages)
    assert len(installer.commands) == 6
    assert messages[-3].endswith("for tf-nightly (its inputs changed)")


def test_an_install_that_did_not_finish_is_made_again(tmp_path: Path) -> None:
    installer, messages = FakeInstaller(fail_on="--no-deps"), []
    with pytest.raises(CandidateError) as raised:
        installer.prepare(tmp_path, messages)
    assert str(raised.value).startswith("installing tf-keras and tfmot failed (exit 1): ")
    assert str(raised.value).endswith("; its output is above")
    assert not (tmp_path / "tf-nightly" / environment.MARKER).exists()
    installer.fail_on = ""
    installer.prepare(tmp_path, messages)
    assert messages[-3].endswith("for tf-nightly (an earlier install did not finish)")


# --- verdict and report ---------------------------------------------------------------------

def step(result: str, name: str = "s") -> Step:
    return Step(name, result, f"{result.lower()} detail", 1.0)


@pytest.mark.parametrize(("results", "expected"), [
    (["PASS", "PASS"], "PASS"),
    (["PASS", "INCONCLUSIVE"], "INCONCLUSIVE"),
    (["INCONCLUSIVE", "ERROR"], "ERROR"),
    (["ERROR", "FAIL", "PASS"], "FAIL"),
    ([DONE], "ERROR"),
    ([], "ERROR"),
])
def test_one_verdict_fail_beats_error_beats_inconclusive(results: list[str],
                                                         expected: str) -> None:
    assert verdict([step(r) for r in results]) == expected


def test_a_step_result_must_be_a_verdict() -> None:
    with pytest.raises(ValueError, match="step 'x': result 'ok' is not one of done, PASS"):
        Step("x", "ok", "", 0.0)


def test_the_report_has_the_verdict_one_row_per_step_and_their_sections() -> None:
    steps = [Step("environment", DONE, "reused: tf-nightly 2.23", 0.4),
             Step("gate", "FAIL", "FAIL: 2 regressed | x", 2.25, "the gate's table"),
             Step("duel", "PASS", "PASS: 3 ok", 61.0)]
    assert summary(steps) == "FAIL (exit 1): gate: FAIL: 2 regressed | x; duel: PASS: 3 ok"
    assert report("bench-upgrade tf-nightly", ["candidate: tf-nightly"], steps) == "\n".join([
        "# bench-upgrade tf-nightly: FAIL", "",
        "**FAIL (exit 1): gate: FAIL: 2 regressed | x; duel: PASS: 3 ok**", "",
        "- candidate: tf-nightly", "",
        "| step | result | detail | wall time |", "|---|---|---|---:|",
        "| environment | done | reused: tf-nightly 2.23 | 0.4 s |",
        "| gate | FAIL | FAIL: 2 regressed \\| x | 2.2 s |",
        "| duel | PASS | PASS: 3 ok | 61 s |",
        "| total | FAIL | exit 1 | 64 s |", "",
        "## gate", "", "the gate's table", ""])


def test_junit_counts() -> None:
    xml = ('<testsuites><testsuite name="pytest" errors="1" failures="2" skipped="3" '
           'tests="111"></testsuite></testsuites>')
    path = Path(__file__).parent / "fixtures" / "upgrade_junit.xml"
    assert path.read_text().strip() == xml
    assert steps.junit_counts(path) == "105 passed, 2 failed, 1 errors, 3 skipped"
    assert steps.junit_counts(path.with_name("absent.xml")) == ""


# --- the whole command, TensorFlow and pytest faked ----------------------------------------

class FakeBench:
    """Stands in for `pytest bench`: writes the results CSV it is given into --results-dir."""

    def __init__(self, csv: Path, code: int = 0) -> None:
        self.csv, self.code, self.calls = csv, code, []

    def __call__(self, argv: Sequence[str]) -> int:
        self.calls.append(list(argv))
        results = Path(argv[argv.index("--results-dir") + 1])
        shutil.copy(self.csv, results / self.csv.name)
        (results / "junit.xml").write_text('<testsuites><testsuite tests="111" failures='
                                           f'"{self.code}"/></testsuites>')
        return self.code


def run_main(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bench: FakeBench,
             *args: str, candidate: str = "tensorflow==2.21.0") -> tuple[int, str, str]:
    env = CandidateEnvironment(tmp_path / "env", tmp_path / "env/bin/python",
                               Probe(STABLE, STABLE_KERAS, "2.21.0", "/x", "0.8.1"), "2.21.0",
                               True, "2026-12-01")
    prepared: list[dict[str, object]] = []
    monkeypatch.setattr(steps, "prepare", lambda *a, **k: prepared.append(k) or env)
    monkeypatch.setattr(steps, "stream", bench)
    monkeypatch.setattr(steps, "capture", lambda argv: (0, json.dumps({"tensorflow": STABLE}), ""))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = command.main([candidate, "--output", str(tmp_path / "out"), *args])
    if candidate.startswith("ai-edge-litert"):  # installed beside the current TensorFlow
        assert prepared[0]["beside"] == parse_candidate("tensorflow==2.21.0")
    return code, out.getvalue(), err.getvalue()


def test_the_command_gates_the_candidates_run_and_writes_the_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history = tmp_path / "history"
    history.mkdir()
    shutil.copy(RUNS / "tf2.20.0.csv", history)
    bench = FakeBench(RUNS / "tf2.21.0_a.csv")
    code, out, err = run_main(monkeypatch, tmp_path, bench, "--skip-duel", "--history",
                              str(history))
    assert code == 0, err
    assert [c[:4] for c in bench.calls] == [[str(tmp_path / "env/bin/python"), "-m", "pytest",
                                             "bench"]]
    assert bench.calls[0][4:9] == ["-q", "--workload", "mnist_cnn", "--variants", "all"]
    last = out.strip().splitlines()[-1]
    assert last.startswith("PASS (exit 0): pytest bench, candidate, mnist_cnn: 111 passed "
                           "(exit 0); tf2.21.0_a.csv; gate against the history, mnist_cnn: "
                           "PASS: ")
    assert last.endswith("latency not gated, by request (--skip-latency)")
    text = (tmp_path / "out" / "report.md").read_text()
    assert text.startswith("# bench upgrade tensorflow==2.21.0: PASS\n")
    assert ("| environment | done | reused: tensorflow 2.21.0, tf-keras 2.21.0, tfmot 0.8.1 |"
            in text)
    assert "tfmot 0.8.1, in " + str(tmp_path / "env") + " (made 2026-12-01, reused)\n" in text
    assert "## gate against the history, mnist_cnn\n\nreference run " in text
    assert "<details><summary>all " in text


def test_a_litert_candidate_is_gated_against_the_litert_below_it_on_its_tensorflow(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history's 2.20.0 run is on the candidate's LiteRT, the TensorFlow-upgrade reference;
    the LiteRT candidate is compared with 2.21.0 on the LiteRT below instead."""
    history = tmp_path / "history"
    history.mkdir()
    shutil.copy(RUNS / "tf2.20.0.csv", history)
    below = relabelled(RUNS / "tf2.21.0_a.csv", history / "litert.csv", litert="2.2.0",
                       run_id="tf2.21.0_litert2.2.0")
    code, out, err = run_main(monkeypatch, tmp_path, FakeBench(RUNS / "tf2.21.0_b.csv"),
                              "--skip-duel", "--history", str(history),
                              candidate="ai-edge-litert==2.3.0")
    assert code == 0, err
    text = (tmp_path / "out" / "report.md").read_text()
    assert text.startswith("# bench upgrade ai-edge-litert==2.3.0: PASS\n")
    assert (f"reference run tf2.21.0_litert2.2.0 (tensorflow 2.21.0, cpu "
            f"{read_results(below).info.cpu}): the latest complete run of the newest LiteRT "
            f"below the candidate's 2.3.0 (2.2.0) on TensorFlow 2.21.0, written before the "
            f"candidate") in text


def test_a_candidate_failing_its_own_suite_fails_and_a_history_without_reference_errs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    history = tmp_path / "history"
    history.mkdir()
    shutil.copy(RUNS / "tf2.21.0_b.csv", history)  # no line below the candidate's 2.21.0
    code, out, _ = run_main(monkeypatch, tmp_path, FakeBench(RUNS / "tf2.21.0_a.csv", code=1),
                            "--skip-duel", "--history", str(history))
    assert code == 1
    last = out.strip().splitlines()[-1]
    assert last.startswith("FAIL (exit 1): pytest bench, candidate, mnist_cnn: 110 passed, "
                           "1 failed (exit 1); tf2.21.0_a.csv; gate against the history, "
                           f"mnist_cnn: {history}: ")


def test_a_candidate_that_is_not_one_is_refused_before_anything_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bench = FakeBench(RUNS / "tf2.21.0_a.csv")
    monkeypatch.setattr(steps, "stream", bench)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert command.main(["tensorflow===", "--output", str(tmp_path / "out")]) == 2
    assert err.getvalue().startswith(
        "bench upgrade: error: 'tensorflow===' is neither a requirement nor a .whl file (")
    assert bench.calls == [] and not (tmp_path / "out").exists()
