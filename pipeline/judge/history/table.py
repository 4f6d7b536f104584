"""The history table: every run of a history as tidy rows, and the facts its picture needs.

One row per run x (model, runtime, threads), each number once (see outputs.py for the columns), in
run order (TensorFlow version, LiteRT version, then time); the machines the runs were measured
on, labelled as briefly as tells them apart.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from pipeline.results import Run, is_missing, parse_samples, tf_version_key, without_runtime
from pipeline.variants.registry import registry_rank

TABLE_COLUMNS: tuple[str, ...] = (
    "run_id", "timestamp_utc", "tensorflow", "litert", "workload", "cpu", "complete", "model",
    "runtime", "threads",
    "accuracy", "zipped_bytes", "size_ratio", "latency_median_s", "latency_q1_s",
    "latency_q3_s", "instructions_per_invoke",
)


def _run_order(runs: Iterable[Run]) -> list[Run]:
    """Runs ordered by (TensorFlow version, LiteRT version, timestamp); unparseable versions go
    last. A LiteRT release added to a line later sorts among that line's runs by its version,
    so the line's newest LiteRT stays last (the Pareto view's run)."""
    return sorted(runs, key=lambda run: (tf_version_key(run.info.tensorflow),
                                         tf_version_key(run.info.litert or ""), run.info.time,
                                         run.run_id))


#: The run fields the table repeats on each of a run's rows. `complete` marks partial runs
#: (False: never a reference run) and is empty for schema-1 runs, whose completeness is unknown.
_RUN_FIELDS: tuple[str, ...] = ("run_id", "timestamp_utc", "tensorflow", "litert", "workload",
                                "cpu", "complete")


def source_runs(runs: Iterable[Run]) -> dict[str, str]:
    """run_id -> the run whose files it re-measured (`--reuse-run`), for reuse runs only."""
    return {run.run_id: run.info.source_run_id for run in runs if run.info.source_run_id}


def history_table(runs: Iterable[Run]) -> pd.DataFrame:
    """The tidy table (TABLE_COLUMNS) of a history (read_history), in run order.

    A reuse run's size ratios use its source run's baseline (the run that built the files and
    whose baseline the session's size checks read): it built no baseline of its own."""
    ordered = _run_order(runs)
    baseline_bytes: dict[str, float] = {}
    for run in ordered:
        sizes = run.rows[(run.rows["model"] == "baseline")
                         & (run.rows["metric"] == "zipped_bytes")]["value"]
        if not sizes.empty:
            baseline_bytes[run.run_id] = float(sizes.to_numpy()[0])
    for run_id, source in source_runs(ordered).items():
        if run_id not in baseline_bytes and source in baseline_bytes:
            baseline_bytes[run_id] = baseline_bytes[source]
    rows: list[dict[str, Any]] = []
    for order, run in enumerate(ordered):
        rows += [{**row, "_run": order} for row in _run_rows(run, baseline_bytes.get(run.run_id))]
    table = pd.DataFrame(rows, columns=[*TABLE_COLUMNS, "_run"])

    table = table.assign(
        _model=table["model"].map(lambda m: registry_rank(m)[0]),
        _latency=table["runtime"].notna(), _runtime=table["runtime"].fillna(""),
        _threads=pd.to_numeric(table["threads"]).fillna(0),
    ).sort_values(["_run", "_model", "model", "_latency", "_runtime", "_threads"])
    table = table.drop(columns=[c for c in table.columns if c.startswith("_")])
    for column in ("threads", "zipped_bytes", "instructions_per_invoke"):
        table[column] = table[column].astype("Int64")
    for column in ("accuracy", "size_ratio", "latency_median_s", "latency_q1_s",
                   "latency_q3_s"):
        table[column] = table[column].astype("float64")
    return table.reset_index(drop=True)


def _run_rows(run: Run, baseline_bytes: float | None) -> list[dict[str, Any]]:
    """The table rows of one run (unsorted): one per model, one per latency measurement."""
    ident = {c: getattr(run.info, c) for c in _RUN_FIELDS}
    model_level = run.rows[run.rows["metric"].isin(["accuracy", "zipped_bytes"])
                           & without_runtime(run.rows)]
    value = {(r["model"], r["metric"]): r["value"] for r in model_level.to_dict("records")}
    rows = []
    for model in run.rows["model"].unique():
        size = value.get((model, "zipped_bytes"))
        ratio = (baseline_bytes / size if model != "baseline" and baseline_bytes and size
                 else None)
        rows.append({**ident, "model": model, "runtime": None, "threads": None,
                     "accuracy": value.get((model, "accuracy")), "zipped_bytes": size,
                     "size_ratio": ratio, "latency_median_s": None,
                     "latency_q1_s": None, "latency_q3_s": None,
                     "instructions_per_invoke": None})
    counted = run.rows[run.rows["metric"] == "instructions_per_invoke"]
    instructions = {(r["model"], r["runtime"], r["threads"]): r["value"]
                    for r in counted.to_dict("records")}
    for record in run.rows[run.rows["metric"] == "latency"].to_dict("records"):
        q1, q3 = np.percentile(parse_samples(record["samples"]), [25, 75])
        key = (record["model"], record["runtime"], record["threads"])
        rows.append({**ident, "model": record["model"], "runtime": record["runtime"],
                     "threads": record["threads"], "accuracy": None, "zipped_bytes": None,
                     "size_ratio": None, "latency_median_s": record["value"],
                     "latency_q1_s": float(q1), "latency_q3_s": float(q3),
                     "instructions_per_invoke": instructions.pop(key, None)})
    for (model, runtime, threads), value in instructions.items():  # counted, never timed
        rows.append({**ident, "model": model, "runtime": runtime, "threads": threads,
                     "accuracy": None, "zipped_bytes": None, "size_ratio": None,
                     "latency_median_s": None, "latency_q1_s": None, "latency_q3_s": None,
                     "instructions_per_invoke": value})
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


def run_facts(runs: Iterable[Run]) -> RunFacts:
    """RunFacts of a history (read_history). A run that does not record whether it shared the
    machine (schema 1-3) counts as not shared."""
    runs = list(runs)
    return RunFacts(
        machine={run.run_id: _machine(run.info.cpu, run.info.cpu_count) for run in runs},
        source=source_runs(runs),
        shared=frozenset(run.run_id for run in runs if run.info.machine_shared))


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
