"""`mnist_cnn`: the pruning guide's MNIST CNN, the reference recipe's model (the default)."""
from __future__ import annotations

from typing import Any

from pipeline import THRESHOLDS_PATH, tfenv
from pipeline.mnist import resolve_mnist
from pipeline.workload import Workload


def mnist_cnn(conv_filters: int, conv_kernel: tuple[int, int], pool_size: tuple[int, int],
              classes: int) -> Any:
    """InputLayer(28,28) -> Reshape -> Conv2D(12,3x3,relu) -> MaxPool(2x2) -> Flatten -> Dense(10).

    Built with the Keras 2 module tfmot accepts (`tfenv.keras()`), so it can be pruned.
    """
    keras = tfenv.keras()
    # Names fixed to what Keras gives the first model of a process: Keras numbers default names
    # per process (conv2d_1, ...), and the names are stored in the .h5 and .tflite files, so a
    # second model built in the same process would otherwise zip to a different size.
    return keras.Sequential([
        keras.layers.InputLayer(input_shape=(28, 28), name="input_1"),
        keras.layers.Reshape(target_shape=(28, 28, 1), name="reshape"),
        keras.layers.Conv2D(filters=conv_filters, kernel_size=conv_kernel, activation="relu",
                            name="conv2d"),
        keras.layers.MaxPooling2D(pool_size=pool_size, name="max_pooling2d"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(classes, name="dense"),
    ], name="sequential")


MNIST_CNN = Workload(
    name="mnist_cnn",
    description="the pruning guide's MNIST CNN (Conv2D 12 3x3, MaxPool, Dense 10)",
    data=resolve_mnist,
    model=mnist_cnn,
    # The reference's parameters; their names and values are part of workload_sha256 and
    # recipe_sha256 (pipeline.identity), which the committed history was recorded with.
    model_parameters={"conv_filters": 12, "conv_kernel": (3, 3), "pool_size": (2, 2),
                      "classes": 10},
    # The reference recipe's bounds live in the main thresholds file.
    bounds=THRESHOLDS_PATH,
    version=1,
)
