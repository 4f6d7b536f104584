"""Check the links of the README and docs/*.md: every relative link names a file that exists,
every #anchor a heading of its page, and every docs/ page is linked from the README.

    python scripts/doc_links.py          # one line per broken link; exit 1 if there is any

`tests/test_docs.py` runs the same checks, so a moved section or a renamed heading fails the
tests with the line that links to it.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def documents(root: Path = ROOT) -> list[Path]:
    """The README and every docs/ page."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _prose(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of the lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings (a repeated heading gets -1, -2, ... as on GitHub)."""
    seen: Counter[str] = Counter()
    found = set()
    for _, line in _prose(path):
        match = _HEADING.match(line)
        if match:
            base = slug(match.group(1))
            found.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def links(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, target) of every markdown link and image outside code."""
    for number, line in _prose(path):
        for match in _LINK.finditer(_CODE_SPAN.sub("", line)):
            yield number, match.group(1) or match.group(2)


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """`docs/gate.md:12: latency.md#nope: no heading with that anchor in docs/latency.md`, one
    per broken link of `path`; links to other sites are not followed."""
    problems = []
    for number, target in links(path):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        name, _, anchor = target.partition("#")
        file = (path.parent / name).resolve() if name else path
        where = f"{path.relative_to(root)}:{number}: {target}"
        if not file.exists():
            problems.append(f"{where}: {name} does not exist")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            problems.append(f"{where}: no heading with that anchor in {file.relative_to(root)}")
    return problems


def unlinked_pages(root: Path = ROOT) -> list[str]:
    """docs/ pages the README does not link to: a page nobody can find."""
    linked = {(root / target.partition("#")[0]).resolve()
              for _, target in links(root / "README.md")}
    return [str(page.relative_to(root)) for page in documents(root)[1:]
            if page.resolve() not in linked]


def main() -> int:
    problems = [p for doc in documents() for p in broken_links(doc)]
    problems += [f"{page}: not linked from README.md" for page in unlinked_pages()]
    print("\n".join(problems) or f"{len(documents())} pages, every link resolves")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
