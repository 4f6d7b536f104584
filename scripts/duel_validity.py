"""Measure how far `python -m pipeline.duel` can be trusted on this machine.

A gate is valid when it stays quiet on no change and speaks up on a real one. Both are measured
with A/A duels: the same run on both sides (same artifacts, same python), so every true ratio
is exactly 1.

* False alarms: N A/A duels; every regressed or improved verdict is a false one.
* Sensitivity: each A/A duel's real per-pair data with the candidate's block times multiplied
  by x1.05, x1.10 and x1.25, i.e. a known slowdown on real noise; the fraction of duels that
  flag it, per key.
* Precision: the half-width of each key's confidence interval of the median paired ratio, and
  the lag-1 autocorrelation of the per-pair ratios in pair order (near 0 when pairs are
  independent, as the interval assumes).
* Cost: wall time per duel, workers' start included.

Usage, from the repository root, on a quiet machine (the full measurement takes minutes):

    python scripts/duel_validity.py measure runs/<run_id>.csv [--run-dir DIR] [--duels 10]
    python scripts/duel_validity.py record OUT.json runs/<run_id>.csv [--run-dir DIR]

`measure` prints a markdown report for docs/latency.md. `record` runs one A/A duel and writes its
per-pair block times as JSON: the frozen real samples tests/test_duel.py judges
(tests/fixtures/duel/aa_duel.json). Duel settings default to pipeline.duel's.
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
from pipeline.measure.duel_worker import WorkerError
from pipeline.measure.environment import cpu_model
from pipeline.measure.latency import LatencyKey
from pipeline.measure.statistics import lag1_autocorrelation
from pipeline.results import ResultsFileError

#: Known slowdowns applied to the candidate side of real A/A data.
SCALES: tuple[float, ...] = (1.05, 1.10, 1.25)

Samples = dict[LatencyKey, PairedSamples]


def aa_duel(run: Run, settings: DuelSettings) -> tuple[Samples, float]:
    """One A/A duel of `run` against itself: its pair data and its wall time in seconds."""
    start = time.perf_counter()
    samples = run_duel(run, replace(run, side="candidate"), sorted(run.keys), settings)
    return samples, time.perf_counter() - start


def scaled(samples: PairedSamples, factor: float) -> PairedSamples:
    """The same pairs with every candidate block `factor` times slower."""
    return PairedSamples(samples.reference, tuple(t * factor for t in samples.candidate))


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
                  "reference": list(s.reference), "candidate": list(s.candidate)}
                 for k, s in samples.items()],
    }


def report(run: Run, settings: DuelSettings, duels: Sequence[Samples],
           seconds: Sequence[float]) -> str:
    """The markdown tables: per key false alarms, precision and sensitivity, then cost."""
    n = len(duels)
    scale_names = [f"flagged x{s:.2f}" for s in SCALES]
    lines = [
        f"A/A duels of run `{run.run_id}` (tensorflow {run.tensorflow}, litert "
        f"{run.litert or 'none'}) on {cpu_model()}, {os.cpu_count()} CPUs, "
        f"{datetime.now(UTC):%Y-%m-%d}; {n} duels of {settings.pairs} pairs of "
        f"{settings.timed_invokes}-invoke blocks ({settings.warmup_invokes} warm-up), "
        f"regressed when ratio > x{settings.slowdown_max:g} and the "
        f"{settings.confidence * 100:g}% CI is above 1.",
        "",
        "| model | runtime | threads | A/A regressed | A/A improved | A/A ratio (median) "
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
    d = load_config().duel
    for command in (measure, record):
        command.add_argument("csv", metavar="RUN_CSV", type=Path,
                             help="results CSV of the run to duel against itself")
        command.add_argument("--run-dir", metavar="DIR", type=Path,
                             help="its .tflite files (default: <run_id>/ beside the CSV, else "
                                  "runs/<run_id>/)")
        command.add_argument("--python", default=sys.executable,
                             help="python of the run's environment (default: this one)")
        command.add_argument("--pairs", type=int, default=d.pairs)
        command.add_argument("--warmup-invokes", type=int, default=d.warmup_invokes)
        command.add_argument("--timed-invokes", type=int, default=d.timed_invokes)
    measure.add_argument("--duels", type=int, default=10, help="A/A duels to run (default 10)")
    measure.add_argument("--save-dir", metavar="DIR", type=Path,
                         help="also write each duel's pair data there, as `record` does")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = replace(load_config().duel, pairs=args.pairs,
                       warmup_invokes=args.warmup_invokes, timed_invokes=args.timed_invokes)
    try:
        return _run(args, settings)
    except (DuelError, WorkerError, ResultsFileError) as exc:
        print(f"duel_validity: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: DuelSettings) -> int:
    check_settings(settings)
    run = load_run("reference", args.csv, args.run_dir, args.python)
    if args.command == "record":
        samples, _ = aa_duel(run, settings)
        args.out.write_text(json.dumps(to_json(run, settings, samples), indent=1) + "\n")
        print(f"wrote {args.out}")
        return 0
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)
    duels, seconds = [], []
    for i in range(args.duels):
        samples, elapsed = aa_duel(run, replace(settings, seed=i))
        duels.append(samples)
        seconds.append(elapsed)
        print(f"duel {i + 1}/{args.duels}: {elapsed:.1f} s", file=sys.stderr)
        if args.save_dir is not None:
            path = args.save_dir / f"aa_{i:02d}.json"
            path.write_text(json.dumps(to_json(run, settings, samples), indent=1) + "\n")
    print(report(run, settings, duels, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
