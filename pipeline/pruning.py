"""Magnitude pruning with tfmot, stripping, and the sparsity actually reached."""
from __future__ import annotations

from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.models import compile_like_reference
from pipeline.recipe import RECIPE, Recipe
from pipeline.training import seed_everything

#: Layer types whose kernels tfmot prunes in this model.
PRUNED_LAYER_TYPES = ("Conv2D", "Dense")


def prune(baseline: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int,
          recipe: Recipe = RECIPE) -> Any:
    """Prune a copy of `baseline` with PolynomialDecay 0.50 -> 0.80 and return it stripped.

    prune_low_magnitude wraps the *original* layer objects, so pruning the baseline directly
    would change it under any later test that uses it; a clone with the same weights keeps the
    baseline intact and the result identical.
    """
    keras = tfenv.keras()
    tfmot = tfenv.tfmot()
    seed_everything(seed)
    source = keras.models.clone_model(baseline)
    source.set_weights(baseline.get_weights())
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=recipe.initial_sparsity, final_sparsity=recipe.final_sparsity,
        begin_step=recipe.begin_step, end_step=recipe.prune_end_step(len(x_train)))
    model_for_pruning = tfmot.sparsity.keras.prune_low_magnitude(source, pruning_schedule=schedule)
    compile_like_reference(model_for_pruning)  # steps_per_execution=1: the callback needs it
    model_for_pruning.fit(x_train, y_train, batch_size=recipe.prune_batch_size,
                          epochs=recipe.prune_epochs, validation_split=recipe.validation_split,
                          callbacks=[tfmot.sparsity.keras.UpdatePruningStep()], verbose=0)
    stripped = tfmot.sparsity.keras.strip_pruning(model_for_pruning)
    compile_like_reference(stripped)  # for evaluate(); the saved .h5 excludes the optimizer
    return stripped


def pruned_kernels(model: Any) -> dict[str, np.ndarray]:
    """The Conv2D and Dense kernels of `model`, by layer type (the recipe has one of each).

    Keyed by type rather than layer name: Keras numbers names per process (`dense_3`), which
    would make test ids depend on what else ran before.
    """
    kernels = {type(layer).__name__: layer.kernel.numpy() for layer in model.layers
               if type(layer).__name__ in PRUNED_LAYER_TYPES}
    if sorted(kernels) != sorted(PRUNED_LAYER_TYPES):
        raise ValueError(f"expected one kernel of each of {PRUNED_LAYER_TYPES}, "
                         f"found {sorted(kernels)}")
    return kernels


def kernel_sparsity(model: Any) -> dict[str, float]:
    """Fraction of exactly-zero weights in each pruned kernel, by layer type.

    Measured, never assumed: a broken schedule (e.g. steps_per_execution > 1 in the pruning
    fit) still trains without error but leaves the kernels less sparse.
    """
    return {name: float(np.mean(k == 0)) for name, k in pruned_kernels(model).items()}


def overall_sparsity(model: Any) -> float:
    """Zero weights over all weights of the pruned kernels together."""
    kernels = pruned_kernels(model).values()
    return sum(int(np.count_nonzero(k == 0)) for k in kernels) / sum(k.size for k in kernels)
