"""The chapter runner: a chapter is a session, like a notebook run top to bottom.

A session is one namespace. It starts with the chapter's prelude (the
package code of the earlier chapters, see ``tools.tangle.prelude``), then
runs the chapter's Python blocks in order. For each block it

* honours ``pytest.mark.skipif(...)``/``pytest.mark.skip`` and
  ``importorskip(...)`` markers (a skipped block is reported, with its reason);
* runs it with ``tools.cell.run``, the code the page runs it with too: what
  the block prints is captured; if it ends in an expression, that value is
  shown as a notebook would: a Graphviz graph or a matplotlib figure becomes
  an SVG figure, anything else is printed with ``repr``;
* compares the output with the block's ``expected-output`` block, if any.

Code is compiled with the chapter's file name and line numbers, so a
traceback points at the line of the Markdown file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tools import cell
from tools.book import Block, BookError, read_blocks, rel
from tools.tangle import prelude


class BlockFailure(Exception):
    """A block raised, or printed something other than its expected output."""

    def __init__(self, block: Block, message: str):
        self.block = block
        super().__init__(f"{block.where}: {message}")


class BlockSkipped(Exception):
    def __init__(self, block: Block, reason: str):
        self.block, self.reason = block, reason
        super().__init__(f"{block.where}: skipped: {reason}")


@dataclass
class Result:
    block: Block
    output: str
    figure: str | None = None  # SVG markup


def skip_reason(block: Block) -> str | None:
    """Why the block's markers say it must not run here, or None."""
    import pytest

    for text in block.marks:
        mark = eval(text, {"sys": sys, "pytest": pytest})
        if mark.name == "skip":
            return mark.kwargs.get("reason", "marked pytest.mark.skip")
        if mark.name == "skipif":
            if any(mark.args):
                return mark.kwargs.get("reason") or f"skipif{mark.args}"
    if block.importorskip:
        try:
            __import__(block.importorskip)
        except ImportError:
            return f"{block.importorskip} is not installed"
    return None


class Session:
    """One namespace in which blocks run in order (``tools.cell`` runs each)."""

    def __init__(self, prelude_code: str = "", origin: str = "<prelude>"):
        self.namespace = cell.new_namespace(prelude_code, origin)

    def run(self, block: Block) -> Result:
        reason = skip_reason(block)
        if reason is not None:
            raise BlockSkipped(block, reason)
        try:
            output, figure = cell.run(block.code, self.namespace, rel(block.chapter), block.line)
        except cell.CellError as err:
            if err.kind == "syntax":
                message = f"syntax error at line {err.exc.lineno}: {err.exc.msg}"
            elif err.kind == "raised":
                message = f"the block raised {type(err.exc).__name__}: {err.exc}\n{err.text}"
            else:
                message = err.text
            raise BlockFailure(block, message) from err.exc
        if block.expected_output is not None and output != block.expected_output:
            raise BlockFailure(block, output_diff(block.expected_output, output))
        return Result(block, output, figure)


def output_diff(expected: str, got: str) -> str:
    import difflib

    lines = difflib.unified_diff(
        expected.splitlines(keepends=True), got.splitlines(keepends=True),
        "expected output (in the chapter)", "actual output",
    )
    return "the output differs from the expected-output block:\n" + "".join(lines)


def chapter_session(chapter: Path) -> Session:
    return Session(prelude(chapter), f"<prelude of {rel(chapter)}>")


def run_chapter(chapter: Path) -> list[Result | BlockSkipped]:
    """Run a chapter alone after its prelude; the first failure raises."""
    session = chapter_session(chapter)
    results = []
    for block in read_blocks(chapter):
        try:
            results.append(session.run(block))
        except BlockSkipped as skipped:
            results.append(skipped)
    return results


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.runner docs/nn.md``: run a chapter, show every output.

    For writing a chapter: each block's actual output is printed, marked
    where it differs from the block's expected-output (or has none), so it
    can be pasted into the chapter once it is what the text says.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.runner",
                                     description=main.__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        return _show(args.chapters)
    except BookError as exc:
        print(f"== {exc}")
        return 2


def _show(chapters: list[Path]) -> int:
    status = 0
    for chapter in chapters:
        session = chapter_session(chapter)
        for block in read_blocks(chapter):
            expected, block.expected_output = block.expected_output, None
            try:
                result = session.run(block)
            except BlockSkipped as exc:
                print(f"== {block.where}: skipped ({exc.reason})")
                continue
            except BlockFailure as exc:
                print(f"== {exc}")
                return 1
            if expected is None:
                state = "no expected-output" if result.output else "no output"
            else:
                state = "ok" if expected == result.output else "DIFFERS"
                status |= expected != result.output
            figure = f", figure of {len(result.figure)} bytes" if result.figure else ""
            print(f"== {block.where}: {state}{figure}")
            if result.output and state != "ok":
                print(result.output, end="" if result.output.endswith("\n") else "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
