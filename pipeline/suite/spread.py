"""Seed-to-seed spread of the figures the thresholds bound (`bench spread`).

The [variants.NAME] bounds in bench/thresholds.toml are set from this table, so anyone can
re-measure them: the selected variants built for N seeds, each seed's figures
(`variant.figure`), then their mean, standard deviation, min and max.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import pandas as pd

from pipeline.data import Dataset
from pipeline.run.bench_run import BenchRun
from pipeline.variants.registry import ROOT
from pipeline.workload import Workload


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


def spread_table(dataset: Dataset, workload: Workload, variants: Sequence[str],
                 seeds: Iterable[int], folder: Path,
                 say: Callable[[str], None] = print) -> pd.DataFrame:
    """Each seed's figures of `variants` (built under folder/seed-N/), then their mean,
    standard deviation, min and max; one line per seed to `say` as it is done."""
    rows = []
    for seed in seeds:
        run = BenchRun(dataset, folder / f"seed-{seed}", seed, workload)
        rows.append(seed_figures(run, variants))
        say(f"seed {seed}: " + ", ".join(f"{k}={v:.4f}" for k, v in rows[-1].items()
                                         if k != "seed"))
    return summarize(pd.DataFrame(rows))
