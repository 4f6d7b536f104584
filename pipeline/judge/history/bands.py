"""The accuracy band each model's bound allowed in each run, as the history picture shades it:
pure (no drawing), so the bands are tested on tables alone."""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from pipeline.config import VariantBounds
from pipeline.variants.registry import VARIANTS


def accuracy_band(model: str, parent_accuracy: pd.Series,
                   bounds: VariantBounds | None) -> tuple[pd.Series, pd.Series] | None:
    """Per run, the accuracy range the model's bound allows: [accuracy_min, 1] for the root,
    parent +- accuracy_drop_max for a .tflite (either direction), parent - drop and up for a
    Keras step. None without a bound (a model of an older registry). Where the parent's
    accuracy is NaN (not measured) a parent-relative band is NaN too."""
    if bounds is None:
        return None
    if bounds.accuracy_min is not None:
        return (pd.Series(bounds.accuracy_min, index=parent_accuracy.index),
                pd.Series(1.0, index=parent_accuracy.index))
    if bounds.accuracy_drop_max is None:
        return None
    lower = parent_accuracy - bounds.accuracy_drop_max
    upper = (parent_accuracy + bounds.accuracy_drop_max
             if model in VARIANTS and VARIANTS[model].kind == "tflite"
             else pd.Series(1.0, index=parent_accuracy.index).where(lower.notna()))
    return lower, upper


def accuracy_by_run(table: pd.DataFrame) -> pd.DataFrame:
    """Accuracy as run_id (in table order) x model; NaN where a run did not measure a model."""
    models = table[table["runtime"].isna()]
    return models.pivot_table(index="run_id", columns="model", values="accuracy").reindex(
        list(dict.fromkeys(table["run_id"])))


def applied_band(model: str, accuracy: pd.DataFrame, sources: Mapping[str, str],
                 bounds: VariantBounds | None) -> tuple[pd.Series, pd.Series] | None:
    """accuracy_band over the runs of `accuracy` (run_id x model), NaN at every run where the
    bound did not apply: the model was not measured there, or its band needs its parent's
    accuracy and the run has none (not even from the run a reuse session re-measured)."""
    runs = accuracy.index
    parent = VARIANTS[model].parent if model in VARIANTS else None
    parent_accuracy = pd.Series(float("nan"), index=runs)
    if parent is not None and parent in accuracy:
        own = accuracy[parent]
        parent_accuracy = own.fillna(pd.Series(
            [own.get(sources.get(r, ""), float("nan")) for r in runs], index=runs))
    band = accuracy_band(model, parent_accuracy, bounds)
    if band is None:
        return None
    measured = (accuracy[model] if model in accuracy
                else pd.Series(float("nan"), index=runs)).notna()
    return band[0].where(measured), band[1].where(measured)
