"""The results CSV schema: its columns, what a run and a measurement are, their keys, and how
files of older schemas are read.

One CSV per `pytest bench` session, long format (one row per measurement), so that history is a
folder of files. Each schema version after the first only added run columns; MIGRATIONS, one
table, says which, and what a file written before each holds in them. The reader upgrades an
older file once, on reading, from that table; nothing else in the code looks at the version.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from packaging.version import InvalidVersion, Version

from pipeline.measure.measurement import MeasurementKey
from pipeline.run.info import RunInfo

#: Run columns of schema 1, in order.
RUN_COLUMNS_V1: tuple[str, ...] = (
    "schema_version", "run_id", "timestamp_utc", "git_commit", "git_dirty", "python",
    "tensorflow", "tf_keras", "tfmot", "litert", "numpy", "platform", "cpu",
    "dataset_sha256", "seed",
)
#: The workload of every run written before schema 6: the only model those writers built.
WORKLOAD_BEFORE_V6 = "mnist_cnn"


@dataclass(frozen=True)
class Migration:
    """The run columns schema `version` added, each with what a file of an older schema holds
    in it: None (unknown, never guessed: the gate treats an unknown comparability field as a
    difference), or the one value every older file has by construction."""

    version: int
    added: Mapping[str, object]
    why: str


#: Every schema change, in order: the only place that knows what each version holds.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, dict.fromkeys((
        "recipe_sha256", "config_sha256", "latency_repetitions", "latency_warmup_invokes",
        "latency_timed_invokes", "latency_order_seed", "cpu_count", "complete",
        "incomplete_reason")),
        "what decides whether two runs may be compared (recipe, thresholds, latency method, "
        "machine), and whether the session ran its whole default selection"),
    Migration(3, dict.fromkeys(("variants", "source_run_id")),
              "the variants the session selected (space-separated, in registry order), so a "
              "model absent from a run is 'not selected' rather than 'missing'; and, for a "
              "session that re-measured an earlier run's files (--reuse-run), that run's id"),
    Migration(4, dict.fromkeys(("machine_shared", "machine_shared_by")),
              "whether another benchmark ran on the machine while the session measured (tox "
              "parallel, another bench session), and which: its latency is never compared"),
    Migration(5, dict.fromkeys(("valgrind", "instructions_tool", "tensorflow_distribution",
                                "tf_keras_distribution")),
              "the valgrind version and tool that counted the instruction rows (empty when "
              "none were counted), and the distributions that provided tensorflow and tf_keras"),
    Migration(6, {"workload": WORKLOAD_BEFORE_V6, "workload_sha256": None},
              "the workload the run built, by name and by its definition's sha256; an older "
              "file is of mnist_cnn, the only model its writer could build"),
    Migration(7, {"identities": "code", "workload_version": None, "litert_distribution": None,
                  "runtimes_unavailable": None},
              "identities: how recipe_sha256, workload_sha256 and config_sha256 were made, "
              "'declared' (canonical JSON of declared values and versions, pipeline.identity); "
              "an older file's hashed module paths, qualnames and the threshold file's bytes "
              "('code'), which no declared identity equals. The workload's declared version; "
              "the distribution that provided ai_edge_litert; and the TFLite interpreters the "
              "run's environment did not provide (a TensorFlow without tf.lite.Interpreter), "
              "space-separated, whose rows are absent by the build, not missing"),
    Migration(8, {},
              "no new column: a TFLite model's accuracy on each interpreter is a row of its "
              "own, `accuracy` with that runtime (tf.lite, ai_edge_litert), beside the model's "
              "accuracy without a runtime (on the first interpreter there is); an older file "
              "has none, so a run of this schema compared with one has those rows `no "
              "reference`"),
    Migration(9, {"model_file_sha256": ""},
              "the sha256 of the file the workload starts from: a model trained elsewhere "
              "(tf_keras .h5 or SavedModel) or a .tflite file shipped as it is, also part of "
              "workload_sha256, so a refusal can say that the files differ; empty for a model "
              "built from scratch, as every workload of an older file was"),
)
SCHEMA_VERSION = MIGRATIONS[-1].version
#: Schema versions the reader understands. A file from a newer writer is refused rather than
#: guessed at, because a misread column would silently move the gate.
SUPPORTED_SCHEMA_VERSIONS: tuple[int, ...] = (1, *(m.version for m in MIGRATIONS))
#: Columns that describe the run; identical on every row of one file.
RUN_COLUMNS: tuple[str, ...] = RUN_COLUMNS_V1 + tuple(c for m in MIGRATIONS for c in m.added)
#: Columns that describe one measurement.
MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "model", "runtime", "threads", "metric", "stage", "value", "unit",
    "min", "median", "mean", "stddev", "iqr", "rounds", "samples",
)
COLUMNS: tuple[str, ...] = RUN_COLUMNS + MEASUREMENT_COLUMNS


def columns_of(version: int) -> tuple[str, ...]:
    """The columns a file of schema `version` has (all of them for the current schema)."""
    added = tuple(c for m in MIGRATIONS if m.version <= version for c in m.added)
    return RUN_COLUMNS_V1 + added + MEASUREMENT_COLUMNS


def added_after(version: int) -> dict[str, object]:
    """The run columns later schemas added to a file of schema `version`, each with what such
    a file holds in it (Migration.added)."""
    return {c: v for m in MIGRATIONS if m.version > version for c, v in m.added.items()}


#: The latency settings a run records: what "latency" means in that run.
LATENCY_SETTING_COLUMNS: tuple[str, ...] = (
    "latency_repetitions", "latency_warmup_invokes", "latency_timed_invokes",
    "latency_order_seed",
)

#: Every metric a run can hold, in report order. Models are the variants of
#: pipeline.variants.registry; a file may hold any model name (a later registry may have more).
METRICS: tuple[str, ...] = ("accuracy", "zipped_bytes", "raw_bytes", "sparsity",
                            "distinct_weights", "latency", "instructions_per_invoke",
                            "instructions_first_invoke", "instructions_allocate", "init_seconds",
                            "first_invoke_seconds", "heap_growth_bytes",
                            "peak_rss_growth_bytes", "stage_seconds")
#: stage_seconds stages, in the order a variant goes through them.
STAGES: tuple[str, ...] = ("train", "prune", "cluster", "qat", "convert", "evaluate")
#: The selection separator of the `variants` cell (and of `runtimes_unavailable`).
VARIANTS_SEPARATOR = " "
#: Run columns holding a list of names, written VARIANTS_SEPARATOR-joined.
LIST_RUN_COLUMNS: tuple[str, ...] = ("variants", "runtimes_unavailable")

#: Run columns holding whole numbers, and true/false ones ("True" / "False" in the file).
RUN_INT_COLUMNS: tuple[str, ...] = ("schema_version", "seed", "cpu_count",
                                    "workload_version") + LATENCY_SETTING_COLUMNS
RUN_BOOL_COLUMNS: tuple[str, ...] = ("git_dirty", "complete", "machine_shared")
#: Run columns that must hold a value where a file has them, and why.
REQUIRED_RUN_VALUES: dict[str, str] = {
    **dict.fromkeys(("run_id", "timestamp_utc", "tensorflow"),
                    "the comparison needs it to select and label the run"),
    **dict.fromkeys(("recipe_sha256", "config_sha256", "cpu", "identities"),
                    "the comparison needs it to tell whether runs may be compared"),
    "workload": "runs of different workloads are never compared",
}

#: Columns holding integers (possibly empty).
INTEGER_COLUMNS: tuple[str, ...] = (
    "schema_version", "seed", "cpu_count", "threads", "rounds",
) + LATENCY_SETTING_COLUMNS

#: Separator of the per-repetition latency values in the `samples` cell.
SAMPLES_SEPARATOR = " "


#: The columns of MeasurementKey, in order.
KEY_COLUMNS: tuple[str, ...] = MeasurementKey._fields


@dataclass(frozen=True)
class Run:
    """One run as read: its run columns as a typed record, its measurements as a frame.

    `rows` keeps every column (the run's repeated on each row), so the rows of many runs
    concatenate into one history table; code that asks about the run reads `info`.
    """

    info: RunInfo
    rows: pd.DataFrame = field(repr=False)
    path: str = ""

    @property
    def run_id(self) -> str:
        return self.info.run_id

    def subset(self, keep: Callable[[MeasurementKey], bool]) -> Run:
        """The same run with only the rows whose key `keep` accepts."""
        mask = [keep(key_of(row)) for row in self.rows.to_dict("records")]
        return Run(self.info, self.rows[mask].reset_index(drop=True), self.path)


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


def without_runtime(rows: pd.DataFrame) -> pd.Series:
    """Which rows have no runtime: a model's own figures (its accuracy, sizes), not a TFLite
    model's accuracy on one interpreter (schema 8) nor a latency, count or footprint row."""
    return rows["runtime"].map(lambda runtime: is_missing(runtime) or runtime == "")


def completeness(value: object) -> bool | None:
    """A run's `complete` cell as read: True or False, None when unknown (schema 1)."""
    return None if is_missing(value) else bool(value)


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
