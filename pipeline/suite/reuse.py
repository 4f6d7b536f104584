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

from pathlib import Path

from pipeline.results import ResultsFileError, read_results, without_runtime
from pipeline.run.source import RECORDED_METRICS, ReuseError, SourceRun


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
        run = read_results(csv)
    except ResultsFileError as exc:
        raise ReuseError(f"its results CSV cannot be used: {exc}") from None
    info = run.info
    if info.complete is not True:
        state = ("of a schema that did not record completeness" if info.complete is None
                 else f"partial ({info.incomplete_reason})")
        raise ReuseError(f"run {folder.name} is {state}; reuse a complete run")
    if info.workload != workload:
        raise ReuseError(f"run {folder.name} built workload {info.workload!r}, this session "
                         f"builds {workload!r}: reuse a run of the same workload, or pass "
                         f"--workload {info.workload}")
    if info.recipe_sha256 != recipe_sha256:
        raise ReuseError(f"run {folder.name} was made with recipe_sha256 "
                         f"{info.recipe_sha256!r}, this code builds {recipe_sha256!r}: its "
                         f"files are not what this recipe makes; run pytest bench without "
                         f"--reuse-run")
    variants = info.variants or tuple(
        dict.fromkeys(run.rows.loc[run.rows["metric"] == "accuracy", "model"]))
    recorded = run.rows[run.rows["metric"].isin(RECORDED_METRICS) & without_runtime(run.rows)]
    source = SourceRun(folder, info, variants, {
        (str(model), str(metric)): float(value) for model, metric, value
        in zip(recorded["model"], recorded["metric"], recorded["value"], strict=True)})
    missing = [str(source.path(name)) for name in source.tflite_variants
               if not source.path(name).is_file()]
    if missing:
        raise ReuseError(f"run {folder.name} is missing {', '.join(missing)}; reuse a folder "
                         f"whose files are all there")
    if not source.tflite_variants:
        raise ReuseError(f"run {folder.name} has no TFLite model to re-measure")
    return source

