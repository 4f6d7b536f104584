"""Every command the README and the docs/ pages tell a user to run has its program after the
README's install.

The commands are read from the README and docs/*.md (scripts/readme_commands.py: ```bash
blocks, `$ ` lines of pasted sessions, inline spans starting with a program), never from a copy
kept here. Each distinct program is then run the cheapest way that proves it is installed and
starts: `tox --version`, `bench-compare --help`, `python -m pipeline duel --help`,
`python scripts/time_vs_bare.py --help`, ... A program that is not found, or does not start,
fails its test with the README line that uses it.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("readme_commands",
                                               ROOT / "scripts" / "readme_commands.py")
assert _spec is not None and _spec.loader is not None
readme_commands = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = readme_commands  # dataclasses look their module up there
_spec.loader.exec_module(readme_commands)

# Programs whose --version is enough (their --help is long or slow).
VERSION_FLAG = frozenset({"tox", "pytest", "pip", "bash"})
TIMEOUT_S = 120


def _environment() -> dict[str, str]:
    """This interpreter's bin folder first on PATH: the install's programs, as after activate."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _script_path(script: str) -> str:
    """A script as the docs name it, from the repository root: a bare name that is not there is
    run inside a copy of an example folder (`cd ~/my_models` after `cp -r
    examples/own_workload ~/my_models`), so it is that example's one file of the name."""
    if "/" in script or (ROOT / script).exists():
        return script
    found = sorted((ROOT / "examples").rglob(script))
    return str(found[0].relative_to(ROOT)) if len(found) == 1 else script


def check_of(words: tuple[str, ...]) -> tuple[str, ...] | None:
    """The command that shows `words`' program is installed, or None (a shell builtin)."""
    program, args = words[0], words[1:]
    if program in readme_commands.SHELL_BUILTINS:
        return None
    if program in ("python", "python3"):
        if args[:1] == ("-m",) and len(args) > 1:
            return ("python", "-m", args[1], "--help")
        if args and args[0].endswith(".py"):
            return ("python", _script_path(args[0]), "--help")
        return ("python", "--version")
    if program == "bash" and args and not args[0].startswith("-"):
        return ("bash", "-n", args[0])  # the script exists and parses
    return (program, "--version" if program in VERSION_FLAG else "--help")


#: The README and every page it links to under docs/.
DOCUMENTS = (readme_commands.README, *sorted((ROOT / "docs").glob("*.md")))


def checks(*documents: Path) -> dict[tuple[str, ...], list[str]]:
    """Each distinct check, with the lines (`docs/gate.md:N: command`) that need it."""
    found: dict[tuple[str, ...], list[str]] = {}
    for document in documents:
        name = document.relative_to(ROOT) if document.is_relative_to(ROOT) else document.name
        for command in readme_commands.readme_commands(document):
            check = check_of(command.words)
            if check is not None:
                found.setdefault(check, []).append(f"{name}:{command.line}: {command.text}")
    return found


def _fail(problem: str, uses: list[str]) -> NoReturn:
    pytest.fail(problem + "\nused by\n  " + "\n  ".join(uses), pytrace=False)


def problem_of(check: tuple[str, ...]) -> str | None:
    """Run one check from the repository root: what went wrong, or None."""
    env = _environment()
    argv = list(check)
    if argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    elif shutil.which(argv[0], path=env["PATH"]) is None:
        return f"program {argv[0]!r} not found after the README's install (PATH={env['PATH']})"
    try:
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"`{' '.join(check)}` took over {TIMEOUT_S} s"
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        return f"`{' '.join(check)}` exited {done.returncode}:\n{tail}"
    return None


def run_check(check: tuple[str, ...], uses: list[str]) -> None:
    """Run one check; fail naming the README lines on any problem."""
    problem = problem_of(check)
    if problem is not None:
        _fail(problem, uses)


README_CHECKS = checks(*DOCUMENTS)


def test_readme_commands_were_found() -> None:
    """The parser sees the README's core commands and the docs' own: an empty list would prove
    nothing."""
    programs = {command.program for command in readme_commands.readme_commands()}
    assert {"pip", "pytest", "tox", "python", "bench", "bench-upgrade"} <= programs, programs
    in_docs = {command.program for document in DOCUMENTS[1:]
               for command in readme_commands.readme_commands(document)}
    assert {"pytest", "tox", "python", "bench-compare", "bench-history"} <= in_docs, in_docs


@pytest.fixture(scope="module")
def problems(request: pytest.FixtureRequest) -> dict[tuple[str, ...], str | None]:
    """Every selected check's problem (or None), the checks run side by side, one per CPU at a
    time: each is a process start of a second or so."""
    selected = [item.callspec.params["check"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_readme_command_is_installed"]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(selected, pool.map(problem_of, selected), strict=True))


@pytest.mark.parametrize("check", sorted(README_CHECKS), ids=" ".join)
def test_readme_command_is_installed(check: tuple[str, ...],
                                     problems: dict[tuple[str, ...], str | None]) -> None:
    problem = problems[check]
    if problem is not None:
        _fail(problem, README_CHECKS[check])


def test_parser_joins_splits_and_strips(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# T\n## Install\n```bash\npython3 -m venv .venv && . .venv/bin/activate\n"
        "pip install -r a.txt \\\n    -e .   # comment\n```\n"
        "Then `tox -e tf220`, not `bench compare`.\n"
        "```\n$ MNIST_PATH=x pytest bench | tee log\noutput, not a command\n```\n",
        encoding="utf-8")
    found = [(c.line, c.section, c.words) for c in readme_commands.readme_commands(readme)]
    assert found == [
        (4, "Install", ("python3", "-m", "venv", ".venv")),
        (4, "Install", (".", ".venv/bin/activate")),
        (5, "Install", ("pip", "install", "-r", "a.txt", "-e", ".")),
        (8, "Install", ("tox", "-e", "tf220")),
        (10, "Install", ("pytest", "bench")),
        (10, "Install", ("tee", "log")),
    ]
    assert readme_commands.section_script("Install", readme).splitlines()[1:] == [
        "python3 -m venv .venv && . .venv/bin/activate", "pip install -r a.txt -e .   # comment"]


def test_a_missing_program_fails_with_its_readme_line(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("## Run\n```bash\nno-such-bench-tool --fast\n```\n", encoding="utf-8")
    (check, uses), = checks(readme).items()
    with pytest.raises(pytest.fail.Exception) as failed:
        run_check(check, uses)
    assert "program 'no-such-bench-tool' not found" in str(failed.value)
    assert "README.md:3: no-such-bench-tool --fast" in str(failed.value)
