"""Identities: what a run built and by which rules it was judged, as digests of declared values.

A run records three identities, and the gate compares runs only where they allow it
(pipeline.judge.compare.selection): `workload_sha256` (which model, on which data, fitted how),
`recipe_sha256` (how every variant is built from it) and `config_sha256` (the thresholds that
judged it). Each is the sha256 of canonical JSON (sorted keys, no spaces, no NaN) of values the
workload, the variants and the threshold file declare: names, parameters, the model's
architecture, the data's content digest, and an explicit `version` that a workload's or a
variant's author bumps when its behaviour changes on purpose.

Nothing here hashes where code lives or the bytes of a file. A history outlives refactors: a
team moves its workload module, this project moves its own, a comment in
bench/thresholds.toml is corrected, and every earlier run stays comparable. asv shows the cost
of the other way: its default benchmark version is a hash of the benchmark's source, so an edit
orphans the series (asv #1218, #899) and projects pin `version` by hand. What code cannot
declare about itself (how a step function trains) its `version` stands for.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from pipeline.config import Config
from pipeline.data import Dataset
from pipeline.variants.registry import VARIANTS, Variant, applies
from pipeline.workload import (
    FROM_SCRATCH,
    REFERENCE_COMPILE,
    WHOLE_MODEL,
    Workload,
    architecture,
    first_training_images,
    jsonable,
    model_file_sha256,
)

#: How a run's identities were made, recorded as its `identities` column: from declared values
#: (this module). A file written before schema 7 holds "code" there (pipeline.results.MIGRATIONS).
IDENTITIES = "declared"
#: Training images the workload's `scale` is applied to for its identity: what the scaling
#: does, as data, rather than the name of the function that does it.
SCALED_SAMPLE = 64


def canonical(value: Any) -> str:
    """`value` as canonical JSON: sorted keys, no spaces, tuples as lists; NaN refused (it
    would not equal itself on reading back)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def digest(value: Any) -> str:
    """sha256 of `value`'s canonical JSON."""
    return hashlib.sha256(canonical(value).encode("utf-8")).hexdigest()


def array_digest(images: np.ndarray) -> dict[str, Any]:
    """An array as dtype, shape and the sha256 of its bytes."""
    images = np.ascontiguousarray(images)
    return {"dtype": str(images.dtype), "shape": list(images.shape),
            "sha256": hashlib.sha256(images.tobytes()).hexdigest()}


def scaled_input(workload: Workload, dataset: Dataset) -> dict[str, Any]:
    """What the workload's `scale` makes of the first SCALED_SAMPLE training images."""
    return array_digest(workload.scale(dataset.x_train[:SCALED_SAMPLE]))


def workload_definition(workload: Workload, dataset: Dataset) -> dict[str, Any]:
    """The workload as the values it declares: name, version, model (parameters and each
    layer's type, name, output shape and parameter count), data (its content sha256), fit (the
    recipe) and input (what `scale` makes of the data).

    What a workload can declare beyond those (a model file to start from, its compile, its
    wrapping, its calibration data) joins the definition only where it differs from what
    every workload of the committed history had, so those runs keep their workload_sha256.
    """
    definition: dict[str, Any] = {
        "name": workload.name,
        "version": workload.version,
        "model": {"parameters": jsonable(workload.model_parameters),
                  "layers": architecture(workload)},
        "data": dataset.sha256,
        "fit": jsonable(workload.recipe.declared()),
        "input": scaled_input(workload, dataset),
    }
    if workload.start != FROM_SCRATCH:
        definition["start"] = {"from": workload.start, "sha256": model_file_sha256(workload)}
    if workload.compile != REFERENCE_COMPILE:
        definition["compile"] = jsonable(asdict(workload.compile))
    if workload.wrapping != WHOLE_MODEL:
        definition["wrapping"] = jsonable(asdict(workload.wrapping))
    if workload.calibration is not first_training_images:
        definition["calibration"] = array_digest(workload.scale(workload.calibration(dataset)))
    return definition


def workload_sha256(workload: Workload, dataset: Dataset) -> str:
    """Recorded as `workload_sha256`: runs of one workload defined two ways are never compared."""
    return digest(workload_definition(workload, dataset))


def variant_definition(variant: Variant) -> dict[str, Any]:
    """A variant as the values it declares: name, version, parent, stage, the options its step
    takes, its converter settings, what it measures and its raw-size reference."""
    return {
        "name": variant.name, "version": variant.version, "parent": variant.parent,
        "stage": variant.stage, "options": jsonable(dict(variant.options)),
        "converter": None if variant.converter is None else jsonable(asdict(variant.converter)),
        "measures": list(variant.measures), "raw_size_against": variant.raw_size_against,
    }


def recipe_definition(workload: Workload, variants: Iterable[Variant] | None = None
                      ) -> dict[str, Any]:
    """The recipe's fields, the workload model's parameters and the definition of every
    variant (of the registry that applies to the workload, when `variants` is None)."""
    declared = ([v for v in VARIANTS.values() if applies(v.name, workload)] if variants is None
                else variants)
    return {"recipe": jsonable(workload.parameters()),
            "variants": [variant_definition(v) for v in declared]}


def recipe_sha256(workload: Workload, variants: Iterable[Variant] | None = None) -> str:
    """Recorded as `recipe_sha256`: two runs compare only if they built every model the same
    way."""
    return digest(recipe_definition(workload, variants))


def config_definition(config: Config) -> dict[str, Any]:
    """The parsed thresholds that judge a run: every variant's bounds, how latency and the
    footprint are measured, and the comparison's rules. Not the file's path or bytes (a
    comment is not a threshold), and not [duel]: the duel judges no run, and its report states
    its own settings."""
    sections: Mapping[str, Any] = {"latency": config.latency, "footprint": config.footprint,
                                   "compare": config.compare}
    return {"variants": {name: asdict(bounds) for name, bounds in config.variants.items()},
            **{name: asdict(section) for name, section in sections.items()}}


def config_sha256(config: Config) -> str:
    """Recorded as `config_sha256`: a comparison warns when two runs were judged by different
    thresholds."""
    return digest(config_definition(config))
