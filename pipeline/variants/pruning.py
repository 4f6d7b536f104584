"""Magnitude pruning with tfmot (polynomial schedule or m:n structure), and the sparsity reached."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.variants.models import compile_model, wrapped
from pipeline.variants.training import seed_everything
from pipeline.workload import Workload, Wrapping

#: Layer types whose kernels tfmot's prune_low_magnitude (and cluster_weights) change. Its
#: registries also list DepthwiseConv2D, with no prunable (or clusterable) weights.
PRUNED_LAYER_TYPES = ("Conv2D", "Dense")


def _fit_and_strip(model_for_pruning: Any, x_train: np.ndarray, y_train: np.ndarray,
                   workload: Workload, callbacks: Sequence[Any]) -> Any:
    tfmot = tfenv.tfmot()
    recipe = workload.recipe
    # steps_per_execution=1: the callback needs it
    compile_model(model_for_pruning, workload.compile)
    model_for_pruning.fit(x_train, y_train, batch_size=recipe.prune_batch_size,
                          epochs=recipe.prune_epochs, validation_split=recipe.validation_split,
                          callbacks=[tfmot.sparsity.keras.UpdatePruningStep(), *callbacks],
                          verbose=0)
    stripped = tfmot.sparsity.keras.strip_pruning(model_for_pruning)
    compile_model(stripped, workload.compile)  # for evaluate(); the .h5 excludes the optimizer
    return stripped


def prune(baseline: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int,
          workload: Workload, final_sparsity: float | None = None,
          callbacks: Sequence[Any] = ()) -> Any:
    """Prune a copy of `baseline` with PolynomialDecay initial -> final sparsity, stripped.

    `final_sparsity` defaults to the recipe's 0.80; the sparsity sweep passes others. A copy,
    because prune_low_magnitude wraps the *original* layer objects: pruning the baseline
    directly would change it under any later stage that uses it. The whole model, or the layers
    the workload's wrapping names.
    """
    tfmot = tfenv.tfmot()
    recipe = workload.recipe
    seed_everything(seed)
    final = recipe.final_sparsity if final_sparsity is None else final_sparsity
    schedule = tfmot.sparsity.keras.PolynomialDecay(
        initial_sparsity=min(recipe.initial_sparsity, final), final_sparsity=final,
        begin_step=recipe.begin_step, end_step=recipe.prune_end_step(len(x_train)))
    model_for_pruning = wrapped(baseline, workload.wrapping, lambda target: (
        tfmot.sparsity.keras.prune_low_magnitude(target, pruning_schedule=schedule)))
    return _fit_and_strip(model_for_pruning, x_train, y_train, workload, callbacks)


def prune_m_by_n(baseline: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int,
                 workload: Workload, m_by_n: tuple[int, int] = (2, 4),
                 layer_types: tuple[str, ...] = ("Dense",),
                 callbacks: Sequence[Any] = ()) -> Any:
    """Structured m:n sparsity (at least m zeros in every n consecutive input weights) on the
    layers of `layer_types`, trained like the seed's pruning (batch, epochs), stripped.

    Only Dense by default: tfmot rejects m:n on this Conv2D, whose kernel has one input channel
    (bench/test_sparsity.py keeps that limitation visible).
    """
    tfmot = tfenv.tfmot()
    seed_everything(seed)
    model_for_pruning = wrapped(baseline, Wrapping(layer_types), lambda layer: (
        tfmot.sparsity.keras.prune_low_magnitude(layer, sparsity_m_by_n=m_by_n)))
    return _fit_and_strip(model_for_pruning, x_train, y_train, workload, callbacks)


def kernel_key(layer_type: str, name: str) -> str:
    """How a kernel is named in sparsity figures and messages: `Conv2D:conv2d`."""
    return f"{layer_type}:{name}"


def kernel_type(key: str) -> str:
    """The layer type of a `kernel_key`."""
    return key.partition(":")[0]


def kernels_of(model: Any, layer_types: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The kernels of `model`'s layers of exactly these types (a DepthwiseConv2D, a subclass of
    Conv2D in Keras, is not a Conv2D here), by `kernel_key`."""
    def kernel(layer: Any) -> np.ndarray:
        weights = layer.depthwise_kernel if type(layer).__name__ == "DepthwiseConv2D" else (
            layer.kernel)
        return np.asarray(weights.numpy())

    return {kernel_key(type(layer).__name__, layer.name): kernel(layer)
            for layer in model.layers if type(layer).__name__ in layer_types}


def wrapped_types(workload: Workload) -> tuple[str, ...]:
    """The layer types whose kernels the workload's techniques change: those its wrapping
    names, or, wrapping the whole model, every Conv2D and Dense."""
    return workload.wrapping.layer_types or PRUNED_LAYER_TYPES


def pruned_kernels(model: Any, layer_types: tuple[str, ...] = PRUNED_LAYER_TYPES
                   ) -> dict[str, np.ndarray]:
    """The kernels tfmot's pruning and clustering touch: every kernel of `layer_types` (the
    workload's `wrapped_types`).

    Keyed by layer type and name, the names being fixed by the workload's builder (Keras numbers
    default names per process, `dense_3`, which would make figures depend on what ran before).
    """
    kernels = kernels_of(model, layer_types)
    if not kernels:
        raise ValueError(f"the model has no layer of the types pruning touches "
                         f"({', '.join(layer_types)}): layers "
                         f"{', '.join(type(layer).__name__ for layer in model.layers)}")
    return kernels


def kernel_sparsity(kernels: dict[str, np.ndarray]) -> dict[str, float]:
    """Fraction of exactly-zero weights in each kernel, by layer type.

    Measured, never assumed: a broken schedule (e.g. steps_per_execution > 1 in the pruning
    fit) still trains without error but leaves the kernels less sparse.
    """
    return {name: float(np.mean(k == 0)) for name, k in kernels.items()}


def overall_sparsity(kernels: dict[str, np.ndarray]) -> float:
    """Zero weights over all weights of the kernels together."""
    return (sum(int(np.count_nonzero(k == 0)) for k in kernels.values())
            / sum(k.size for k in kernels.values()))


def m_by_n_violations(kernel: np.ndarray, m: int, n: int) -> int:
    """Blocks of `n` consecutive weights along the input axis holding fewer than `m` zeros.

    tfmot groups the m:n blocks along the kernel's input (second to last) axis.
    """
    blocks = np.moveaxis(kernel, -2, -1).reshape(-1, n)
    return int(np.count_nonzero((blocks == 0).sum(axis=1) < m))
