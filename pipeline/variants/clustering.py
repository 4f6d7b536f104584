"""Weight clustering with tfmot: k clusters per layer, fine-tuned, stripped."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.variants.models import compile_model, wrapped
from pipeline.variants.training import seed_everything
from pipeline.workload import Workload


def cluster(source: Any, x_train: np.ndarray, y_train: np.ndarray, seed: int,
            workload: Workload, callbacks: Sequence[Any] = ()) -> Any:
    """`cluster_weights` with `recipe.clusters` clusters (k-means++ centroids) on the whole
    model or the layers the workload's wrapping names, fine-tuned as the TF MOT clustering
    guide does (the workload's optimizer at `cluster_learning_rate`), then stripped."""
    clustering = tfenv.tfmot().clustering.keras
    recipe = workload.recipe
    seed_everything(seed)
    model = wrapped(source, workload.wrapping, lambda target: clustering.cluster_weights(
        target, number_of_clusters=recipe.clusters,
        cluster_centroids_init=clustering.CentroidInitialization.KMEANS_PLUS_PLUS))
    compile_model(model, workload.compile, learning_rate=recipe.cluster_learning_rate)
    model.fit(x_train, y_train, batch_size=recipe.finetune_batch_size,
              epochs=recipe.finetune_epochs, validation_split=recipe.validation_split,
              callbacks=list(callbacks), verbose=0)
    stripped = clustering.strip_clustering(model)
    compile_model(stripped, workload.compile)
    return stripped


def distinct_weights(kernels: dict[str, np.ndarray], channel_axis: int | None = None) -> int:
    """The most different values any kernel holds (or any output channel of one, with
    `channel_axis`): at most the cluster count after clustering.

    A stripped Keras model shares `clusters` centroids per layer, so the whole kernel counts.
    A full-integer .tflite scales each output channel on its own, so the same centroids become
    different int8 values per channel: there only a channel's values are bounded.
    """
    if channel_axis is None:
        return max(int(np.unique(k).size) for k in kernels.values())
    return max(int(np.unique(np.take(k, i, axis=channel_axis)).size)
               for k in kernels.values() for i in range(k.shape[channel_axis]))
