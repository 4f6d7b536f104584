"""How fast each TFLite model's invoke() runs, per runtime and thread count.

Recorded, not gated: an absolute time depends on the machine, so regressions are judged by
`pipeline.compare` against a run on the same CPU. Each test still checks that the timed call
computed the right answer.
"""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.data import Mnist
from pipeline.interpreters import RUNTIMES, RuntimeUnavailable, interpreter_class, ready_to_invoke
from pipeline.latency import latency_measurement
from pipeline.results import TFLITE_MODELS
from pipeline.run import BenchRun

THREADS = (1, 2)


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("model", TFLITE_MODELS)
def test_invoke_latency(benchmark, model: str, runtime: str, threads: int,
                        request: pytest.FixtureRequest, mnist: Mnist, bench_run: BenchRun,
                        thresholds: Config) -> None:
    try:
        interpreter_class(runtime)
    except RuntimeUnavailable as exc:
        pytest.skip(f"runtime {runtime} not available: {exc}")
    artifact = request.getfixturevalue(model)
    image = mnist.x_test[0] / 255.0  # scaled as the recipe scales every input
    interpreter = ready_to_invoke(artifact.path, image, runtime, threads)
    benchmark.group = f"{model} invoke"
    benchmark.extra_info.update(model=model, runtime=runtime, threads=threads)
    settings = thresholds.latency
    benchmark.pedantic(interpreter.invoke, rounds=settings.rounds,
                       iterations=settings.iterations, warmup_rounds=settings.warmup_rounds)
    if benchmark.stats:  # None under --benchmark-disable: the call ran once, untimed
        bench_run.record(latency_measurement(model, runtime, threads, benchmark.stats.stats))
    output = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert int(np.argmax(output[0])) == int(mnist.y_test[0]), (
        f"{model} on {runtime} ({threads} threads) misclassified test image 0 while timed")
