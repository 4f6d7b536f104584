"""The results CSV schema: its columns, what a run and a measurement are, and their keys.

One CSV per `pytest bench` session, long format (one row per measurement), so that history is a
folder of files that can be concatenated without migration.

Schema 2 adds what decides whether two runs may be compared at all (recipe, config, latency
settings, machine, completeness); a schema-1 file has none of it, and the reader reports those
fields as unknown (None) rather than guessing them. Schema 3 adds the variants a session
selected (pipeline.build.variants), so the comparison can tell a model a run did not select from one
it failed to measure. Schema 4 adds whether the session shared the machine with another
benchmark (pipeline.measure.machine_sharing): such a run's latency is never compared. Schema 5 adds
what counted the instruction rows (pipeline.instructions: the valgrind version and tool, which
must match for counts to be compared across machines) and which distributions provided
TensorFlow and tf-keras (`tensorflow-cpu`, `tf-nightly`, ...), beside their versions. Schema 6
adds the workload a run built (pipeline.workload): its name and the sha256 of its definition; an
older file is of the `mnist_cnn` workload, the only model its writer could build, with its
definition's sha256 unknown.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pandas as pd
from packaging.version import InvalidVersion, Version

SCHEMA_VERSION = 6

#: Run columns of schema 1, in order.
RUN_COLUMNS_V1: tuple[str, ...] = (
    "schema_version", "run_id", "timestamp_utc", "git_commit", "git_dirty", "python",
    "tensorflow", "tf_keras", "tfmot", "litert", "numpy", "platform", "cpu",
    "dataset_sha256", "seed",
)
#: Run columns that schema 2 added: comparability (recipe, thresholds, latency method, machine)
#: and whether the session ran its whole default selection.
RUN_COLUMNS_ADDED_V2: tuple[str, ...] = (
    "recipe_sha256", "config_sha256", "latency_repetitions", "latency_warmup_invokes",
    "latency_timed_invokes", "latency_order_seed", "cpu_count", "complete", "incomplete_reason",
)
#: Run columns that schema 3 added: which variants the session selected (space-separated, in
#: registry order), so a model absent from a run is "not selected" rather than "missing"; and,
#: for a session that re-measured an earlier run's files (`--reuse-run`), that run's id.
RUN_COLUMNS_ADDED_V3: tuple[str, ...] = ("variants", "source_run_id")
#: Run columns that schema 4 added: whether another benchmark ran on the machine while this
#: session measured (tox parallel, another bench session), and which; its latency is then
#: never compared, while accuracy and size stay comparable.
RUN_COLUMNS_ADDED_V4: tuple[str, ...] = ("machine_shared", "machine_shared_by")
#: Run columns that schema 5 added: the valgrind version and tool that counted the run's
#: instruction rows (both empty when it counted none), and the distribution names that provided
#: the `tensorflow` and `tf_keras` packages.
RUN_COLUMNS_ADDED_V5: tuple[str, ...] = ("valgrind", "instructions_tool",
                                         "tensorflow_distribution", "tf_keras_distribution")
#: Run columns that schema 6 added: the workload (pipeline.workload) the run built, by name and
#: by its definition's sha256 (model layers and parameters, data, fit, input scaling).
RUN_COLUMNS_ADDED_V6: tuple[str, ...] = ("workload", "workload_sha256")
#: The workload of every run written before schema 6: the only model those writers built.
WORKLOAD_BEFORE_V6 = "mnist_cnn"
#: Columns that describe the run; identical on every row of one file.
RUN_COLUMNS: tuple[str, ...] = (RUN_COLUMNS_V1 + RUN_COLUMNS_ADDED_V2 + RUN_COLUMNS_ADDED_V3
                                + RUN_COLUMNS_ADDED_V4 + RUN_COLUMNS_ADDED_V5
                                + RUN_COLUMNS_ADDED_V6)
#: Columns that describe one measurement.
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "model", "runtime", "threads", "metric", "stage", "value", "unit",
    "min", "median", "mean", "stddev", "iqr", "rounds", "samples",
)
COLUMNS: tuple[str, ...] = RUN_COLUMNS + MEASUREMENT_COLUMNS
#: The columns a schema-1 to -5 file have.
COLUMNS_V1: tuple[str, ...] = RUN_COLUMNS_V1 + MEASUREMENT_COLUMNS
COLUMNS_V2: tuple[str, ...] = RUN_COLUMNS_V1 + RUN_COLUMNS_ADDED_V2 + MEASUREMENT_COLUMNS
COLUMNS_V3: tuple[str, ...] = (RUN_COLUMNS_V1 + RUN_COLUMNS_ADDED_V2 + RUN_COLUMNS_ADDED_V3
                               + MEASUREMENT_COLUMNS)
COLUMNS_V4: tuple[str, ...] = (RUN_COLUMNS_V1 + RUN_COLUMNS_ADDED_V2 + RUN_COLUMNS_ADDED_V3
                               + RUN_COLUMNS_ADDED_V4 + MEASUREMENT_COLUMNS)
COLUMNS_V5: tuple[str, ...] = (RUN_COLUMNS_V1 + RUN_COLUMNS_ADDED_V2 + RUN_COLUMNS_ADDED_V3
                               + RUN_COLUMNS_ADDED_V4 + RUN_COLUMNS_ADDED_V5
                               + MEASUREMENT_COLUMNS)

#: The latency settings a run records: what "latency" means in that run.
LATENCY_SETTING_COLUMNS: tuple[str, ...] = (
    "latency_repetitions", "latency_warmup_invokes", "latency_timed_invokes",
    "latency_order_seed",
)

#: Every metric a run can hold, in report order. Models are the variants of
#: pipeline.build.variants; a file may hold any model name (a later registry may have more).
METRICS: tuple[str, ...] = ("accuracy", "zipped_bytes", "raw_bytes", "sparsity",
                            "distinct_weights", "latency", "instructions_per_invoke",
                            "instructions_first_invoke", "instructions_allocate", "init_seconds",
                            "first_invoke_seconds", "heap_growth_bytes",
                            "peak_rss_growth_bytes", "stage_seconds")
#: stage_seconds stages, in the order a variant goes through them.
STAGES: tuple[str, ...] = ("train", "prune", "cluster", "qat", "convert", "evaluate")
#: The selection separator of the `variants` cell.
VARIANTS_SEPARATOR = " "

#: Columns holding integers (possibly empty).
INTEGER_COLUMNS: tuple[str, ...] = (
    "schema_version", "seed", "cpu_count", "threads", "rounds",
) + LATENCY_SETTING_COLUMNS

#: Separator of the per-repetition latency values in the `samples` cell.
SAMPLES_SEPARATOR = " "


class MeasurementKey(NamedTuple):
    """What one measurement of a run is; unique within a run."""

    model: str
    runtime: str | None
    threads: int | None
    metric: str
    stage: str | None

    def describe(self) -> str:
        """'pruned_tflite latency tf.lite threads=1': for messages."""
        parts = [self.model, self.metric]
        if self.runtime:
            parts.append(self.runtime)
        if self.threads is not None:
            parts.append(f"threads={self.threads}")
        if self.stage:
            parts.append(self.stage)
        return " ".join(parts)


#: The columns of MeasurementKey, in order.
KEY_COLUMNS: tuple[str, ...] = MeasurementKey._fields


@dataclass(frozen=True)
class Measurement:
    """One row's measurement part. Optional fields stay None and are written as empty cells.

    `stage` is set only on `stage_seconds` rows (train, prune, convert, evaluate), with `model`
    naming the model that stage produced or evaluated; `runtime` and `threads` only on latency
    rows, whose `samples` hold one value per independent repetition (`rounds` of them).
    """

    model: str
    metric: str
    value: float
    unit: str
    stage: str | None = None
    runtime: str | None = None
    threads: int | None = None
    min: float | None = None
    median: float | None = None
    mean: float | None = None
    stddev: float | None = None
    iqr: float | None = None
    rounds: int | None = None
    samples: tuple[float, ...] | None = None

    @property
    def key(self) -> MeasurementKey:
        return MeasurementKey(self.model, self.runtime, self.threads, self.metric, self.stage)


@dataclass(frozen=True)
class RunInfo:
    """Who, where, with what and how completely a run was made: the run columns of every row.

    The `*_sha256`, `seed`, latency settings and machine fields decide whether two runs may be
    compared (pipeline.compare); `complete` whether a run may serve as a reference run.
    """

    run_id: str
    timestamp_utc: str
    git_commit: str
    git_dirty: bool
    python: str
    tensorflow: str
    tf_keras: str
    tfmot: str
    litert: str
    numpy: str
    platform: str
    cpu: str
    dataset_sha256: str
    seed: int
    recipe_sha256: str
    config_sha256: str
    latency_repetitions: int
    latency_warmup_invokes: int
    latency_timed_invokes: int
    latency_order_seed: int
    cpu_count: int
    complete: bool
    incomplete_reason: str = ""
    #: The variants the session selected, in registry order (written space-separated).
    variants: tuple[str, ...] = ()
    #: The run whose files this session re-measured (`--reuse-run`); empty when it built them.
    source_run_id: str = ""
    #: Whether another benchmark ran on this machine while the session measured, and what
    #: (pipeline.measure.machine_sharing); empty when it ran alone.
    machine_shared: bool = False
    machine_shared_by: str = ""
    #: What counted the instruction rows (pipeline.instructions): valgrind's version and tool;
    #: empty when the session counted none.
    valgrind: str = ""
    instructions_tool: str = ""
    #: The distributions that provided `import tensorflow` and `import tf_keras` (e.g.
    #: tensorflow, tensorflow-cpu, tf-nightly); empty when not installed.
    tensorflow_distribution: str = ""
    tf_keras_distribution: str = ""
    #: The workload the run built (pipeline.workload) and its definition's sha256.
    workload: str = WORKLOAD_BEFORE_V6
    workload_sha256: str = ""
    schema_version: int = field(default=SCHEMA_VERSION)


def key_of(record: Mapping[Any, Any]) -> MeasurementKey:
    """The measurement key of a results row (a dict of one row of a read frame)."""
    def optional(name: str) -> str | None:
        value = record.get(name)
        return None if is_missing(value) or value == "" else str(value)

    threads = optional("threads")
    return MeasurementKey(str(record["model"]), optional("runtime"),
                          None if threads is None else int(float(threads)),
                          str(record["metric"]), optional("stage"))


def is_missing(value: object) -> bool:
    """An empty cell as read: None, NaN or pandas' NA."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def completeness(value: object) -> bool | None:
    """A run's `complete` cell as read: True or False, None when unknown (schema 1)."""
    return None if is_missing(value) else bool(value)


def machine_sharing(value: object) -> bool | None:
    """A run's `machine_shared` cell as read: True or False, None when unknown (schema 1-3)."""
    return completeness(value)


def selected_variants(cell: object) -> tuple[str, ...] | None:
    """A run's `variants` cell as read: the selected names, None when unknown (schema 1, 2)."""
    if is_missing(cell) or cell == "":
        return None
    return tuple(str(cell).split(VARIANTS_SEPARATOR))


def parse_samples(cell: object) -> tuple[float, ...]:
    """Per-repetition values from a `samples` cell; empty tuple for an empty cell."""
    if is_missing(cell) or cell == "":
        return ()
    return tuple(float(s) for s in str(cell).split(SAMPLES_SEPARATOR) if s)


def tf_version_key(version: str) -> tuple[int, Version | str]:
    """Order TF versions numerically (2.9 < 2.10); unparseable strings after all real ones."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def run_times(frame: pd.DataFrame) -> pd.Series:
    """timestamp_utc as instants, so runs written with different UTC offsets order correctly."""
    return pd.to_datetime(frame["timestamp_utc"], utc=True, format="ISO8601")
