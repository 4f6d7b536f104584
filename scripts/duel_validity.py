"""Measure how far `bench duel` can be trusted on this machine.

A gate is valid when it stays quiet on no change and speaks up on a real one. Both are measured
with A/A duels, whose every true ratio is 1: the same run on both sides (same artifacts), in
the same python or, with --candidate-python, in a second environment of the same pins; or,
with --candidate, the run of another TensorFlow line, keeping the keys of a runtime that is the
same wheel on both (--runtime ai_edge_litert: its instruction counts are equal on every line).

* False alarms: N A/A duels; every regressed or improved verdict is a false one.
* Sensitivity: each A/A duel's real per-pair data with the candidate's block times multiplied
  by x1.05, x1.10 and x1.25, i.e. a known slowdown on real noise; the fraction of duels that
  flag it, per key. And on real work: `doctor` writes the seed's CNN with more filters
  (more work per invoke, the instruction-count validity's way), duelled against the same CNN
  with 12 (`measure ... --run-dir D/filters12 --candidate-run-dir D/filters14 --model
  pruned_tflite`); the regressed column is then the detection rate.
* Precision: the half-width of each key's confidence interval of the median paired ratio, and
  the lag-1 autocorrelation of the per-pair ratios in pair order (near 0 when pairs are
  independent, as the interval assumes).
* Cost: wall time per duel, workers' start included.

Usage, from the repository root, on a quiet machine (the full measurement takes minutes):

    python scripts/duel_validity.py measure runs/<run_id>.csv [--run-dir DIR] [--duels 10]
        [--candidate-python .tox/tf221/bin/python]
        [--candidate runs/<other run_id>.csv --candidate-run-dir DIR --runtime ai_edge_litert]
    python scripts/duel_validity.py record OUT.json runs/<run_id>.csv [--run-dir DIR]
    python scripts/duel_validity.py doctor OUT_DIR [--filters 12,13,14,16,20]

`measure` prints a markdown report for docs/latency.md. `record` runs one A/A duel and writes its
per-pair block times as JSON: the frozen real samples tests/test_duel.py judges
(tests/fixtures/duel/aa_duel.json). Duel settings default to bench duel's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from pipeline.config import DuelSettings, load_config
from pipeline.judge.duel import (
    DuelError,
    PairedSamples,
    Run,
    check_settings,
    judge,
    load_run,
    run_duel,
)
from pipeline.judge.statistics import lag1_autocorrelation
from pipeline.measure.duel_worker import WorkerError
from pipeline.measure.environment import cpu_model
from pipeline.measure.latency import LatencyKey
from pipeline.results import ResultsFileError

#: Known slowdowns applied to the candidate side of real A/A data.
SCALES: tuple[float, ...] = (1.05, 1.10, 1.25)

Samples = dict[LatencyKey, PairedSamples]


def aa_duel(run: Run, settings: DuelSettings, candidate: Run | None = None,
            runtime: str = "", model: str = "") -> tuple[Samples, float]:
    """One A/A duel of `run` against itself (or against `candidate`), on the keys both have
    whose runtime starts with `runtime` (and of `model`, if given): its pair data and its wall
    time in seconds."""
    other = candidate or replace(run, side="candidate")
    keys = sorted(k for k in run.keys & other.keys if k.runtime.startswith(runtime)
                  and model in ("", k.model))
    start = time.perf_counter()
    samples = run_duel(run, other, keys, settings)
    return samples, time.perf_counter() - start


def scaled(samples: PairedSamples, factor: float) -> PairedSamples:
    """The same pairs with every candidate block `factor` times slower."""
    return PairedSamples(samples.reference, tuple(t * factor for t in samples.candidate),
                         samples.process)


def to_json(run: Run, settings: DuelSettings, samples: Samples) -> dict[str, object]:
    """The pair data of one A/A duel with what is needed to read it later."""
    return {
        "about": "Per-pair block times (seconds per invoke) of one real A/A duel: the same run "
                 "on both sides, so the true ratio of every key is 1. Written by "
                 "scripts/duel_validity.py record.",
        "run_id": run.run_id, "tensorflow": run.tensorflow, "litert": run.litert,
        "cpu": cpu_model(), "recorded_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "settings": asdict(settings),
        "keys": [{"model": k.model, "runtime": k.runtime, "threads": k.threads,
                  "reference": list(s.reference), "candidate": list(s.candidate),
                  "process": list(s.process)}
                 for k, s in samples.items()],
    }


def report(run: Run, candidate: Run, settings: DuelSettings, duels: Sequence[Samples],
           seconds: Sequence[float]) -> str:
    """The markdown tables: per key false alarms, precision and sensitivity, then cost."""
    n = len(duels)
    scale_names = [f"flagged x{s:.2f}" for s in SCALES]
    lines = [
        f"Duels of run `{run.run_id}` (tensorflow {run.tensorflow}, litert "
        f"{run.litert or 'none'}, {run.python}, {run.run_dir}) against `{candidate.run_id}` "
        f"(tensorflow {candidate.tensorflow}, {candidate.python}, {candidate.run_dir}) on "
        f"{cpu_model()}, {os.cpu_count()} "
        f"CPUs, {datetime.now(UTC):%Y-%m-%d}; {n} duels of {settings.pairs} pairs of "
        f"{settings.timed_invokes}-invoke blocks ({settings.warmup_invokes} warm-up) over "
        f"{settings.processes} processes per side, regressed when ratio > "
        f"x{settings.slowdown_max:g} and the {settings.confidence * 100:g}% CI is above 1.",
        "",
        "| model | runtime | threads | regressed | improved | ratio (median) "
        "| CI half-width (median) | lag-1 autocorrelation (median) | "
        + " | ".join(scale_names) + " |",
        "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(SCALES),
    ]
    for key in sorted(duels[0]):
        rows = [judge(key, duel[key], settings) for duel in duels]
        verdicts = [row.verdict for row in rows]
        half_widths = [(row.ci_high - row.ci_low) / 2 for row in rows
                       if row.ci_high is not None and row.ci_low is not None]
        ratios = [row.ratio for row in rows if row.ratio is not None]
        autocorrelations = [lag1_autocorrelation([c / r for r, c in zip(
            duel[key].reference, duel[key].candidate, strict=True)]) for duel in duels]
        flagged = [sum(judge(key, scaled(duel[key], s), settings).verdict == "regressed"
                       for duel in duels) / n for s in SCALES]
        lines.append(
            f"| {key.model} | {key.runtime} | {key.threads} | {verdicts.count('regressed')}/{n} "
            f"| {verdicts.count('improved')}/{n} | x{np.median(ratios):.3f} "
            f"| {np.median(half_widths):.1%} | {np.median(autocorrelations):+.2f} | "
            + " | ".join(f"{f:.0%}" for f in flagged) + " |")
    verdicts = [judge(key, duel[key], settings).verdict for duel in duels for key in duel]
    lines += ["", f"{len(verdicts)} key-duels: {verdicts.count('regressed')} regressed, "
                  f"{verdicts.count('improved')} improved; "
                  f"{sum(any(judge(k, d[k], settings).verdict != 'ok' for k in d) for d in duels)}"
                  f" of {n} duels with any verdict but ok."]
    lines += ["", f"Time per duel ({len(duels[0])} keys, workers' start included): median "
                  f"{np.median(seconds):.1f} s, min {min(seconds):.1f} s, "
                  f"max {max(seconds):.1f} s."]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    measure = commands.add_parser("measure", help="N A/A duels -> markdown validity report")
    record = commands.add_parser("record", help="one A/A duel -> its pair data as JSON")
    record.add_argument("out", metavar="OUT.json", type=Path)
    doctor = commands.add_parser("doctor", help="the seed's CNN with more filters, as "
                                                "OUT_DIR/filtersN/pruned_tflite.tflite")
    doctor.add_argument("out", metavar="OUT_DIR", type=Path)
    doctor.add_argument("--filters", default="12,13,14,16,20")
    d = load_config().duel
    for command in (measure, record):
        command.add_argument("csv", metavar="RUN_CSV", type=Path,
                             help="results CSV of the run to duel against itself")
        command.add_argument("--run-dir", metavar="DIR", type=Path,
                             help="its .tflite files (default: <run_id>/ beside the CSV, else "
                                  "runs/<run_id>/)")
        command.add_argument("--python", default=sys.executable,
                             help="python of the run's environment (default: this one)")
        command.add_argument("--candidate", metavar="RUN_CSV", type=Path,
                             help="another run to duel it against (default: itself)")
        command.add_argument("--candidate-run-dir", metavar="DIR", type=Path)
        command.add_argument("--candidate-python", help="python of the candidate's "
                             "environment (default: --python)")
        command.add_argument("--runtime", default="",
                             help="duel only the keys whose runtime starts with this")
        command.add_argument("--model", default="", help="duel only this model's keys")
        command.add_argument("--processes", type=int, default=d.processes)
        command.add_argument("--pairs", type=int, default=d.pairs)
        command.add_argument("--warmup-invokes", type=int, default=d.warmup_invokes)
        command.add_argument("--timed-invokes", type=int, default=d.timed_invokes)
    measure.add_argument("--duels", type=int, default=10, help="A/A duels to run (default 10)")
    measure.add_argument("--save-dir", metavar="DIR", type=Path,
                         help="also write each duel's pair data there, as `record` does")
    return parser


def doctored(out: Path, filters: Sequence[int]) -> list[Path]:
    """The seed's CNN (untrained: the work per invoke does not depend on the weights) with each
    filter count, as a float TFLite file named like the run's pruned_tflite."""
    from pipeline.variants.conversion import to_tflite
    from pipeline.workloads import MNIST_CNN

    written = []
    for n in filters:
        folder = out / f"filters{n}"
        folder.mkdir(parents=True, exist_ok=True)
        model = replace(MNIST_CNN, model_parameters={**MNIST_CNN.model_parameters,
                                                     "conv_filters": n}).build_model()
        written.append(to_tflite(model, folder / "pruned_tflite.tflite"))
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":
        for path in doctored(args.out, [int(n) for n in args.filters.split(",")]):
            print(f"wrote {path}")
        return 0
    settings = replace(load_config().duel, pairs=args.pairs, processes=args.processes,
                       warmup_invokes=args.warmup_invokes, timed_invokes=args.timed_invokes)
    try:
        return _run(args, settings)
    except (DuelError, WorkerError, ResultsFileError) as exc:
        print(f"duel_validity: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: DuelSettings) -> int:
    check_settings(settings)
    run = load_run("reference", args.csv, args.run_dir, args.python)
    candidate = load_run("candidate", args.candidate or args.csv,
                         args.candidate_run_dir or (None if args.candidate else args.run_dir),
                         args.candidate_python or args.python)
    if args.command == "record":
        samples, _ = aa_duel(run, settings, candidate, args.runtime, args.model)
        args.out.write_text(json.dumps(to_json(run, settings, samples), indent=1) + "\n")
        print(f"wrote {args.out}")
        return 0
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)
    duels, seconds = [], []
    for i in range(args.duels):
        samples, elapsed = aa_duel(run, replace(settings, seed=i), candidate, args.runtime,
                                   args.model)
        duels.append(samples)
        seconds.append(elapsed)
        print(f"duel {i + 1}/{args.duels}: {elapsed:.1f} s", file=sys.stderr)
        if args.save_dir is not None:
            path = args.save_dir / f"aa_{i:02d}.json"
            path.write_text(json.dumps(to_json(run, settings, samples), indent=1) + "\n")
    print(report(run, candidate, settings, duels, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
