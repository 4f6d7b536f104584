"""What a workload is: the model a run builds, the data it is fitted on, and how it is fitted.

The variants (pipeline.variants.registry) are the techniques; a workload is what they are
applied to.
The suite's own workloads are declared in pipeline.workloads; a team's own model is one more
`Workload` in its own module, picked with `pytest bench --workload package.module:attribute`
(docs/variants-and-workloads.md, "Gate your own model"). Everything a workload declares is
data the run records: its name, and `workload_sha256` over its declared values
(pipeline.identity: its version, its model's layers and parameters, its data's content hash, its
fit and its input), so the gate never compares runs of two different workloads, and never
refuses two runs of one workload whose module moved.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data import Dataset, scale_pixels
from pipeline.recipe import RECIPE, Recipe


class WorkloadError(ValueError):
    """A workload that cannot be found, loaded or used with the data it was given."""


@dataclass(frozen=True, eq=False)
class Workload:
    """One model under the gate, declared as data.

    `model(**model_parameters)` returns a new, uncompiled tf_keras model whose output is one
    logit per class: every stage compiles it the reference's way (Adam,
    SparseCategoricalCrossentropy(from_logits=True)), and tfmot's wrappers need tf_keras
    layers. `data(path)` returns the checked Dataset; `path` is what the user named with
    `--data` or MNIST_PATH (None when neither), which a workload with data of its own may
    ignore. `scale` turns stored pixels into the float32 the model takes (also the latency and
    calibration input: the first test image, the first training images). `bounds` is the TOML
    file holding the workload's `[variants.NAME]` tables (pipeline.config). `inapplicable`
    names the variants whose technique cannot apply to this model, with the reason a user is
    shown when they select one. `version` is part of `workload_sha256` in place of the model
    builder's and the data loader's code: bump it when a change to what they do should keep
    the runs before and after it apart (a renamed or moved module changes nothing).
    """

    name: str
    description: str
    data: Callable[[str | None], Dataset]
    model: Callable[..., Any]
    bounds: Path
    model_parameters: Mapping[str, Any] = field(default_factory=dict)
    recipe: Recipe = RECIPE
    scale: Callable[[np.ndarray], np.ndarray] = scale_pixels
    inapplicable: Mapping[str, str] = field(default_factory=dict)
    version: int = 1

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version < 1:
            raise WorkloadError(f"workload {self.name!r}: version {self.version!r} is not a "
                                f"whole number from 1 up; declare version=1 and bump it when "
                                f"the workload's behaviour changes on purpose")

    def build_model(self) -> Any:
        """A new model of this workload, not yet compiled or fitted."""
        return self.model(**self.model_parameters)

    def load(self, path: str | None) -> Dataset:
        """The workload's data, checked against its model's input shape."""
        dataset = self.data(path)
        expected = input_shape(self)
        if tuple(dataset.x_train.shape[1:]) != expected:
            raise WorkloadError(
                f"workload {self.name!r} takes images of shape {expected}, but its data "
                f"({dataset.source}) holds images of shape {tuple(dataset.x_train.shape[1:])}; "
                f"pass data of that shape (--data PATH) or pick another workload (--workload)")
        return dataset

    def parameters(self) -> dict[str, Any]:
        """The recipe's fields and the model's parameters, one flat mapping (part of
        recipe_sha256, pipeline.identity)."""
        return {**asdict(self.recipe), **self.model_parameters}


def jsonable(value: Any) -> Any:
    """Tuples as lists, recursively, as json.dumps writes them (so a definition compares and
    hashes as it reads back)."""
    return json.loads(json.dumps(value))


@cache
def _built(workload: Workload) -> Any:
    """One untouched model per workload and process, for its shape and layers only."""
    return workload.build_model()


def input_shape(workload: Workload) -> tuple[int, ...]:
    """The image shape the workload's model takes (without the batch dimension)."""
    return tuple(int(d) for d in _built(workload).input_shape[1:])


def architecture(workload: Workload) -> list[list[Any]]:
    """Each layer's type, name, output shape and parameter count: what the model is, in a
    form every tf_keras version writes alike (to_json() records the Keras version)."""
    layers = []
    for layer in _built(workload).layers:
        try:
            shape: Any = jsonable(layer.output_shape)
        except AttributeError:  # a layer with several outputs, or not yet called
            shape = None
        layers.append([type(layer).__name__, layer.name, shape, int(layer.count_params())])
    return layers
