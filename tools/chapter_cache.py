"""Chapter runs remembered between site builds, so a prose edit previews fast.

Running the chapters is most of the work of a site build, and `mkdocs serve`
rebuilds the whole site after every save. What a page needs from the run of
its chapter is small: that it passed, and the figures its blocks drew. Both
depend only on

* the chapter's Python blocks, in order: code, title, markers and expected
  output, but not their line numbers, so editing prose keeps the key;
* the chapter's prelude (the package code of the earlier chapters);
* the generated package files in micrograd/ (a block may import micrograd);
* the files its blocks name in string literals (``open("data/moons.csv")``),
  by content; a path the code builds at run time is not seen, so write
  such paths out;
* the versions of the packages its blocks and prelude import (a module of
  the book's own folder counts by its content), and which modules named by
  ``importorskip`` markers are installed;
* the Python version and the code of the book's tools.

A hash of these is the key. ``.cache/chapters/<chapter>.json`` holds the key
of the last run that passed and its figures, by block index. When the key
matches, the chapter is not run again. A failing run raises as before and
stores nothing, so a broken chapter fails every build until it is fixed.
Deleting ``.cache/`` is always safe.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

from tools.book import Block, find_root
from tools.runner import Result, run_chapter
from tools.tangle import PACKAGE

TOOLS = Path(__file__).resolve().parent
CACHE_DIR = Path(".cache") / "chapters"


def _installed(module: str | None) -> bool | None:
    if module is None:
        return None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _version(module: str, root: Path) -> str | None:
    """What stands for the code of an imported top-level module in the key."""
    dists = _distributions().get(module)
    if dists:
        return ", ".join(f"{d}=={importlib.metadata.version(d)}" for d in sorted(set(dists)))
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    origin = Path(spec.origin) if spec and spec.origin and spec.has_location else None
    if origin and origin.is_file() and root in origin.resolve().parents:
        return _digest(origin)  # the book's own module: its text
    return "built-in" if spec else None  # the standard library goes with sys.version


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _code_facts(code: str) -> tuple[set[str], set[str]]:
    """The top-level modules a piece of code imports, and the strings it holds."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set()
    modules, strings = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and 0 < len(node.value) < 300 and "\n" not in node.value:
            strings.add(node.value)
    return modules, strings


def _files_named(strings: set[str], chapter: Path, root: Path) -> dict[str, str]:
    """The files the strings name (from the working folder, the book or the chapter's
    folder), by content."""
    out = {}
    for text in sorted(strings):
        for base in (Path.cwd(), root, chapter.parent):
            try:
                path = (base / text).resolve()
                if path.is_file():
                    out[f"{base.name}/{text}"] = _digest(path)
            except (OSError, ValueError):
                continue
    return out


def chapter_key(chapter: Path, blocks: list[Block], prelude: str) -> str:
    """Hash of everything a run of ``chapter`` depends on (see the module doc)."""
    root = find_root(chapter)
    modules, strings = _code_facts(prelude)
    for b in blocks:
        more_modules, more_strings = _code_facts(b.code)
        modules |= more_modules
        strings |= more_strings
    parts = {
        "python": [sys.version, sys.implementation.name, sys.platform],
        "tools": [(p.name, p.read_text()) for p in sorted(TOOLS.glob("*.py"))],
        "prelude": prelude,
        "package": [(p.name, p.read_text()) for p in sorted((root / PACKAGE).glob("*.py"))],
        "modules": {m: _version(m, root) for m in sorted(modules)},
        "files": _files_named(strings, Path(chapter).resolve(), root),
        "blocks": [
            [b.code, b.title, b.expected_output, b.marks, b.importorskip,
             _installed(b.importorskip)]
            for b in blocks
        ],
    }
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def chapter_figures(chapter: Path, blocks: list[Block], prelude: str) -> dict[int, str]:
    """Run ``chapter`` (or recall its last passing run): {block line: SVG}.

    ``blocks`` and ``prelude`` are the chapter's (``tools.book.read_blocks``,
    ``tools.tangle.prelude``). Raises ``BlockFailure`` as the runner does.
    """
    chapter = Path(chapter)
    root = find_root(chapter)
    name = chapter.resolve().relative_to(root).as_posix().replace("/", "--")
    store = root / CACHE_DIR / f"{name}.json"
    key = chapter_key(chapter, blocks, prelude)
    try:
        saved = json.loads(store.read_text())
    except (OSError, ValueError):
        saved = {}
    if saved.get("key") == key:
        by_index = saved["figures"]
    else:
        by_index = {
            str(index): result.figure
            for index, result in enumerate(run_chapter(chapter))
            if isinstance(result, Result) and result.figure
        }
        # files the chapter writes are named in its code too: key them as the run left them
        _write(store, {"key": chapter_key(chapter, blocks, prelude), "figures": by_index})
    return {blocks[int(index)].line: svg for index, svg in by_index.items()}


def _write(path: Path, data: dict) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
