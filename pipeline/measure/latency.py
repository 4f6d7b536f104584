"""Invoke latency as independent, interleaved repetitions.

One repetition is a fresh interpreter (so its memory layout and thread pool are drawn anew), its
own warm-up, and one timed block of `timed_invokes` calls: one value, seconds per call. A
measurement is `repetitions` such values. Rounds timed back to back on one interpreter are not
independent (their lag-1 autocorrelation was 0.33 at the median over the committed schema-1
history), so a significance test over them calls nearly every between-run shift "significant";
repetitions are the unit a test may treat as samples.

The repetitions of every (model, runtime, threads) combination are run in one seeded, shuffled
order, so a drift in machine load while the suite runs is spread over all combinations alike
instead of landing on whichever was timed last (asv's --interleave-rounds, Google Benchmark's
random interleaving).
"""
from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from pipeline.measure.interpreters import (
    INTERPRETERS,
    NO_XNNPACK,
    SINGLE_THREAD,
    output_of,
    ready_to_invoke,
)
from pipeline.measure.measurement import Measurement

#: The interpreter threads invoke() is timed at.
LATENCY_THREADS: tuple[int, ...] = (SINGLE_THREAD, 2)
#: The interpreter timed without XNNPACK too: the maintained one (tf.lite.Interpreter is
#: deprecated, and its builtin kernels are the same code). Without XNNPACK an invoke takes
#: ~4.5x as long, so each combination costs ~0.7 s of the session.
WITHOUT_XNNPACK = "ai_edge_litert"
#: The timing matrix, (runtime, threads) per model: both interpreters with XNNPACK at every
#: thread count, and WITHOUT_XNNPACK with TFLite's builtin kernels only (benchmark_model's
#: --use_xnnpack=false) at one thread. The history's latency keys are these (a change here is
#: a change of what every run measures: tests/test_session.py checks the history).
LATENCY_COMBINATIONS: tuple[tuple[str, int], ...] = (
    tuple((runtime, threads) for runtime in INTERPRETERS for threads in LATENCY_THREADS)
    + ((f"{WITHOUT_XNNPACK}{NO_XNNPACK}", SINGLE_THREAD),))


def synthetic_image(shape: tuple[int, ...]) -> np.ndarray:
    """An input of `shape` for timing outside the suite (the duel, the validity recording): a
    CNN's latency does not depend on pixel values, so a fixed synthetic image keeps them
    independent of the data being on disk. The suite itself times test image 0, which it also
    checks is classified."""
    return np.random.default_rng(0).random(shape, dtype=np.float32)


#: The synthetic input of a 28x28 model (mnist_cnn's).
SYNTHETIC_IMAGE = synthetic_image((28, 28))


class LatencyKey(NamedTuple):
    """What one latency measurement is of."""

    model: str
    runtime: str
    threads: int


@dataclass(frozen=True)
class Block:
    """One timed block: seconds per call and the output of the last call."""

    seconds_per_call: float
    output: np.ndarray


def time_block(path: Path, runtime: str, threads: int, image: np.ndarray, *,
               warmup_invokes: int, timed_invokes: int) -> Block:
    """A fresh interpreter for `path`, `warmup_invokes` untimed calls, then `timed_invokes`
    timed calls. The input is set before timing, so only invoke() is measured."""
    interpreter = ready_to_invoke(path, image, runtime, threads)
    invoke = interpreter.invoke
    for _ in range(warmup_invokes):
        invoke()
    start = time.perf_counter()
    for _ in range(timed_invokes):
        invoke()
    elapsed = time.perf_counter() - start
    return Block(elapsed / timed_invokes, np.array(output_of(interpreter)))


def interleaved_order(keys: Sequence[LatencyKey], repetitions: int,
                      seed: int) -> list[LatencyKey]:
    """Every key `repetitions` times, in a shuffled order that depends only on `seed` and the
    keys (sorted first, so the order of selection does not change it)."""
    order = [key for key in sorted(set(keys)) for _ in range(repetitions)]
    random.Random(seed).shuffle(order)
    return order


def measure_interleaved(paths: Mapping[str, Path], keys: Sequence[LatencyKey],
                        image: np.ndarray, *, repetitions: int, warmup_invokes: int,
                        timed_invokes: int, seed: int) -> dict[LatencyKey, list[Block]]:
    """`repetitions` blocks of every key, interleaved (see interleaved_order); `paths` maps a
    model name to its .tflite file."""
    blocks: dict[LatencyKey, list[Block]] = {key: [] for key in keys}
    for key in interleaved_order(keys, repetitions, seed):
        blocks[key].append(time_block(paths[key.model], key.runtime, key.threads, image,
                                      warmup_invokes=warmup_invokes,
                                      timed_invokes=timed_invokes))
    return blocks


def latency_measurement(key: LatencyKey, seconds_per_call: Sequence[float]) -> Measurement:
    """One `latency` row: value = median over repetitions of seconds per call; `samples` holds
    every repetition's value, in the order they were measured."""
    return sampled_measurement(key, "latency", "s", seconds_per_call)


def sampled_measurement(key: LatencyKey, metric: str, unit: str,
                        samples: Sequence[float]) -> Measurement:
    """A row of `metric` over independent samples (repetitions, fresh processes): value = their
    median, with min, mean, stddev, IQR, count and every sample in measured order."""
    values = np.asarray(samples, dtype=float)
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return Measurement(
        model=key.model, metric=metric, value=float(median), unit=unit, runtime=key.runtime,
        threads=key.threads, min=float(values.min()), median=float(median),
        mean=float(values.mean()), stddev=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        iqr=float(q3 - q1), rounds=len(values), samples=tuple(float(v) for v in values))
