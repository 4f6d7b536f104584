"""Files shrink: zipped baseline .h5 over each variant's zipped file (ZIP_DEFLATED), and the raw
size of a sparse-encoded file against its dense counterpart."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.config import Config
from pipeline.run.bench_run import Artifact


@pytest.mark.variants(bound="size_ratio_min")
def test_zipped_size_ratio(artifact: Artifact, baseline: Artifact, thresholds: Config) -> None:
    ratio = baseline.zipped_bytes / artifact.zipped_bytes
    bound = thresholds.bounds(artifact.name).size_ratio_min
    assert bound is not None
    assert ratio >= bound, (
        f"zipped baseline .h5 ({baseline.zipped_bytes} B) is only {ratio:.2f}x the zipped "
        f"{artifact.name} ({artifact.zipped_bytes} B), below {bound:.2f}x "
        f"(variants.{artifact.name}.size_ratio_min in {thresholds.bounds_file})")


@pytest.mark.variants(bound="raw_ratio_min")
def test_raw_size_against_dense(artifact: Artifact, build_variant: Callable[[str], Artifact],
                                thresholds: Config) -> None:
    against = artifact.variant.raw_size_against
    assert against is not None
    dense = build_variant(against)
    ratio = dense.raw_bytes / artifact.raw_bytes
    bound = thresholds.bounds(artifact.name).raw_ratio_min
    assert bound is not None
    assert ratio >= bound, (
        f"{against} ({dense.raw_bytes} B) is only {ratio:.2f}x {artifact.name} "
        f"({artifact.raw_bytes} B) unzipped, below {bound:.2f}x "
        f"(variants.{artifact.name}.raw_ratio_min in {thresholds.bounds_file})")
