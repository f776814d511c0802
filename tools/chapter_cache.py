"""Chapter runs remembered between site builds, so a prose edit previews fast.

Running the chapters is most of the work of a site build, and `mkdocs serve`
rebuilds the whole site after every save. What a page needs from the run of
its chapter is small: that it passed, and the figures its blocks drew. Both
depend only on

* the chapter's Python blocks, in order: code, title, markers and expected
  output, but not their line numbers, so editing prose keeps the key;
* the chapter's prelude (the package code of the earlier chapters);
* the generated package files in micrograd/ (a block may import micrograd);
* the code of the runner, the Python version, and which modules named by
  ``importorskip`` markers are installed.

A hash of these is the key. ``.cache/chapters/<chapter>.json`` holds the key
of the last run that passed and its figures, by block index. When the key
matches, the chapter is not run again. A failing run raises as before and
stores nothing, so a broken chapter fails every build until it is fixed.
Deleting ``.cache/`` is always safe.
"""

from __future__ import annotations

import hashlib
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


def chapter_key(chapter: Path, blocks: list[Block], prelude: str) -> str:
    """Hash of everything a run of ``chapter`` depends on (see the module doc)."""
    root = find_root(chapter)
    parts = {
        "python": sys.version,
        "tools": [(TOOLS / name).read_text()
                  for name in ("book.py", "cell.py", "runner.py", "tangle.py")],
        "prelude": prelude,
        "package": [(p.name, p.read_text()) for p in sorted((root / PACKAGE).glob("*.py"))],
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
        _write(store, {"key": key, "figures": by_index})
    return {blocks[int(index)].line: svg for index, svg in by_index.items()}


def _write(path: Path, data: dict) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(tmp, path)
