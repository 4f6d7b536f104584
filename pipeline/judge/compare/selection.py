"""Which reference run a candidate is compared with (comparability.py says whether the two
may be compared at all).

The gate fails closed: a reference run is chosen only among *complete* runs written before the
candidate, by a rule the report states, preferring the latest run that covers every gated
measurement of the candidate (a `--reuse-run` run holds no Keras model; a run that shared the
machine has no latency to compare), among the runs of the candidate's workload.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pandas as pd

from pipeline.config import CompareRules
from pipeline.judge.compare.comparability import comparison_gate
from pipeline.judge.compare.options import UPGRADES, GateOptions
from pipeline.judge.compare.rules import (
    INSTRUCTION_METRICS,
    MACHINE_METRICS,
    coverage_gaps,
    describe_keys,
)
from pipeline.results import (
    History,
    Run,
    RunInfo,
    read_history,
    tf_version_key,
)


class SelectionError(ValueError):
    """No run of the history fits the selection; the message lists what is available."""


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


@dataclass(frozen=True)
class ReferenceQuery:
    """What a reference run is chosen for: the candidate (its versions, workload, the time it
    was written, its own run id, what it needs of a reference) and the gate's options."""

    options: GateOptions = GateOptions()
    candidate_tf: str | None = None
    candidate_litert: str | None = None
    workload: str | None = None
    #: Only runs written before this are eligible (the candidate's time).
    before: pd.Timestamp | None = None
    #: The candidate's own run, never its own reference.
    candidate_run_id: str | None = None
    gaps: Gaps | None = None

    @classmethod
    def of(cls, candidate: Run, options: GateOptions, gaps: Gaps | None = None
           ) -> ReferenceQuery:
        """The query for a candidate run that has been measured."""
        info = candidate.info
        return cls(options, info.tensorflow, info.litert, info.workload, info.time,
                   candidate.run_id, gaps)


def _count(n: int, noun: str) -> str:
    """'1 run', '2 runs'."""
    return f"{n} {noun}{'s' if n != 1 else ''}"


#: How each package is named in the selection's reasons and errors.
_PACKAGE_LABEL = {"tensorflow": "TensorFlow", "litert": "LiteRT"}
#: The option that names a package's version for the reference, in advice.
_FLAG = {"tensorflow": "--tf", "litert": "--litert"}


def version_of(run: Run, package: str) -> str:
    """The run's version of `package` (`tensorflow` or `litert`); "" when it had none."""
    return (run.info.tensorflow if package == "tensorflow" else run.info.litert) or ""


def _pair(tensorflow: str, litert: str) -> str:
    return f"{tensorflow} + litert {litert or 'none'}"


def _describe_available(runs: Sequence[Run], *, pairs: bool = False) -> str:
    """`2.15.1 (1 run), 2.20.0 (2 runs)`; as (TensorFlow, LiteRT) pairs, `2.21.0 + litert 2.2.0
    (1 run), ...`, when the runs hold more than one LiteRT or `pairs` asks for them (a
    candidate's LiteRT the runs lack: what they hold instead is the answer)."""
    pairs = pairs or len({version_of(run, "litert") for run in runs}) > 1
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


def select_reference(history: History | Sequence[Run], query: ReferenceQuery) -> ReferenceChoice:
    """The reference run of `history` for the candidate that `query` describes.

    Only complete runs of the query's workload (of any, when None) are eligible. `run_id` names
    one. Otherwise the reference differs from the candidate in the package it `upgrade`s only: a
    TensorFlow candidate is compared within its LiteRT (`litert`, else the candidate's; any
    when unknown) with the latest complete run of `tf`, else of the newest TensorFlow below the
    candidate's; a LiteRT candidate within its TensorFlow (`tf`, else the candidate's) with
    `litert`, else the newest LiteRT below the candidate's. Among the runs of that pair, the
    latest one without `gaps` is chosen; when every run has some, the one with the fewest (the
    latest of those), and the reason says what it lacks. Raises SelectionError saying what is
    available.
    """
    options, workload, before = query.options, query.workload, query.before
    upgrade, tf, litert, run_id = options.upgrade, options.tf, options.litert, options.run_id
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
    given = {"tensorflow": query.candidate_tf, "litert": query.candidate_litert or None}
    held_version = wanted[held] if wanted[held] is not None else given[held]
    if held == "tensorflow" and held_version is None:
        raise SelectionError("the candidate's TensorFlow version is unknown; pass --tf")
    within = [run for run in eligible
              if held_version is None or version_of(run, held) == held_version]
    # Named only where it chose: when every eligible run has the held version, it left none out.
    on_held = (f" on {_PACKAGE_LABEL[held]} {held_version or 'none'}"
               if held_version is not None and len(within) < len(eligible) else "")
    available = f"complete runs: {_describe_available(eligible, pairs=bool(on_held)) or 'none'}"
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
    chosen, coverage_note = _covering(matching, query.gaps)
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


def load_reference(path: Path, query: ReferenceQuery, *,
                   exclude_path: Path | None = None) -> ReferenceChoice:
    """The reference run from a results CSV or history folder (see select_reference); a CSV
    named without --tf / --litert / --run-id is the reference itself, if complete.

    The candidate's own file (`exclude_path`) and run are left out first: a run must never be
    its own reference, or the gate would always pass. Raises ResultsFileError for an unusable
    file, SelectionError when no run fits.
    """
    history = read_history(path, exclude=[exclude_path] if exclude_path else [])
    runs = list(history)
    if query.candidate_run_id is not None:
        runs = [run for run in runs if run.run_id != query.candidate_run_id]
        if not runs:
            raise SelectionError(f"holds only the candidate's own run "
                                 f"{query.candidate_run_id!r}; pass a history with an earlier "
                                 f"run as REFERENCE")
    options = query.options
    if Path(path).is_file() and options.tf is None and options.litert is None \
            and options.run_id is None:
        # A file named on its own is the reference: there is nothing to choose between, only
        # its completeness to check.
        choice = select_reference(runs, ReferenceQuery(GateOptions(run_id=runs[0].run_id)))
    else:
        choice = select_reference(runs, query)
    return replace(choice, passed_over=history.passed_over)


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
