"""The verdict on each measurement of a candidate run against its reference run.

Under the `[compare]` rules of bench/thresholds.toml:

* accuracy: a drop of more than `accuracy_drop_max_points` points (1 point = 0.01) regresses;
  a rise of more than that is an improvement.
* zipped_bytes: growth beyond `size_growth_max` (a fraction) regresses; shrinking as much
  improves.
* heap_growth_bytes: growth beyond `memory_growth_max` regresses, between runs of one
  machine only (as latency: "not compared" across machines, "not gated" with skip_latency);
  init_seconds and first_invoke_seconds are "info" (one value per fresh process, dominated by
  page faults and file cache; docs/latency.md), and so is peak_rss_growth_bytes, which is
  mostly shared-library pages and moved +72% to +120% between two checkouts of the same code
  (pipeline.measure.footprint).
* instructions_per_invoke, instructions_first_invoke, instructions_allocate (counted under
  valgrind, bench instructions): growth beyond `instructions_growth_max` regresses,
  shrinking as much improves; allocate at `instructions_allocate_growth_max`, since it moves
  with the process's heap state (the same runtime wheel counted up to 2.35% apart in the
  environments of two TensorFlow lines). Compared across machines, since counts do not depend on the
  host's load or model: only the architecture and the valgrind version and tool must match
  (else "not compared", naming both values). `skip_latency` does not skip them: it is for
  the wall clock.
* sparsity: a drop of more than `sparsity_drop_max_points` points regresses (the pruned model
  keeps more weights than the schedule asks for); a rise as large is an improvement.
* latency: regresses only when the ratio of medians (candidate / reference, over the
  independent repetitions of each run) exceeds `latency_slowdown_max` AND its bootstrap
  confidence interval at 1 - `latency_alpha` lies above 1: beyond a practical factor and
  statistically clear. Latency of runs on other machines or with other latency settings is
  "not compared"; with `skip_latency` it is "not gated". Rows with more threads than
  `latency_gated_max_threads` are "info": on a 2-core machine a 2-thread invoke needs the
  other core, and any other process there doubles its time (docs/latency.md).
* a gated measurement of the reference run that the candidate lacks is "missing", which fails
  like a regression: a gate must not pass because a measurement went away.
* a model of the reference run that the candidate did not select (its `variants` column, e.g.
  plain `pytest bench` against an all-variants reference) is left out, not "missing": see
  `not_selected`. A candidate whose selection is unknown (schema 1 and 2) selected everything.
* a measurement of a TFLite runtime that one run's build did not provide (its
  `runtimes_unavailable`, e.g. a TensorFlow without tf.lite.Interpreter) is "not available":
  absent by that build, not missing, and named in the outcome's note; it never fails the gate.
* a gated measurement the candidate has and the reference lacks is "no reference": nothing
  judged it, so the outcome cannot be a plain PASS (e.g. a reference made with `--reuse-run`
  holds no Keras model). An info measurement the candidate alone has is "candidate only", one
  the reference alone has "reference only"; stage_seconds are "info".
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.config import CompareRules
from pipeline.judge.statistics import RatioEstimate, bootstrap_ratio_of_medians, judge_ratio
from pipeline.measure.interpreters import interpreter_of, is_available
from pipeline.results import (
    METRICS,
    STAGES,
    MeasurementKey,
    Run,
    key_of,
    parse_samples,
)
from pipeline.variants.registry import registry_rank

#: Every verdict, in the order the summary counts them.
VERDICTS: tuple[str, ...] = ("missing", "regressed", "improved", "ok", "not compared",
                             "no reference", "not gated", "not available", "info",
                             "candidate only", "reference only")
#: Verdicts that fail the gate.
FAILING: frozenset[str] = frozenset({"missing", "regressed"})
#: Metrics that are reported but never decide the exit code: stage times (machine load), and
#: distinct weights, which the bench test bounds by the cluster count (a count moving inside
#: that bound is not a regression).
INFO_METRICS: frozenset[str] = frozenset({"stage_seconds", "distinct_weights", "init_seconds",
                                          "first_invoke_seconds", "peak_rss_growth_bytes"})
#: What the interpreter allocates (pipeline.measure.footprint): judged like a size, with
#: memory_growth_max, on one machine only.
MEMORY_METRIC = "heap_growth_bytes"
#: Metrics judged as sizes (growth beyond size_growth_max regresses).
SIZE_METRICS: frozenset[str] = frozenset({"zipped_bytes", "raw_bytes"})
#: Gated metrics that depend on the machine: compared only between runs of one machine, and
#: not gated with skip_latency.
MACHINE_METRICS: frozenset[str] = frozenset({"latency", MEMORY_METRIC})
#: Instructions counted under valgrind: gated across machines of one architecture and valgrind.
INSTRUCTION_METRICS: frozenset[str] = frozenset({"instructions_per_invoke",
                                                 "instructions_first_invoke",
                                                 "instructions_allocate"})
#: The instruction metric with a bound of its own (instructions_allocate_growth_max).
ALLOCATE_METRIC = "instructions_allocate"

Record = dict[Any, Any]


@dataclass(frozen=True)
class ComparisonRow:
    """The verdict on one measurement key; `change` and `allowed` are for humans."""

    model: str
    runtime: str | None
    threads: int | None
    metric: str
    stage: str | None
    reference: float | None
    candidate: float | None
    change: str
    allowed: str
    verdict: str
    detail: str = ""


@dataclass(frozen=True)
class LatencyGate:
    """How machine-bound rows are judged in this comparison: `obstacle` says why latency and
    heap cannot be compared (machines or settings differ), `skip` that the user asked not to
    gate them; `counting` why instruction counts cannot be compared (architecture or valgrind
    differ), which `skip` leaves gated."""

    obstacle: str = ""
    skip: bool = False
    counting: str = ""


def is_gated(key: MeasurementKey, rules: CompareRules) -> bool:
    """Whether a rule can fail this measurement: not an info metric, and not latency with more
    threads than `latency_gated_max_threads`."""
    if key.metric in INFO_METRICS:
        return False
    return key.metric != "latency" or (key.threads or 1) <= rules.latency_gated_max_threads


def is_gated_here(key: MeasurementKey, rules: CompareRules, gate: LatencyGate) -> bool:
    """Whether a rule can fail this measurement in this comparison: gated, and not a
    machine-dependent metric the user asked not to gate (skip_latency)."""
    return is_gated(key, rules) and not (gate.skip and key.metric in MACHINE_METRICS)


def gated_keys(run: Run, rules: CompareRules,
               gate: LatencyGate | None = None) -> list[MeasurementKey]:
    """The keys of `run` that a rule can fail (in a comparison under `gate`), in report
    order."""
    keys = set(_by_key(run))
    return sorted((k for k in keys if is_gated_here(k, rules, gate or LatencyGate())),
                  key=report_order)


def coverage_gaps(reference: Run, candidate: Run, rules: CompareRules,
                  gate: LatencyGate) -> list[MeasurementKey]:
    """The candidate's gated measurements that `reference` cannot judge: it lacks them, or
    they depend on the machine and `gate.obstacle` says the runs' machines or settings
    differ. Empty when the reference covers the candidate."""
    reference_keys = set(_by_key(reference))
    return [key for key in gated_keys(candidate, rules, gate)
            if key not in reference_keys or (gate.obstacle and key.metric in MACHINE_METRICS)
            or (gate.counting and key.metric in INSTRUCTION_METRICS)]


#: Up to this many keys a message lists each; beyond, it names their models only.
DESCRIBED_KEYS_MAX = 8


def describe_keys(keys: Sequence[MeasurementKey], limit: int | None = DESCRIBED_KEYS_MAX) -> str:
    """'baseline (accuracy, zipped_bytes), pruned_tflite (latency tf.lite 1 thread)': keys
    grouped by model, for a message; more than `limit` keys: 'those of qat, ... (the rows say
    which)', so that a report's one line stays readable (None: list every key, for a failing
    test's message, which has no rows)."""
    if limit is not None and len(keys) > limit:
        models = dict.fromkeys(key.model for key in sorted(keys, key=report_order))
        return f"those of {', '.join(models)} (the rows say which)"
    grouped: dict[str, list[str]] = {}
    for key in sorted(keys, key=report_order):
        what = " ".join([key.metric, *([key.runtime] if key.runtime else []),
                         *([f"{key.threads} thread{'s' if key.threads != 1 else ''}"]
                           if key.threads is not None else [])])
        grouped.setdefault(key.model, []).append(what)
    return ", ".join(f"{model} ({', '.join(whats)})" for model, whats in grouped.items())


def report_order(key: MeasurementKey) -> tuple[object, ...]:
    def rank(names: Sequence[str], name: str | None) -> tuple[int, str]:
        return (names.index(name), "") if name in names else (len(names), name or "")

    return (registry_rank(key.model), rank(METRICS, key.metric), key.runtime or "",
            key.threads or 0, rank(STAGES, key.stage))


def _by_key(run: Run) -> dict[MeasurementKey, Record]:
    """The run's rows by measurement key (unique within a run: the reader checks it)."""
    return {key_of(r): r for r in run.rows.to_dict("records")}


def _points(reference: float, candidate: float, limit: float) -> tuple[str, str, str]:
    """A fraction compared in points; a drop beyond `limit` regresses."""
    points = round((candidate - reference) * 100, 9)  # rounding keeps an exact-limit change "ok"
    verdict = "regressed" if points < -limit else "improved" if points > limit else "ok"
    return f"{points:+.2f} pt", f"-{limit:.2f} pt", verdict


def _size(reference: float, candidate: float, limit: float,
          digits: int = 1) -> tuple[str, str, str]:
    """Growth as a fraction; beyond `limit` regresses, shrinking as much improves. `digits`
    after the point in the percentages (instruction counts move in hundredths)."""
    growth = round(candidate / reference - 1, 9)
    verdict = "regressed" if growth > limit else "improved" if growth < -limit else "ok"
    return f"{growth:+.{digits}%}", f"+{limit:.{digits}%}", verdict


def judge_latency(reference: Sequence[float], candidate: Sequence[float],
                  rules: CompareRules) -> tuple[RatioEstimate, str]:
    """The latency rule on two runs' repetition values (seconds per call): the ratio of
    medians with its bootstrap CI, and the verdict. Also what scripts/latency_validity.py
    applies, so the measured error rates are those of this very rule."""
    estimate = bootstrap_ratio_of_medians(reference, candidate,
                                          confidence=1 - rules.latency_alpha)
    return estimate, judge_ratio(estimate, rules.latency_slowdown_max)


def _latency(reference: Record, candidate: Record, rules: CompareRules,
             gate: LatencyGate) -> tuple[str, str, str, str]:
    """(change, allowed, verdict, detail) of one latency key."""
    ratio = float(candidate["value"]) / float(reference["value"])
    limit, alpha = rules.latency_slowdown_max, rules.latency_alpha
    change = f"x{ratio:.3f}"
    allowed = f"x{limit:.2f}, {1 - alpha:.0%} CI > 1"
    threads = key_of(candidate).threads or 1
    if threads > rules.latency_gated_max_threads:
        return change, "", "info", (f"{threads} threads: not gated (latency_gated_max_threads "
                                    f"= {rules.latency_gated_max_threads})")
    if gate.skip:
        return change, "", "not gated", "--skip-latency"
    if gate.obstacle:
        return change, "", "not compared", gate.obstacle
    estimate, verdict = judge_latency(parse_samples(reference["samples"]),
                                      parse_samples(candidate["samples"]), rules)
    detail = f"{1 - alpha:.0%} CI x{estimate.ci_low:.3f}-x{estimate.ci_high:.3f}"
    return f"x{estimate.ratio:.3f}", allowed, verdict, detail


def _judge(key: MeasurementKey, reference: Record, candidate: Record, rules: CompareRules,
           gate: LatencyGate) -> tuple[str, str, str, str]:
    """(change, allowed, verdict, detail) of a key present in both runs."""
    ref, cand = float(reference["value"]), float(candidate["value"])
    if key.metric in INFO_METRICS:
        return (f"{cand / ref - 1:+.1%}" if ref else ""), "", "info", ""
    if key.metric == "accuracy":
        return (*_points(ref, cand, rules.accuracy_drop_max_points), "")
    if key.metric == "sparsity":
        return (*_points(ref, cand, rules.sparsity_drop_max_points), "")
    if key.metric in INSTRUCTION_METRICS:
        if gate.counting:
            return f"{cand / ref - 1:+.2%}" if ref else "", "", "not compared", gate.counting
        limit = (rules.instructions_allocate_growth_max if key.metric == ALLOCATE_METRIC
                 else rules.instructions_growth_max)
        return (*_size(ref, cand, limit, digits=2), "")
    if key.metric not in ("latency", MEMORY_METRIC) and key.metric not in SIZE_METRICS:
        return "", "", "not compared", f"no rule for metric {key.metric!r}"
    if ref <= 0:
        return "", "", "not compared", "reference value is not positive"
    if key.metric == "latency":
        return _latency(reference, candidate, rules, gate)
    if key.metric == MEMORY_METRIC:
        return _memory(ref, cand, rules, gate)
    return (*_size(ref, cand, rules.size_growth_max), "")


def _memory(reference: float, candidate: float, rules: CompareRules,
            gate: LatencyGate) -> tuple[str, str, str, str]:
    """Heap growth: a size rule (memory_growth_max), but only between runs on one machine,
    like latency: what an interpreter allocates depends on the CPU's kernels."""
    change = f"{candidate / reference - 1:+.1%}"
    if gate.skip:
        return change, "", "not gated", "--skip-latency"
    if gate.obstacle:
        return change, "", "not compared", gate.obstacle
    return (*_size(reference, candidate, rules.memory_growth_max), "")


def not_selected(reference: Run, candidate: Run) -> tuple[str, ...]:
    """Models of the reference run outside the candidate's selection of variants, which the
    comparison leaves out; none when the candidate's selection is unknown."""
    selection = candidate.info.variants
    if not selection:  # unknown (schema 1, 2), or a run made here that selected nothing
        return ()
    models = dict.fromkeys(reference.rows["model"])
    return tuple(sorted((m for m in models if m not in selection),
                        key=lambda m: report_order(MeasurementKey(m, None, None, "", None))))


def _absent_by_build(key: MeasurementKey, side: str, run: Run) -> str | None:
    """Why `run` (the `side` run) holds no row of `key`, when its build did not provide the
    key's runtime; None otherwise."""
    unavailable = run.info.runtimes_unavailable or ()
    if key.runtime is None or is_available(key.runtime, unavailable):
        return None
    return (f"{interpreter_of(key.runtime)} is not available in the {side}'s build "
            f"(run {run.run_id}, runtimes_unavailable)")


def compare_runs(reference: Run, candidate: Run, rules: CompareRules, *,
                 latency: LatencyGate | None = None) -> list[ComparisonRow]:
    """One ComparisonRow per measurement key of either run, in report order.

    Models the candidate did not select are left out (not_selected). Comparability (dataset,
    seed, recipe) is checked by the caller (selection.check_comparable); `latency` says whether
    latency rows can and should be gated.
    """
    gate = latency or LatencyGate()
    ref_rows, cand_rows = _by_key(reference), _by_key(candidate)
    left_out = set(not_selected(reference, candidate))
    ref_rows = {key: row for key, row in ref_rows.items() if key.model not in left_out}
    rows = []
    for key in sorted(ref_rows.keys() | cand_rows.keys(), key=report_order):
        ref, cand = ref_rows.get(key), cand_rows.get(key)
        absent_in = (_absent_by_build(key, "reference", reference) if ref is None else
                     _absent_by_build(key, "candidate", candidate) if cand is None else None)
        if absent_in is not None:
            judged = ("", "", "not available", absent_in)
        elif ref is None:
            judged = (("", "", "no reference", "no reference measurement: not judged")
                      if is_gated_here(key, rules, gate) else ("", "", "candidate only", ""))
        elif cand is None:
            judged = ("", "", "missing", "measured in the reference run, absent from the "
                      "candidate") if is_gated(key, rules) else ("", "", "reference only", "")
        else:
            judged = _judge(key, ref, cand, rules, gate)
        rows.append(ComparisonRow(
            *key, reference=None if ref is None else float(ref["value"]),
            candidate=None if cand is None else float(cand["value"]),
            change=judged[0], allowed=judged[1], verdict=judged[2], detail=judged[3]))
    return rows
