"""Code a reader can paste into any Python prompt: the "Code so far" block.

The plain ``python`` prompt reads a compound statement (a class, a function)
until a blank line, so a blank line *inside* a class body ends the class
there, and a top-level line right after a class body, with no blank line
between them, is a syntax error. ``pasteable`` rewrites source so that both
cannot happen, and so that it still runs the same in a file, IPython and
Jupyter:

* blank lines inside an indented block are dropped (except inside a
  multi-line string, whose text they are);
* a top-level statement that follows an indented block gets one blank line
  before it;
* trailing spaces go, and the text ends with one newline.
"""

from __future__ import annotations

import io
import tokenize


def _string_lines(code: str) -> set[int]:
    """1-based numbers of the lines inside a multi-line string (not its first)."""
    inside: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    return inside


def pasteable(code: str) -> str:
    """``code`` rewritten to paste into a plain Python prompt (see the module doc)."""
    lines = [line.rstrip() for line in code.split("\n")]
    strings = _string_lines(code)
    out: list[str] = []
    in_block = False  # the last code line was indented (or opened a block)
    decorated = False  # the last code line was a decorator
    for number, line in enumerate(lines, start=1):
        if number in strings:
            out.append(line)
            continue
        if not line:
            continue  # blank lines are put back below where the prompt needs them
        top = not line[0].isspace()
        if top and not decorated and out and out[-1]:
            if in_block and not line.startswith(("#", ")", "]", "}")):
                out.append("")  # end the compound statement above
            elif _starts_block(line):
                out.append("")  # a blank line before a top-level def or class, for reading
        out.append(line)
        decorated = top and line.startswith("@")
        in_block = not top or line.endswith(":")
    return "\n".join(out).strip("\n") + "\n"


def _starts_block(line: str) -> bool:
    return line.startswith(("def ", "class ", "@", "async def "))
