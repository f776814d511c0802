"""How a block runs and how its result is shown, for the build and the page.

One implementation: the chapter runner (``tools.runner``, CPython, at build
and in the tests) and the in-page runtime (Pyodide, in the reader's browser)
both call ``run`` below, so a reader who presses Run sees what the build
checked. This file uses the standard library only, because the site ships it
to the browser as it is (``tools.page_runtime`` packs it into a wheel).

A block runs like a notebook cell: what it prints is its output; if it ends
in an expression, the value is shown too, as an SVG figure when it is a
Graphviz graph or a matplotlib figure, else with ``repr``.
"""

from __future__ import annotations

import ast
import contextlib
import io
import linecache
import os
import traceback

# How a Graphviz graph's DOT source becomes SVG. None: the graph's own
# ``pipe()``, which runs Graphviz's ``dot`` program (the build). The page sets
# it to Graphviz compiled to WebAssembly, since a browser has no ``dot``.
render_dot = None


class CellError(Exception):
    """The block did not run to the end.

    ``kind`` is ``"syntax"`` (it does not parse), ``"raised"`` (it raised) or
    ``"figure"`` (its figure failed to render); ``text`` is what a reader sees:
    a traceback starting at the block's own code; ``printed`` is what the
    block printed before it stopped.
    """

    def __init__(self, kind: str, exc: BaseException, text: str, printed: str = ""):
        self.kind, self.exc, self.text, self.printed = kind, exc, text, printed
        super().__init__(text)


class _Output(io.TextIOBase):
    """Collects what a block prints, and passes each piece on as it comes."""

    def __init__(self, write=None):
        self.parts: list[str] = []
        self.passed_on = write

    def writable(self):
        return True

    def write(self, text):
        self.parts.append(text)
        if self.passed_on is not None:
            self.passed_on(text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


def to_svg(value) -> str | None:
    """SVG markup of a displayable figure, or None if ``value`` is not one."""
    if hasattr(value, "pipe") and hasattr(value, "source"):  # graphviz
        if render_dot is None:
            svg = value.pipe(format="svg", encoding="utf-8")
        else:
            svg = render_dot(value.source)
    elif type(value).__name__ == "Figure" and hasattr(value, "savefig"):  # matplotlib
        import matplotlib.pyplot as plt

        buf = io.StringIO()
        with plt.rc_context({"svg.hashsalt": "micrograd-book", "svg.fonttype": "path"}):
            value.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(value)
        svg = buf.getvalue()
    else:
        return None
    # keep the <svg> element only: no XML declaration, doctype or comments
    svg = svg[svg.index("<svg"):]
    return "\n".join(line for line in svg.splitlines() if line.strip())


def _remember_source(filename: str, line: int, code: str) -> None:
    """Let tracebacks quote the block's lines where no such file exists (the
    page, or an edited block): lines ``line + 1 ...`` of ``filename`` are the
    block's. At build the chapter file itself is there, and is quoted."""
    if os.path.exists(filename):
        return
    entry = linecache.cache.get(filename)
    lines = list(entry[2]) if entry and entry[1] is None else []
    new = code.splitlines(keepends=True)
    if new and not new[-1].endswith("\n"):
        new[-1] += "\n"
    lines += ["\n"] * (line + len(new) - len(lines))
    lines[line:line + len(new)] = new
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)


def _traceback(exc: BaseException) -> str:
    """The traceback from the block's code on: this module's frame left out."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__.tb_next))


def run(code: str, namespace: dict, filename: str = "<block>", line: int = 0,
        write=None) -> tuple[str, str | None]:
    """Run ``code`` in ``namespace``: (what it printed and showed, SVG or None).

    ``line`` is the line of the file ``filename`` just before the code, so
    tracebacks give the chapter's line numbers. ``write`` receives each piece
    of output as it is printed (the page streams it). Raises ``CellError``.
    """
    _remember_source(filename, line, code)
    source = "\n" * line + code
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as exc:
        text = "".join(traceback.format_exception_only(type(exc), exc))
        raise CellError("syntax", exc, text) from None
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    out = _Output(write)
    value = None
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(tree, filename, "exec"), namespace)
            if last is not None:
                value = eval(compile(last, filename, "eval"), namespace)
    except BaseException as exc:  # exit(), KeyboardInterrupt too: the block failed, not the session
        raise CellError("raised", exc, _traceback(exc), out.getvalue()) from exc
    figure = None
    if value is not None:
        try:
            figure = to_svg(value)
        except Exception as exc:
            raise CellError("figure", exc, f"the figure failed to render: {exc}",
                            out.getvalue()) from exc
        if figure is None:
            out.write(repr(value) + "\n")
    return out.getvalue(), figure


def new_namespace(prelude: str = "", origin: str = "<prelude>") -> dict:
    """A session's namespace, as a chapter starts: its prelude already run."""
    namespace: dict = {"__name__": "__main__"}
    if prelude:
        exec(compile(prelude, origin, "exec"), namespace)
    return namespace


def page_run(code: str, namespace: dict, filename: str, line: int, write) -> dict:
    """``run`` for the page: the result as plain data for JavaScript."""
    try:
        output, figure = run(code, namespace, filename, line, write)
    except CellError as err:
        return {"status": "error", "output": err.printed, "error": err.text}
    except BaseException as exc:  # KeyboardInterrupt: the page's session goes on
        return {"status": "error", "output": "", "error": _traceback(exc)}
    return {"status": "ok", "output": output, "figure": figure}
