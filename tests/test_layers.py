"""The package's layers flow one way: a module imports only from its own layer and the ones
before it, so a change to the judge cannot break a build, and the measuring code never reads
results files.

The order is the story a run tells (docs/layout.md): the data, the workloads, the variants
built from them, the threshold config, what a model costs (measure), one run, its results CSV,
the judge that reads runs back, then the suite's session and the upgrade, and the commands
(pipeline/commands/, one module per command).
Every import counts, also one inside a function: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"

#: The layers, in order; each entry a file or a folder (all its modules), relative to the
#: package. A module may import modules of its own layer and of earlier ones.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("__init__.py", "tfenv.py", "console.py")),
    ("data", ("data.py", "mnist.py")),
    ("workloads", ("recipe.py", "workload.py", "workloads")),
    ("variants", ("variants",)),
    ("config", ("config.py", "options.py", "identity.py")),
    ("measure", ("measure",)),
    ("run", ("run",)),
    ("results", ("results",)),
    ("judge", ("judge",)),
    ("suite", ("suite",)),
    ("upgrade", ("upgrade",)),
    ("commands", ("commands", "__main__.py")),
)


def layer_of(path: Path, package: Path = PACKAGE) -> int:
    """The index in LAYERS of the module at `path`; ValueError for a module no layer holds."""
    relative = path.relative_to(package)
    for index, (_, members) in enumerate(LAYERS):
        for member in members:
            if relative == Path(member) or Path(member) in relative.parents:
                return index
    raise ValueError(f"{relative} is in no layer of tests/test_layers.py LAYERS: add it")


def module_path(name: str, package: Path = PACKAGE) -> Path | None:
    """The file of module `name` (pipeline.x.y) in `package`, None when it is not a module."""
    parts = name.split(".")[1:]
    base = package.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and candidate.is_file():
            return candidate
    return package / "__init__.py" if not parts else None


def imported_modules(path: Path, package: Path = PACKAGE) -> list[tuple[int, Path]]:
    """(line, file) of every module of the package that the module at `path` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = package.name
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pipeline import tfenv` imports the module tfenv; `from pipeline.x import
            # NAME` the module pipeline.x.
            names = [f"{node.module}.{alias.name}" if module_path(
                f"{node.module}.{alias.name}", package) else node.module for alias in node.names]
        for imported in names:
            if imported == name or imported.startswith(name + "."):
                target = module_path(imported, package)
                if target is not None:
                    found.append((node.lineno, target))
    return found


def violations(package: Path = PACKAGE) -> list[str]:
    """One line per import of a later layer: where, what, and both layers."""
    lines = []
    for path in sorted(package.rglob("*.py")):
        own = layer_of(path, package)
        for line, target in imported_modules(path, package):
            theirs = layer_of(target, package)
            if theirs > own:
                lines.append(f"{path.relative_to(package.parent)}:{line} imports "
                             f"{target.relative_to(package.parent)}: layer {LAYERS[own][0]} "
                             f"may not import the later layer {LAYERS[theirs][0]}")
    return lines


def test_no_module_imports_a_later_layer() -> None:
    found = violations()
    assert not found, "imports against the layers' direction:\n" + "\n".join(found)


def test_every_module_is_in_a_layer() -> None:
    for path in PACKAGE.rglob("*.py"):
        layer_of(path)


@pytest.mark.parametrize("statement", [
    "from pipeline.judge.rules import verdict",
    "import pipeline.judge.rules",
    "from pipeline import judge",
    "def later(): from pipeline.judge import rules",
])
def test_an_import_of_a_later_layer_is_found(tmp_path: Path, statement: str) -> None:
    """The check itself: a measuring module that imports the judge is reported, with the
    line, however the import is spelled."""
    package = tmp_path / "pipeline"
    for module in ("__init__.py", "measure/__init__.py", "measure/latency.py",
                   "judge/__init__.py", "judge/rules.py"):
        (package / module).parent.mkdir(parents=True, exist_ok=True)
        (package / module).write_text("")
    (package / "measure" / "latency.py").write_text(f"import os\n{statement}\n")
    (found,) = violations(package)
    assert found.startswith("pipeline/measure/latency.py:2 imports pipeline/judge/")
    assert found.endswith("layer measure may not import the later layer judge")


def test_no_module_imports_a_command_module() -> None:
    """A command module parses, calls and prints; what it computes lives in its layer, so no
    module (another command included) imports one. Only `python -m pipeline` imports the
    commands' dispatcher."""
    commands = PACKAGE / "commands"
    found = [f"{path.relative_to(PACKAGE.parent)}:{line} imports "
             f"{target.relative_to(PACKAGE.parent)}"
             for path in sorted(PACKAGE.rglob("*.py"))
             for line, target in imported_modules(path)
             if target.is_relative_to(commands)
             and (path, target) != (PACKAGE / "__main__.py", commands / "__init__.py")]
    assert found == []


#: The most lines a module of the package may have: past it, a module holds more than one job
#: (the two that grew to ~500 were each split along their seams).
MAX_MODULE_LINES = 400


def test_no_module_is_over_the_line_budget() -> None:
    long = {str(path.relative_to(PACKAGE)): lines for path in sorted(PACKAGE.rglob("*.py"))
            if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}, f"over {MAX_MODULE_LINES} lines: split along a seam"
