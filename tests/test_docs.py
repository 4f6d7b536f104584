"""The README and docs/ are one set of pages: every docs/ page is linked from the README, and
every link between them (and to the repository's files) resolves, anchors included; the files
docs/ holds that the history command makes are what the committed results/ give. Their
commands are checked by tests/test_readme_commands.py."""
from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from pipeline.commands.history import main as history_main
from pipeline.config import DEFAULT_CONFIG_PATH
from pipeline.judge.history.outputs import Outputs, write_history
from pipeline.judge.pareto import png_software

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("doc_links", ROOT / "scripts" / "doc_links.py")
assert _spec is not None and _spec.loader is not None
doc_links = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = doc_links
_spec.loader.exec_module(doc_links)


def test_there_are_docs_pages_and_the_readme_links_every_one() -> None:
    assert len(doc_links.documents()) > 5
    assert doc_links.unlinked_pages() == []


@pytest.mark.parametrize("page", doc_links.documents(), ids=lambda p: p.name)
def test_every_link_resolves(page: Path) -> None:
    assert doc_links.broken_links(page) == []


def test_a_broken_file_or_anchor_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# T\n## Install\nSee [a](docs/a.md#the-rules-x-y), [b](docs/b.md), [me](#install).\n"
        "```\n[not a link](nowhere.md)\n```\n`[code](nowhere.md)` and ![pic](docs/p.png)\n")
    (tmp_path / "docs" / "a.md").write_text("# A\n## The rules (`x` y)\n[up](../README.md#run)\n"
                                            "## Dup\n## Dup\n[d](#dup-1)\n")
    (tmp_path / "docs" / "c.md").write_text("# C\n")
    problems = [p for d in doc_links.documents(tmp_path)
                for p in doc_links.broken_links(d, tmp_path)]
    assert problems == [
        "README.md:3: docs/b.md: docs/b.md does not exist",
        "README.md:7: docs/p.png: docs/p.png does not exist",
        "docs/a.md:3: ../README.md#run: no heading with that anchor in README.md",
    ]
    assert doc_links.unlinked_pages(tmp_path) == ["docs/c.md"]


def _layout_tree() -> str:
    """docs/layout.md's tree of pipeline/, one block."""
    text = (ROOT / "docs" / "layout.md").read_text()
    return text.split("```\npipeline/", 1)[1].split("\ndocs/", 1)[0]


def test_the_layout_page_names_every_module_and_folder_of_the_package() -> None:
    """docs/layout.md is the map of pipeline/: a module or folder added or renamed without
    the map changing too fails here, and so does a name the map gives that no longer exists."""
    package = ROOT / "pipeline"
    on_disk = ({p.name for p in package.rglob("*.py")} - {"__init__.py", "__main__.py"}
               | {f"{p.name}/" for p in package.rglob("*") if p.is_dir()
                  and p.name != "__pycache__"})
    named = set(re.findall(r"(?<![\w/.])[a-z_][a-z0-9_]*(?:\.py|/)(?![\w/])", _layout_tree()))
    assert sorted(on_disk - named) == []
    assert sorted(named - on_disk) == []


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tables made from the committed results/, in a temporary folder: `bench history`'s
    files without its pictures (drawing them is 10 of its 11 s: the slow lane compares them)."""
    out_dir = tmp_path_factory.mktemp("docs")
    write_history(ROOT / "results", Outputs(out_dir), DEFAULT_CONFIG_PATH, pictures=False)
    return out_dir


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every file made from the committed results/, pictures included, in a temporary folder."""
    out_dir = tmp_path_factory.mktemp("docs")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = history_main([str(ROOT / "results"), "--out", str(out_dir)])
    assert code == 0, err.getvalue()
    yield out_dir


REGENERATE = "bench history results --out docs"
TABLES = ["history.csv", "pareto.csv", "pareto-ds_cnn.csv", "pareto-mobilenet_v3_small.csv"]


@pytest.mark.parametrize("name", TABLES)
def test_committed_tables_are_what_the_committed_results_give(tables: Path, name: str) -> None:
    """Fails when the code or results/ changed and docs/ was not regenerated: run REGENERATE."""
    assert (tables / name).read_bytes() == (ROOT / "docs" / name).read_bytes(), (
        f"docs/{name} is stale: {REGENERATE}")


@pytest.mark.slow
def test_the_command_writes_the_same_tables_with_its_pictures(regenerated: Path,
                                                             tables: Path) -> None:
    """What the fast lane compares (the tables alone) is what `bench history` writes."""
    for name in TABLES:
        assert (regenerated / name).read_bytes() == (tables / name).read_bytes(), name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["history.png", "pareto.png", "history-ds_cnn.png",
                                  "pareto-ds_cnn.png", "history-mobilenet_v3_small.png",
                                  "pareto-mobilenet_v3_small.png"])
def test_committed_pictures_are_what_the_committed_results_give(regenerated: Path,
                                                                name: str) -> None:
    """Byte for byte, where they can be: PNG bytes are reproducible for one matplotlib (which
    renders, with its own bundled FreeType) and one Pillow (which compresses) — two runs and two
    checkouts gave identical files with matplotlib 3.11.2 and Pillow 13.0.0. Other versions draw
    or compress differently, so with other versions than those the committed picture names in
    its Software text this is skipped (the tables above are still compared)."""
    committed = ROOT / "docs" / name
    made_with = Image.open(committed).info.get("Software")
    if made_with != png_software():
        pytest.skip(f"docs/{name} was made with {made_with!r}, this is {png_software()!r}")
    assert (regenerated / name).read_bytes() == committed.read_bytes(), (
        f"docs/{name} is stale: {REGENERATE}")
