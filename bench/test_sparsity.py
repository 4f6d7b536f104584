"""The pruning schedule reached its target: measured on the stripped kernels."""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.pruning import PRUNED_LAYER_TYPES
from pipeline.run import PrunedArtifact


@pytest.mark.parametrize("layer_type", PRUNED_LAYER_TYPES)
def test_kernel_sparsity(layer_type: str, pruned: PrunedArtifact, thresholds: Config) -> None:
    measured = pruned.kernel_sparsity[layer_type]
    target, tolerance = thresholds.sparsity.target, thresholds.sparsity.tolerance
    assert abs(measured - target) <= tolerance, (
        f"{layer_type} kernel sparsity {measured:.4f} is not within {tolerance:.4f} of "
        f"{target:.2f} (sparsity.target / sparsity.tolerance in {thresholds.path})")
