"""How every stage compiles and copies a workload's model."""
from __future__ import annotations

from typing import Any

from pipeline import tfenv


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
