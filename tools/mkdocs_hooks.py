"""MkDocs hooks (mkdocs.yml ``hooks:``): run each chapter while building it.

* Each chapter runs as a session (``tools.runner``) while its page is built:
  a block that raises, or prints something other than its checked output,
  fails the build with the chapter file and line.
* A block ending in a Graphviz graph or a matplotlib figure gets that figure,
  as inline SVG, right below the block (below its output, if it has one).
* A chapter with a prelude opens with a collapsed "Code so far" block.
* Math written as ``$...$`` / ``$$...$$`` (arithmatex, generic mode) becomes
  MathML on the server, so formulas need no script and no network.
"""

from __future__ import annotations

import html
import re
import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import latex2mathml.converter  # noqa: E402
from mkdocs.exceptions import PluginError  # noqa: E402

from tools.book import FENCE_RE, BookError, chapters, read_blocks, rel  # noqa: E402
from tools.runner import BlockFailure, BlockSkipped, chapter_session  # noqa: E402
from tools.tangle import prelude  # noqa: E402

_figures: dict[str, list[str]] = {}  # page src path -> SVGs, by placeholder number
PLACEHOLDER = '<div class="mg-figure-slot" data-figure="{}"></div>'
MATH_RE = re.compile(
    r'<(span|div) class="arithmatex">\s*(\\\(|\\\[)(.*?)(\\\)|\\\])\s*</\1>', re.S
)
FIGURE_SLOT_RE = re.compile(r'(?:<p>)?<div class="mg-figure-slot" data-figure="(\d+)"></div>(?:</p>)?')


def _block_end(lines: list[str], start: int) -> int:
    """Index of the line that closes the fence opened at index ``start``."""
    fence = FENCE_RE.match(lines[start]).group(2)
    for i in range(start + 1, len(lines)):
        m = FENCE_RE.match(lines[i])
        if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= len(fence) and not m.group(3):
            return i
    return len(lines) - 1


def _after_output(lines: list[str], end: int) -> int:
    """Index after the block closing at ``end`` and its output block, if any."""
    i = end + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and "pytest-codeblocks:expected-output" in lines[i]:
        j = i + 1
        while j < len(lines) and not FENCE_RE.match(lines[j]):
            j += 1
        if j < len(lines):
            return _block_end(lines, j) + 1
    return end + 1


def _code_so_far(code: str) -> str:
    body = textwrap.indent(f"```python\n{code}```", "    ")
    return (
        '??? abstract "Code so far: what the earlier chapters put in the package"\n\n'
        "    Every chapter runs after this code (its *prelude*): the package as the\n"
        "    chapters before this one left it. Run it first to start here.\n\n"
        f"{body}\n"
    )


def _chapters(config) -> list[Path]:
    return [c.resolve() for c in chapters(Path(config.config_file_path).parent)]


def on_page_markdown(markdown, page, config, files):
    path = Path(page.file.abs_src_path)
    if path.resolve() not in _chapters(config):
        return markdown
    try:
        blocks = read_blocks(path)
        if not blocks:
            return markdown
        session = chapter_session(path)
        figures: dict[int, str] = {}
        for block in blocks:
            try:
                result = session.run(block)
            except BlockSkipped:
                continue
            if result.figure:
                figures[block.line] = result.figure
        code = prelude(path)
    except (BookError, BlockFailure) as exc:
        raise PluginError(f"chapter failed: {exc}") from None

    lines = markdown.split("\n")
    inserts = {}  # line index -> text to insert before it
    svgs = []
    for line, svg in figures.items():
        at = _after_output(lines, _block_end(lines, line - 1))
        indent = re.match(r"\s*", lines[line - 1]).group(0)
        inserts[at] = f"\n{indent}{PLACEHOLDER.format(len(svgs))}\n"
        svgs.append(svg)
    _figures[page.file.src_uri] = svgs
    for at in sorted(inserts, reverse=True):
        lines.insert(at, inserts[at])
    if code:
        h1 = next((i for i, text in enumerate(lines) if text.startswith("# ")), -1)
        lines.insert(h1 + 1, "\n" + _code_so_far(code))
    return "\n".join(lines)


def _mathml(match: re.Match, page) -> str:
    tex = html.unescape(match.group(3))
    display = "block" if match.group(2) == "\\[" else "inline"
    try:
        return latex2mathml.converter.convert(tex, display=display)
    except Exception as exc:  # the converter raises many types
        raise PluginError(f"{page.file.src_uri}: cannot turn this math into MathML: {tex!r}: {exc}")


def on_page_content(html_text, page, config, files):
    svgs = _figures.pop(page.file.src_uri, [])
    used = set()

    def figure(m):
        used.add(int(m.group(1)))
        return f'<figure class="mg-figure">{svgs[int(m.group(1))]}</figure>'

    html_text = FIGURE_SLOT_RE.sub(figure, html_text)
    if len(used) != len(svgs):
        raise PluginError(f"{page.file.src_uri}: {len(svgs) - len(used)} figure(s) were not placed")
    return MATH_RE.sub(lambda m: _mathml(m, page), html_text)


def on_pre_build(config):
    """Every Markdown file under docs/ must be in the nav: the nav is the book."""
    docs = Path(config["docs_dir"])
    listed = set(_chapters(config))
    for md in sorted(docs.rglob("*.md")):
        if md.resolve() not in listed:
            raise PluginError(f"{rel(md)} is not in the nav of mkdocs.yml; add it there")
