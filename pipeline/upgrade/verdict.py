"""The steps of a bench-upgrade, the one verdict they give, and the markdown report.

Free of I/O: the CLI records what each step did, this module judges and writes it up.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.console import EXIT_CODES

#: A step that judged nothing and went as it should (the environment, the reference's run).
DONE = "done"


@dataclass(frozen=True)
class Step:
    """One thing bench-upgrade did: its name, its result (a verdict of EXIT_CODES or DONE),
    one line of detail, its wall time, and the markdown section it contributes, if any."""

    name: str
    result: str
    detail: str
    seconds: float
    section: str = ""

    def __post_init__(self) -> None:
        if self.result != DONE and self.result not in EXIT_CODES:
            raise ValueError(f"step {self.name!r}: result {self.result!r} is not one of "
                             f"{DONE}, {', '.join(EXIT_CODES)}")


def verdict(steps: Sequence[Step]) -> str:
    """FAIL beats ERROR beats INCONCLUSIVE beats PASS, as in the gate: a regression found is
    certain even where another step could not run; a step that could not run leaves the
    upgrade unjudged. No judging step at all is an ERROR, never a PASS."""
    results = {step.result for step in steps}
    for candidate in ("FAIL", "ERROR", "INCONCLUSIVE"):
        if candidate in results:
            return candidate
    return "PASS" if "PASS" in results else "ERROR"


def summary(steps: Sequence[Step]) -> str:
    """`FAIL (exit 1): gate mnist_cnn FAIL: 28 regressed, ...; duel mnist_cnn PASS: ...`: the
    verdict and every step that did not merely complete."""
    result = verdict(steps)
    judged = [f"{step.name}: {step.detail}" for step in steps if step.result != DONE]
    return f"{result} (exit {EXIT_CODES[result]}): " + ("; ".join(judged) or "nothing judged")


def _seconds(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def report(title: str, context: Sequence[str], steps: Sequence[Step]) -> str:
    """The markdown report for a pull request: verdict, what ran, one row per step with its
    time, then each step's own section (the gate's and the duel's tables)."""
    result = verdict(steps)
    lines = [f"# {title}: {result}", "", f"**{summary(steps)}**", ""]
    lines += [f"- {line}" for line in context] + [""]
    lines += ["| step | result | detail | wall time |", "|---|---|---|---:|"]
    lines += [f"| {s.name} | {s.result} | {_cell(s.detail)} | {_seconds(s.seconds)} |"
              for s in steps]
    lines += [f"| total | {result} | exit {EXIT_CODES[result]} | "
              f"{_seconds(sum(s.seconds for s in steps))} |", ""]
    for step in steps:
        if step.section:
            lines += [f"## {step.name}", "", step.section.rstrip(), ""]
    return "\n".join(lines)
