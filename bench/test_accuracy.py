"""Accuracy stays: baseline floor, pruning drop, and TFLite versus its Keras source."""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.results import TFLITE_MODELS
from pipeline.run import KerasArtifact, PrunedArtifact


def test_baseline_accuracy_floor(baseline: KerasArtifact, thresholds: Config) -> None:
    bound = thresholds.accuracy.baseline_min
    assert baseline.accuracy >= bound, (
        f"baseline accuracy {baseline.accuracy:.4f} is below {bound:.4f} "
        f"(accuracy.baseline_min in {thresholds.path})")


def test_pruning_accuracy_drop(baseline: KerasArtifact, pruned: PrunedArtifact,
                               thresholds: Config) -> None:
    drop = baseline.accuracy - pruned.accuracy
    bound = thresholds.accuracy.pruned_drop_max
    assert drop <= bound, (
        f"pruning dropped accuracy by {drop:.4f} ({baseline.accuracy:.4f} -> "
        f"{pruned.accuracy:.4f}), more than {bound:.4f} (accuracy.pruned_drop_max in "
        f"{thresholds.path})")


@pytest.mark.parametrize("model", TFLITE_MODELS)
def test_tflite_accuracy_matches_keras(model: str, request: pytest.FixtureRequest,
                                       thresholds: Config) -> None:
    artifact = request.getfixturevalue(model)
    difference = abs(artifact.accuracy - artifact.source_accuracy)
    bound = thresholds.accuracy.tflite_drop_max
    assert difference <= bound, (
        f"{model} interpreter accuracy {artifact.accuracy:.4f} differs from its Keras source "
        f"({artifact.source_accuracy:.4f}) by {difference:.4f}, more than {bound:.4f} "
        f"(accuracy.tflite_drop_max in {thresholds.path})")
