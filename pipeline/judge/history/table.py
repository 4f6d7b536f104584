"""The history table: every run of a history as tidy rows, and the facts its picture needs.

One row per run x (model, runtime, threads), each number once (see cli.py for the columns), in
run order (TensorFlow version, then time); the machines the runs were measured on, labelled
as briefly as tells them apart.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from pipeline.build.variants import registry_rank
from pipeline.results import (
    is_missing,
    machine_sharing,
    parse_samples,
    run_times,
    tf_version_key,
)

TABLE_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp_utc", "tensorflow", "workload", "cpu", "complete", "model", "runtime",
    "threads",
    "accuracy", "zipped_bytes", "size_ratio", "latency_median_s", "latency_q1_s",
    "latency_q3_s",
)


def _run_order(runs: pd.DataFrame) -> list[str]:
    """run_ids ordered by (TensorFlow version, timestamp); unparseable versions go last."""
    runs = runs.assign(_time=run_times(runs))
    return [row["run_id"] for _, row in sorted(
        runs.iterrows(),
        key=lambda item: (tf_version_key(item[1]["tensorflow"]), item[1]["_time"],
                          item[1]["run_id"]))]


#: The run columns the table repeats on each of a run's rows. `complete` marks partial runs
#: (False: never a reference run) and is empty for schema-1 runs, whose completeness is unknown.
_RUN_FIELDS: tuple[str, ...] = ("run_id", "timestamp_utc", "tensorflow", "workload", "cpu",
                                "complete")


def source_runs(history: pd.DataFrame) -> dict[str, str]:
    """run_id -> the run whose files it re-measured (`--reuse-run`), for reuse runs only."""
    if "source_run_id" not in history:
        return {}
    runs = history.drop_duplicates("run_id").set_index("run_id")["source_run_id"]
    return {str(run): str(source) for run, source in runs.items()
            if not is_missing(source) and str(source) != ""}


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The tidy table (TABLE_COLUMNS) of a history as read by read_history, in run order.

    A reuse run's size ratios use its source run's baseline (the run that built the files and
    whose baseline the session's size checks read): it built no baseline of its own."""
    runs = history.drop_duplicates("run_id")[list(_RUN_FIELDS)]
    order = {run_id: i for i, run_id in enumerate(_run_order(runs))}
    baseline = history[(history["model"] == "baseline") & (history["metric"] == "zipped_bytes")]
    baseline_bytes = dict(zip(baseline["run_id"], baseline["value"], strict=True))
    for run_id, source in source_runs(history).items():
        if run_id not in baseline_bytes and source in baseline_bytes:
            baseline_bytes[run_id] = baseline_bytes[source]
    rows = []
    for run_key, run in history.groupby("run_id", sort=False):
        rows += _run_rows(run, baseline_bytes.get(str(run_key)))
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    table = table.assign(
        _run=table["run_id"].map(order), _model=table["model"].map(lambda m: registry_rank(m)[0]),
        _latency=table["runtime"].notna(), _runtime=table["runtime"].fillna(""),
        _threads=pd.to_numeric(table["threads"]).fillna(0),
    ).sort_values(["_run", "_model", "model", "_latency", "_runtime", "_threads"])
    table = table.drop(columns=[c for c in table.columns if c.startswith("_")])
    for column in ("threads", "zipped_bytes"):
        table[column] = table[column].astype("Int64")
    for column in ("accuracy", "size_ratio", "latency_median_s", "latency_q1_s",
                   "latency_q3_s"):
        table[column] = table[column].astype("float64")
    return table.reset_index(drop=True)


def _run_rows(run: pd.DataFrame, baseline_bytes: float | None) -> list[dict[str, Any]]:
    """The table rows of one run (unsorted): one per model, one per latency measurement."""
    first = run.iloc[0]
    ident = {c: first[c] for c in _RUN_FIELDS}
    model_level = run[run["metric"].isin(["accuracy", "zipped_bytes"])]
    value = {(r["model"], r["metric"]): r["value"] for r in model_level.to_dict("records")}
    rows = []
    for model in run["model"].unique():
        size = value.get((model, "zipped_bytes"))
        ratio = (baseline_bytes / size if model != "baseline" and baseline_bytes and size
                 else None)
        rows.append({**ident, "model": model, "runtime": None, "threads": None,
                     "accuracy": value.get((model, "accuracy")), "zipped_bytes": size,
                     "size_ratio": ratio, "latency_median_s": None,
                     "latency_q1_s": None, "latency_q3_s": None})
    for record in run[run["metric"] == "latency"].to_dict("records"):
        q1, q3 = np.percentile(parse_samples(record["samples"]), [25, 75])
        rows.append({**ident, "model": record["model"], "runtime": record["runtime"],
                     "threads": record["threads"], "accuracy": None, "zipped_bytes": None,
                     "size_ratio": None, "latency_median_s": record["value"],
                     "latency_q1_s": float(q1), "latency_q3_s": float(q3)})
    return rows


class Machine(NamedTuple):
    """What a latency line is measured on: runs on another CPU (or CPU count) are another line,
    because their latency differs by the machine, not by the code."""

    cpu: str
    cpu_count: int | None


class RunFacts(NamedTuple):
    """What the picture needs to know of each run beyond the table: its machine, the run a
    reuse session re-measured, and the runs whose latency is not trusted."""

    machine: dict[str, Machine]
    source: dict[str, str]
    shared: frozenset[str]


def run_facts(history: pd.DataFrame) -> RunFacts:
    """RunFacts of a history as read by read_history. `machine_shared` is read only when the
    frame has it (results schema 4); without it no run counts as shared."""
    runs = history.drop_duplicates("run_id").set_index("run_id")
    counts = runs["cpu_count"] if "cpu_count" in runs else pd.Series(None, index=runs.index)
    shared = runs.get("machine_shared")
    return RunFacts(
        machine={str(r): _machine(runs.at[r, "cpu"], counts.at[r]) for r in runs.index},
        source=source_runs(history),
        shared=frozenset() if shared is None else frozenset(
            str(r) for r, flag in shared.items() if machine_sharing(flag)))


def _machine(cpu: object, cpu_count: object) -> Machine:
    count = None if is_missing(cpu_count) or cpu_count == "" else int(float(str(cpu_count)))
    return Machine("" if is_missing(cpu) else str(cpu).strip(), count)


def facts_from_table(table: pd.DataFrame) -> RunFacts:
    """What the table alone tells of its runs (cpu, no CPU count, no reuse, none shared)."""
    runs = table.drop_duplicates("run_id")
    return RunFacts({str(r): _machine(c, None) for r, c in zip(runs["run_id"], runs["cpu"],
                                                                 strict=True)}, {}, frozenset())


#: "NAME (VENDOR family F model M stepping S)", as pipeline.measure.environment.cpu_model writes it.
_CPU_IDS = re.compile(r"^(?P<name>.*?)\s*\((?P<ids>[^()]*\bfamily\b[^()]*)\)\s*$")
#: Words of a CPU model name that tell nothing apart: trademarks, "CPU", clock, core count.
_CPU_NOISE = re.compile(r"\((?:R|TM)\)|\bCPU\b|\bProcessor\b|@\s*[\d.]+\s*GHz|\b\d+-Core\b",
                        re.IGNORECASE)
#: Levels of detail of a machine label, shortest first.
_ID_DETAIL: tuple[tuple[str, ...], ...] = (("family",), ("family", "model"),
                                          ("family", "model", "stepping"))
_ID_ABBREVIATION: Mapping[str, str] = {"family": "fam", "model": "model",
                                       "stepping": "stepping"}


def cpu_name(cpu: str, ids: Sequence[str] = ("family",)) -> str:
    """A short name of a `cpu` cell: "AMD EPYC (AuthenticAMD family 25 model 17 stepping 1)"
    -> "AMD EPYC fam 25" with the default `ids`; the cell itself when it has no such ids."""
    match = _CPU_IDS.match(cpu)
    if match is None:
        return cpu or "unknown CPU"
    name = " ".join(_CPU_NOISE.sub(" ", match["name"]).split()) or "CPU"
    words = match["ids"].split()
    found = {key: value for key, value in zip(words, words[1:], strict=False)
             if key in _ID_ABBREVIATION}
    return " ".join([name] + [f"{_ID_ABBREVIATION[key]} {found[key]}" for key in ids
                              if key in found])


def machine_labels(machines: Iterable[Machine]) -> dict[Machine, str]:
    """The shortest labels that still tell every machine apart: the CPU name and family, then
    with its model, then its stepping, each tried without and with the CPU count; last the
    whole `cpu` cell and count. Legends stay short on one machine and unambiguous on many."""
    unique = list(dict.fromkeys(machines))
    labels: dict[Machine, str] = {}
    for ids in _ID_DETAIL:
        for with_count in (False, True):
            labels = {m: _machine_label(cpu_name(m.cpu, ids), m, with_count) for m in unique}
            if len(set(labels.values())) == len(unique):
                return labels
    return {m: _machine_label(m.cpu or "unknown CPU", m, True) for m in unique}


def _machine_label(name: str, machine: Machine, with_count: bool) -> str:
    if not with_count:
        return name
    return f"{name}, {'? CPUs' if machine.cpu_count is None else f'{machine.cpu_count} CPUs'}"
