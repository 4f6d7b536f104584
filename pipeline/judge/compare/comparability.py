"""Whether two runs may be compared at all, and which of their measurements.

The gate fails closed: runs of another workload, dataset, seed or recipe are refused
(comparing them would call the difference a regression or hide one); latency of runs made on
other machines, with other latency settings or while another benchmark ran is not compared, and
instruction counts only between runs of one architecture counted by the same valgrind; the
report says why. Pure: it reads the runs' recorded facts, never the machine it runs on.
"""
from __future__ import annotations

from typing import Protocol

from pipeline.judge.compare.rules import LatencyGate
from pipeline.judge.platforms import architecture, comparable_platform
from pipeline.results import LATENCY_SETTING_COLUMNS, Run, RunInfo

#: Run fields that must be equal for instruction counts to be compared (with the architecture).
COUNTING_FIELDS: tuple[str, ...] = ("valgrind", "instructions_tool")
#: Run fields that must be equal for two runs to be compared at all; `identities` before the
#: digests, since runs whose identities were made two ways differ in every *_sha256
#: (pipeline.identity).
REFUSING_FIELDS: tuple[str, ...] = ("workload", "identities", "dataset_sha256", "seed",
                                    "recipe_sha256")
#: What to do about a refusing field, where the general advice would not help.
_REFUSAL_ADVICE: dict[str, str] = {
    "identities": "a run written before schema 7 identifies its recipe and workload by where "
                  "their code lived, which no run of this version matches; re-make the "
                  "reference with this version (pytest bench on the reference's TensorFlow "
                  "line: docs/gate.md, 'Identities')",
}
#: Refusing too, where both runs record it (schema 6 on): an older run's is unknown, and its
#: workload, dataset and recipe hashes already say what it built.
REFUSING_WHERE_KNOWN: tuple[str, ...] = ("workload_sha256",)


class NotComparable(ValueError):
    """The two runs differ in what makes their measurements comparable; one line, naming the
    field and both values."""


class MachineFacts(Protocol):
    """What latency_obstacle and counting_obstacle read of a run: a RunInfo, or a session's
    plan before it has measured anything (pipeline.judge.compare.session.SessionPlan)."""

    @property
    def run_id(self) -> str: ...
    @property
    def schema_version(self) -> int | None: ...
    @property
    def cpu(self) -> str: ...
    @property
    def cpu_count(self) -> int | None: ...
    @property
    def platform(self) -> str: ...
    @property
    def latency_repetitions(self) -> int | None: ...
    @property
    def latency_warmup_invokes(self) -> int | None: ...
    @property
    def latency_timed_invokes(self) -> int | None: ...
    @property
    def latency_order_seed(self) -> int | None: ...
    @property
    def machine_shared(self) -> bool | None: ...
    @property
    def machine_shared_by(self) -> str | None: ...
    @property
    def valgrind(self) -> str | None: ...
    @property
    def instructions_tool(self) -> str | None: ...


def _shown(run: MachineFacts | RunInfo, name: str) -> str:
    """A run field for a message; a field an older schema did not record is unknown."""
    value = getattr(run, name)
    if value is None:
        return f"unknown (schema {run.schema_version} file)"
    return repr(value) if isinstance(value, str) else str(value)


def _differs(reference: MachineFacts | RunInfo, candidate: MachineFacts | RunInfo,
             name: str) -> bool:
    """Whether the two runs differ in a field; unknown on either side (an older schema) counts
    as different, since equality cannot be shown."""
    ref, cand = getattr(reference, name), getattr(candidate, name)
    return ref is None or cand is None or str(ref) != str(cand)


def _workload_difference(ref: RunInfo, cand: RunInfo) -> str:
    """What the two runs' workload records show of why their definitions differ: the declared
    version, the model file the workload starts from."""
    shown = []
    if ref.workload_version is not None and ref.workload_version != cand.workload_version:
        shown.append(f"workload version {ref.workload_version} vs {cand.workload_version}")
    if ref.model_file_sha256 is not None and ref.model_file_sha256 != cand.model_file_sha256:
        shown.append(f"model file sha256 {ref.model_file_sha256 or 'none (built from scratch)'} "
                     f"vs {cand.model_file_sha256 or 'none (built from scratch)'}")
    return f" ({'; '.join(shown)})" if shown else ""


def check_comparable(reference: Run, candidate: Run) -> None:
    """Raise NotComparable when the runs differ in workload, dataset, seed or recipe (or one of
    them does not record it), or in the workload's definition where both record it: the first
    such field, with both values."""
    ref, cand = reference.info, candidate.info
    known = [name for name in REFUSING_WHERE_KNOWN if getattr(ref, name) and getattr(cand, name)]
    for name in REFUSING_FIELDS + tuple(known):
        if _differs(ref, cand, name):
            versions = (_workload_difference(ref, cand) if name == "workload_sha256" else "")
            advice = _REFUSAL_ADVICE.get(name, "compare runs of the same workload, dataset, "
                                               "seed and recipe (choose another reference run "
                                               "with --tf or --run-id, or re-run one side)")
            raise NotComparable(
                f"runs differ in {name}{versions}: reference run {ref.run_id} has "
                f"{_shown(ref, name)}, candidate run {cand.run_id} has {_shown(cand, name)}; "
                f"{advice}")


def warnings_of(reference: Run, candidate: Run, *, latency_compared: bool = False) -> list[str]:
    """What weakens the comparison without making it meaningless: other thresholds, a run made
    from uncommitted code (its git_commit does not say what ran), or, where latency is
    compared, a run that does not record whether it shared the machine (schema 1-3)."""
    ref, cand = reference.info, candidate.info
    warnings = []
    if _differs(ref, cand, "config_sha256"):
        warnings.append(f"the runs were made with different threshold configs (config_sha256 "
                        f"{_short(ref.config_sha256)} vs {_short(cand.config_sha256)})")
    for side, info in (("reference", ref), ("candidate", cand)):
        if info.git_dirty:
            warnings.append(f"the {side} run {info.run_id} was made from uncommitted "
                            f"changes (git_dirty); its git_commit {info.git_commit[:12]}"
                            f" does not say exactly what ran")
    unknown = [f"{side} run {info.run_id} (schema {info.schema_version})"
               for side, info in (("reference", ref), ("candidate", cand))
               if info.machine_shared is None]
    if latency_compared and unknown:
        warnings.append(f"the {' and the '.join(unknown)} do{'es' if len(unknown) == 1 else ''} "
                        f"not record whether another benchmark shared the machine; latency is "
                        f"compared as if each ran alone")
    return warnings


def _short(value: str | None) -> str:
    return "unknown" if value is None else value[:12]


def latency_obstacle(reference: MachineFacts, candidate: MachineFacts) -> str:
    """Why latency of these runs cannot be compared ("" when it can): another machine (cpu,
    cpu_count, or OS / architecture / kernel major.minor), other latency settings, or a run
    that shared the machine with another benchmark."""
    machine = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
               for name in ("cpu", "cpu_count") if _differs(reference, candidate, name)]
    ref_platform = comparable_platform(reference.platform)
    cand_platform = comparable_platform(candidate.platform)
    if ref_platform != cand_platform:
        machine.append(f"platform {ref_platform!r} vs {cand_platform!r}")
    reasons = []
    if machine:
        reasons.append(f"machines differ: {', '.join(machine)}")
    settings = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
                for name in LATENCY_SETTING_COLUMNS if _differs(reference, candidate, name)]
    if settings:
        reasons.append(f"latency settings differ: {', '.join(settings)}")
    for side, facts in (("reference", reference), ("candidate", candidate)):
        if facts.machine_shared:
            reasons.append(f"the {side} run {facts.run_id} shared the machine "
                           f"({facts.machine_shared_by})")
    return "; ".join(reasons)


def counting_obstacle(reference: MachineFacts, candidate: MachineFacts) -> str:
    """Why the instruction counts of these runs cannot be compared ("" when they can): another
    architecture, or another valgrind version or tool. "" too when either run counted none
    (schema 1-4, --skip-instructions): it has no instruction rows, which the comparison reports
    as "missing" or "no reference"."""
    if not (reference.valgrind and candidate.valgrind):
        return ""
    reasons = []
    ref_arch, cand_arch = architecture(reference.platform), architecture(candidate.platform)
    if ref_arch != cand_arch:
        reasons.append(f"architectures differ: {ref_arch!r} vs {cand_arch!r}")
    counted = [f"{name} {_shown(reference, name)} vs {_shown(candidate, name)}"
               for name in COUNTING_FIELDS if _differs(reference, candidate, name)]
    if counted:
        reasons.append(f"counted with another valgrind: {', '.join(counted)}")
    return "; ".join(reasons)


def comparison_gate(reference: Run, candidate: Run, *, skip_latency: bool) -> LatencyGate:
    """How the machine-bound rows of these two runs are judged (latency_obstacle,
    counting_obstacle, --skip-latency)."""
    return LatencyGate(obstacle=latency_obstacle(reference.info, candidate.info),
                       skip=skip_latency,
                       counting=counting_obstacle(reference.info, candidate.info))
