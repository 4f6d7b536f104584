"""The options the pytest plugin and the commands share, declared once.

`pytest bench --workload ds_cnn` and `bench history --workload ds_cnn` must mean the same
thing, with the same words in --help. So each shared option is one declaration here, added to
an argparse parser (`add_to(parser.add_argument)`) or to pytest's option group
(`add_to(group.addoption)`), which takes argparse's arguments.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pipeline.workloads import DEFAULT_WORKLOAD, WORKLOADS


@dataclass(frozen=True)
class Option:
    """One shared option: its flags (the first is its name, the others aliases kept for old
    command lines), where its value goes, and its help."""

    flags: tuple[str, ...]
    dest: str
    #: "" for a flag that takes no value.
    metavar: str
    help: str

    def add_to(self, add: Callable[..., Any], **settings: Any) -> None:
        """Declare the option with `add` (argparse's add_argument or pytest's addoption);
        `settings` are what differs by caller (default, action, type)."""
        repeatable = " (repeatable)" if settings.get("action") == "append" else ""
        if self.metavar:
            settings["metavar"] = self.metavar
        add(*self.flags, dest=self.dest, help=self.help + repeatable, **settings)

    def with_prefix(self, prefix: str) -> Option:
        """The same option in a family of a command's options, as pytest-benchmark names its
        own: `--tf` with the prefix `compare-` is `--compare-tf`, value in `compare_tf`."""
        if not prefix:
            return self
        return replace(self, flags=tuple(f"--{prefix}{flag.removeprefix('--')}"
                                         for flag in self.flags),
                       dest=prefix.replace("-", "_") + self.dest)


WORKLOAD = Option(
    ("--workload",), "workload", "NAME",
    f"the model: a built-in workload ({', '.join(WORKLOADS)}; default {DEFAULT_WORKLOAD}) or "
    f"package.module:attribute naming a pipeline.workload.Workload of your own "
    f"(docs/variants-and-workloads.md, 'Gate your own model')")
DATA = Option(
    ("--data", "--mnist"), "data", "PATH",
    "the workload's data file or folder (the built-in workloads: MNIST as a Keras-layout .npz "
    "or a folder of the four IDX files; default: $MNIST_PATH, then the Keras cache, then "
    "Keras' download); a workload of your own receives it as its data path. --mnist is its "
    "older name")
THRESHOLDS = Option(
    ("--thresholds", "--config"), "thresholds", "PATH",
    "the threshold config: bounds, [compare] rules, [duel] and [latency] settings (default: "
    "bench/thresholds.toml); --config is its older name")
