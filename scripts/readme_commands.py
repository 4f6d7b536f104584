"""The shell commands the README tells a user to run, read from the README itself.

A command is found in three places: every line of a ```bash block, a `$ `-prompted line of any
other fenced block (the pasted sessions), and an inline code span that starts with one of the
project's programs (`tox -e tf220`, `bench-compare ...`). Continued lines (trailing backslash)
are joined, comments dropped, and `a && b`, `a; b`, `a | b` split into their commands.

    python scripts/readme_commands.py                  # every command, with its README line
    python scripts/readme_commands.py --section Install --script
                                                       # that section's ```bash lines, as a script

`tests/test_readme_commands.py` checks that each command's program is there after the README's
install; the GitHub workflow installs with `--section Install --script`, so the README stays the
one copy of the install steps.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

# An inline code span is taken as a command only when it starts with one of these programs
# (after optional VAR=value assignments): prose spans such as `bench compare` or
# `--format markdown` are not commands.
INLINE_PROGRAMS = ("python", "python3", "pytest", "tox", "pip", "bash", "bench-compare",
                   "bench-history", "bench-upgrade")
# Shell builtins a README line may use: nothing to install for them.
SHELL_BUILTINS = frozenset({".", "source", "cd", "export", "set", "echo"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_FENCE = re.compile(r"^\s*```(\w*)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")


@dataclass(frozen=True)
class Command:
    """One command of the README: its words, where it is, and the text it came from."""

    words: tuple[str, ...]  # the command without VAR=value prefixes
    line: int  # 1-based line of the README where it starts
    section: str  # the nearest heading above it
    text: str  # the README text it was read from (joined, prompt stripped)

    @property
    def program(self) -> str:
        return self.words[0]


def split_commands(text: str) -> list[tuple[str, ...]]:
    """The simple commands of one shell line, each without leading VAR=value assignments."""
    try:
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: a plain split still names the program
        tokens = text.split()
    commands: list[tuple[str, ...]] = []
    current: list[str] = []
    for token in [*tokens, ";"]:
        if token in _SEPARATORS:
            while current and _ASSIGNMENT.match(current[0]):
                current.pop(0)
            if current:
                commands.append(tuple(current))
            current = []
        else:
            current.append(token)
    return commands


def _logical_lines(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Join backslash-continued lines; yield (first line number, joined text)."""
    start, parts = 0, list[str]()
    for number, text in lines:
        if not parts:
            start = number
        if text.rstrip().endswith("\\"):
            parts.append(text.rstrip()[:-1])
            continue
        parts.append(text)
        yield start, " ".join(part.strip() for part in parts)
        parts = []
    if parts:
        yield start, " ".join(part.strip() for part in parts)


def _shell_lines(markdown: str) -> Iterator[tuple[int, str, str, str]]:
    """(line number, section, shell text, kind) of every command-bearing line; kind is `bash`
    (a ```bash block), `prompt` (a `$ ` line of another block) or `inline` (a code span)."""
    section = ""
    fence: str | None = None  # the info string of the open fenced block, None outside one
    block: list[tuple[int, str]] = []
    for number, raw in enumerate(markdown.splitlines(), start=1):
        opening = _FENCE.match(raw)
        if fence is None:
            if opening:
                fence, block = opening.group(1), []
                continue
            heading = _HEADING.match(raw)
            if heading:
                section = heading.group(2)
                continue
            for span in _INLINE.findall(raw):
                yield number, section, span, "inline"
            continue
        if raw.strip() == "```":
            if fence in ("bash", "sh", "shell", "console"):
                for start, text in _logical_lines(block):
                    text = text.strip()
                    text = text[2:] if text.startswith("$ ") else text
                    if text and not text.startswith("#"):
                        yield start, section, text, "bash"
            else:
                prompted = [(n, t.strip()[2:]) for n, t in block if t.strip().startswith("$ ")]
                # a prompted line's continuation lines follow it unprompted
                for n, t in prompted:
                    following = [(m, s) for m, s in block if m > n]
                    joined = [(n, t)]
                    for m, s in following:
                        if not joined[-1][1].rstrip().endswith("\\"):
                            break
                        joined.append((m, s))
                    for start, text in _logical_lines(joined):
                        yield start, section, text, "prompt"
            fence = None
            continue
        block.append((number, raw))


def readme_commands(path: Path = README) -> list[Command]:
    """Every command the README at `path` tells a user to run, in README order."""
    found: list[Command] = []
    for line, section, text, kind in _shell_lines(path.read_text(encoding="utf-8")):
        for words in split_commands(text):
            if kind == "inline" and words[0] not in INLINE_PROGRAMS:
                continue
            found.append(Command(words, line, section, text))
    return found


def section_script(section: str, path: Path = README) -> str:
    """The ```bash lines of one README section (by heading text), as a script."""
    lines = [text for _, name, text, kind in _shell_lines(path.read_text(encoding="utf-8"))
             if kind == "bash" and name == section]
    if not lines:
        raise SystemExit(f"readme_commands: no bash block under a heading {section!r} in {path}")
    return "\n".join(["set -euxo pipefail", *lines]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", type=Path, default=README, help="default: the README.md")
    parser.add_argument("--section", help="only the commands under this heading")
    parser.add_argument("--script", action="store_true",
                        help="print the section's ```bash lines as a bash script")
    args = parser.parse_args(argv)
    if args.script:
        if not args.section:
            parser.error("--script needs --section")
        sys.stdout.write(section_script(args.section, args.readme))
        return 0
    for command in readme_commands(args.readme):
        if args.section is None or command.section == args.section:
            print(f"{args.readme.name}:{command.line}: {shlex.join(command.words)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
