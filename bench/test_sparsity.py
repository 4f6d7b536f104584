"""Structure the techniques promise, measured on the weights themselves: pruned kernels reach
their sparsity (in the .h5 and, for PQAT, still in the .tflite), m:n blocks hold their zeros,
clustered kernels hold at most the cluster count of distinct values."""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.run.bench_run import Artifact, BenchRun
from pipeline.variants.pruning import kernel_sparsity, kernels_of, m_by_n_violations


@pytest.mark.variants(measure="sparsity")
def test_kernel_sparsity(artifact: Artifact, thresholds: Config) -> None:
    bounds = thresholds.bounds(artifact.name)
    target, tolerance = bounds.sparsity_target, bounds.sparsity_tolerance
    assert target is not None and tolerance is not None
    off = {kind: value for kind, value in artifact.kernel_sparsity.items()
           if abs(value - target) > tolerance}
    assert not off, (
        f"{artifact.name}: kernel sparsity "
        f"{', '.join(f'{kind} {value:.4f}' for kind, value in off.items())} not within "
        f"{tolerance:.4f} of {target:.2f} (variants.{artifact.name}.sparsity_target / "
        f"sparsity_tolerance in {thresholds.bounds_file})")
    if artifact.model is not None:
        # tfmot's pruning registry gives DepthwiseConv2D no prunable weights (ds_cnn has them):
        # they stay dense, and a tfmot that prunes them is a change to know of.
        pruned = {key: value for key, value in
                  kernel_sparsity(kernels_of(artifact.model, ("DepthwiseConv2D",))).items()
                  if value > 0}
        assert not pruned, (f"{artifact.name}: DepthwiseConv2D kernels pruned, which tfmot's "
                            f"pruning registry does not do: {pruned}")


@pytest.mark.variants(option="m_by_n")
def test_m_by_n_blocks(artifact: Artifact) -> None:
    m, n = artifact.variant.options["m_by_n"]
    violations = {kind: m_by_n_violations(kernel, m, n)
                  for kind, kernel in artifact.pruned_kernels.items()}
    assert not any(violations.values()), (
        f"{artifact.name}: blocks of {n} input weights with fewer than {m} zeros: "
        f"{', '.join(f'{kind} {count}' for kind, count in violations.items())}")


@pytest.mark.variants(measure="distinct_weights")
def test_clustered_distinct_weights(artifact: Artifact, bench_run: BenchRun) -> None:
    per = "output channel" if artifact.variant.kind == "tflite" else "kernel"
    clusters = bench_run.workload.recipe.clusters
    assert artifact.distinct_weights <= clusters, (
        f"{artifact.name}: a {per} holds {artifact.distinct_weights} distinct weights, more "
        f"than the {clusters} clusters (recipe.clusters)")
