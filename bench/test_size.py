"""Files shrink: zipped baseline .h5 over each compressed artifact, zipped with ZIP_DEFLATED."""
from __future__ import annotations

import pytest

from pipeline.config import Config
from pipeline.run import KerasArtifact

#: artifact fixture -> key of its lower bound in [size]
SIZE_BOUNDS = {
    "pruned": "pruned_h5_ratio_min",
    "pruned_tflite": "pruned_tflite_ratio_min",
    "pruned_quantized_tflite": "pruned_quantized_tflite_ratio_min",
}


@pytest.mark.parametrize("model", SIZE_BOUNDS)
def test_zipped_size_ratio(model: str, baseline: KerasArtifact, request: pytest.FixtureRequest,
                           thresholds: Config) -> None:
    artifact = request.getfixturevalue(model)
    ratio = baseline.zipped_bytes / artifact.zipped_bytes
    key = SIZE_BOUNDS[model]
    bound = getattr(thresholds.size, key)
    assert ratio >= bound, (
        f"zipped baseline .h5 ({baseline.zipped_bytes} B) is only {ratio:.2f}x the zipped "
        f"{model} ({artifact.zipped_bytes} B), below {bound:.2f}x (size.{key} in "
        f"{thresholds.path})")
