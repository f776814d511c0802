"""Chapter runs remembered between site builds, so a prose edit previews fast.

Running the chapters is most of the work of a site build, and `mkdocs serve`
rebuilds the whole site after every save. What a page needs from the run of
its chapter is small: that it passed, and the figures its blocks drew. The
tests that compare the page, the notebooks and the site with the build's run
also need what each block printed. All of it depends only on

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
* the Python version, the code of the book's tools, and the version of
  Graphviz's ``dot``, which draws the figures.

A hash of these is the key. ``.cache/chapters/<chapter>.json`` holds the key
of the last run that passed and each block's output and figure, in order.
When the key matches, the chapter is not run again. A failing run raises as before and
stores nothing, so a broken chapter fails every build until it is fixed.
Deleting ``.cache/`` is always safe.
"""

from __future__ import annotations

import ast
import fcntl
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tools.book import Block, find_root, read_blocks
from tools.runner import BlockSkipped, Result, run_chapter
from tools.tangle import PACKAGE, prelude

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


@functools.lru_cache(maxsize=1)
def _graphviz() -> str:
    """The version of Graphviz's ``dot``, which draws the figures."""
    try:
        return subprocess.run(["dot", "-V"], capture_output=True, text=True,
                              timeout=30).stderr.strip()
    except (OSError, subprocess.SubprocessError):
        return "none"


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
        "graphviz": _graphviz(),
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


def chapter_results(chapter: Path, blocks: list[Block] | None = None,
                    prelude_code: str | None = None) -> list[Result | BlockSkipped]:
    """``tools.runner.run_chapter``, or the results of its last passing run
    with the same key: one ``Result`` or ``BlockSkipped`` per block.

    ``blocks`` and ``prelude_code`` are the chapter's (``tools.book.read_blocks``,
    ``tools.tangle.prelude``), read here when not given. Raises ``BlockFailure``
    as the runner does, and then stores nothing.
    """
    chapter = Path(chapter)
    blocks = read_blocks(chapter) if blocks is None else blocks
    prelude_code = prelude(chapter) if prelude_code is None else prelude_code
    root = find_root(chapter)
    name = chapter.resolve().relative_to(root).as_posix().replace("/", "--")
    store = root / CACHE_DIR / f"{name}.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    # one run at a time per chapter: a build and tests asking at once share it
    with open(store.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = chapter_key(chapter, blocks, prelude_code)
        try:
            saved = json.loads(store.read_text())
        except (OSError, ValueError):
            saved = {}
        if saved.get("key") == key and len(saved.get("results", ())) == len(blocks):
            return [BlockSkipped(block, kept["skipped"]) if "skipped" in kept
                    else Result(block, kept["output"], kept["figure"])
                    for block, kept in zip(blocks, saved["results"], strict=True)]
        results = run_chapter(chapter)
        kept = [{"skipped": r.reason} if isinstance(r, BlockSkipped)
                else {"output": r.output, "figure": r.figure} for r in results]
        # files the chapter writes are named in its code too: key them as the run left them
        _write(store, {"key": chapter_key(chapter, blocks, prelude_code), "results": kept})
        return results


def chapter_figures(chapter: Path, blocks: list[Block], prelude_code: str) -> dict[int, str]:
    """{block line: SVG} of ``chapter_results``: the figures its blocks draw."""
    return {result.block.line: result.figure
            for result in chapter_results(chapter, blocks, prelude_code)
            if isinstance(result, Result) and result.figure}


def _write(path: Path, data: dict) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
