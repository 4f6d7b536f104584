"""The baseline model of the reference recipe."""
from __future__ import annotations

from typing import Any

from pipeline import tfenv
from pipeline.recipe import RECIPE, Recipe


def build_baseline(recipe: Recipe = RECIPE) -> Any:
    """InputLayer(28,28) -> Reshape -> Conv2D(12,3x3,relu) -> MaxPool(2x2) -> Flatten -> Dense(10).

    Built with the Keras 2 module tfmot accepts (`tfenv.keras()`), so it can be pruned, and
    compiled for the baseline fit.
    """
    keras = tfenv.keras()
    # Names fixed to what Keras gives the first model of a process: Keras numbers default names
    # per process (conv2d_1, ...), and the names are stored in the .h5 and .tflite files, so a
    # second model built in the same process would otherwise zip to a different size.
    model = keras.Sequential([
        keras.layers.InputLayer(input_shape=(28, 28), name="input_1"),
        keras.layers.Reshape(target_shape=(28, 28, 1), name="reshape"),
        keras.layers.Conv2D(filters=recipe.conv_filters, kernel_size=recipe.conv_kernel,
                            activation="relu", name="conv2d"),
        keras.layers.MaxPooling2D(pool_size=recipe.pool_size, name="max_pooling2d"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(recipe.classes, name="dense"),
    ], name="sequential")
    compile_like_reference(model, steps_per_execution=recipe.baseline_steps_per_execution)
    return model


def compile_like_reference(model: Any, steps_per_execution: int = 1) -> None:
    """Adam + SparseCategoricalCrossentropy(from_logits=True) + accuracy, as both fits use.

    `steps_per_execution` is a speed setting only; the pruning fit must keep it at 1.
    """
    keras = tfenv.keras()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)


def copy_of(model: Any) -> Any:
    """A clone of `model` with the same weights.

    tfmot's wrappers (prune_low_magnitude, cluster_weights, quantize_model) wrap the original
    layer objects; working on a copy keeps the source model intact for every later stage.
    """
    keras = tfenv.keras()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy
