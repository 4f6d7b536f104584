"""Prune what is prunable: a model holding a layer tfmot does not support (a Rescaling, as
MobileNetV3's preprocessing has, tensorflow/model-optimization #864) is refused whole by
prune_low_magnitude with tfmot's own error, and pruned, clustered and quantization-aware
trained layer by layer when the workload's wrapping names the layer types."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from pipeline import tfenv
from pipeline.data import load_npz
from pipeline.recipe import RECIPE
from pipeline.variants.clustering import cluster, distinct_weights
from pipeline.variants.pruning import kernel_sparsity, prune, pruned_kernels, wrapped_types
from pipeline.variants.quantization_aware import quantize_aware
from pipeline.workload import Workload, Wrapping

pytestmark = pytest.mark.slow
SAMPLE = Path(__file__).resolve().parent / "data" / "mnist_sample.npz"


def with_rescaling() -> object:
    keras = tfenv.keras()
    layers = keras.layers
    return keras.Sequential([
        layers.InputLayer(input_shape=(28, 28), name="input_1"),
        layers.Rescaling(1 / 255.0, name="rescaling"),
        layers.Reshape((28, 28, 1), name="reshape"),
        layers.Conv2D(8, (3, 3), activation="relu", name="conv2d"),
        layers.MaxPooling2D((2, 2), name="max_pooling2d"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, name="dense"),
    ], name="with_rescaling")


@pytest.fixture(scope="module")
def per_layer() -> Workload:
    return Workload(name="rescaled", description="a Rescaling layer first", data=load_npz,
                    model=with_rescaling, wrapping=Wrapping(("Conv2D", "Dense")),
                    recipe=dataclasses.replace(RECIPE, prune_batch_size=8, finetune_batch_size=50),
                    scale=lambda images: images.astype(np.float32),
                    bounds=SAMPLE.parent / "unused.toml")


def test_whole_model_pruning_fails_with_tfmot_s_error_and_per_layer_prunes(
        per_layer: Workload) -> None:
    data = load_npz(SAMPLE)
    x, y = per_layer.scale(data.x_train), data.y_train
    baseline = per_layer.build_model()
    whole = dataclasses.replace(per_layer, wrapping=Wrapping())
    with pytest.raises(ValueError, match="Please initialize `Prune` with a supported layer.*"
                                         "Rescaling"):
        prune(baseline, x, y, 0, whole)
    pruned = prune(baseline, x, y, 0, per_layer)
    sparsity = kernel_sparsity(pruned_kernels(pruned, wrapped_types(per_layer)))
    assert set(sparsity) == {"Conv2D:conv2d", "Dense:dense"}
    assert all(abs(value - 0.80) < 0.01 for value in sparsity.values()), sparsity
    assert [type(layer).__name__ for layer in pruned.layers][0] == "Rescaling"


def test_per_layer_clustering_and_qat_wrap_the_named_layers_only(per_layer: Workload) -> None:
    data = load_npz(SAMPLE)
    x, y = per_layer.scale(data.x_train), data.y_train
    baseline = per_layer.build_model()
    clustered = cluster(baseline, x, y, 0, per_layer)
    assert distinct_weights(pruned_kernels(clustered, wrapped_types(per_layer))) <= 16
    qat = quantize_aware(baseline, x, y, 0, per_layer)
    wrappers = {layer.name: type(layer).__name__ for layer in qat.layers}
    assert wrappers["quant_conv2d"] == wrappers["quant_dense"] == "QuantizeWrapperV2"
    assert wrappers["rescaling"] == "Rescaling"
