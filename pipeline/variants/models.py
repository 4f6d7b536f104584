"""How every stage compiles, copies and wraps a workload's model."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline import tfenv
from pipeline.workload import REFERENCE_COMPILE, Compile, Wrapping


def compile_model(model: Any, settings: Compile = REFERENCE_COMPILE, steps_per_execution: int = 1,
                  learning_rate: float | None = None) -> None:
    """Compile with the workload's optimizer, loss and metrics (the reference's: Adam +
    SparseCategoricalCrossentropy(from_logits=True) + accuracy).

    `learning_rate` overrides the workload's (the clustering fine-tune's own rate);
    `steps_per_execution` is a speed setting only, and the pruning fit must keep it at 1.
    """
    keras = tfenv.keras()
    rate = settings.learning_rate if learning_rate is None else learning_rate
    optimizer = getattr(keras.optimizers, settings.optimizer)(
        **({} if rate is None else {"learning_rate": rate}))
    loss = getattr(keras.losses, settings.loss)(from_logits=settings.from_logits)
    model.compile(optimizer=optimizer, loss=loss, metrics=list(settings.metrics),
                  steps_per_execution=steps_per_execution)


def copy_of(model: Any) -> Any:
    """A clone of `model` with the same weights.

    tfmot's wrappers (prune_low_magnitude, cluster_weights, quantize_model) wrap the original
    layer objects; working on a copy keeps the source model intact for every later stage.
    """
    keras = tfenv.keras()
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def wrapped(model: Any, wrapping: Wrapping, wrap: Callable[[Any], Any]) -> Any:
    """A copy of `model` wrapped by `wrap` as `wrapping` declares: the whole model in one call,
    or each layer of its `layer_types` (the others kept as they are) in a clone."""
    source = copy_of(model)
    if wrapping.layer_types is None:
        return wrap(source)
    types = wrapping.layer_types

    def clone_function(layer: Any) -> Any:
        return wrap(layer) if type(layer).__name__ in types else layer

    # The clone reuses the copy's layer objects (wrapped or not), so it keeps their weights.
    return tfenv.keras().models.clone_model(source, clone_function=clone_function)
