"""`bench COMMAND`: one console script for every command, one module each in
pipeline/commands/, one error path, and the options the commands share with `pytest bench`
declared once (pipeline/options.py, pipeline/judge/compare/options.py)."""
from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipeline import commands as cli
from pipeline.console import EXIT_CODES, EXIT_ERROR, fail
from pipeline.judge.compare.options import OPTIONS as GATE_OPTIONS
from pipeline.judge.compare.options import PYTEST_PREFIX
from pipeline.options import DATA, THRESHOLDS, WORKLOAD, Option

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_every_command_and_no_command_is_an_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    listed = capsys.readouterr().out
    for name, command in cli.COMMANDS.items():
        assert f"  {name}" in listed and command.summary in listed
    assert cli.main([]) == EXIT_ERROR


def test_an_unknown_command_says_which_exist(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["comapre", "results/"]) == EXIT_ERROR
    assert capsys.readouterr().err == (
        "bench: error: unknown command 'comapre'; the commands are compare, duel, history, "
        "upgrade, spread, instructions (`bench --help`)\n")


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_each_command_runs_under_its_bench_name(name: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """`bench NAME --help` is that command's own help, under the name `bench NAME`, the name
    its errors carry too."""
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: bench {name} ")
    module = sys.modules[cli.COMMANDS[name].module]
    assert module.PROG == f"bench {name}"


def test_an_error_is_one_line_with_the_command_s_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert fail("bench compare", "results/x.csv: bad\nvalue") == EXIT_CODES["ERROR"] == 2
    assert capsys.readouterr().err == "bench compare: error: results/x.csv: bad value\n"


def _declared(add_options: Any) -> dict[str, dict[str, Any]]:
    """flag -> keyword arguments, of every option `add_options(add)` declares."""
    calls: dict[str, dict[str, Any]] = {}

    def add(*flags: str, **kwargs: Any) -> None:
        for flag in flags:
            calls[flag] = {"flags": flags, **kwargs}

    add_options(add)
    return calls


def _parser_options(parser: argparse.ArgumentParser) -> dict[str, dict[str, Any]]:
    return {flag: {"flags": tuple(action.option_strings), "dest": action.dest,
                   "metavar": action.metavar, "help": action.help}
            for action in parser._actions for flag in action.option_strings}  # noqa: SLF001


def _pytest_options() -> dict[str, dict[str, Any]]:
    """What bench/conftest.py declares with pytest's group.addoption."""
    spec = importlib.util.spec_from_file_location("bench_conftest", ROOT / "bench" / "conftest.py")
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class Group:
        def __init__(self, add: Any) -> None:
            self.addoption = add

    return _declared(lambda add: conftest.pytest_addoption(
        type("Parser", (), {"getgroup": lambda self, *a, **k: Group(add)})()))


def _command_parser(name: str) -> argparse.ArgumentParser:
    """The argparse parser a command builds (each builds it in its main)."""
    captured: list[argparse.ArgumentParser] = []

    def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
        captured.append(self)
        raise SystemExit(0)

    with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit):
        patch.setattr(argparse.ArgumentParser, "parse_args", capture)
        cli.command_main(name)([])
    return captured[0]


@pytest.mark.parametrize(("option", "where"), [
    (WORKLOAD, ("pytest", "history", "upgrade", "spread")),
    (DATA, ("pytest", "spread")),
    (THRESHOLDS, ("pytest", "compare", "duel", "history")),
])
def test_a_shared_option_is_the_same_wherever_it_is_taken(option: Option,
                                                          where: tuple[str, ...]) -> None:
    """One declaration: the same flags (the older names as aliases), destination, metavar and
    help under pytest and in each command."""
    for place in where:
        found = (_pytest_options() if place == "pytest"
                 else _parser_options(_command_parser(place)))
        declared = found[option.flags[0]]
        assert tuple(declared["flags"]) == option.flags, place
        assert (declared["dest"], declared["metavar"]) == (option.dest, option.metavar), place
        assert declared["help"].startswith(option.help), place


@pytest.mark.parametrize("option", [option for option, _ in GATE_OPTIONS],
                         ids=lambda option: option.flags[0])
def test_a_gate_option_is_one_declaration_for_compare_and_for_pytest(option: Option) -> None:
    """`bench compare --tf` and `pytest bench --compare-tf`: the same help, metavar and
    settings, the pytest one under the prefix, as pytest-benchmark names its own options."""
    compare = _parser_options(_command_parser("compare"))[option.flags[0]]
    flag = f"--{PYTEST_PREFIX}{option.flags[0].removeprefix('--')}"
    under_pytest = _pytest_options()[flag]
    assert tuple(under_pytest["flags"]) == (flag,)
    assert under_pytest["dest"] == f"compare_{option.dest}" and compare["dest"] == option.dest
    assert under_pytest["help"] == compare["help"] == option.help
    assert under_pytest.get("metavar") == (option.metavar or None) == compare["metavar"]


def test_python_m_pipeline_runs_the_commands() -> None:
    """`python -m pipeline COMMAND` is `bench COMMAND` where the console script is not on
    PATH (the five `python -m pipeline.<command>` modules it replaces: docs/gate.md)."""
    done = subprocess.run([sys.executable, "-m", "pipeline", "compare", "--help"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: bench compare ")
    done = subprocess.run([sys.executable, "-m", "pipeline"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == EXIT_ERROR and "compare" in done.stdout


def test_every_command_is_one_module_of_the_commands_folder() -> None:
    """Each command, and only a command, is a `main` in pipeline/commands/ (the workers that
    other processes run have entry points of other names)."""
    package = ROOT / "pipeline"
    mains = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                   if re.search(r"^def main\(", path.read_text(), re.MULTILINE))
    assert mains == sorted(["commands/__init__.py"]
                           + [f"commands/{name}.py" for name in cli.COMMANDS])
    assert all(command.module == f"pipeline.commands.{name}"
               for name, command in cli.COMMANDS.items())
