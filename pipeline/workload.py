"""What a workload is: the model a run starts from, the data it is fitted on, and how it is fitted.

The variants (pipeline.variants.registry) are the techniques; a workload is what they are
applied to. A workload starts in one of three ways (`Workload.start`): it builds its model and
trains it from scratch (the reference recipe's way), it loads a model trained elsewhere and
fine-tunes from it (a tf_keras .h5 file or SavedModel folder: what teams gate), or it is a
`.tflite` file only, measured as shipped (no Keras stage runs).
The suite's own workloads are declared in pipeline.workloads; a team's own model is one more
`Workload` in its own module, picked with `pytest bench --workload package.module:attribute`
(docs/variants-and-workloads.md, "Gate your own model"). Everything a workload declares is
data the run records: its name, and `workload_sha256` over its declared values
(pipeline.identity: its version, its model's layers and parameters, its data's content hash, its
fit and its input), so the gate never compares runs of two different workloads, and never
refuses two runs of one workload whose module moved.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import tfenv
from pipeline.data import Dataset, scale_pixels
from pipeline.recipe import RECIPE, Recipe

#: The ways a workload starts (`Workload.start`).
FROM_SCRATCH, FROM_TRAINED, FROM_TFLITE = "scratch", "trained", "tflite"
#: Training images the default calibration takes (the first ones): the representative dataset
#: of every full-integer conversion, 200 of them, as the int8 variants' converter settings ask.
CALIBRATION_IMAGES = 200


class WorkloadError(ValueError):
    """A workload that cannot be found, loaded or used with the data it was given."""


@dataclass(frozen=True)
class Compile:
    """How every stage compiles the workload's model: a tf_keras optimizer and loss by class
    name, the learning rate (None: the optimizer's default), whether the model outputs logits
    (the loss's `from_logits`) and the metrics. The default is the reference recipe's: Adam,
    SparseCategoricalCrossentropy(from_logits=True), accuracy."""

    optimizer: str = "Adam"
    learning_rate: float | None = None
    loss: str = "SparseCategoricalCrossentropy"
    from_logits: bool = True
    metrics: tuple[str, ...] = ("accuracy",)


REFERENCE_COMPILE = Compile()


@dataclass(frozen=True)
class Wrapping:
    """How a technique (pruning, clustering, quantization-aware training) wraps the model.

    `layer_types` None: the whole model in one call (prune_low_magnitude(model), the seed's
    way), which tfmot refuses for a model holding a layer it does not support (a Rescaling,
    tensorflow/model-optimization #864). A tuple of layer type names: only the layers of exactly
    those types are wrapped, by cloning the model with a clone_function, the way tfmot's guides
    treat such models; sparsity and distinct weights are then measured over those layers.
    """

    layer_types: tuple[str, ...] | None = None


WHOLE_MODEL = Wrapping()


def first_training_images(dataset: Dataset) -> np.ndarray:
    """The default calibration data: the first CALIBRATION_IMAGES training images."""
    return dataset.x_train[:CALIBRATION_IMAGES]


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's (a SavedModel): each file's path relative to
    it and its bytes, in sorted order."""
    digest = hashlib.sha256()
    if path.is_dir():
        for member in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(member.relative_to(path).as_posix().encode("utf-8") + b"\0")
            digest.update(hashlib.sha256(member.read_bytes()).digest())
    else:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class Workload:
    """One model under the gate, declared as data.

    Exactly one of three starts. `model(**model_parameters)` returns a new, uncompiled tf_keras
    model, trained from scratch by the baseline variant (`recipe.epochs`). `trained` is a
    tf_keras .h5 file or SavedModel folder trained elsewhere: the baseline is that model loaded
    and evaluated, and every variant fine-tunes from it with the recipe's fine-tune settings
    (epochs, batch size, `finetune_images`); its sha256 is part of `workload_sha256`, so runs
    of two different trained files are never compared. `tflite` is a .tflite file measured as
    shipped: only the `shipped_tflite` variant applies.

    Every stage compiles the model with `compile` (tfmot's wrappers need tf_keras layers), and
    wraps it for a technique as `wrapping` says. `data(path)` returns the checked Dataset;
    `path` is what the user named with `--data` or MNIST_PATH (None when neither), which a
    workload with data of its own may ignore. `scale` turns stored pixels into what the model
    takes (also the latency input: the first test image); `calibration(dataset)` gives the
    stored images of the full-integer conversions' representative dataset. `bounds` is the
    TOML file holding the workload's `[variants.NAME]` tables, and a `[latency]` table for a
    model whose invoke needs blocks of another size (pipeline.config).
    `inapplicable` names the variants whose technique cannot apply to this model, with the
    reason a user is shown when they select one (tfmot's own error, quoted). `version` is part
    of `workload_sha256` in place of the model builder's and the data loader's code: bump it
    when a change to what they do should keep the runs before and after it apart (a renamed
    or moved module changes nothing).
    """

    name: str
    description: str
    data: Callable[[str | None], Dataset]
    bounds: Path
    model: Callable[..., Any] | None = None
    trained: Path | None = None
    tflite: Path | None = None
    model_parameters: Mapping[str, Any] = field(default_factory=dict)
    recipe: Recipe = RECIPE
    compile: Compile = REFERENCE_COMPILE
    wrapping: Wrapping = WHOLE_MODEL
    scale: Callable[[np.ndarray], np.ndarray] = scale_pixels
    calibration: Callable[[Dataset], np.ndarray] = first_training_images
    inapplicable: Mapping[str, str] = field(default_factory=dict)
    version: int = 1

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version < 1:
            raise WorkloadError(f"workload {self.name!r}: version {self.version!r} is not a "
                                f"whole number from 1 up; declare version=1 and bump it when "
                                f"the workload's behaviour changes on purpose")
        starts = [name for name in ("model", "trained", "tflite")
                  if getattr(self, name) is not None]
        if len(starts) != 1:
            raise WorkloadError(f"workload {self.name!r} declares "
                                f"{' and '.join(starts) or 'none'} of model, trained and "
                                f"tflite; declare exactly one: model= (a builder trained from "
                                f"scratch), trained= (a tf_keras .h5 or SavedModel) or "
                                f"tflite= (a .tflite file)")
        for name in ("trained", "tflite"):
            path = getattr(self, name)
            if path is not None:
                object.__setattr__(self, name, Path(path))
        if self.model_parameters and self.model is None:
            raise WorkloadError(f"workload {self.name!r}: model_parameters are the arguments "
                                f"of model=, which it does not declare")

    @property
    def start(self) -> str:
        """How the workload starts: FROM_SCRATCH, FROM_TRAINED or FROM_TFLITE."""
        return (FROM_SCRATCH if self.model is not None
                else FROM_TRAINED if self.trained is not None else FROM_TFLITE)

    @property
    def model_file(self) -> Path | None:
        """The file the workload starts from (trained or tflite); None when it builds its model."""
        return self.trained if self.trained is not None else self.tflite

    def build_model(self) -> Any:
        """A new model of this workload, not yet compiled: built (not yet fitted), or the
        trained file loaded afresh (tfmot's wrappers change the layers they wrap)."""
        if self.model is not None:
            return self.model(**self.model_parameters)
        if self.trained is None:
            raise WorkloadError(f"workload {self.name!r} is the .tflite file {self.tflite} "
                                f"only: it has no Keras model")
        check_file(self, self.trained)
        return tfenv.keras().models.load_model(str(self.trained), compile=False)

    def load(self, path: str | None) -> Dataset:
        """The workload's data, checked against its Keras model's input shape (a .tflite
        workload's is checked when its file is measured: pipeline.run.bench_run)."""
        if self.model_file is not None:
            check_file(self, self.model_file)
        dataset = self.data(path)
        if self.tflite is not None:
            return dataset
        expected = input_shape(self)
        scaled = tuple(self.scale(dataset.x_train[:1]).shape[1:])
        if scaled != expected:
            raise WorkloadError(
                f"workload {self.name!r} takes images of shape {expected}, but its data "
                f"({dataset.source}) holds images of shape {tuple(dataset.x_train.shape[1:])}"
                f"{'' if scaled == tuple(dataset.x_train.shape[1:]) else f', scaled to {scaled}'}"
                f"; pass data of that shape (--data PATH) or pick another workload (--workload)")
        return dataset

    def parameters(self) -> dict[str, Any]:
        """The recipe's fields and the model's parameters, one flat mapping (part of
        recipe_sha256, pipeline.identity)."""
        return {**self.recipe.declared(), **self.model_parameters}


def check_file(workload: Workload, path: Path) -> None:
    """A workload's model file exists; otherwise a WorkloadError naming it and what to do."""
    if not path.exists():
        raise WorkloadError(f"workload {workload.name!r}: its model file {path} does not exist; "
                            f"declare the path of the file (an absolute path, or one relative "
                            f"to the workload's module: Path(__file__).parent / NAME)")


@cache
def model_file_sha256(workload: Workload) -> str:
    """sha256 of the file the workload starts from ("" for a model built from scratch): the
    run's `model_file_sha256` column and part of its `workload_sha256`."""
    path = workload.model_file
    if path is None:
        return ""
    check_file(workload, path)
    return file_sha256(path)


def jsonable(value: Any) -> Any:
    """Tuples as lists, recursively, as json.dumps writes them (so a definition compares and
    hashes as it reads back)."""
    return json.loads(json.dumps(value))


@cache
def _built(workload: Workload) -> Any:
    """One untouched model per workload and process, for its shape and layers only."""
    return workload.build_model()


def input_shape(workload: Workload) -> tuple[int, ...]:
    """The image shape the workload's Keras model takes (without the batch dimension)."""
    return tuple(int(d) for d in _built(workload).input_shape[1:])


def architecture(workload: Workload) -> list[list[Any]]:
    """Each layer's type, name, output shape and parameter count: what the model is, in a
    form every tf_keras version writes alike (to_json() records the Keras version). Empty for
    a .tflite workload, which its file's sha256 identifies."""
    if workload.tflite is not None:
        return []
    layers = []
    for layer in _built(workload).layers:
        try:
            shape: Any = jsonable(layer.output_shape)
        except AttributeError:  # a layer with several outputs, or not yet called
            shape = None
        layers.append([type(layer).__name__, layer.name, shape, int(layer.count_params())])
    return layers
