"""Which reference run a candidate is compared with, and whether the two may be compared at all.

The gate fails closed: a reference run is chosen only among *complete* runs written before the
candidate, by a rule the report states, preferring the latest run that covers every gated
measurement of the candidate (a `--reuse-run` run holds no Keras model; a run that shared the
machine has no latency to compare), among the runs of the candidate's workload; runs of another
workload, dataset, seed or recipe are refused
(comparing them would call the difference a regression or hide one); latency of runs made on
other machines, with other latency settings or while another benchmark ran is not compared,
and the report says so.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Protocol

import pandas as pd

from pipeline.config import CompareRules
from pipeline.judge.compare.rules import (
    INSTRUCTION_METRICS,
    MACHINE_METRICS,
    LatencyGate,
    coverage_gaps,
    describe_keys,
)
from pipeline.measure.environment import architecture, comparable_platform
from pipeline.results import (
    LATENCY_SETTING_COLUMNS,
    History,
    Run,
    RunInfo,
    read_history,
    tf_version_key,
)

#: Run fields that must be equal for instruction counts to be compared (with the architecture).
COUNTING_FIELDS: tuple[str, ...] = ("valgrind", "instructions_tool")
#: Run fields that must be equal for two runs to be compared at all; `identities` before the
#: digests, since runs whose identities were made two ways differ in every *_sha256
#: (pipeline.identity).
REFUSING_FIELDS: tuple[str, ...] = ("workload", "identities", "dataset_sha256", "seed",
                                    "recipe_sha256")
#: What to do about a refusing field, where the general advice would not help.
_REFUSAL_ADVICE: dict[str, str] = {
    "identities": "a run written before schema 7 identifies its recipe and workload by where "
                  "their code lived, which no run of this version matches; re-make the "
                  "reference with this version (pytest bench on the reference's TensorFlow "
                  "line: docs/gate.md, 'Identities')",
}
#: Refusing too, where both runs record it (schema 6 on): an older run's is unknown, and its
#: workload, dataset and recipe hashes already say what it built.
REFUSING_WHERE_KNOWN: tuple[str, ...] = ("workload_sha256",)


class SelectionError(ValueError):
    """No run of the history fits the selection; the message lists what is available."""


class NotComparable(ValueError):
    """The two runs differ in what makes their measurements comparable; one line, naming the
    field and both values."""


class MachineFacts(Protocol):
    """What latency_obstacle and counting_obstacle read of a run: a RunInfo, or a session's
    plan before it has measured anything (pipeline.judge.compare.session.SessionPlan)."""

    @property
    def run_id(self) -> str: ...
    @property
    def schema_version(self) -> int | None: ...
    @property
    def cpu(self) -> str: ...
    @property
    def cpu_count(self) -> int | None: ...
    @property
    def platform(self) -> str: ...
    @property
    def latency_repetitions(self) -> int | None: ...
    @property
    def latency_warmup_invokes(self) -> int | None: ...
    @property
    def latency_timed_invokes(self) -> int | None: ...
    @property
    def latency_order_seed(self) -> int | None: ...
    @property
    def machine_shared(self) -> bool | None: ...
    @property
    def machine_shared_by(self) -> str | None: ...
    @property
    def valgrind(self) -> str | None: ...
    @property
    def instructions_tool(self) -> str | None: ...


@dataclass(frozen=True)
class RunIdentity:
    """What names a run in the report header: which run, which TensorFlow, which machine."""

    run_id: str
    tensorflow: str
    cpu: str
    platform: str
    timestamp_utc: str
    git_commit: str
    #: The run whose files it re-measured (--reuse-run); "" when it built them.
    source_run_id: str = ""

    @classmethod
    def of(cls, run: Run | RunInfo) -> RunIdentity:
        info = run.info if isinstance(run, Run) else run
        return cls(**{f.name: getattr(info, f.name) or "" for f in fields(cls)})

    def label(self) -> str:
        return f"{self.run_id} (tensorflow {self.tensorflow}, cpu {self.cpu})"


@dataclass(frozen=True)
class ReferenceChoice:
    """The chosen reference run and, in words, why it was chosen."""

    run: Run
    reason: str
    #: Files of the history folder that are the project's other CSVs (duel, spread), not runs.
    passed_over: tuple[str, ...] = ()


#: What a candidate needs of a reference run that this run does not give, in words (empty: the
#: run covers the candidate). The CLI knows the candidate's measurements; a session about to
#: start knows the variants it selected and its machine.
Gaps = Callable[[Run], Sequence[str]]


def _shown(run: MachineFacts | RunInfo, name: str) -> str:
    """A run field for a message; a field an older schema did not record is unknown."""
    value = getattr(run, name)
    if value is None:
        return f"unknown (schema {run.schema_version} file)"
    return repr(value) if isinstance(value, str) else str(value)


def _differs(reference: MachineFacts | RunInfo, candidate: MachineFacts | RunInfo,
             name: str) -> bool:
    """Whether the two runs differ in a field; unknown on either side (an older schema) counts
    as different, since equality cannot be shown."""
    ref, cand = getattr(reference, name), getattr(candidate, name)
    return ref is None or cand is None or str(ref) != str(cand)


def _count(n: int, noun: str) -> str:
    """'1 run', '2 runs'."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


#: Which package a candidate upgrades (`--upgrade`): its reference has the other package's
#: version and the newest version of this one below the candidate's.
UPGRADES: tuple[str, ...] = ("tensorflow", "litert")
#: How each package is named in the selection's reasons and errors.
_PACKAGE_LABEL = {"tensorflow": "TensorFlow", "litert": "LiteRT"}
#: The option that names a package's version for the reference, in advice.
_FLAG = {"tensorflow": "--tf", "litert": "--litert"}


def version_of(run: Run, package: str) -> str:
    """The run's version of `package` (`tensorflow` or `litert`); "" when it had none."""
    return (run.info.tensorflow if package == "tensorflow" else run.info.litert) or ""


def _pair(tensorflow: str, litert: str) -> str:
    return f"{tensorflow} + litert {litert or 'none'}"


def _describe_available(runs: Sequence[Run]) -> str:
    """`2.15.1 (1 run), 2.20.0 (2 runs)`; as (TensorFlow, LiteRT) pairs, `2.21.0 + litert 2.2.0
    (1 run), ...`, when the runs hold more than one LiteRT."""
    pairs = len({version_of(run, "litert") for run in runs}) > 1
    counts: dict[tuple[str, str], int] = {}
    for run in runs:
        key = (run.info.tensorflow, version_of(run, "litert") if pairs else "")
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda k: (tf_version_key(k[0]), tf_version_key(k[1])))
    return ", ".join(f"{_pair(*key) if pairs else key[0]} ({_count(counts[key], 'run')})"
                     for key in ordered)


def _never_chosen(runs: Sequence[Run]) -> str:
    """' (2 partial runs and 1 schema-1 run, whose completeness is unknown, never chosen)'."""
    unknown = sum(run.info.complete is None for run in runs)
    partial = sum(run.info.complete is False for run in runs)
    parts = ([_count(partial, "partial run")] if partial else []) + (
        [f"{_count(unknown, 'schema-1 run')}, whose completeness is unknown,"] if unknown else [])
    return f" ({' and '.join(parts)} never chosen)" if parts else ""


def _of_workload(runs: Sequence[Run], workload: str) -> list[Run]:
    """The runs of `workload`; SelectionError naming the workloads there are if none."""
    matching = [run for run in runs if run.info.workload == workload]
    if not matching:
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.info.workload] = counts.get(run.info.workload, 0) + 1
        held = ", ".join(f"{name} ({_count(counts[name], 'run')})" for name in sorted(counts))
        raise SelectionError(f"no run of workload {workload!r}; the history holds runs of "
                             f"{held} (record one with pytest bench --workload {workload})")
    return matching


def _newest_first(runs: Sequence[Run]) -> list[Run]:
    return sorted(runs, key=lambda run: (run.info.time, run.run_id), reverse=True)


def select_reference(history: History | Sequence[Run], *, candidate_tf: str | None = None,
                     candidate_litert: str | None = None, upgrade: str = "tensorflow",
                     before: pd.Timestamp | None = None, tf: str | None = None,
                     litert: str | None = None, run_id: str | None = None,
                     gaps: Gaps | None = None, workload: str | None = None) -> ReferenceChoice:
    """The reference run of `history` for a candidate of TensorFlow `candidate_tf`, LiteRT
    `candidate_litert` and workload `workload` written at `before`.

    Only complete runs of the workload (of any, when None) are eligible. `run_id` names one.
    Otherwise the reference differs from the candidate in the package it `upgrade`s only: a
    TensorFlow candidate is compared within its LiteRT (`litert`, else the candidate's; any
    when unknown) with the latest complete run of `tf`, else of the newest TensorFlow below the
    candidate's; a LiteRT candidate within its TensorFlow (`tf`, else the candidate's) with
    `litert`, else the newest LiteRT below the candidate's. Among the runs of that pair, the
    latest one without `gaps` is chosen; when every run has some, the one with the fewest (the
    latest of those), and the reason says what it lacks. Raises SelectionError saying what is
    available.
    """
    if upgrade not in UPGRADES:
        raise SelectionError(f"upgrade {upgrade!r} is not one of {', '.join(UPGRADES)}")
    runs = list(history)
    if not runs:
        raise SelectionError("the history holds no runs")
    if workload is not None and run_id is None:
        runs = _of_workload(runs, workload)
    complete = [run for run in runs if run.info.complete is True]
    partial_note = _never_chosen(runs)
    if run_id is not None:
        named = [run for run in runs if run.run_id == run_id]
        if not named:
            ids = [run.run_id for run in _newest_first(runs)]
            raise SelectionError(f"no run with run_id {run_id!r}; available run ids (newest "
                                 f"first): {', '.join(ids)}")
        info = named[0].info
        if info.complete is not True:
            state = (f"a schema-{info.schema_version} run, whose completeness is unknown,"
                     if info.complete is None else f"partial ({info.incomplete_reason})")
            raise SelectionError(f"run {run_id!r} is {state} and cannot be a reference run; "
                                 f"name a complete run")
        return ReferenceChoice(named[0], "the run named as the reference")
    eligible = complete if before is None else [r for r in complete if r.info.time < before]
    later = len(complete) - len(eligible)
    notes = partial_note + (f"; {_count(later, 'complete run')} not written before the "
                            f"candidate left out" if later else "")
    moved = upgrade
    held = "litert" if upgrade == "tensorflow" else "tensorflow"
    wanted = {"tensorflow": tf, "litert": litert}
    # A candidate without LiteRT (or of an older schema) holds no LiteRT to stay within.
    given = {"tensorflow": candidate_tf, "litert": candidate_litert or None}
    held_version = wanted[held] if wanted[held] is not None else given[held]
    if held == "tensorflow" and held_version is None:
        raise SelectionError("the candidate's TensorFlow version is unknown; pass --tf")
    within = [run for run in eligible
              if held_version is None or version_of(run, held) == held_version]
    # Named only where it chose: when every eligible run has the held version, it left none out.
    on_held = (f" on {_PACKAGE_LABEL[held]} {held_version or 'none'}"
               if held_version is not None and len(within) < len(eligible) else "")
    available = f"complete runs: {_describe_available(eligible) or 'none'}"
    if wanted[moved] is not None:
        matching = [run for run in within if version_of(run, moved) == wanted[moved]]
        if not matching:
            what = (f"tensorflow {wanted[moved]!r}" if moved == "tensorflow"
                    else f"litert {wanted[moved]!r}")
            raise SelectionError(f"no complete run of {what}{on_held} written before the "
                                 f"candidate{notes}; {available}")
        why = (f"the latest complete run of {moved} {wanted[moved]}{on_held} written before "
               f"the candidate")
    else:
        label, version = _PACKAGE_LABEL[moved], given[moved]
        if not version:
            raise SelectionError(f"the candidate's {label} version is unknown; pass "
                                 f"{_FLAG[moved]}")
        older = {version_of(run, moved) for run in within
                 if tf_version_key(version_of(run, moved)) < tf_version_key(version)}
        if not older:
            flags = f"{_FLAG[moved]} VERSION" + (f" or {_FLAG[held]} VERSION" if on_held else "")
            raise SelectionError(f"no complete run of a {label} version below the "
                                 f"candidate's {version}{on_held} written before it{notes}; "
                                 f"{available} (pass {flags} to compare with a run of "
                                 f"that version)")
        newest = max(older, key=tf_version_key)
        matching = [run for run in within if version_of(run, moved) == newest]
        why = (f"the latest complete run of the newest {label} below the candidate's "
               f"{version} ({newest}){on_held}, written before the candidate")
    chosen, coverage_note = _covering(matching, gaps)
    return ReferenceChoice(chosen, why + coverage_note + notes)


def _covering(matching: Sequence[Run], gaps: Gaps | None) -> tuple[Run, str]:
    """(run, note): the latest of `matching` that `gaps` finds nothing missing in, else the
    one missing least; the note names the later runs passed over and why."""
    newest_first = _newest_first(matching)
    if gaps is None:
        return newest_first[0], ""
    missing = [list(gaps(run)) for run in newest_first]
    index = min(range(len(newest_first)), key=lambda i: len(missing[i]))  # first of the fewest
    passed = [f"{run.run_id} lacks {'; '.join(missing[i])}"
              for i, run in enumerate(newest_first[:index])]
    note = "" if not (passed or missing[index]) else (
        " that covers every gated measurement of the candidate" if not missing[index] else
        f"; no such run covers every gated measurement of the candidate, this one lacks "
        f"{'; '.join(missing[index])}")
    if passed:
        note += f" ({_count(len(passed), 'later run')} passed over: {'; '.join(passed)})"
    return newest_first[index], note


def load_reference(path: Path, *, candidate: Run | None = None,
                   candidate_tf: str | None = None, candidate_litert: str | None = None,
                   upgrade: str = "tensorflow", before: pd.Timestamp | None = None,
                   tf: str | None = None, litert: str | None = None, run_id: str | None = None,
                   exclude_path: Path | None = None, gaps: Gaps | None = None,
                   workload: str | None = None) -> ReferenceChoice:
    """The reference run from a results CSV or history folder (see select_reference); a CSV
    named without --tf / --litert / --run-id is the reference itself, if complete.

    With `candidate`, its TensorFlow and LiteRT versions, workload and time are the
    selection's, and its
    own file and run id are left out first: a run must never be its own reference, or the gate
    would always pass. Raises ResultsFileError for an unusable file, SelectionError when no run
    fits.
    """
    history = read_history(path, exclude=[exclude_path] if exclude_path else [])
    runs = list(history)
    if candidate is not None:
        candidate_tf, workload = candidate.info.tensorflow, candidate.info.workload
        candidate_litert, before = candidate.info.litert, candidate.info.time
        runs = [run for run in runs if run.run_id != candidate.run_id]
        if not runs:
            raise SelectionError(f"holds only the candidate's own run {candidate.run_id!r}; "
                                 f"pass a history with an earlier run as REFERENCE")
    if Path(path).is_file() and tf is None and litert is None and run_id is None:
        # A file named on its own is the reference: there is nothing to choose between, only
        # its completeness to check.
        choice = select_reference(runs, run_id=runs[0].run_id)
    else:
        choice = select_reference(runs, candidate_tf=candidate_tf,
                                  candidate_litert=candidate_litert, upgrade=upgrade,
                                  before=before, tf=tf, litert=litert, run_id=run_id, gaps=gaps,
                                  workload=workload)
    return replace(choice, passed_over=history.passed_over)


def _workload_difference(ref: RunInfo, cand: RunInfo) -> str:
    """What the two runs' workload records show of why their definitions differ: the declared
    version, the model file the workload starts from."""
    shown = []
    if ref.workload_version is not None and ref.workload_version != cand.workload_version:
        shown.append(f"workload version {ref.workload_version} vs {cand.workload_version}")
    if ref.model_file_sha256 is not None and ref.model_file_sha256 != cand.model_file_sha256:
        shown.append(f"model file sha256 {ref.model_file_sha256 or 'none (built from scratch)'} "
                     f"vs {cand.model_file_sha256 or 'none (built from scratch)'}")
    return f" ({'; '.join(shown)})" if shown else ""


def check_comparable(reference: Run, candidate: Run) -> None:
    """Raise NotComparable when the runs differ in workload, dataset, seed or recipe (or one of
    them does not record it), or in the workload's definition where both record it: the first
    such field, with both values."""
    ref, cand = reference.info, candidate.info
    known = [name for name in REFUSING_WHERE_KNOWN if getattr(ref, name) and getattr(cand, name)]
    for name in REFUSING_FIELDS + tuple(known):
        if _differs(ref, cand, name):
            versions = (_workload_difference(ref, cand) if name == "workload_sha256" else "")
            advice = _REFUSAL_ADVICE.get(name, "compare runs of the same workload, dataset, "
                                               "seed and recipe (choose another reference run "
                                               "with --tf or --run-id, or re-run one side)")
            raise NotComparable(
                f"runs differ in {name}{versions}: reference run {ref.run_id} has "
                f"{_shown(ref, name)}, candidate run {cand.run_id} has {_shown(cand, name)}; "
                f"{advice}")


def warnings_of(reference: Run, candidate: Run, *, latency_compared: bool = False) -> list[str]:
    """What weakens the comparison without making it meaningless: other thresholds, a run made
    from uncommitted code (its git_commit does not say what ran), or, where latency is
    compared, a run that does not record whether it shared the machine (schema 1-3)."""
    ref, cand = reference.info, candidate.info
    warnings = []
    if _differs(ref, cand, "config_sha256"):
        warnings.append(f"the runs were made with different threshold configs (config_sha256 "
                        f"{_short(ref.config_sha256)} vs {_short(cand.config_sha256)})")
    for side, info in (("reference", ref), ("candidate", cand)):
        if info.git_dirty:
            warnings.append(f"the {side} run {info.run_id} was made from uncommitted "
                            f"changes (git_dirty); its git_commit {info.git_commit[:12]}"
                            f" does not say exactly what ran")
    unknown = [f"{side} run {info.run_id} (schema {info.schema_version})"
               for side, info in (("reference", ref), ("candidate", cand))
               if info.machine_shared is None]
    if latency_compared and unknown:
        warnings.append(f"the {' and the '.join(unknown)} do{'es' if len(unknown) == 1 else ''} "
                        f"not record whether another benchmark shared the machine; latency is "
                        f"compared as if each ran alone")
    return warnings


def _short(value: str | None) -> str:
    return "unknown" if value is None else value[:12]


def latency_obstacle(reference: MachineFacts, candidate: MachineFacts) -> str:
    """Why latency of these runs cannot be compared ("" when it can): another machine (cpu,
    cpu_count, or OS / architecture / kernel major.minor), other latency settings, or a run
    that shared the machine with another benchmark."""
    machine = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
               for name in ("cpu", "cpu_count") if _differs(reference, candidate, name)]
    ref_platform = comparable_platform(reference.platform)
    cand_platform = comparable_platform(candidate.platform)
    if ref_platform != cand_platform:
        machine.append(f"platform {ref_platform!r} vs {cand_platform!r}")
    reasons = []
    if machine:
        reasons.append(f"machines differ: {', '.join(machine)}")
    settings = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
                for name in LATENCY_SETTING_COLUMNS if _differs(reference, candidate, name)]
    if settings:
        reasons.append(f"latency settings differ: {', '.join(settings)}")
    for side, facts in (("reference", reference), ("candidate", candidate)):
        if facts.machine_shared:
            reasons.append(f"the {side} run {facts.run_id} shared the machine "
                           f"({facts.machine_shared_by})")
    return "; ".join(reasons)


def counting_obstacle(reference: MachineFacts, candidate: MachineFacts) -> str:
    """Why the instruction counts of these runs cannot be compared ("" when they can): another
    architecture, or another valgrind version or tool. "" too when either run counted none
    (schema 1-4, --skip-instructions): it has no instruction rows, which the comparison reports
    as "missing" or "no reference"."""
    if not (reference.valgrind and candidate.valgrind):
        return ""
    reasons = []
    ref_arch, cand_arch = architecture(reference.platform), architecture(candidate.platform)
    if ref_arch != cand_arch:
        reasons.append(f"architectures differ: {ref_arch!r} vs {cand_arch!r}")
    counted = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
               for name in COUNTING_FIELDS if _differs(reference, candidate, name)]
    if counted:
        reasons.append(f"counted with another valgrind: {', '.join(counted)}")
    return "; ".join(reasons)


def comparison_gate(reference: Run, candidate: Run, *, skip_latency: bool) -> LatencyGate:
    """How the machine-bound rows of these two runs are judged (latency_obstacle,
    counting_obstacle, --skip-latency)."""
    return LatencyGate(obstacle=latency_obstacle(reference.info, candidate.info),
                       skip=skip_latency,
                       counting=counting_obstacle(reference.info, candidate.info))


def candidate_gaps(candidate: Run, rules: CompareRules, *, skip_latency: bool) -> Gaps:
    """Gaps of a reference run for this candidate run: its gated measurements the run lacks,
    its machine-dependent ones (latency, heap) when the run's latency cannot be compared with
    the candidate's (latency_obstacle), and its instruction counts when they were counted
    otherwise (counting_obstacle)."""
    def gaps(reference: Run) -> list[str]:
        gate = comparison_gate(reference, candidate, skip_latency=skip_latency)
        keys = coverage_gaps(reference, candidate, rules, gate)
        unjudgeable = {key for key in keys
                       if (gate.obstacle and key.metric in MACHINE_METRICS)
                       or (gate.counting and key.metric in INSTRUCTION_METRICS)}
        absent = [key for key in keys if key not in unjudgeable]
        words = [f"{_count(len(absent), 'gated measurement')}: {describe_keys(absent)}"
                 if len(absent) > 1 else describe_keys(absent)] if absent else []
        if any(key.metric in MACHINE_METRICS for key in unjudgeable):
            words.append(f"comparable latency and heap ({gate.obstacle})")
        if any(key.metric in INSTRUCTION_METRICS for key in unjudgeable):
            words.append(f"comparable instruction counts ({gate.counting})")
        return words

    return gaps
