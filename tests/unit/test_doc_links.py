"""Every relative link in the README and docs/ points at a file that exists (and at a heading that
exists, when it names one); no document points outside the repository."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", ".tools", ".aws-sam", ".pollen", "node_modules", ".pytest_cache"}

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
HTML_LINK = re.compile(r"""<(?:a|img)\s[^>]*?(?:href|src)=["']([^"']+)["']""", re.IGNORECASE)
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


def markdown_files(root: Path = ROOT) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.md")
        if not SKIPPED_DIRS.intersection(path.relative_to(root).parts[:-1])
    )


def _prose(text: str) -> str:
    """The text without fenced code blocks and code spans (their brackets are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"[`*_~]|<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        candidate, n = base, 0
        while candidate in found:
            n += 1
            candidate = f"{base}-{n}"
        found.add(candidate)
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Relative links in ``path`` whose file (or heading) does not exist, or that leave ``root``."""
    text = _prose(path.read_text())
    targets = INLINE_LINK.findall(text) + REFERENCE_LINK.findall(text) + HTML_LINK.findall(text)
    broken: list[str] = []
    for target in targets:
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(root.resolve()):
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {resolved.name})")
    return broken


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken_links(path) == []


def test_the_readme_and_the_design_are_checked() -> None:
    checked = {path.relative_to(ROOT).as_posix() for path in markdown_files()}
    assert {"README.md", "docs/design.md", "docs/template.md"} <= checked


def _files() -> list[Path]:
    """The repository's files, without descending into the skipped (installed, generated) folders."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        found.extend(Path(folder) / name for name in files)
    return found


def test_nothing_in_the_repository_points_at_the_shared_notes_users_never_get() -> None:
    forbidden = re.compile("/work/" + "shared|\\.\\./" + "shared/")
    offenders = [
        str(path.relative_to(ROOT))
        for path in _files()
        if path.suffix in {".md", ".py", ".yaml", ".yml", ".toml", ".txt", ".json", ".ts", ".html"}
        and forbidden.search(path.read_text(errors="ignore"))
    ]
    assert offenders == []


def test_the_checker_finds_a_missing_file_a_missing_heading_and_an_escape(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# A `code` heading (with notes)\n\n## Same\n\n## Same\n")
    doc = tmp_path / "README.md"
    doc.write_text(
        "[ok](docs/there.md) [ok](docs/there.md#a-code-heading-with-notes) [ok](docs/there.md#same-1)\n"
        "[ok](#top) [web](https://example.com/missing.md) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n"
        "# Top\n"
        "[gone](docs/gone.md) [bad anchor](docs/there.md#nowhere) [escape](../outside.md)\n"
        "[ref]: docs/also-gone.md\n"
    )
    (tmp_path.parent / "outside.md").touch()
    assert broken_links(doc, tmp_path) == [
        "docs/gone.md (no such file)",
        "docs/there.md#nowhere (no heading #nowhere in there.md)",
        "../outside.md (outside the repository)",
        "docs/also-gone.md (no such file)",
    ]
