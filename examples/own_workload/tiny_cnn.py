"""A workload of your own: the model, data and bounds a team puts under the gate.

Run from this folder (or with it on PYTHONPATH), from anywhere:

    pytest /path/to/tf-compression-bench/bench --workload tiny_cnn:WORKLOAD

The suite builds the model with `model(**model_parameters)`, fits and compresses it with the
reference recipe, checks it against the bounds in `tiny_cnn_bounds.toml` beside this file, and
writes a results CSV that `bench compare` gates like any other. The data is this
folder's own `.npz` (x_train, y_train, x_test, y_test); any image size, channel count and
number of classes will do, as long as the model takes that image shape.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from pipeline import tfenv
from pipeline.data import Dataset, dataset_from_arrays
from pipeline.recipe import RECIPE
from pipeline.workload import Workload

HERE = Path(__file__).resolve().parent


def tiny_cnn(filters: int, classes: int) -> object:
    """Reshape -> Conv2D(filters, 3x3, relu) -> MaxPool(2x2) -> Flatten -> Dense(classes)."""
    keras = tfenv.keras()  # tf_keras: the Keras that tfmot's wrappers accept
    layers = keras.layers
    return keras.Sequential([
        layers.InputLayer(input_shape=(28, 28), name="input_1"),
        layers.Reshape((28, 28, 1), name="reshape"),
        layers.Conv2D(filters, (3, 3), activation="relu", name="conv2d"),
        layers.MaxPooling2D((2, 2), name="max_pooling2d"),
        layers.Flatten(name="flatten"),
        layers.Dense(classes, name="dense"),
    ], name="tiny_cnn")


def own_data(path: str | None) -> Dataset:
    """This folder's data.npz; `path` (--mnist or MNIST_PATH) is the built-in workloads' and
    not used here."""
    source = HERE / "data.npz"
    with np.load(source) as arrays:
        return dataset_from_arrays(arrays["x_train"], arrays["y_train"], arrays["x_test"],
                                   arrays["y_test"], source=f"npz file {source}")


WORKLOAD = Workload(
    name="tiny_cnn",
    description="an 8-filter CNN on this folder's data.npz",
    data=own_data,
    model=tiny_cnn,
    model_parameters={"filters": 8, "classes": 10},
    # The reference recipe, but pruning in batches of 8: tfmot's PolynomialDecay prunes every
    # 100 steps, and 1,000 training images in batches of 128 make only 16 steps (the kernels
    # would stay dense; the sparsity check says so). Batches of 8 make 226.
    recipe=dataclasses.replace(RECIPE, prune_batch_size=8),
    bounds=HERE / "tiny_cnn_bounds.toml",
    # Part of workload_sha256 in place of this module's code: bump it when the model or the
    # data changes in a way no value above shows. Renaming or moving this file changes nothing.
    version=1,
)
