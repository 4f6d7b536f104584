"""`bench COMMAND ...`: every command of the project, one module each in this folder.

A command module parses its options, calls what its layer computes (the gate in
pipeline.judge.compare, the duel in pipeline.judge.duel, ...) and prints; it defines nothing
another module imports. Each keeps its own parser, help and exit codes (pipeline.console); this
module only finds the command and runs it, the way `git` runs its subcommands. `python -m
pipeline COMMAND` and the older console scripts `bench-compare`, `bench-history` and
`bench-upgrade` run the same code (docs/gate.md, "One command: bench").
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NamedTuple

from pipeline.console import EXIT_ERROR, fail

PROG = "bench"


class Command(NamedTuple):
    """A subcommand: the module whose `main(argv)` runs it, and one line for `bench --help`."""

    module: str
    summary: str


#: Every subcommand, in the order a user meets them.
COMMANDS: dict[str, Command] = {
    "compare": Command("pipeline.commands.compare",
                       "gate a candidate run against its reference run in the history"),
    "duel": Command("pipeline.commands.duel",
                    "time two environments' .tflite files on this machine, in alternating "
                    "blocks"),
    "history": Command("pipeline.commands.history",
                       "the history table, its picture and the Pareto view"),
    "upgrade": Command("pipeline.commands.upgrade",
                       "gate a TensorFlow build in one command: its environment, its run, the "
                       "gate and the duel"),
    "spread": Command("pipeline.commands.spread",
                      "the seed-to-seed spread the thresholds are set from"),
    "instructions": Command("pipeline.commands.instructions",
                            "count a .tflite model's instructions under callgrind"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} COMMAND [ARGS ...]", "", "commands:"]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", f"`{PROG} COMMAND --help` shows a command's options; its exit codes are 0 "
                  f"PASS, 1 FAIL, 2 error, 3 INCONCLUSIVE."]
    return "\n".join(lines)


def command_main(name: str) -> Callable[[Sequence[str]], int]:
    """The `main(argv)` of subcommand `name`, imported only when it runs (the commands'
    imports differ a lot in cost)."""
    return importlib.import_module(COMMANDS[name].module).main  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else EXIT_ERROR
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        return fail(PROG, f"unknown command {name!r}; the commands are "
                          f"{', '.join(COMMANDS)} (`{PROG} --help`)")
    return command_main(name)(rest)
