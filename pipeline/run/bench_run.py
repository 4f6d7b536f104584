"""One benchmark run: builds any registered variant on first use and records what it measured.

The pytest fixtures are one-liners over this class, so a test that needs only the baseline
never triggers pruning, and a script (`bench spread`) can drive the same stages
without pytest. A variant is built from its parent (pipeline.variants.registry), each once per
run, and records its measurements as it goes, whether or not a test later asserts on them: a failed
threshold is history worth keeping too.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.data import Dataset
from pipeline.measure.instructions import InstructionCounter
from pipeline.measure.interpreters import (
    accuracy_interpreters,
    input_shape_of,
    tflite_accuracy,
    tflite_kernels,
)
from pipeline.measure.measurement import Measurement
from pipeline.measure.size import zipped_size
from pipeline.run.source import SourceRun
from pipeline.variants.clustering import distinct_weights
from pipeline.variants.conversion import KerasExport, export_saved_model, save_h5, to_tflite
from pipeline.variants.pruning import (
    kernel_sparsity,
    kernel_type,
    overall_sparsity,
    pruned_kernels,
    wrapped_types,
)
from pipeline.variants.registry import VARIANTS, Variant, stage_of
from pipeline.variants.training import epoch_lines, evaluate_accuracy, tf_data_autotune_off
from pipeline.workload import FROM_SCRATCH, Workload, WorkloadError
from pipeline.workloads import MNIST_CNN

#: Where progress lines go (pytest bench: the terminal, even with -q and output captured).
Progress = Callable[[str], None]
#: Output-channel axis of a kernel as a .tflite file stores it (out x ... x in).
TFLITE_CHANNEL_AXIS = 0


@dataclass(frozen=True)
class Artifact:
    """A built variant: its file, its Keras model (None for TFLite), what was measured on it.

    `source_accuracy` is the accuracy of the parent it was made from (None for a root);
    `kernels` the weights of the layers the workload's techniques wrap (Conv2D and Dense,
    wrapping the whole model) when the variant measures sparsity or clusters.
    A TFLite model's `accuracy` is the one on the accuracy runtime (tf.lite where there is
    one); `interpreter_accuracy` holds it on every interpreter measured, that one first.
    """

    variant: Variant
    path: Path
    model: Any | None
    accuracy: float
    zipped_bytes: int
    raw_bytes: int
    source_accuracy: float | None
    kernels: dict[str, np.ndarray] | None
    interpreter_accuracy: Mapping[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.variant.name

    @property
    def pruned_kernels(self) -> dict[str, np.ndarray]:
        """The kernels the variant prunes (of its `layer_types` option, else all measured)."""
        if self.kernels is None:
            raise ValueError(f"{self.name} does not measure its kernels")
        layers = self.variant.options.get("layer_types")
        return {key: kernel for key, kernel in self.kernels.items()
                if layers is None or kernel_type(key) in layers}

    @property
    def kernel_sparsity(self) -> dict[str, float]:
        return kernel_sparsity(self.pruned_kernels)

    @property
    def sparsity(self) -> float:
        return overall_sparsity(self.pruned_kernels)

    @property
    def distinct_weights(self) -> int:
        if self.kernels is None:
            raise ValueError(f"{self.name} does not measure its kernels")
        axis = TFLITE_CHANNEL_AXIS if self.variant.kind == "tflite" else None
        return distinct_weights(self.kernels, axis)


class BenchRun:
    """The variants of one seed, built on demand from their parents, artifacts in `run_dir`."""

    def __init__(self, dataset: Dataset, run_dir: Path, seed: int, workload: Workload = MNIST_CNN,
                 progress: Progress | None = None, source: SourceRun | None = None):
        self.dataset = dataset
        #: With a source run (--reuse-run), TFLite variants are that run's files, copied and
        #: re-measured, and Keras variants what it recorded: nothing is trained or converted.
        self.source = source
        self.run_dir = Path(run_dir)
        self.seed = seed
        self.workload = workload
        self.measurements: list[Measurement] = []
        self._built: dict[str, Artifact] = {}
        self._failed: dict[str, Exception] = {}
        self._progress = progress
        self._started = time.perf_counter()
        #: Counts the instructions of these TFLite variants as soon as their files exist.
        self._counter: InstructionCounter | None = None
        self._to_count: frozenset[str] = frozenset()
        self._fit_cache: dict[int | None, tuple[Any, Any]] = {}
        #: Each converted Keras variant's SavedModel, exported once for all its conversions
        #: (pipeline/variants/conversion.py), removed with the run object or at exit.
        self._exports = tempfile.TemporaryDirectory(prefix="bench-exports-")
        self.run_dir.mkdir(parents=True, exist_ok=True)

    def say(self, message: str) -> None:
        """One progress line, prefixed with the seconds since the run began (when watched)."""
        if self._progress is not None:
            self._progress(f"[{time.perf_counter() - self._started:6.1f} s] {message}")

    @cached_property
    def _x_test(self) -> Any:
        return self.workload.scale(self.dataset.x_test)

    def _fit_data(self, root: bool) -> tuple[Any, Any]:
        """The scaled training images and labels of the baseline's fit (all of them), or of a
        fine-tune (the recipe's `finetune_images`), each scaled once per run."""
        images = None if root else self.workload.recipe.finetune_images
        if images not in self._fit_cache:
            x, y = self.dataset.x_train, self.dataset.y_train
            if images is not None:
                x, y = x[:images], y[:images]
            self._fit_cache[images] = (self.workload.scale(x), y)
        return self._fit_cache[images]

    @cached_property
    def _calibration(self) -> Any:
        """The full-integer conversions' representative images, scaled."""
        return self.workload.scale(self.workload.calibration(self.dataset))

    def record(self, measurement: Measurement) -> None:
        self.measurements.append(measurement)

    def record_all(self, measurements: Iterable[Measurement]) -> None:
        self.measurements.extend(measurements)

    @contextmanager
    def _stage(self, stage: str, model: str) -> Iterator[None]:
        self.say(f"{stage} {model} ...")
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        self.record(Measurement(model=model, metric="stage_seconds", stage=stage,
                                value=seconds, unit="s"))
        self.say(f"{stage} {model}: done in {seconds:.1f} s")

    def count_instructions(self, counter: InstructionCounter, models: Iterable[str]) -> None:
        """Hand each TFLite variant of `models` to `counter` once its file exists (at once for
        those built already), so that counting runs beside the rest of the session."""
        self._counter, self._to_count = counter, frozenset(models)
        for name in self._to_count & self._built.keys():
            counter.submit(self._built[name].path, name)

    def artifact(self, name: str) -> Artifact:
        """The variant `name`, built (with its parents) on first use; KeyError if unknown.

        A variant whose build raised raises the same error again for every later test that
        needs it, without another attempt: a broken technique costs one build, not one per
        test.
        """
        if name in self._failed:
            raise self._failed[name]
        if name not in self._built:
            variant = VARIANTS[name]
            try:
                parent = None if variant.parent is None else self.artifact(variant.parent)
                self._built[name] = self._build(variant, parent)
            except Exception as exc:
                self._failed[name] = exc
                raise
        return self._built[name]

    @property
    def built(self) -> tuple[str, ...]:
        """Names of the variants built so far, in the order they were built."""
        return tuple(self._built)

    def _build(self, variant: Variant, parent: Artifact | None) -> Artifact:
        x_test, y_test = self._x_test, self.dataset.y_test
        path = self.run_dir / f"{variant.name}{variant.suffix}"
        model: Any | None = None
        on: dict[str, float] = {}  # a TFLite model's accuracy per interpreter
        parent_model = None if parent is None else parent.model
        if self.source is not None and variant.kind == "keras":
            return self._recorded(variant, parent)
        if variant.kind == "tflite":
            if self.source is not None:
                shutil.copyfile(self.source.path(variant.name), path)
                self.say(f"reuse {variant.name} from run {self.source.run_id}")
            elif variant.shipped:
                assert self.workload.tflite is not None  # registry.applies
                with self._stage(variant.stage, variant.name):
                    shutil.copyfile(self.workload.tflite, path)
                self._check_input(path, x_test)
            else:
                assert variant.converter is not None
                assert parent is not None  # the registry gives every conversion a parent
                with self._stage(variant.stage, variant.name):
                    to_tflite(self._export(parent), path, variant.converter,
                              representative=self._calibration)
            if self._counter is not None and variant.name in self._to_count:
                self._counter.submit(path, variant.name)
            with self._stage("evaluate", variant.name):
                on = {runtime: tflite_accuracy(path, x_test, y_test, runtime)
                      for runtime in accuracy_interpreters()}
            accuracy = next(iter(on.values()))
            kernels = tflite_kernels(path) if variant.measures else None
        else:
            assert variant.step is not None  # the registry checks one of step/converter
            watch = [] if self._progress is None else [epoch_lines(self.say, variant.name)]
            # A trained baseline is loaded, not fitted: it takes the fine-tune subset (unused)
            # rather than every training image scaled.
            fit_x, fit_y = self._fit_data(
                root=parent is None and self.workload.start == FROM_SCRATCH)
            with tf_data_autotune_off():
                with self._stage(stage_of(variant, self.workload), variant.name):
                    model = variant.step(parent_model, fit_x, fit_y, self.seed,
                                         self.workload, **variant.options, callbacks=watch)
                with self._stage("evaluate", variant.name):
                    accuracy = evaluate_accuracy(model, x_test, y_test)
            save_h5(model, path)
            kernels = (pruned_kernels(model, wrapped_types(self.workload)) if variant.measures
                       else None)
        artifact = Artifact(variant, path, model, accuracy, zipped_size(path),
                            path.stat().st_size,
                            None if parent is None else parent.accuracy, kernels, on)
        self._record(artifact)
        return artifact

    def _export(self, parent: Artifact) -> KerasExport | Any:
        """`parent`'s SavedModel, exported on its first conversion; the Keras model itself if
        it cannot be saved as one, for from_keras_model to convert its frozen graph as it does
        then (each conversion tries anew, as from_keras_model would)."""
        folder = Path(self._exports.name) / parent.name
        if not folder.exists():
            try:
                export_saved_model(parent.model, folder)
            except Exception:  # noqa: BLE001 - from_keras_model's own fallback, kept
                shutil.rmtree(folder, ignore_errors=True)
                return parent.model
        return KerasExport(folder)

    def _check_input(self, path: Path, x_test: Any) -> None:
        """A shipped .tflite file takes the workload's scaled images; else a WorkloadError with
        both shapes."""
        expected, scaled = input_shape_of(path), tuple(x_test.shape[1:])
        if expected != scaled:
            raise WorkloadError(
                f"workload {self.workload.name!r}: its .tflite file {self.workload.tflite} takes "
                f"inputs of shape {expected}, but its data ({self.dataset.source}) scaled by "
                f"its scale= gives {scaled}; make scale= return the model's input shape")

    def _recorded(self, variant: Variant, parent: Artifact | None) -> Artifact:
        """A Keras variant of the source run as it recorded it: never rebuilt, never recorded
        again, only read by the checks of the TFLite models made from it."""
        assert self.source is not None
        name = variant.name
        return Artifact(variant, self.source.path(name), None,
                        self.source.recorded(name, "accuracy"),
                        int(self.source.recorded(name, "zipped_bytes")),
                        self.source.path(name).stat().st_size,
                        None if parent is None else parent.accuracy, None)

    def _record(self, artifact: Artifact) -> None:
        name = artifact.name
        self.record(Measurement(model=name, metric="accuracy", value=artifact.accuracy,
                                unit="fraction"))
        # And a TFLite model's on each interpreter, as its own row: a build without one of them
        # has its rows `not available`, while the row above (on the first interpreter there
        # is) stays the model's accuracy.
        for runtime, accuracy in artifact.interpreter_accuracy.items():
            self.record(Measurement(model=name, metric="accuracy", value=accuracy,
                                    unit="fraction", runtime=runtime))
        self.record(Measurement(model=name, metric="zipped_bytes", value=artifact.zipped_bytes,
                                unit="bytes"))
        self.record(Measurement(model=name, metric="raw_bytes", value=artifact.raw_bytes,
                                unit="bytes"))
        if "sparsity" in artifact.variant.measures:
            self.record(Measurement(model=name, metric="sparsity", value=artifact.sparsity,
                                    unit="fraction"))
        if "distinct_weights" in artifact.variant.measures:
            self.record(Measurement(model=name, metric="distinct_weights",
                                    value=artifact.distinct_weights, unit="count"))
