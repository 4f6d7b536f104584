"""One benchmark run: builds each artifact on first use and records what it measured.

The pytest fixtures are one-liners over this class, so a test that needs only the baseline
never triggers pruning, and a script (`python -m pipeline.spread`) can drive the same stages
without pytest. Each stage records its measurements as it goes, whether or not a test later
asserts on them: a failed threshold is history worth keeping too.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline.conversion import save_h5, to_tflite
from pipeline.data import Mnist
from pipeline.interpreters import tflite_accuracy
from pipeline.pruning import kernel_sparsity, overall_sparsity, prune
from pipeline.recipe import RECIPE, Recipe
from pipeline.results import Measurement
from pipeline.size import zipped_size
from pipeline.training import evaluate_accuracy, train_baseline


@dataclass(frozen=True)
class KerasArtifact:
    """A trained Keras model, its .h5 file and what was measured on it."""

    name: str
    model: Any
    path: Path
    zipped_bytes: int
    accuracy: float


@dataclass(frozen=True)
class PrunedArtifact(KerasArtifact):
    kernel_sparsity: dict[str, float]
    sparsity: float


@dataclass(frozen=True)
class TFLiteArtifact:
    """A .tflite file, its interpreter accuracy and that of the Keras model it came from."""

    name: str
    path: Path
    zipped_bytes: int
    accuracy: float
    source_accuracy: float


class BenchRun:
    """The reference recipe for one seed, stage by stage, artifacts in `run_dir`."""

    def __init__(self, mnist: Mnist, run_dir: Path, seed: int, recipe: Recipe = RECIPE):
        self.mnist = mnist
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.recipe = recipe
        self.measurements: list[Measurement] = []
        self.run_dir.mkdir(parents=True, exist_ok=True)

    @cached_property
    def _scaled(self) -> tuple[Any, Any]:
        return self.mnist.scaled()

    def record(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)

    @contextmanager
    def _stage(self, stage: str, model: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.record(Measurement(model=model, metric="stage_seconds", stage=stage,
                                value=time.perf_counter() - start, unit="s"))

    def _record_file(self, name: str, zipped_bytes: int, accuracy: float) -> None:
        self.record(Measurement(model=name, metric="accuracy", value=accuracy, unit="fraction"))
        self.record(Measurement(model=name, metric="zipped_bytes", value=zipped_bytes,
                                unit="bytes"))

    @cached_property
    def baseline(self) -> KerasArtifact:
        x_train, x_test = self._scaled
        with self._stage("train", "baseline"):
            model = train_baseline(x_train, self.mnist.y_train, self.seed, self.recipe)
        with self._stage("evaluate", "baseline"):
            accuracy = evaluate_accuracy(model, x_test, self.mnist.y_test)
        path = save_h5(model, self.run_dir / "baseline.h5")
        artifact = KerasArtifact("baseline", model, path, zipped_size(path), accuracy)
        self._record_file(artifact.name, artifact.zipped_bytes, artifact.accuracy)
        return artifact

    @cached_property
    def pruned(self) -> PrunedArtifact:
        x_train, x_test = self._scaled
        baseline = self.baseline.model
        with self._stage("prune", "pruned"):
            model = prune(baseline, x_train, self.mnist.y_train, self.seed, self.recipe)
        with self._stage("evaluate", "pruned"):
            accuracy = evaluate_accuracy(model, x_test, self.mnist.y_test)
        path = save_h5(model, self.run_dir / "pruned.h5")
        artifact = PrunedArtifact("pruned", model, path, zipped_size(path), accuracy,
                                  kernel_sparsity(model), overall_sparsity(model))
        self._record_file(artifact.name, artifact.zipped_bytes, artifact.accuracy)
        self.record(Measurement(model="pruned", metric="sparsity", value=artifact.sparsity,
                                unit="fraction"))
        return artifact

    def _tflite(self, name: str, quantize: bool) -> TFLiteArtifact:
        source = self.pruned
        with self._stage("convert", name):
            path = to_tflite(source.model, self.run_dir / f"{name}.tflite", quantize)
        with self._stage("evaluate", name):
            accuracy = tflite_accuracy(path, self._scaled[1], self.mnist.y_test)
        artifact = TFLiteArtifact(name, path, zipped_size(path), accuracy, source.accuracy)
        self._record_file(name, artifact.zipped_bytes, accuracy)
        return artifact

    @cached_property
    def pruned_tflite(self) -> TFLiteArtifact:
        return self._tflite("pruned_tflite", quantize=False)

    @cached_property
    def pruned_quantized_tflite(self) -> TFLiteArtifact:
        return self._tflite("pruned_quantized_tflite", quantize=True)
