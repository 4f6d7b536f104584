"""Re-measuring an earlier run's files instead of building them (`pytest bench --reuse-run`).

Re-timing a model should not mean retraining it: a session given the artifact folder of an
earlier run (`runs/<run_id>/`) measures latency, interpreter accuracy and sizes of that run's
`.tflite` files and writes a new CSV whose `source_run_id` names the run. The earlier run is
known by its results CSV, `<run_id>.csv` beside the folder (where `pytest bench` writes both by
default) or in the results folder (the folder's name is its run_id): only
a complete run of this recipe on this dataset is reused, so every figure of the new CSV is
comparable with the history.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.build.variants import VARIANTS
from pipeline.results import ResultsFileError, completeness, read_results, selected_variants


class ReuseError(ValueError):
    """The run folder cannot be reused; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class SourceRun:
    """An earlier complete run whose files a session re-measures."""

    run_id: str
    folder: Path
    results: pd.DataFrame
    #: The variants it selected (registry order); unknown for a schema-1/2 run: every model
    #: with an accuracy row.
    variants: tuple[str, ...]

    @property
    def tflite_variants(self) -> tuple[str, ...]:
        """Its TFLite variants: what a reuse session re-measures."""
        return tuple(name for name in self.variants
                     if name in VARIANTS and VARIANTS[name].kind == "tflite")

    def recorded(self, model: str, metric: str) -> float:
        """What the run recorded for `model` (a Keras parent's accuracy and size, which the
        checks of the TFLite models made from it read)."""
        rows = self.results[(self.results["model"] == model)
                            & (self.results["metric"] == metric)]
        if rows.empty:
            raise ReuseError(f"run {self.run_id} recorded no {metric} of {model}")
        return float(rows["value"].iloc[0])

    def path(self, model: str) -> Path:
        return self.folder / f"{model}{VARIANTS[model].suffix}"


def load_source_run(folder: Path, results_dir: Path, *, recipe_sha256: str,
                    workload: str) -> SourceRun:
    """The run of artifact folder `folder`, checked: its results CSV exists and reads, the run
    is complete, of workload `workload` and recipe `recipe_sha256`, and every TFLite file it
    selected is there.
    ReuseError otherwise (the dataset is checked by the caller, once MNIST is loaded)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ReuseError(f"{folder} is not a folder; pass the artifact folder of an earlier "
                         f"session, runs/<run_id>")
    beside = folder.parent / f"{folder.name}.csv"
    in_results = Path(results_dir) / f"{folder.name}.csv"
    csv = beside if beside.is_file() else in_results
    if not csv.is_file():
        raise ReuseError(f"no results CSV for run {folder.name}: neither {beside} nor {in_results} "
                         f"exists; the folder's name must be the run_id of a CSV beside it (where "
                         f"pytest bench writes it) or in --results-dir")
    try:
        results = read_results(csv)
    except ResultsFileError as exc:
        raise ReuseError(f"its results CSV cannot be used: {exc}") from None
    first = results.iloc[0]
    complete = completeness(first["complete"])
    if complete is not True:
        state = ("of a schema that did not record completeness" if complete is None
                 else f"partial ({first['incomplete_reason']})")
        raise ReuseError(f"run {folder.name} is {state}; reuse a complete run")
    if first["workload"] != workload:
        raise ReuseError(f"run {folder.name} built workload {first['workload']!r}, this session "
                         f"builds {workload!r}: reuse a run of the same workload, or pass "
                         f"--workload {first['workload']}")
    if first["recipe_sha256"] != recipe_sha256:
        raise ReuseError(f"run {folder.name} was made with recipe_sha256 "
                         f"{first['recipe_sha256']!r}, this code builds {recipe_sha256!r}: its "
                         f"files are not what this recipe makes; run pytest bench without "
                         f"--reuse-run")
    variants = selected_variants(first["variants"]) or tuple(
        dict.fromkeys(results.loc[results["metric"] == "accuracy", "model"]))
    source = SourceRun(str(first["run_id"]), folder, results, variants)
    missing = [str(source.path(name)) for name in source.tflite_variants
               if not source.path(name).is_file()]
    if missing:
        raise ReuseError(f"run {folder.name} is missing {', '.join(missing)}; reuse a folder "
                         f"whose files are all there")
    if not source.tflite_variants:
        raise ReuseError(f"run {folder.name} has no TFLite model to re-measure")
    return source

