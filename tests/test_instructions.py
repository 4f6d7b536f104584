"""Instruction counts under callgrind: what is counted, that it repeats, and that more work
per invoke shows. Real counts of the real models of a `pytest bench` run (tests/fixtures/duel),
each costing a callgrind process of ~7 s; the parsing and refusals on frozen input."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.data import scale_pixels
from pipeline.instruction_worker import model_input
from pipeline.instructions import (
    InstructionsUnavailable,
    _dumps,
    count_instructions,
    valgrind_version,
    wrapper_path,
)

MODELS = Path(__file__).parent / "fixtures" / "duel"
SAMPLE = Path(__file__).parent / "data" / "mnist_sample.npz"
needs_valgrind = pytest.mark.skipif(shutil.which("valgrind") is None,
                                    reason="valgrind is not installed (apt-get install valgrind)")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    with np.load(SAMPLE) as data:
        return scale_pixels(data["x_test"][0])


@needs_valgrind
def test_two_processes_count_the_same_and_the_first_invoke_costs_more(image) -> None:
    model = MODELS / "pruned_tflite.tflite"
    first, second = (count_instructions(model, "ai_edge_litert", image, invokes=3)
                     for _ in range(2))
    # Measured 172,031 per invoke, 473,705 first, 178,380 allocate (2026-12-01, valgrind 3.19,
    # ai-edge-litert 2.3.0): a few hundred instructions apart at most between processes.
    assert abs(first.per_invoke - second.per_invoke) <= 0.001 * first.per_invoke
    assert first.first_invoke > 2 * first.per_invoke > 0
    assert first.allocate > 0 and len(first.steady) == 2


@needs_valgrind
def test_an_invoke_without_xnnpack_executes_more_and_is_counted_so(image) -> None:
    """Real slower work: TFLite's builtin kernels run ~2.4x the instructions of XNNPACK's
    (measured 411,558 against 170,484 on tf.lite); and the cheap tf.lite route (its wrapper
    loaded without TensorFlow) counts like ai_edge_litert's, within 10%."""
    model = MODELS / "pruned_quantized_tflite.tflite"
    xnnpack = count_instructions(model, "tf.lite", image, invokes=2)
    builtin = count_instructions(model, "tf.lite:no_xnnpack", image, invokes=2)
    assert builtin.per_invoke > 2 * xnnpack.per_invoke
    # Without the delegate nothing is packed at allocation.
    assert builtin.allocate < xnnpack.allocate


def test_without_valgrind_counting_is_refused_with_what_to_do(image) -> None:
    with pytest.raises(InstructionsUnavailable) as refused:
        count_instructions(MODELS / "pruned_tflite.tflite", "tf.lite", image,
                           valgrind="valgrind-not-installed")
    assert str(refused.value) == (
        "valgrind-not-installed is not installed, so instructions cannot be counted; install "
        "it from the system's packages (Debian/Ubuntu: apt-get install valgrind)")
    assert valgrind_version("valgrind-not-installed") == ""


def test_an_unknown_runtime_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown runtime 'tflm'; known: tf.lite, "):
        wrapper_path("tflm")


def test_both_runtimes_have_a_native_wrapper_to_count() -> None:
    assert wrapper_path("tf.lite").name.startswith("_pywrap_tensorflow_interpreter_wrapper")
    assert wrapper_path("ai_edge_litert:no_xnnpack").name.startswith(
        "_pywrap_litert_interpreter_wrapper")


def _dump(part: int, summary: int) -> str:
    return (f"# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\npart: {part}\n\n"
            f"desc: Trigger: --dump-after=tflite::Subgraph::InvokeImpl()\n"
            f"summary: {summary}\n")


def test_dumps_are_read_in_the_order_they_were_made(tmp_path: Path) -> None:
    for part, summary in ((2, 170816), (10, 170484), (1, 478046)):
        (tmp_path / f"callgrind.out.{part}").write_text(_dump(part, summary))
    (tmp_path / "callgrind.out").write_text(_dump(11, 0))  # the exit dump: not a call
    assert _dumps(tmp_path) == [478046, 170816, 170484]
    (tmp_path / "callgrind.out.3").write_text("garbage\n")
    with pytest.raises(InstructionsUnavailable, match="not a callgrind dump"):
        _dumps(tmp_path)


class _QuantizedInput:
    """The wrapper calls model_input makes, for an int8 input (scale 1/255, zero point -128)."""

    def InputIndices(self) -> list[int]:  # noqa: N802 (the wrapper's names)
        return [3]

    def TensorType(self, index: int, subgraph: int) -> type:  # noqa: N802
        return np.int8

    def TensorSize(self, index: int, subgraph: int) -> np.ndarray:  # noqa: N802
        return np.array([1, 2, 2])

    def TensorQuantization(self, index: int, subgraph: int) -> tuple[float, int]:  # noqa: N802
        return 1 / 255, -128


def test_an_int8_input_is_quantized_with_the_tensors_own_parameters() -> None:
    index, value = model_input(_QuantizedInput(), np.array([[0.0, 1.0], [0.25, 2.0]]))
    assert index == 3 and value.dtype == np.int8 and value.shape == (1, 2, 2)
    assert value.tolist() == [[[-128, 127], [-64, 127]]]  # 0.25 * 255 = 63.75 -> 64 - 128
