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
    completeness,
    is_missing,
    machine_sharing,
    read_history,
    run_times,
    tf_version_key,
)

#: Run fields that must be equal for instruction counts to be compared (with the architecture).
COUNTING_FIELDS: tuple[str, ...] = ("valgrind", "instructions_tool")
#: Run fields that must be equal for two runs to be compared at all.
REFUSING_FIELDS: tuple[str, ...] = ("workload", "dataset_sha256", "seed", "recipe_sha256")
#: Refusing too, where both runs record it (schema 6 on): an older run's is unknown, and its
#: workload, dataset and recipe hashes already say what it built.
REFUSING_WHERE_KNOWN: tuple[str, ...] = ("workload_sha256",)


class SelectionError(ValueError):
    """No run of the history fits the selection; the message lists what is available."""


class NotComparable(ValueError):
    """The two runs differ in what makes their measurements comparable; one line, naming the
    field and both values."""


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
    def of(cls, run: pd.DataFrame) -> RunIdentity:
        first = run.iloc[0]
        return cls(**{f.name: _text(first.get(f.name)) for f in fields(cls)})

    def label(self) -> str:
        return f"{self.run_id} (tensorflow {self.tensorflow}, cpu {self.cpu})"


@dataclass(frozen=True)
class ReferenceChoice:
    """The chosen reference run and, in words, why it was chosen."""

    run: pd.DataFrame
    reason: str
    #: Files of the history folder that are the project's other CSVs (duel, spread), not runs.
    passed_over: tuple[str, ...] = ()


#: What a candidate needs of a reference run that this run does not give, in words (empty: the
#: run covers the candidate). The CLI knows the candidate's measurements; a session about to
#: start knows the variants it selected and its machine.
Gaps = Callable[[pd.DataFrame], Sequence[str]]


def _text(value: object) -> str:
    return "" if is_missing(value) else str(value)


def _shown(run: pd.DataFrame, column: str) -> str:
    """A run field for a message; schema-1 files record no comparability fields."""
    value = run.iloc[0][column]
    if is_missing(value):
        return f"unknown (schema {int(run.iloc[0]['schema_version'])} file)"
    return repr(value) if isinstance(value, str) else str(value)


def _differs(reference: pd.DataFrame, candidate: pd.DataFrame, column: str) -> bool:
    """Whether the two runs differ in a run column; unknown on either side (schema 1) counts
    as different, since equality cannot be shown."""
    ref, cand = reference.iloc[0][column], candidate.iloc[0][column]
    return is_missing(ref) or is_missing(cand) or str(ref) != str(cand)


def _count(n: int, noun: str) -> str:
    """'1 run', '2 runs'."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _runs(history: pd.DataFrame) -> pd.DataFrame:
    """One row per run, with its time, for selection."""
    runs = history.drop_duplicates("run_id").copy()
    runs["_time"] = run_times(runs)
    return runs


def _is_complete(runs: pd.DataFrame) -> pd.Series:
    """True where a run says it is complete; a schema-1 run's completeness is unknown."""
    return runs["complete"].map(lambda v: completeness(v) is True)


def _describe_available(runs: pd.DataFrame) -> str:
    counts = runs["tensorflow"].value_counts()
    versions = sorted(counts.index, key=tf_version_key)
    return ", ".join(f"{v} ({_count(counts[v], 'run')})" for v in versions)


def _never_chosen(runs: pd.DataFrame) -> str:
    """' (2 partial runs and 1 schema-1 run, whose completeness is unknown, never chosen)'."""
    unknown = int(runs["complete"].map(lambda v: completeness(v) is None).sum())
    partial = len(runs) - unknown - int(_is_complete(runs).sum())
    parts = ([_count(partial, "partial run")] if partial else []) + (
        [f"{_count(unknown, 'schema-1 run')}, whose completeness is unknown,"] if unknown else [])
    return f" ({' and '.join(parts)} never chosen)" if parts else ""


def _of_workload(runs: pd.DataFrame, workload: str) -> pd.DataFrame:
    """The runs of `workload`; SelectionError naming the workloads there are if none."""
    matching = runs[runs["workload"] == workload]
    if matching.empty:
        counts = runs["workload"].value_counts()
        held = ", ".join(f"{name} ({_count(counts[name], 'run')})" for name in sorted(counts.index))
        raise SelectionError(f"no run of workload {workload!r}; the history holds runs of "
                             f"{held} (record one with pytest bench --workload {workload})")
    return matching


def select_reference(history: pd.DataFrame, *, candidate_tf: str | None = None,
                     before: pd.Timestamp | None = None, tf: str | None = None,
                     run_id: str | None = None, gaps: Gaps | None = None,
                     workload: str | None = None) -> ReferenceChoice:
    """The reference run of `history` for a candidate of TensorFlow `candidate_tf` and workload
    `workload` written at `before`.

    Only complete runs of the workload (of any, when None) are eligible. `run_id` names one;
    `tf` picks the latest complete run of that version written before the candidate; by
    default, the latest complete run of the newest TensorFlow version below the candidate's,
    written before the candidate. Among the runs of
    that version, the latest one without `gaps` is chosen; when every run has some, the one with
    the fewest (the latest of those), and the reason says what it lacks. Raises SelectionError
    saying what is available.
    """
    if history.empty:
        raise SelectionError("the history holds no runs")
    runs = _runs(history)
    if workload is not None and run_id is None:
        runs = _of_workload(runs, workload)
    complete = runs[_is_complete(runs)]
    partial_note = _never_chosen(runs)
    if run_id is not None:
        named = runs[runs["run_id"] == run_id]
        if named.empty:
            ids = runs.sort_values("_time", ascending=False)["run_id"]
            raise SelectionError(f"no run with run_id {run_id!r}; available run ids (newest "
                                 f"first): {', '.join(ids)}")
        if named.index[0] not in complete.index:
            state = (f"a schema-{int(named.iloc[0]['schema_version'])} run, whose completeness "
                     f"is unknown," if is_missing(named.iloc[0]["complete"]) else
                     f"partial ({named.iloc[0]['incomplete_reason']})")
            raise SelectionError(f"run {run_id!r} is {state} and cannot be a reference run; "
                                 f"name a complete run")
        return ReferenceChoice(_run(history, run_id), "the run named as the reference")
    eligible = complete if before is None else complete[complete["_time"] < before]
    later = len(complete) - len(eligible)
    later_note = (f"; {_count(later, 'complete run')} not written before the candidate left out"
                  if later else "")
    if tf is not None:
        matching = eligible[eligible["tensorflow"] == tf]
        if matching.empty:
            raise SelectionError(f"no complete run of tensorflow {tf!r} written before the "
                                 f"candidate{partial_note}{later_note}; complete runs: "
                                 f"{_describe_available(eligible) or 'none'}")
        why = f"the latest complete run of tensorflow {tf} written before the candidate"
    else:
        if candidate_tf is None:
            raise SelectionError("the candidate's TensorFlow version is unknown; pass --tf")
        older = [v for v in eligible["tensorflow"].unique()
                 if tf_version_key(v) < tf_version_key(candidate_tf)]
        if not older:
            raise SelectionError(f"no complete run of a TensorFlow version below the "
                                 f"candidate's {candidate_tf} written before it"
                                 f"{partial_note}{later_note}; complete runs: "
                                 f"{_describe_available(eligible) or 'none'} (pass --tf VERSION "
                                 f"to compare with a run of that version)")
        newest = max(older, key=tf_version_key)
        matching = eligible[eligible["tensorflow"] == newest]
        why = (f"the latest complete run of the newest TensorFlow below the candidate's "
               f"{candidate_tf} ({newest}), written before the candidate")
    chosen, coverage_note = _covering(history, matching, gaps)
    return ReferenceChoice(_run(history, chosen), why + coverage_note + partial_note + later_note)


def _covering(history: pd.DataFrame, matching: pd.DataFrame,
              gaps: Gaps | None) -> tuple[str, str]:
    """(run_id, note): the latest of `matching` that `gaps` finds nothing missing in, else the
    one missing least; the note names the later runs passed over and why."""
    newest_first = list(matching.sort_values(["_time", "run_id"], ascending=False)["run_id"])
    if gaps is None:
        return newest_first[0], ""
    missing = {run_id: list(gaps(_run(history, run_id))) for run_id in newest_first}
    chosen = min(newest_first, key=lambda run_id: len(missing[run_id]))  # first of the fewest
    passed = [f"{run_id} lacks {'; '.join(missing[run_id])}"
              for run_id in newest_first[:newest_first.index(chosen)]]
    note = "" if not (passed or missing[chosen]) else (
        " that covers every gated measurement of the candidate" if not missing[chosen] else
        f"; no such run covers every gated measurement of the candidate, this one lacks "
        f"{'; '.join(missing[chosen])}")
    if passed:
        note += f" ({_count(len(passed), 'later run')} passed over: {'; '.join(passed)})"
    return chosen, note


def _run(history: pd.DataFrame, run_id: str) -> pd.DataFrame:
    return history[history["run_id"] == run_id].reset_index(drop=True)


def load_reference(path: Path, *, candidate: pd.DataFrame | None = None,
                   candidate_tf: str | None = None, before: pd.Timestamp | None = None,
                   tf: str | None = None, run_id: str | None = None,
                   exclude_path: Path | None = None, gaps: Gaps | None = None,
                   workload: str | None = None) -> ReferenceChoice:
    """The reference run from a results CSV or history folder (see select_reference); a CSV
    named without --tf / --run-id is the reference itself, if complete.

    With `candidate` (one run), its TensorFlow version, workload and time are the selection's,
    and its own file and run id are left out first: a run must never be its own reference, or
    the gate would always pass. Raises ResultsFileError for an unusable file, SelectionError
    when no run fits.
    """
    history = read_history(path, exclude=[exclude_path] if exclude_path else [])
    passed_over = tuple(history.attrs.get("passed_over", ()))
    return replace(_choose(history, path, candidate=candidate, candidate_tf=candidate_tf,
                           before=before, tf=tf, run_id=run_id, gaps=gaps, workload=workload),
                   passed_over=passed_over)


def _choose(history: pd.DataFrame, path: Path, *, candidate: pd.DataFrame | None,
            candidate_tf: str | None, before: pd.Timestamp | None, tf: str | None,
            run_id: str | None, gaps: Gaps | None, workload: str | None) -> ReferenceChoice:
    if candidate is not None:
        first = candidate.iloc[0]
        candidate_tf = str(first["tensorflow"])
        workload = str(first["workload"])
        before = run_times(candidate).iloc[0]
        history = history[history["run_id"] != first["run_id"]]
        if history.empty:
            raise SelectionError(f"holds only the candidate's own run {first['run_id']!r}; "
                                 f"pass a history with an earlier run as REFERENCE")
    if Path(path).is_file() and tf is None and run_id is None:
        # A file named on its own is the reference: there is nothing to choose between, only
        # its completeness to check.
        return select_reference(history, run_id=str(history["run_id"].iloc[0]))
    return select_reference(history, candidate_tf=candidate_tf, before=before, tf=tf,
                            run_id=run_id, gaps=gaps, workload=workload)


def check_comparable(reference: pd.DataFrame, candidate: pd.DataFrame) -> None:
    """Raise NotComparable when the runs differ in workload, dataset, seed or recipe (or one of
    them does not record it), or in the workload's definition where both record it: the first
    such field, with both values."""
    known = [name for name in REFUSING_WHERE_KNOWN
             if _text(reference.iloc[0][name]) and _text(candidate.iloc[0][name])]
    for name in REFUSING_FIELDS + tuple(known):
        if _differs(reference, candidate, name):
            raise NotComparable(
                f"runs differ in {name}: reference run {reference.iloc[0]['run_id']} has "
                f"{_shown(reference, name)}, candidate run {candidate.iloc[0]['run_id']} has "
                f"{_shown(candidate, name)}; compare runs of the same workload, dataset, seed "
                f"and recipe "
                f"(choose another reference run with --tf or --run-id, or re-run one side)")


def warnings_of(reference: pd.DataFrame, candidate: pd.DataFrame, *,
                latency_compared: bool = False) -> list[str]:
    """What weakens the comparison without making it meaningless: other thresholds, a run made
    from uncommitted code (its git_commit does not say what ran), or, where latency is
    compared, a run that does not record whether it shared the machine (schema 1-3)."""
    warnings = []
    if _differs(reference, candidate, "config_sha256"):
        warnings.append(f"the runs were made with different threshold configs (config_sha256 "
                        f"{_short(reference, 'config_sha256')} vs "
                        f"{_short(candidate, 'config_sha256')})")
    for side, run in (("reference", reference), ("candidate", candidate)):
        if bool(run.iloc[0]["git_dirty"]):
            warnings.append(f"the {side} run {run.iloc[0]['run_id']} was made from uncommitted "
                            f"changes (git_dirty); its git_commit {run.iloc[0]['git_commit'][:12]}"
                            f" does not say exactly what ran")
    unknown = [f"{side} run {run.iloc[0]['run_id']} (schema "
               f"{int(run.iloc[0]['schema_version'])})"
               for side, run in (("reference", reference), ("candidate", candidate))
               if machine_sharing(run.iloc[0].get("machine_shared")) is None]
    if latency_compared and unknown:
        warnings.append(f"the {' and the '.join(unknown)} do{'es' if len(unknown) == 1 else ''} "
                        f"not record whether another benchmark shared the machine; latency is "
                        f"compared as if each ran alone")
    return warnings


def _short(run: pd.DataFrame, column: str) -> str:
    value = run.iloc[0][column]
    return "unknown" if is_missing(value) else str(value)[:12]


def latency_obstacle(reference: pd.DataFrame, candidate: pd.DataFrame) -> str:
    """Why latency of these runs cannot be compared ("" when it can): another machine (cpu,
    cpu_count, or OS / architecture / kernel major.minor), other latency settings, or a run
    that shared the machine with another benchmark."""
    machine = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
               for name in ("cpu", "cpu_count") if _differs(reference, candidate, name)]
    ref_platform = comparable_platform(str(reference.iloc[0]["platform"]))
    cand_platform = comparable_platform(str(candidate.iloc[0]["platform"]))
    if ref_platform != cand_platform:
        machine.append(f"platform {ref_platform!r} vs {cand_platform!r}")
    reasons = []
    if machine:
        reasons.append(f"machines differ: {', '.join(machine)}")
    settings = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
                for name in LATENCY_SETTING_COLUMNS if _differs(reference, candidate, name)]
    if settings:
        reasons.append(f"latency settings differ: {', '.join(settings)}")
    for side, run in (("reference", reference), ("candidate", candidate)):
        first = run.iloc[0]
        if machine_sharing(first.get("machine_shared")):
            reasons.append(f"the {side} run {first['run_id']} shared the machine "
                           f"({first['machine_shared_by']})")
    return "; ".join(reasons)


def counting_obstacle(reference: pd.DataFrame, candidate: pd.DataFrame) -> str:
    """Why the instruction counts of these runs cannot be compared ("" when they can): another
    architecture, or another valgrind version or tool. "" too when either run counted none
    (schema 1-4, --skip-instructions): it has no instruction rows, which the comparison reports
    as "missing" or "no reference"."""
    if not all(_text(run.iloc[0].get("valgrind")) for run in (reference, candidate)):
        return ""
    reasons = []
    ref_arch = architecture(str(reference.iloc[0]["platform"]))
    cand_arch = architecture(str(candidate.iloc[0]["platform"]))
    if ref_arch != cand_arch:
        reasons.append(f"architectures differ: {ref_arch!r} vs {cand_arch!r}")
    counted = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
               for name in COUNTING_FIELDS if _differs(reference, candidate, name)]
    if counted:
        reasons.append(f"counted with another valgrind: {', '.join(counted)}")
    return "; ".join(reasons)


def comparison_gate(reference: pd.DataFrame, candidate: pd.DataFrame, *,
                    skip_latency: bool) -> LatencyGate:
    """How the machine-bound rows of these two runs are judged (latency_obstacle,
    counting_obstacle, --skip-latency)."""
    return LatencyGate(obstacle=latency_obstacle(reference, candidate), skip=skip_latency,
                       counting=counting_obstacle(reference, candidate))


def candidate_gaps(candidate: pd.DataFrame, rules: CompareRules, *, skip_latency: bool) -> Gaps:
    """Gaps of a reference run for this candidate run: its gated measurements the run lacks,
    its machine-dependent ones (latency, heap) when the run's latency cannot be compared with
    the candidate's (latency_obstacle), and its instruction counts when they were counted
    otherwise (counting_obstacle)."""
    def gaps(reference: pd.DataFrame) -> list[str]:
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
