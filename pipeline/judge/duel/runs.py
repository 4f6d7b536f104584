"""The two sides of a duel: their results CSVs, .tflite artifacts and environments, and the
loop that times them through `processes` worker processes per side."""
from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import RUNS_DIR
from pipeline.config import DuelSettings
from pipeline.judge.duel.schedule import (
    SIDES,
    DuelError,
    DuelRow,
    PairedSamples,
    Side,
    check_settings,
    judge,
    run_schedule,
)
from pipeline.measure.duel_worker import Worker
from pipeline.measure.interpreters import interpreter_of
from pipeline.measure.latency import LatencyKey
from pipeline.results import read_results

#: Longest wait for any one reply of a worker. Generous, because a worker's first block
#: imports TensorFlow (10+ s on a busy machine); a block itself takes milliseconds.
REPLY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Run:
    """One side of a duel: a run's results, where its .tflite files are, and the python of the
    environment it was made with."""

    side: Side
    run_id: str
    tensorflow: str
    litert: str
    #: The workload whose models the run built: a duel times the same models on both sides.
    workload: str
    keys: frozenset[LatencyKey]
    run_dir: Path
    python: str

    def label(self) -> str:
        return f"{self.run_id} (tensorflow {self.tensorflow}, litert {self.litert or 'none'})"


def load_run(side: Side, csv: Path, run_dir: Path | None, python: str) -> Run:
    """The run of `csv` (ResultsFileError when unusable) and its latency keys; its artifacts
    are in `run_dir`, by default the folder <run_id>/ beside the CSV (where `pytest bench`
    writes both), else runs/<run_id>/ (a CSV that was copied into the history)."""
    results = read_results(csv)
    info = results.info
    latency = results.rows[results.rows["metric"] == "latency"]
    keys = frozenset(LatencyKey(str(model), str(runtime), int(threads)) for model, runtime, threads
                     in zip(latency["model"], latency["runtime"], latency["threads"], strict=True))
    if run_dir is None:
        beside = Path(csv).parent / info.run_id
        run_dir = beside if beside.is_dir() else RUNS_DIR / info.run_id
    return Run(side, info.run_id, info.tensorflow, info.litert, info.workload, keys,
               run_dir.absolute(), python)


def artifact_paths(run: Run, keys: Iterable[LatencyKey]) -> dict[str, Path]:
    """model -> its .tflite file in the run's folder; DuelError naming the first one missing."""
    paths = {model: run.run_dir / f"{model}.tflite" for model in sorted({k.model for k in keys})}
    for path in paths.values():
        if not path.is_file():
            raise DuelError(f"{run.side} run {run.run_id}: {path} not found; a duel times the "
                            f"run's own .tflite files: pass --{run.side}-run-dir DIR holding "
                            f"them (pytest bench writes them to runs/<run_id>/)")
    return paths


def check_environment(run: Run, versions: Mapping[str, str]) -> None:
    """The worker's python must be the run's environment, or the duel would time other
    versions than the report names."""
    if (versions["tensorflow"], versions["litert"]) != (run.tensorflow, run.litert):
        line = "tf" + "".join(run.tensorflow.split(".")[:2])
        raise DuelError(
            f"{run.side} run {run.run_id} was made with tensorflow {run.tensorflow}, litert "
            f"{run.litert or 'none'}, but {run.python} has tensorflow "
            f"{versions['tensorflow'] or 'none'}, litert {versions['litert'] or 'none'}; pass "
            f"--{run.side}-python the python of that run's environment "
            f"(e.g. .tox/{line}/bin/python)")


def run_duel(reference: Run, candidate: Run, keys: Sequence[LatencyKey],
             settings: DuelSettings, *,
             timeout: float = REPLY_TIMEOUT_S) -> dict[LatencyKey, PairedSamples]:
    """Start `settings.processes` workers per side, interleaved (reference, candidate,
    reference, ...: each its own process, its own memory layout), check each is its run's
    environment, time one discarded block of every key in every worker (it imports TensorFlow
    and proves every artifact and runtime loads), then run the schedule, each pair in the
    process pair schedule.process_of gives it. The workers are ended however this returns."""
    runs = {"reference": reference, "candidate": candidate}
    paths = {side: artifact_paths(run, keys) for side, run in runs.items()}
    with ExitStack() as stack:
        workers: dict[Side, list[Worker]] = {side: [] for side in SIDES}
        for _ in range(settings.processes):  # all started first: they import at once
            for side in SIDES:
                workers[side].append(stack.enter_context(
                    Worker(side, runs[side].python, timeout=timeout)))
        for side in SIDES:
            for worker in workers[side]:
                check_environment(runs[side], worker.wait_ready())

        def measure(side: Side, key: LatencyKey, process: int) -> float:
            return workers[side][process].time_block(
                paths[side][key.model], key.runtime, key.threads,
                warmup_invokes=settings.warmup_invokes, timed_invokes=settings.timed_invokes)

        for process in range(settings.processes):
            for key in sorted(keys):
                for side in SIDES:
                    measure(side, key, process)
        return run_schedule(keys, settings, measure)


def duel_rows(reference: Run, candidate: Run, samples: Mapping[LatencyKey, PairedSamples],
              settings: DuelSettings) -> list[DuelRow]:
    """A row per key of either run, in key order: judged when duelled, else "<side> only"."""
    rows = {key: judge(key, pairs, settings) for key, pairs in samples.items()}
    for run in (reference, candidate):
        for key in run.keys - samples.keys():
            rows[key] = DuelRow(*key, verdict=f"{run.side} only")
    return [rows[key] for key in sorted(rows)]


def duel(reference_csv: Path, candidate_csv: Path, settings: DuelSettings, *,
         reference_python: str = sys.executable, candidate_python: str = sys.executable,
         reference_run_dir: Path | None = None, candidate_run_dir: Path | None = None,
         interpreters: frozenset[str] | None = None) -> tuple[list[DuelRow], Run, Run]:
    """Duel every latency key the two runs share (of `interpreters` only, when given: a LiteRT
    upgrade changes no tf.lite key); DuelError, WorkerError or ResultsFileError with the one
    line the CLI prints when it cannot be run (exit 2)."""
    check_settings(settings)
    reference = load_run("reference", reference_csv, reference_run_dir, reference_python)
    candidate = load_run("candidate", candidate_csv, candidate_run_dir, candidate_python)
    if reference.workload != candidate.workload:
        raise DuelError(f"the runs built different workloads: reference {reference.run_id} "
                        f"{reference.workload!r}, candidate {candidate.run_id} "
                        f"{candidate.workload!r}; duel two runs of one workload")
    if interpreters is not None:  # the other keys are not this duel's: left out of both sides
        reference, candidate = (
            replace(run, keys=frozenset(k for k in run.keys
                                        if interpreter_of(k.runtime) in interpreters))
            for run in (reference, candidate))
    keys = sorted(reference.keys & candidate.keys)
    if not keys:
        only = f" of {', '.join(sorted(interpreters))}" if interpreters is not None else ""
        raise DuelError(f"no latency key{only} is in both runs (reference {reference.run_id} "
                        f"has {len(reference.keys)}, candidate {candidate.run_id} has "
                        f"{len(candidate.keys)}); duel two runs that both timed latency")
    samples = run_duel(reference, candidate, keys, settings)
    return duel_rows(reference, candidate, samples, settings), reference, candidate
