"""Code, docs and config name no path outside the repository: a reader of a clone
must be able to follow every reference (the facts a stand-in models are in its
``FACTS.md``, the segment rules in ``docs/SEGMENTS.md``)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".py", ".md", ".toml", ".txt", ".yml", ".yaml", ".cfg", ".ini", ".sh", ".html"}
SKIP = {"venv", "__pycache__", "node_modules", "build", "dist"}

#: What a reference outside the repository looks like (this file is not scanned).
OUTSIDE = re.compile(
    r"/work/|\.\./shared|\bshared/|CRM_NOTES_\w+\.md|ARCHITECTURE\.md|STYLE\.md|PEERS\.md"
    r"|(?<!docs/)SEGMENTS\.md"
)


def _files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        hidden = any(p.startswith(".") and p != ".ci" for p in parts[:-1])
        if hidden or set(parts) & SKIP or any(p.endswith(".egg-info") for p in parts):
            continue
        if path == Path(__file__).resolve():
            continue
        if path.is_file() and (path.suffix in SUFFIXES or path.name in ("Dockerfile", "run")):
            found.append(path)
    return found


def test_the_walk_sees_the_tree():
    names = {p.relative_to(ROOT).as_posix() for p in _files()}
    assert {"README.md", "sync/cli.py", "pyproject.toml"} <= names


def test_no_reference_points_outside_the_repository():
    hits = [
        f"{path.relative_to(ROOT)}:{n}: {m.group(0)}"
        for path in _files()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if (m := OUTSIDE.search(line))
    ]
    assert not hits, "\n".join(hits)


def test_the_pattern_catches_what_it_should():
    assert OUTSIDE.search("see /work/shared/SEGMENTS.md")
    assert OUTSIDE.search("(../shared/STYLE.md)")
    assert OUTSIDE.search("the wire facts in CRM_NOTES_SALESFORCE.md")
    assert not OUTSIDE.search("connectors/sandbox/hubspot/FACTS.md")
    assert OUTSIDE.search('"""ABC classes (SEGMENTS.md "ABC").')
    assert not OUTSIDE.search('"""ABC classes (docs/SEGMENTS.md "ABC").')


def test_the_segment_rules_the_code_cites_are_in_the_repository():
    rules = ROOT / "docs" / "SEGMENTS.md"
    assert rules.read_text(encoding="utf-8").startswith("# Segment definitions")
