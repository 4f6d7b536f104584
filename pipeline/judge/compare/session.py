"""The history gate of a `pytest bench` session (`--compare-to`): its reference run, chosen
before anything is measured, by the same rules as `bench compare`.

A session must pick its reference run at collection, when it knows what it will measure (the
variants it selected) and where (this machine, its latency settings, whether another benchmark
is running) but no measurement yet. So coverage is judged on that plan: a reference run lacks
a selected variant it never measured (a `--reuse-run` run holds no Keras model), its latency
when the two runs' latency cannot be compared, or its instruction counts when they were counted
with another valgrind or on another architecture. What the plan cannot foresee (a runtime missing
on one side) the session's coverage test catches once everything is measured.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.judge.compare.comparability import counting_obstacle, latency_obstacle
from pipeline.judge.compare.options import GateOptions
from pipeline.judge.compare.selection import Gaps, ReferenceChoice, ReferenceQuery, load_reference
from pipeline.results import SCHEMA_VERSION, Run
from pipeline.variants.registry import VARIANTS


@dataclass(frozen=True)
class SessionPlan:
    """What a session about to start will measure, and where: the facts latency_obstacle and
    counting_obstacle read of a run (comparability.MachineFacts)."""

    variants: tuple[str, ...]
    #: The workload it builds (pipeline.workload): only runs of it are candidates.
    workload: str
    cpu: str
    cpu_count: int
    platform: str
    #: The `[latency]` settings, under their run column names (LatencySettings.columns()).
    latency_repetitions: int
    latency_warmup_invokes: int
    latency_timed_invokes: int
    latency_order_seed: int
    #: What this session shares the machine with, as far as known at its start ("": alone).
    machine_shared_by: str = ""
    skip_latency: bool = False
    #: What will count instructions: valgrind's version and tool ("": nothing is counted).
    valgrind: str = ""
    instructions_tool: str = ""

    #: The run id latency_obstacle and counting_obstacle name it by, and its schema.
    run_id = "this session"
    schema_version = SCHEMA_VERSION

    @property
    def machine_shared(self) -> bool:
        return bool(self.machine_shared_by)

    def gaps(self) -> Gaps:
        """What a reference run lacks for this plan, in words."""
        times_latency = any(VARIANTS[name].kind == "tflite" for name in self.variants)

        def gaps(reference: Run) -> Sequence[str]:
            measured = set(reference.rows["model"])
            absent = [name for name in self.variants if name not in measured]
            words = [f"{', '.join(absent)} (not measured)"] if absent else []
            obstacle = latency_obstacle(reference.info, self)
            if times_latency and obstacle and not self.skip_latency:
                words.append(f"comparable latency and heap ({obstacle})")
            counting = counting_obstacle(reference.info, self)
            if times_latency and self.valgrind and counting:
                words.append(f"comparable instruction counts ({counting})")
            return words

        return gaps


def session_reference(path: Path, plan: SessionPlan, options: GateOptions, *,
                      installed_tf: str, installed_litert: str = "") -> ReferenceChoice:
    """The reference run for a session (ResultsFileError, SelectionError as load_reference):
    by default the latest complete run of the newest TensorFlow below the installed one, on
    the installed LiteRT, written before now, that covers the plan."""
    return load_reference(path, ReferenceQuery(
        options, candidate_tf=installed_tf, candidate_litert=installed_litert,
        workload=plan.workload, before=pd.Timestamp.now(tz="UTC"), gaps=plan.gaps()))
