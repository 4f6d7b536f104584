"""Seed-to-seed spread of the figures the thresholds bound: `python -m pipeline.spread`.

The accuracy, sparsity and size bounds in bench/thresholds.toml are set from this table, so
anyone can re-measure them: it trains N seeds with the exact recipe and prints each seed's
figures plus their mean, standard deviation, min and max.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline.data import DataError, resolve_mnist
from pipeline.environment import REPO_ROOT, new_run_id
from pipeline.recipe import DEFAULT_SEED
from pipeline.results import write_atomic
from pipeline.run import BenchRun


def seed_figures(run: BenchRun) -> dict[str, float]:
    """Every thresholded figure of one seed's run."""
    baseline, pruned = run.baseline, run.pruned
    tflite, quantized = run.pruned_tflite, run.pruned_quantized_tflite
    return {
        "seed": run.seed,
        "baseline_accuracy": baseline.accuracy,
        "pruned_accuracy": pruned.accuracy,
        "pruned_drop": baseline.accuracy - pruned.accuracy,
        "pruned_tflite_accuracy": tflite.accuracy,
        "pruned_quantized_tflite_accuracy": quantized.accuracy,
        "pruned_tflite_vs_keras": abs(tflite.accuracy - tflite.source_accuracy),
        "pruned_quantized_tflite_vs_keras": abs(quantized.accuracy - quantized.source_accuracy),
        **{f"sparsity_{kind}": value for kind, value in pruned.kernel_sparsity.items()},
        "baseline_zipped_bytes": baseline.zipped_bytes,
        "pruned_zipped_bytes": pruned.zipped_bytes,
        "pruned_tflite_zipped_bytes": tflite.zipped_bytes,
        "pruned_quantized_tflite_zipped_bytes": quantized.zipped_bytes,
        "ratio_pruned_h5": baseline.zipped_bytes / pruned.zipped_bytes,
        "ratio_pruned_tflite": baseline.zipped_bytes / tflite.zipped_bytes,
        "ratio_pruned_quantized_tflite": baseline.zipped_bytes / quantized.zipped_bytes,
    }


def summarize(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows followed by mean, std, min and max of every figure."""
    figures = per_seed.drop(columns="seed")
    summary = figures.agg(["mean", "std", "min", "max"])
    summary.insert(0, "seed", summary.index)
    per_seed = per_seed.astype({"seed": str})
    return pd.concat([per_seed, summary.reset_index(drop=True)], ignore_index=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.spread", description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--mnist", metavar="PATH", default=None,
                        help="MNIST .npz or IDX folder (default: $MNIST_PATH, Keras cache, "
                             "Keras download)")
    parser.add_argument("--out", metavar="CSV", type=Path, default=None,
                        help="write the table here (default results/spread/<run_id>.csv)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    try:
        mnist = resolve_mnist(args.mnist)
    except DataError as exc:
        print(f"pipeline.spread: error: {exc}", file=sys.stderr)
        return 2
    run_id = new_run_id()
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run = BenchRun(mnist, REPO_ROOT / "runs" / run_id / f"seed-{seed}", seed)
        rows.append(seed_figures(run))
        print(f"seed {seed}: " + ", ".join(f"{k}={v:.4f}" for k, v in rows[-1].items()
                                            if k != "seed"), flush=True)
    table = summarize(pd.DataFrame(rows))
    out = args.out or REPO_ROOT / "results" / "spread" / f"{run_id}.csv"
    write_atomic(table, out)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
