"""Shared fixtures: a throw-away book in a temporary folder."""

import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def make_book(tmp_path):
    """Write a small book: ``make_book({"a.md": "...", ...})`` -> its root.

    The chapters go into docs/ and into the nav, in the order given; their
    text is dedented, so tests can indent it.
    """

    def make(chapters: dict[str, str], root: Path = tmp_path) -> Path:
        (root / "docs").mkdir(parents=True, exist_ok=True)
        nav = "\n".join(f"  - {name}" for name in chapters)
        (root / "mkdocs.yml").write_text(f"site_name: probe\nnav:\n{nav}\n")
        for name, text in chapters.items():
            (root / "docs" / name).write_text(textwrap.dedent(text).lstrip())
        return root

    return make
