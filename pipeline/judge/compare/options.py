"""The gate's options, declared once for `bench compare` and for `pytest bench --compare-to`.

The way pytest-benchmark declares its options for both its plugin and its CLI
(`add_display_options(addoption, prefix)`): each option here is added to an argparse parser as
`--tf`, and to pytest's option group with the prefix `compare-` as `--compare-tf`, with one
help text, and read back from either into one GateOptions.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from pipeline.options import Option

#: Which package a candidate upgrades (`--upgrade`): its reference has the other package's
#: version and the newest version of this one below the candidate's.
UPGRADES: tuple[str, ...] = ("tensorflow", "litert")
#: The prefix of the gate's options in `pytest bench`, where they go with --compare-to.
PYTEST_PREFIX = "compare-"


@dataclass(frozen=True)
class GateOptions:
    """How a reference run is chosen, and whether latency is gated."""

    #: The reference is the latest complete run of this TensorFlow version.
    tf: str | None = None
    #: The reference's LiteRT version (see `upgrade`).
    litert: str | None = None
    #: What the candidate upgrades, one of UPGRADES.
    upgrade: str = "tensorflow"
    #: The reference is the (complete) run with this run_id.
    run_id: str | None = None
    #: Wall-clock latency and heap rows are shown, not gated.
    skip_latency: bool = False

    @classmethod
    def read(cls, get: Callable[[str], Any], prefix: str = "") -> GateOptions:
        """The options as parsed: `get` takes an option's dest (argparse's
        `vars(args).__getitem__`, pytest's `config.getoption`)."""
        dest = prefix.replace("-", "_")
        return cls(**{f.name: get(dest + f.name) for f in fields(cls)})


#: Each option's declaration, in --help order; settings are what argparse and pytest both take.
OPTIONS: tuple[tuple[Option, dict[str, Any]], ...] = (
    (Option(("--tf",), "tf", "VERSION",
            "the reference run is the latest complete run of this TensorFlow version written "
            "before the candidate"), {"default": None}),
    (Option(("--litert",), "litert", "VERSION",
            "the reference run is of this LiteRT (ai-edge-litert) version: with --upgrade "
            "tensorflow the LiteRT the reference stays on (default the candidate's), with "
            "--upgrade litert the one it had"), {"default": None}),
    (Option(("--upgrade",), "upgrade", "PACKAGE",
            "what the candidate upgrades: tensorflow (default: the reference has the "
            "candidate's LiteRT and the newest TensorFlow below its) or litert (the "
            "candidate's TensorFlow and the newest LiteRT below its)"),
     {"choices": UPGRADES, "default": "tensorflow"}),
    (Option(("--run-id",), "run_id", "ID",
            "the reference run is the (complete) run with this run_id"), {"default": None}),
    (Option(("--skip-latency",), "skip_latency", "",
            "gate accuracy, size, sparsity and instruction counts only: wall-clock latency and "
            "heap rows (bound to one machine) are shown but not gated, and the summary says so "
            "(e.g. on a CI runner that is not the history's machine)"),
     {"action": "store_true", "default": False}),
)


def add_gate_options(add: Callable[..., Any], prefix: str = "") -> None:
    """Declare every gate option with `add` (argparse's add_argument or pytest's addoption),
    each flag `--{prefix}{name}`."""
    for option, settings in OPTIONS:
        option.with_prefix(prefix).add_to(add, **settings)
