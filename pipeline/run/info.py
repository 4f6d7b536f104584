"""What a run is, beside its measurements: the RunInfo record every row of its results CSV
repeats, and collect_run_info, which fills it in for the run being made."""
from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from pipeline.config import Config
from pipeline.identity import IDENTITIES, config_sha256
from pipeline.measure.environment import (
    cpu_count,
    cpu_model,
    git_state,
    installed,
    package_version,
    platform_label,
)
from pipeline.workloads import DEFAULT_WORKLOAD


@dataclass(frozen=True)
class RunInfo:
    """Who, where, with what and how completely a run was made: the run columns of every row.

    The `*_sha256`, `seed`, latency settings and machine fields decide whether two runs may be
    compared (pipeline.judge.compare); `complete` whether a run may serve as a reference run.
    A field a later schema added is None in a run read from an older file: unknown, never
    guessed (pipeline.results.MIGRATIONS). A run this code makes has them all.
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
    recipe_sha256: str | None
    config_sha256: str | None
    latency_repetitions: int | None
    latency_warmup_invokes: int | None
    latency_timed_invokes: int | None
    latency_order_seed: int | None
    cpu_count: int | None
    complete: bool | None
    incomplete_reason: str | None = ""
    #: The variants the session selected, in registry order (written space-separated).
    variants: tuple[str, ...] | None = ()
    #: The run whose files this session re-measured (`--reuse-run`); empty when it built them.
    source_run_id: str | None = ""
    #: Whether another benchmark ran on this machine while the session measured, and what
    #: (pipeline.measure.machine_sharing); empty when it ran alone.
    machine_shared: bool | None = False
    machine_shared_by: str | None = ""
    #: What counted the instruction rows (pipeline.measure.instructions): valgrind's version
    #: and tool; empty when the session counted none.
    valgrind: str | None = ""
    instructions_tool: str | None = ""
    #: The distributions that provided `import tensorflow` and `import tf_keras` (e.g.
    #: tensorflow, tensorflow-cpu, tf-nightly); empty when not installed.
    tensorflow_distribution: str | None = ""
    tf_keras_distribution: str | None = ""
    #: The workload the run built (pipeline.workload) and its definition's sha256.
    workload: str = DEFAULT_WORKLOAD
    workload_sha256: str | None = ""
    #: How the run's *_sha256 identities were made (pipeline.identity.IDENTITIES): "declared"
    #: values; "code" in a file written before schema 7, whose identities hashed module paths,
    #: qualnames and file bytes. The workload's declared version, and the distribution that
    #: provided `import ai_edge_litert` (ai-edge-litert, ai-edge-litert-nightly, a wheel).
    identities: str | None = IDENTITIES
    workload_version: int | None = 1
    litert_distribution: str | None = ""
    #: The TFLite interpreters this environment did not provide (pipeline.measure.interpreters
    #: .unavailable_runtimes): the run holds no rows of them, by its build. None: unknown.
    runtimes_unavailable: tuple[str, ...] | None = ()
    #: sha256 of the file the workload starts from (a trained tf_keras model or a .tflite),
    #: also part of workload_sha256; empty for a model built from scratch.
    model_file_sha256: str | None = ""
    #: The schema of the file it was read from (pipeline.results); None for a run made here
    #: and not written yet (the writer writes the current one).
    schema_version: int | None = None

    @property
    def time(self) -> pd.Timestamp:
        """timestamp_utc as an instant, so runs written with different UTC offsets order
        correctly."""
        instant = pd.Timestamp(self.timestamp_utc)
        return instant.tz_localize("UTC") if instant.tzinfo is None else instant.tz_convert("UTC")


def collect_run_info(run_id: str, *, dataset_sha256: str, seed: int, recipe_sha256: str,
                     config: Config, variants: tuple[str, ...], complete: bool,
                     incomplete_reason: str = "", source_run_id: str = "",
                     machine_shared: bool = False, machine_shared_by: str = "",
                     valgrind: str = "", instructions_tool: str = "",
                     workload: str = DEFAULT_WORKLOAD, workload_sha256: str = "",
                     workload_version: int = 1,
                     runtimes_unavailable: tuple[str, ...] = (),
                     model_file_sha256: str = "") -> RunInfo:
    """Everything about this run except its measurements; `valgrind` and `instructions_tool`
    say what counted its instruction rows (empty: none counted), `workload`,
    `workload_version` and `workload_sha256` what it built (pipeline.identity)."""
    commit, dirty = git_state()
    tensorflow, tf_keras = installed("tensorflow"), installed("tf_keras")
    litert = installed("litert")
    return RunInfo(
        run_id=run_id,
        timestamp_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        git_commit=commit, git_dirty=dirty,
        python=platform.python_version(),
        tensorflow=tensorflow[1], tf_keras=tf_keras[1],
        tfmot=package_version("tfmot"), litert=litert[1],
        numpy=package_version("numpy"),
        platform=platform_label(), cpu=cpu_model(), cpu_count=cpu_count(),
        dataset_sha256=dataset_sha256, seed=seed, recipe_sha256=recipe_sha256,
        config_sha256=config_sha256(config), **config.latency.columns(), complete=complete,
        incomplete_reason=incomplete_reason, variants=variants, source_run_id=source_run_id,
        machine_shared=machine_shared, machine_shared_by=machine_shared_by,
        valgrind=valgrind, instructions_tool=instructions_tool,
        tensorflow_distribution=tensorflow[0], tf_keras_distribution=tf_keras[0],
        workload=workload, workload_sha256=workload_sha256, identities=IDENTITIES,
        workload_version=workload_version, litert_distribution=litert[0],
        runtimes_unavailable=runtimes_unavailable, model_file_sha256=model_file_sha256,
    )
