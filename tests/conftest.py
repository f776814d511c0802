"""Shared fixtures: a throw-away book in a temporary folder."""

import fcntl
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tools.book import ROOT


def write_book(chapters: dict[str, str], root: Path) -> Path:
    """Chapters into ``root``/docs, in the nav in the order given (text dedented)."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    nav = "\n".join(f"  - {name}" for name in chapters)
    (root / "mkdocs.yml").write_text(f"site_name: probe\nnav:\n{nav}\n")
    for name, text in chapters.items():
        (root / "docs" / name).write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture
def make_book(tmp_path):
    """Write a small book: ``make_book({"a.md": "...", ...})`` -> its root.

    The chapters go into docs/ and into the nav, in the order given; their
    text is dedented, so tests can indent it.
    """

    def make(chapters: dict[str, str], root: Path = tmp_path) -> Path:
        return write_book(chapters, root)

    return make


@pytest.fixture
def book_copy(tmp_path):
    """A copy of this book (chapters, nav, package) to modify freely."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "micrograd", tmp_path / "micrograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path


@pytest.fixture
def run_pytest():
    """Run pytest with the book plugin on a throw-away book, in a subprocess."""

    def run(root: Path, *args: str) -> subprocess.CompletedProcess:
        (root / "pytest.ini").write_text("[pytest]\n")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "tools.pytest_book", "-q",
             "-p", "no:cacheprovider", str(root / "docs"), *args],
            cwd=root, env=env, capture_output=True, text=True, timeout=300,
        )

    return run


def mkdocs_build(root: Path, site: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=root, env=env, capture_output=True, text=True, timeout=900,
    )


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """This book's site, built strictly once per test session (with pytest-xdist,
    once for all workers: the first builds it, the others wait and share it)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("site")
        run = mkdocs_build(ROOT, out)
        assert run.returncode == 0, run.stderr[-3000:]
        return out
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "site.built").exists():
            run = mkdocs_build(ROOT, shared / "site")
            assert run.returncode == 0, run.stderr[-3000:]
            (shared / "site.built").touch()
    return shared / "site"
