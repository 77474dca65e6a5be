"""The documentation stands alone: every relative link in README.md, CONTRIBUTING.md and docs/*.md
leads to a file of this repository (and, with a ``#fragment``, to a heading of that file), and no
document points outside it (the shared folder, a specification kept elsewhere)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
OUTSIDE = re.compile(r"\.\./shared|SPEC\.md|SPEC §", re.IGNORECASE)


def _prose(text: str) -> str:
    """The text without its fenced code blocks (shell sessions, JSON), where `[x](y)` is not a link."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def links(text: str) -> list[str]:
    prose = _prose(text)
    return [m.group(1) for m in INLINE_LINK.finditer(prose)] + [m.group(1) for m in REFERENCE_LINK.finditer(prose)]


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for m in HEADING.finditer(_prose(path.read_text(encoding="utf-8"))):
        base = slug(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def broken_links(doc: Path, root: Path = ROOT) -> list[str]:
    """Every relative link of ``doc`` that leads nowhere inside ``root``, with the reason."""
    problems = []
    for target in links(doc.read_text(encoding="utf-8")):
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
            continue
        path_part, _, fragment = target.partition("#")
        dest = (doc.parent / unquote(path_part)).resolve() if path_part else doc
        if not dest.is_relative_to(root):
            problems.append(f"{target}: outside the repository")
            continue
        if not dest.exists():
            problems.append(f"{target}: no such file")
            continue
        if fragment and dest.is_file() and dest.suffix == ".md" and unquote(fragment) not in anchors(dest):
            problems.append(f"{target}: no heading #{fragment} in {dest.relative_to(root)}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_of_the_repository(doc: Path) -> None:
    assert doc.is_file(), f"{doc.relative_to(ROOT)} is missing"
    assert broken_links(doc) == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_document_points_outside_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    hits = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert hits == [], "explain it in docs/ instead of pointing to a document outside the repository"


def test_the_checker_finds_what_is_broken(tmp_path: Path) -> None:
    """The checks above can fail: a missing file, a missing heading, a path that leaves the
    repository and a link to the shared folder are each reported; code blocks and URLs are not."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "GUIDE.md").write_text(
        "# Guide\n\n## 15. Rules every endpoint keeps\n\n## Money\n\n## Money\n"
    )
    doc = tmp_path / "README.md"
    doc.write_text(
        "[guide](docs/GUIDE.md) [rules](docs/GUIDE.md#15-rules-every-endpoint-keeps) [again](docs/GUIDE.md#money-1)\n"
        "[`top`](#readme) [web](https://example.org/x.md) [missing](docs/NOPE.md)\n"
        "[bad anchor](docs/GUIDE.md#no-such-heading) [outside](../shared/SPEC.md)\n"
        "```\n[in code](not/a/link.md)\n```\n# README\n[ref]: docs/ALSO_MISSING.md\n"
    )
    assert broken_links(doc, root=tmp_path) == [
        "docs/NOPE.md: no such file",
        "docs/GUIDE.md#no-such-heading: no heading #no-such-heading in docs/GUIDE.md",
        "../shared/SPEC.md: outside the repository",
        "docs/ALSO_MISSING.md: no such file",
    ]
    assert OUTSIDE.search(doc.read_text())
