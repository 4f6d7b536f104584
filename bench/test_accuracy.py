"""Accuracy stays: the baseline's floor, and each variant against the model it was made from.

Bounds are `[variants.NAME]` in bench/thresholds.toml: `accuracy_min` (the root) and
`accuracy_drop_max` (every other variant, against its parent: a Keras step may lose at most that
much; a conversion must match its Keras source within it, either way), on every TFLite
interpreter: a LiteRT release can change the predictions of the runtime a team ships.
"""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.measure.interpreters import INTERPRETERS
from pipeline.run.bench_run import Artifact


@pytest.mark.variants(bound="accuracy_min")
def test_accuracy_floor(artifact: Artifact, thresholds: Config) -> None:
    bound = thresholds.bounds(artifact.name).accuracy_min
    assert bound is not None
    assert artifact.accuracy >= bound, (
        f"{artifact.name} accuracy {artifact.accuracy:.4f} is below {bound:.4f} "
        f"(variants.{artifact.name}.accuracy_min in {thresholds.bounds_file})")


@pytest.mark.variants(bound="accuracy_drop_max")
def test_accuracy_against_parent(artifact: Artifact, thresholds: Config) -> None:
    bound = thresholds.bounds(artifact.name).accuracy_drop_max
    assert bound is not None and artifact.source_accuracy is not None
    parent = artifact.variant.parent
    drop = artifact.source_accuracy - artifact.accuracy
    judged = abs(drop) if artifact.variant.kind == "tflite" else drop
    assert judged <= bound, (
        f"{artifact.name} accuracy {artifact.accuracy:.4f} is {drop:+.4f} below its parent "
        f"{parent} ({artifact.source_accuracy:.4f}), beyond {bound:.4f} "
        f"(variants.{artifact.name}.accuracy_drop_max in {thresholds.bounds_file})")


@pytest.mark.parametrize("runtime", INTERPRETERS)
@pytest.mark.variants(kind="tflite", bound="accuracy_drop_max")
def test_tflite_accuracy_on_each_interpreter(artifact: Artifact, runtime: str,
                                             thresholds: Config) -> None:
    bound = thresholds.bounds(artifact.name).accuracy_drop_max
    assert bound is not None and artifact.source_accuracy is not None
    accuracy = artifact.interpreter_accuracy[runtime]
    drop = artifact.source_accuracy - accuracy
    assert abs(drop) <= bound, (
        f"{artifact.name} accuracy on {runtime} {accuracy:.4f} is {drop:+.4f} below its Keras "
        f"source {artifact.variant.parent} ({artifact.source_accuracy:.4f}), beyond {bound:.4f} "
        f"(variants.{artifact.name}.accuracy_drop_max in {thresholds.bounds_file})")
