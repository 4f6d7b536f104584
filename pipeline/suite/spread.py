"""Seed-to-seed spread of the figures the thresholds bound: `python -m pipeline.spread`.

The [variants.NAME] bounds in bench/thresholds.toml are set from this table, so anyone can
re-measure them: it builds the selected variants (default: all) for N seeds and prints each
seed's figures (`variant.figure`) plus their mean, standard deviation, min and max.
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pipeline import RUNS_DIR
from pipeline.console import fail
from pipeline.data import DataError
from pipeline.measure.environment import new_run_id
from pipeline.options import DATA, WORKLOAD
from pipeline.recipe import DEFAULT_SEED
from pipeline.results import write_atomic
from pipeline.run.bench_run import BenchRun
from pipeline.variants.registry import ROOT, UnknownVariant, select
from pipeline.workload import WorkloadError
from pipeline.workloads import DEFAULT_WORKLOAD, resolve_workload


def variant_figures(run: BenchRun, name: str) -> dict[str, float]:
    """Every figure a bound of variant `name` is set from, for one seed, named `name.figure`."""
    artifact = run.artifact(name)
    variant = artifact.variant
    figures: dict[str, float] = {"accuracy": artifact.accuracy,
                                 "zipped_bytes": artifact.zipped_bytes,
                                 "raw_bytes": artifact.raw_bytes}
    if artifact.source_accuracy is not None:
        figures["accuracy_drop"] = artifact.source_accuracy - artifact.accuracy
        figures["size_ratio"] = run.artifact(ROOT).zipped_bytes / artifact.zipped_bytes
    if variant.raw_size_against is not None:
        figures["raw_ratio"] = (run.artifact(variant.raw_size_against).raw_bytes
                                / artifact.raw_bytes)
    if "sparsity" in variant.measures:
        figures.update({f"sparsity_{kind}": value
                        for kind, value in artifact.kernel_sparsity.items()})
    if "distinct_weights" in variant.measures:
        figures["distinct_weights"] = artifact.distinct_weights
    return {f"{name}.{figure}": value for figure, value in figures.items()}


def seed_figures(run: BenchRun, variants: Sequence[str]) -> dict[str, float]:
    """Every thresholded figure of the selected variants for one seed's run."""
    figures: dict[str, float] = {"seed": run.seed}
    for name in variants:
        figures.update(variant_figures(run, name))
    return figures


def summarize(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows followed by mean, std, min and max of every figure."""
    figures = per_seed.drop(columns="seed")
    summary = figures.agg(["mean", "std", "min", "max"])
    summary.insert(0, "seed", summary.index)
    per_seed = per_seed.astype({"seed": str})
    return pd.concat([per_seed, summary.reset_index(drop=True)], ignore_index=True)


#: Its name in messages and --help: `python -m pipeline.spread` runs it too.
PROG = "bench spread"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=DEFAULT_SEED)
    WORKLOAD.add_to(parser.add_argument, default=DEFAULT_WORKLOAD)
    DATA.add_to(parser.add_argument, default=None)
    parser.add_argument("--variants", metavar="NAMES", default="all",
                        help="'all' (default), 'default' (the reference recipe's four) or "
                             "comma-separated variant names")
    parser.add_argument("--out", metavar="CSV", type=Path, default=None,
                        help="write the table here (default runs/<run_id>/spread.csv, beside "
                             "the seeds' artifacts and git-ignored; the table behind the "
                             "committed thresholds is kept in results/spread/)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    try:
        workload = resolve_workload(args.workload)
        variants = select(args.variants, workload)
    except (UnknownVariant, WorkloadError) as exc:
        parser.error(str(exc))
    try:
        dataset = workload.load(args.data)
    except (DataError, WorkloadError) as exc:
        return fail(PROG, str(exc))
    run_id = new_run_id()
    rows = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        run = BenchRun(dataset, RUNS_DIR / run_id / f"seed-{seed}", seed, workload)
        rows.append(seed_figures(run, variants))
        print(f"seed {seed}: " + ", ".join(f"{k}={v:.4f}" for k, v in rows[-1].items()
                                            if k != "seed"), flush=True)
    table = summarize(pd.DataFrame(rows))
    out = args.out or RUNS_DIR / run_id / "spread.csv"
    write_atomic(table, out)
    # One line per figure, one column per seed and statistic: 80+ figures do not fit across.
    print(table.set_index("seed").T.to_string(float_format=lambda v: f"{v:.4f}"))
    print(f"written: {out}")
    return 0

