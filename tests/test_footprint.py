"""pipeline.measure.footprint: init time, first invoke and peak memory growth, measured in a forked
process on a small real .tflite file, and their CSV rows."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import tfenv
from pipeline.measure import footprint
from pipeline.measure.footprint import (
    FOOTPRINT_METRICS,
    Footprint,
    FootprintError,
    footprint_measurements,
    measure_footprint,
)
from pipeline.measure.interpreters import NO_XNNPACK, RUNTIMES
from pipeline.measure.latency import LatencyKey
from pipeline.variants.conversion import FLOAT, to_tflite


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 28x28 -> 10 Dense model with 1 MB of weights: big enough to see in memory."""
    keras = tfenv.keras()
    model = keras.Sequential([keras.layers.InputLayer(input_shape=(28, 28)),
                              keras.layers.Flatten(), keras.layers.Dense(320),
                              keras.layers.Dense(10)])
    return to_tflite(model, tmp_path_factory.mktemp("fp") / "small.tflite", FLOAT)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_fresh_process_reports_times_and_memory_growth(small_model: Path,
                                                         runtime: str) -> None:
    image = np.zeros((28, 28), dtype=np.float32)
    footprint = measure_footprint(small_model, runtime, 1, image, invokes=3)
    assert 0 < footprint.init_seconds < 5 and 0 < footprint.first_invoke_seconds < 5
    weights = small_model.stat().st_size  # 1 MB of float weights, nearly all of the file
    # Both runtimes map the model file rather than copy it: its pages count in the resident
    # set, not in the heap. XNNPACK packs the weights into a heap copy; the built-in kernels
    # read them where they are mapped, so their heap holds little more than the tensor arena.
    assert footprint.peak_rss_growth_bytes >= weights * 0.9
    if runtime.endswith(NO_XNNPACK):
        assert 0 < footprint.heap_growth_bytes < weights * 0.5
    else:
        assert footprint.heap_growth_bytes >= weights * 0.9


def test_a_c_library_without_mallinfo2_is_refused_with_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    class Musl:  # a C library with no mallinfo2 symbol
        def __init__(self, name: None) -> None:
            pass
    monkeypatch.setattr(footprint.ctypes, "CDLL", Musl)
    with pytest.raises(FootprintError) as raised:
        footprint._mallinfo2.__wrapped__()
    assert str(raised.value) == (
        "heap_growth_bytes needs glibc >= 2.33 (mallinfo2), which this C library does not "
        "have; deselect the footprint test (-k 'not footprint') on this system")


def test_an_error_in_the_child_reaches_the_caller(tmp_path: Path) -> None:
    missing = tmp_path / "missing.tflite"
    with pytest.raises(FootprintError, match=r"missing.tflite on tf.lite: ValueError"):
        measure_footprint(missing, "tf.lite", 1, np.zeros((28, 28), np.float32), invokes=1)


def test_rows_hold_the_median_and_every_process() -> None:
    footprints = [Footprint(0.002, 0.0002, 360_000, 7_000_000),
                  Footprint(0.001, 0.0001, 360_000, 7_000_000),
                  Footprint(0.003, 0.0003, 361_024, 7_016_384)]
    rows = footprint_measurements(LatencyKey("m", "tf.lite", 1), footprints)
    assert [r.metric for r in rows] == list(FOOTPRINT_METRICS)
    init, first, heap, peak = rows
    assert (init.value, init.rounds, init.samples) == (0.002, 3, (0.002, 0.001, 0.003))
    assert first.unit == "s" and heap.unit == "bytes" and peak.unit == "bytes"
    assert heap.value == 360_000 and heap.samples == (360_000, 360_000, 361_024)
    assert peak.value == 7_000_000 and peak.runtime == "tf.lite" and peak.threads == 1
