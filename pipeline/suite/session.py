"""A `pytest bench` session without pytest: what it was asked for, what it found, and its CSV.

bench/conftest.py turns the command line into SessionOptions, hands this module the pytest
events that matter (a test skipped, finished, raised) and prints what it returns; everything
that decides something lives here, where it is tested without a session
(tests/test_session.py):

* at the start, before any training: the variants, a --reuse-run run, whether valgrind can
  count, the --compare-to reference run, each refused with a SessionError that says what to do;
* while measuring: the BenchRun and the instruction counter beside it, with their progress
  lines (the wall-clock measurements that follow are timing.py's);
* at the end: why the run is incomplete (if it is), whom it shared the machine with, the one
  results CSV, and the summary lines.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pipeline import RUNS_DIR
from pipeline.config import Config, ConfigError
from pipeline.data import Dataset
from pipeline.identity import recipe_sha256, workload_sha256
from pipeline.judge.compare import (
    LatencyGate,
    ReferenceChoice,
    RunIdentity,
    SelectionError,
    gated_keys,
)
from pipeline.judge.compare.options import GateOptions
from pipeline.judge.compare.session import SessionPlan, session_reference
from pipeline.judge.summary import SUMMARY_THREADS, format_summary, summary_table
from pipeline.measure.callgrind import (
    TOOL,
    InstructionCount,
    InstructionsUnavailable,
    ensure_countable,
)
from pipeline.measure.environment import (
    cpu_count,
    cpu_model,
    installed,
    new_run_id,
    platform_label,
)
from pipeline.measure.instructions import (
    InstructionCounter,
    instruction_measurements,
    wrapper_path,
)
from pipeline.measure.interpreters import unavailable_runtimes
from pipeline.measure.machine_sharing import (
    SessionRegistry,
    Sharing,
    combine,
    default_registry,
    tox_parallel_ancestor,
)
from pipeline.results import MeasurementKey, ResultsFileError, Run, RunInfo, to_frame, write_atomic
from pipeline.run.bench_run import BenchRun
from pipeline.run.info import collect_run_info
from pipeline.run.source import ReuseError, SourceRun
from pipeline.suite.reuse import load_source_run
from pipeline.variants.registry import VARIANTS, UnknownVariant, select
from pipeline.workload import Workload, model_file_sha256


class SessionError(Exception):
    """The command line asks for something this session cannot do; pytest reports it as a
    usage error before anything is trained."""


class SessionStop(Exception):
    """A data or environment problem found once the session runs: it stops, writing nothing."""


@dataclass(frozen=True)
class SessionOptions:
    """The bench options of one `pytest bench` command line (bench/conftest.py declares them)."""

    seed: int
    variants: str = "default"
    data: str | None = None
    results_dir: Path = RUNS_DIR
    run_dir: Path | None = None
    reuse_run: Path | None = None
    #: As given: messages name it as the user wrote it (`results/`).
    compare_to: str | None = None
    #: How --compare-to chooses its reference run (pytest bench --compare-tf, ...).
    compare: GateOptions = GateOptions()
    skip_instructions: bool = False


class BenchSession:
    """One session's state, from its command line to its results CSV."""

    def __init__(self, options: SessionOptions, workload: Workload, thresholds: Config,
                 *, narrowed: Iterable[str] = ()):
        #: The model this session builds (--workload) and the bounds it is checked against.
        self.workload = workload
        self.thresholds = thresholds
        self.options = options
        self.run_id = new_run_id()
        self.run_dir = options.run_dir or RUNS_DIR / self.run_id
        #: Whether another benchmark runs meanwhile: tox parallel (known now) and other bench
        #: sessions (registered once this one starts measuring, read again at its end).
        self.tox_parallel = tox_parallel_ancestor()
        self.registry = SessionRegistry(default_registry(), self.run_id)
        self.bench_run: BenchRun | None = None
        self.results_path: Path | None = None
        try:
            #: The variants this session builds and checks (--variants), in registry order.
            self.variants: tuple[str, ...] = select(options.variants, workload)
            for name in self.variants:
                thresholds.bounds(name)
        except UnknownVariant as exc:
            raise SessionError(f"--variants: {exc}") from None
        except ConfigError as exc:
            raise SessionError(str(exc)) from None
        #: The earlier run whose files this session re-measures (--reuse-run), checked before
        #: anything is loaded; it decides the variants: its TFLite models.
        self.source: SourceRun | None = None
        if options.reuse_run is not None:
            if options.variants != "default":
                raise SessionError("--variants cannot be combined with --reuse-run: the "
                                   "reused run's TFLite models are re-measured")
            try:
                self.source = load_source_run(options.reuse_run, options.results_dir,
                                              recipe_sha256=recipe_sha256(workload),
                                              workload=workload.name)
            except ReuseError as exc:
                raise SessionError(f"--reuse-run: {exc}") from None
            self.variants = self.source.tflite_variants
        #: The valgrind that counts instructions ("": none counted, --skip-instructions or no
        #: TFLite variant selected), checked now: a session that cannot count says so at once.
        self.valgrind = counting_valgrind(options.skip_instructions, self.variants)
        self.counter: InstructionCounter | None = None
        #: The (variant, runtime) pairs whose tests are selected: the rows the counts give.
        self.counted_keys: frozenset[tuple[str, str]] = frozenset()
        #: --compare-to: the reference run and why it was chosen.
        self.history: ReferenceChoice | None = self._history_reference()
        #: Why this session is not a complete run (empty: complete), in the order noticed.
        self.incomplete: list[str] = list(narrowed)
        if options.skip_instructions:
            self.incomplete.append("--skip-instructions")
        self.finished_items = 0
        self.skipped: set[str] = set()
        #: Tests that apply to none of the selected variants: deselected, not a narrowing.
        self.not_applicable: set[str] = set()
        #: Tests of a runtime this environment does not provide: deselected, not a narrowing;
        #: the run records the runtime as not available (runtimes_unavailable).
        self.not_available: set[str] = set()
        #: What the session shared the machine with, once it has finished.
        self.final_sharing = Sharing(False, "")

    @cached_property
    def dataset(self) -> Dataset:
        """The workload's data (--data, or the workload's own sources), loaded once; DataError
        or WorkloadError with what to do when it cannot be."""
        return self.workload.load(self.options.data)

    @cached_property
    def unavailable_runtimes(self) -> dict[str, str]:
        """The interpreters this environment does not provide, with why (found once, on first
        use: it imports TensorFlow)."""
        return unavailable_runtimes()

    @property
    def instructions_tool(self) -> str:
        """The valgrind tool that counts this session's instructions ("": none counted)."""
        return TOOL if self.valgrind else ""

    @property
    def history_reference(self) -> Run | None:
        """The --compare-to reference run's rows (None without --compare-to)."""
        return None if self.history is None else self.history.run

    def sharing(self) -> Sharing:
        """Whether this session shared the machine, as far as known now (before it registers:
        the sessions measuring at this moment)."""
        return combine(self.tox_parallel, self.registry.seen())

    def variants_for(self, *, bound: str | None = None, kind: str | None = None,
                     measure: str | None = None, option: str | None = None) -> list[str]:
        """The selected variants a test applies to: those matching every filter of its
        `variants` marker (a threshold bound they have, their kind, a declared measure or step
        option)."""
        def applies(name: str) -> bool:
            variant = VARIANTS[name]
            return ((bound is None or getattr(self.thresholds.bounds(name), bound) is not None)
                    and (kind is None or variant.kind == kind)
                    and (measure is None or measure in variant.measures)
                    and (option is None or option in variant.options))

        return [name for name in self.variants if applies(name)]

    def history_keys(self) -> list[MeasurementKey]:
        """The --compare-to reference run's measurement keys the history gate judges for this
        session's variants (none without --compare-to)."""
        reference = self.history_reference
        if reference is None:
            return []
        gate = LatencyGate(skip=self.options.compare.skip_latency)
        return [key for key in gated_keys(reference, self.thresholds.compare, gate)
                if key.model in self.variants]

    def note_incomplete(self, reason: str) -> None:
        if reason not in self.incomplete:
            self.incomplete.append(reason)

    def _history_reference(self) -> ReferenceChoice | None:
        """The run `--compare-to` selects, read before any training so a bad path fails at
        once: the choice bench compare would make for this session's variants here."""
        path = self.options.compare_to
        if path is None:
            return None
        plan = SessionPlan(
            variants=self.variants, workload=self.workload.name, cpu=cpu_model(),
            cpu_count=cpu_count(), platform=platform_label(),
            **self.thresholds.latency.columns(),
            machine_shared_by=self.sharing().by, skip_latency=self.options.compare.skip_latency,
            valgrind=self.valgrind, instructions_tool=self.instructions_tool)
        try:
            return session_reference(Path(path), plan, self.options.compare,
                                     installed_tf=installed("tensorflow")[1],
                                     installed_litert=installed("litert")[1])
        except ResultsFileError as exc:
            raise SessionError(f"--compare-to: {exc}") from None
        except SelectionError as exc:
            raise SessionError(f"--compare-to: {path}: {exc}") from None

    # -- while measuring -------------------------------------------------------------------

    def start(self, dataset: Dataset, progress: Callable[[str], None]) -> BenchRun:
        """The session's BenchRun, once its data is loaded: checked against a reused run,
        registered as a measuring session, and announced."""
        source = self.source
        if source is not None:
            recorded = source.info.dataset_sha256
            if recorded != dataset.sha256:
                raise SessionStop(f"--reuse-run: run {source.run_id} was measured on dataset "
                                  f"{recorded}, this session loads {dataset.sha256}; pass the "
                                  f"same data (--data)")
            seed = source.info.seed
            if seed != self.options.seed:
                raise SessionStop(f"--reuse-run: run {source.run_id} used seed {seed}, this "
                                  f"session {self.options.seed}; pass --seed {seed}")
        self.registry.start()
        self.bench_run = BenchRun(dataset, self.run_dir, self.options.seed, self.workload,
                                  progress=progress, source=source)
        sharing = self.sharing()
        if sharing.shared:
            self.bench_run.say(f"sharing the machine with {sharing.by}: this run's latency "
                               f"will never be compared")
        if self.history is not None:
            self.bench_run.say(f"history gate: {reference_line(self.history)}")
        return self.bench_run

    def start_counting(self, keys: set[tuple[str, str]], image: Any) -> None:
        """Start the callgrind workers for these (variant, runtime) keys now, so they load while
        the session trains, and have the run hand them each variant as soon as its file exists.
        A runtime whose native wrapper is not installed is not counted (its tests say so)."""
        assert self.bench_run is not None, "start() the session first"
        runtimes = sorted({runtime for _, runtime in keys if _countable(runtime)})
        if not runtimes:
            return
        self.counter = InstructionCounter(runtimes, image).start()
        self.counted_keys = frozenset(keys)
        self.bench_run.count_instructions(self.counter, {model for model, _ in keys})
        self.bench_run.say(f"instructions: valgrind {self.valgrind} counting "
                           f"{len(keys)} combinations beside the session ...")

    def instruction_counts(self) -> dict[tuple[str, str],
                                         InstructionCount | InstructionsUnavailable]:
        """Every counted (variant, runtime)'s count or why it could not be taken, once every
        counting process has finished; empty when nothing is counted. Each count is recorded
        as it arrives: the tests only check them."""
        if self.counter is None or self.bench_run is None:
            return {}
        start = time.perf_counter()
        counts = self.counter.results()
        self.bench_run.say(f"instructions: done (waited {time.perf_counter() - start:.1f} s)")
        for (variant, runtime), count in counts.items():  # the selected ones: models x runtimes
            if isinstance(count, InstructionCount) and (variant, runtime) in self.counted_keys:
                self.bench_run.record_all(instruction_measurements(variant, runtime, count))
        return counts

    # -- at the end ------------------------------------------------------------------------

    def run_info(self, sharing: Sharing | None = None) -> RunInfo:
        """This session's run columns: completeness and sharing as known now, or `sharing` as
        found at the end."""
        run = self.bench_run
        assert run is not None, "start() the session first"
        reason = "; ".join(self.incomplete)
        sharing = sharing or self.sharing()
        return collect_run_info(self.run_id, dataset_sha256=run.dataset.sha256, seed=run.seed,
                                recipe_sha256=recipe_sha256(run.workload),
                                config=self.thresholds, variants=self.variants,
                                complete=not reason, incomplete_reason=reason,
                                source_run_id="" if run.source is None else run.source.run_id,
                                machine_shared=sharing.shared, machine_shared_by=sharing.by,
                                valgrind=self.valgrind,
                                instructions_tool=self.instructions_tool,
                                workload=run.workload.name,
                                workload_sha256=workload_sha256(run.workload, run.dataset),
                                workload_version=run.workload.version,
                                runtimes_unavailable=tuple(self.unavailable_runtimes),
                                model_file_sha256=model_file_sha256(run.workload))

    def finish(self, *, tests_ran: bool, items: int) -> Path | None:
        """End the session: whom it shared the machine with, counting stopped, and the CSV of
        a session whose tests ran (`tests_ran`: passed or failed), marked complete or not.
        Nothing is written for an interrupted or stopped session, or one that measured
        nothing. Returns the CSV written."""
        sharing = (combine(self.tox_parallel, self.registry.finish())
                   if self.registry.started else self.sharing())
        self.final_sharing = sharing
        if self.counter is not None:  # whatever was not collected (an interrupted session)
            self.counter.close()
        if self.bench_run is None or not self.bench_run.measurements or not tests_ran:
            return None
        if self.skipped:
            self.note_incomplete(f"{len(self.skipped)} test(s) skipped")
        if self.finished_items < items:
            self.note_incomplete(f"stopped after {self.finished_items} of {items} tests")
        frame = to_frame(self.run_info(sharing), self.bench_run.measurements)
        self.results_path = write_atomic(frame, self.options.results_dir / f"{self.run_id}.csv")
        return self.results_path

    def summary_lines(self) -> list[str]:
        """The session's last screen: the per-model summary, where its files are, and why its
        run is partial or shared, if it is."""
        if self.bench_run is None:
            return []
        lines = []
        measurements = self.bench_run.measurements
        if any(m.metric == "accuracy" for m in measurements):
            lines += format_summary(summary_table(measurements))
            lines.append(f"(latency: median microseconds per invoke, {SUMMARY_THREADS} thread; "
                         f"ratio: zipped baseline / zipped model)")
        lines.append(f"artifacts: {self.run_dir}")
        if self.results_path is not None:
            lines.append(f"results:   {self.results_path} ({len(measurements)} rows)")
            if self.incomplete:
                lines.append(f"partial:   {'; '.join(self.incomplete)} (never chosen as a "
                             f"reference run)")
            if self.final_sharing.shared:
                lines.append(f"shared:    {self.final_sharing.by} ran meanwhile (latency never "
                             f"compared)")
        else:
            lines.append("results:   none written (session did not run to the end)")
        for runtime, why in self.unavailable_runtimes.items():
            lines.append(f"absent:    {runtime} is not available in this environment ({why}): "
                         f"the run records it in runtimes_unavailable and holds none of its "
                         f"rows")
        if self.history is not None:
            lines.append(f"history:   {reference_line(self.history)}")
        return lines


def counting_valgrind(skip: bool, variants: Iterable[str]) -> str:
    """The valgrind version that will count these variants' TFLite models; "" when nothing is
    to be counted (`skip`, or no TFLite variant). A machine that cannot count stops the
    session before any training, with what to do: a run must not lack its instruction rows
    unannounced."""
    if skip or not any(VARIANTS[name].kind == "tflite" for name in variants):
        return ""
    try:
        return ensure_countable()
    except InstructionsUnavailable as exc:
        raise SessionError(f"bench: {exc}; or pass --skip-instructions to run without "
                           f"instruction counts (the run is then marked incomplete, never "
                           f"a reference)") from None


def reference_line(choice: ReferenceChoice) -> str:
    """The reference run of a --compare-to session, and why it was chosen."""
    return f"reference run {RunIdentity.of(choice.run).label()}: {choice.reason}"


def _countable(runtime: str) -> bool:
    try:
        wrapper_path(runtime)
    except InstructionsUnavailable:
        return False
    return True
