"""Lint the chapters' code with ruff: ``python -m tools.lint_chapters [docs/nn.md ...]``.

Ruff cannot read Markdown, so each chapter's Python blocks are handed to it
as one Python file in which every block sits at its own line numbers (the
lines between blocks are left blank), named after the chapter. Ruff's
findings then name the chapter file and the line of the Markdown source,
with nothing to translate back. Columns count from the block's indentation.

A chapter runs after its prelude, so the names the prelude defines (the
package code of the earlier chapters) count as defined here. Ruff's settings
come from pyproject.toml; its ``docs/**`` entry relaxes two rules for
chapters. With no argument, every chapter of the nav is linted. The exit
status is ruff's: 0 when all is clean.

It also checks what ruff cannot know: a block that imports a module the
in-page Python lacks (``tools.book.NOT_IN_PAGE``) must say so with a marker
(``importorskip`` or ``<!--page: skip ...-->``), or its Run button would fail
for every reader.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tools.book import NOT_IN_PAGE, ROOT, BookError, chapters, find_root, read_blocks, rel
from tools.tangle import prelude

RUFF = Path(sys.executable).with_name("ruff")


def chapter_source(chapter: Path) -> str:
    """The chapter's Python blocks, each at its line numbers in the chapter."""
    lines: list[str] = []
    for block in read_blocks(chapter):
        # the code starts on the line after the opening fence
        lines += [""] * max(block.line - len(lines), 0)
        lines += block.code.splitlines()
    return "\n".join(lines) + "\n"


def defined_names(code: str) -> list[str]:
    """Top-level names that running ``code`` defines."""
    names = set()
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return sorted(names)


def page_findings(chapter: Path) -> list[str]:
    """Blocks that import what the page lacks, without a marker saying so."""
    found = []
    for block in read_blocks(chapter):
        if block.page_reason is not None:
            continue
        try:
            tree = ast.parse(block.code)
        except SyntaxError:
            continue  # the runner reports it, with its line
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                top = name.split(".")[0]
                if top in NOT_IN_PAGE:
                    found.append(
                        f"{rel(chapter)}:{block.line + node.lineno}: imports {top}, which the "
                        "in-page Python does not have; put <!--page: skip REASON--> (or "
                        f"<!--pytest-codeblocks:importorskip({top})-->) above the block")
    return found


def lint(chapter: Path) -> subprocess.CompletedProcess:
    """Run ruff on one chapter's code; its output names the chapter and line."""
    root = find_root(chapter)
    source = chapter_source(chapter)
    builtins = defined_names(prelude(chapter))
    return subprocess.run(
        [str(RUFF), "check", "--no-fix", "--output-format", "concise", "--quiet",
         "--extension", "md:python", "--config", f"builtins = {json.dumps(builtins)}",
         "--stdin-filename", rel(chapter), "-"],
        input=source, cwd=root, capture_output=True, text=True,
    )


def main(argv: list[str] | None = None) -> int:
    paths = [Path(a) for a in (sys.argv[1:] if argv is None else argv)]
    status = 0
    try:
        for chapter in paths or chapters(ROOT):
            run = lint(chapter)
            sys.stdout.write(run.stdout)
            sys.stderr.write(run.stderr)
            status = max(status, run.returncode)
            for finding in page_findings(chapter):
                print(finding)
                status = max(status, 1)
    except BookError as exc:
        print(f"lint: {exc}", file=sys.stderr)
        return 2
    if status == 0:
        print(f"lint: the code of {len(paths or chapters(ROOT))} chapters is clean")
    return status


if __name__ == "__main__":
    sys.exit(main())
