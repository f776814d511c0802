"""Chapter notebooks: each chapter as a Jupyter notebook, made at site build.

A reader who wants to start at some chapter downloads its notebook. It opens
with the code so far (the chapter's prelude, see ``tools.tangle.prelude``) in
one code cell, then holds the chapter itself: the prose as Markdown cells and
each Python block as a code cell, in order. Running all cells prints what the
chapter shows; tests/test_notebooks.py runs every notebook and checks that.

From page to notebook a few things change:

* Output blocks (the ``expected-output`` marker and the fence after it) are
  left out. Running the cell above shows that output; a copy in the Markdown
  would only say it twice. The other pytest-codeblocks markers (HTML
  comments) are left out too.
* A titled block starts with its title as a comment (``# micrograd/nn.py``).
* A block marked ``importorskip(torch)`` starts with ``%%needs torch``, a
  small cell magic defined in a cell of its own after the prelude. Without
  torch the cell prints that it was skipped, as the book skips the block,
  instead of stopping "Run all" with an ImportError.
* Admonitions (``!!! note "Title"``) become block quotes with a bold title,
  and a code annotation ``# (1)!`` becomes the comment ``# (1)``, pointing at
  the numbered list below the cell.
* Links are relative and point at notebooks only, so they work the same on
  the site and in a folder of downloaded notebooks: a link to a chapter
  (``nn.md#a-loss``) or to the demo opens that notebook
  (``nn.ipynb#A-loss``: the site keeps all the notebooks in one folder,
  ``notebooks/``); a page that has no notebook is named in words, unlinked.
  No address of the site is written into a notebook.
* An exercise keeps its start block and its check as cells; its wrong answers
  and its solution are cells of their own, collapsed (``source_hidden``).

Cell ids are numbered, not random, so the same chapter gives the same bytes.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat
from markdown.extensions.toc import slugify

from tools.book import FENCE_RE, Block, chapter_title, fence_end, read_blocks, read_chapter
from tools.tangle import prelude

MARKER_RE = re.compile(r"^\s*<!--\s*(pytest[.-]|page:|exercise:).*-->\s*$")
ADMONITION_RE = re.compile(r'^(\s*)(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+"(.*)")?\s*$')
LINK_DEF_RE = re.compile(r"^\[([^\]^]+)\]:\s*\S+")
ANNOTATION_RE = re.compile(r"#\s*\((\d+)\)!")

REQUIREMENTS = (
    "Running it needs Python 3.10 or newer, and for figures the `graphviz` "
    "package with Graphviz's `dot` program and `matplotlib`."
)
# In the book a figure shows once, where a block ends with it. Jupyter's
# inline backend would draw each new figure a second time at the end of its
# cell; this cell turns that second drawing off.
ONE_FIGURE = '''\
import matplotlib.pyplot as plt

try:
    from matplotlib_inline.backend_inline import flush_figures

    get_ipython().events.unregister("post_execute", flush_figures)
except (ImportError, ValueError):  # another backend: nothing to turn off
    pass
'''
NEEDS_MAGIC = '''\
import importlib

from IPython.core.magic import register_cell_magic


@register_cell_magic
def needs(package, cell):
    """%%needs <package>: run the cell only if the package can be imported."""
    try:
        importlib.import_module(package.strip())
    except ImportError:
        print(f"skipped: {package.strip()} is not installed")
        return
    get_ipython().run_cell(cell).raise_error()
'''


NOTEBOOK_FOLDER = "notebooks"  # in the site: every notebook, side by side
LINK_RE = re.compile(r"(!?)\[([^\]]*)\]\((?!\w+://|#|/)([^)\s]+?)\.(md|ipynb)(#[^)\s]*)?\)")
DEF_RE = re.compile(r"^(\[[^\]]+\]:\s*)(?!\w+://|#|/)(\S+?)\.(md|ipynb)(#\S*)?\s*$")
LOCAL = r"https?://(?:127\.0\.0\.1|localhost)\b[^\s)>]*"
LOCAL_AUTOLINK_RE = re.compile(rf"<({LOCAL})>")
LOCAL_LINK_RE = re.compile(rf"\[([^\]]*)\]\(({LOCAL})\)")
HEADING_RE = re.compile(r"^#{1,6}\s+(.+?)\s*(?:\{[^}]*\})?\s*$")


def has_notebook(page: Path) -> bool:
    """A chapter with Python blocks gets a notebook; a notebook page is one."""
    return page.suffix == ".ipynb" or (page.suffix == ".md" and bool(read_blocks(page)))


def notebook_anchor(page: Path, fragment: str) -> str:
    """``#a-loss`` (the site's id of the heading "A loss") -> ``#A-loss``, the
    id Jupyter gives that heading; unchanged if no heading has that id."""
    if not fragment or page.suffix != ".md":
        return fragment
    for line in read_chapter(page).split("\n"):
        m = HEADING_RE.match(line)
        if m and "#" + slugify(m.group(1), "-") == fragment:
            return "#" + m.group(1).replace(" ", "-")
    return fragment


def notebook_link(folder: Path, target: str, ext: str, fragment: str | None) -> str | None:
    """Where a notebook links for ``target.md`` / ``target.ipynb`` (relative to
    ``folder``, the chapter's folder): its sibling notebook, or None."""
    page = (folder / f"{target}.{ext}").resolve()
    if not page.is_file() or not has_notebook(page):
        return None
    return f"{page.stem}.ipynb{notebook_anchor(page, fragment or '')}"


def relink(text: str, folder: Path) -> str:
    """The Markdown links of a cell, made to point at sibling notebooks."""

    def inline(m):
        bang, words, target, ext, fragment = m.groups()
        href = notebook_link(folder, target, ext, fragment)
        if href is not None:
            return f"{bang}[{words}]({href})"
        page = (folder / f"{target}.{ext}").resolve()
        if not page.is_file():  # a broken link: left as it is, the build reports it
            return m.group(0)
        return f"{words} (the page *{chapter_title(page, page.stem)}* of the book)"

    def definition(m):
        href = notebook_link(folder, m.group(2), m.group(3), m.group(4))
        return m.group(1) + href if href is not None else m.group(0)

    text = LINK_RE.sub(inline, text)  # a link's words may run over two lines
    lines = [DEF_RE.sub(definition, line) for line in text.split("\n")]
    # the address of a local preview (make serve) is no place to send a reader
    text = LOCAL_AUTOLINK_RE.sub(r"`\1`", "\n".join(lines))
    return LOCAL_LINK_RE.sub(r"\1 (`\2`)", text)


def _admonitions(lines: list[str]) -> list[str]:
    """``!!! note "Title"`` + indented body -> a block quote with a bold title."""
    out, i = [], 0
    while i < len(lines):
        m = ADMONITION_RE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, kind, title = m.group(1), m.group(2), m.group(3)
        body, i = [], i + 1
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith(indent + "    ")):
            body.append(lines[i])
            i += 1
        while body and not body[-1].strip():
            i -= 1
            body.pop()
        body = textwrap.dedent("\n".join(body)).split("\n") if body else []
        quoted = [f"**{title or kind.capitalize()}**", ""] + body
        out.extend(f"{indent}> {line}".rstrip() for line in quoted)
    return out


REFERENCE_RE = re.compile(r"\[([^\]]+)\]\[([^\]]*)\]")


def _inline_references(text: str, link_defs: list[str]) -> str:
    """``[words][label]`` with ``[label]: target`` -> ``[words](target)``, so a
    link to a page is rewritten like any other (tools.notebooks.relink)."""
    targets = {}
    for d in link_defs:
        label, target = re.match(r"^\[([^\]]+)\]:\s*(\S+)", d).groups()
        targets[label.lower()] = target

    def inline(m):
        target = targets.get((m.group(2) or m.group(1)).lower())
        return f"[{m.group(1)}]({target})" if target else m.group(0)

    return REFERENCE_RE.sub(inline, text)


def _markdown(lines: list[str], folder: Path, link_defs: list[str]) -> str | None:
    lines = _admonitions(lines)
    text = "\n".join(lines).strip("\n")
    if not text.strip():
        return None
    text = relink(_inline_references(text, link_defs), folder)
    # Each Markdown cell is rendered alone: give it the link definitions it uses.
    used = [relink(d, folder) for d in link_defs if f"[{LINK_DEF_RE.match(d).group(1)}]" in text]
    return text + ("\n\n" + "\n".join(used) if used else "")


def _code(block: Block) -> str:
    code = ANNOTATION_RE.sub(r"# (\1)", block.code).rstrip("\n")
    head = []
    if block.importorskip:
        head.append(f"%%needs {block.importorskip}")
    head += [f"# the book skips this block when: {mark}" for mark in block.marks]
    if block.title:
        head.append(f"# {block.title}")
    return "\n".join(head + [code])


def chapter_notebook(chapter: Path) -> nbformat.NotebookNode:
    """The notebook of one chapter: the code so far, then the chapter's cells."""
    chapter = Path(chapter)
    text = read_chapter(chapter)
    lines = text.split("\n")
    blocks = {b.line: b for b in read_blocks(chapter)}
    title = chapter_title(chapter, chapter.stem)
    link_defs = [line for line in lines if LINK_DEF_RE.match(line)]
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell

    intro = (f"*Building micrograd*, chapter **{title}**, as a notebook (the book's site "
             "shows it as a page). Links to other chapters open their notebooks: keep "
             "them in one folder (the site offers them all in one .zip).")
    before = prelude(chapter)
    if before:
        cells = [
            md(
                f"{intro}\n\nThe next cell is the **code so far**: the package code of the "
                "chapters before this one, the session this chapter starts from. Run it "
                f"first, then the chapter's cells in order. {REQUIREMENTS}"
            ),
            code(before.rstrip("\n")),
        ]
    else:
        cells = [
            md(f"{intro}\n\nThis chapter comes first, so there is no code so far. {REQUIREMENTS}")
        ]
    needs = sorted({b.importorskip for b in blocks.values() if b.importorskip})
    if needs:
        names = ", ".join(f"`{n}`" for n in needs)
        cells += [
            md(
                f"Some cells need {names}. They start with `%%needs <package>`, a cell "
                "magic defined in the next cell: when the package is missing, such a "
                "cell says it was skipped instead of failing, as the book skips it."
            ),
            code(NEEDS_MAGIC.rstrip("\n")),
        ]

    if any("matplotlib" in b.code for b in blocks.values()):
        cells += [
            md("Figures: a cell that ends with a figure shows it once, as in the book "
               "(the next cell stops Jupyter from drawing it a second time)."),
            code(ONE_FIGURE.rstrip("\n")),
        ]

    prose: list[str] = []

    def flush():
        cell = _markdown(prose, chapter.parent, link_defs)
        if cell:
            cells.append(md(cell))
        prose.clear()

    drop_output, i = False, 0
    while i < len(lines):
        line = lines[i]
        if LINK_DEF_RE.match(line):
            i += 1
        elif MARKER_RE.match(line):
            drop_output = drop_output or "expected-output" in line
            i += 1
        elif FENCE_RE.match(line):
            end = fence_end(lines, i)
            if i + 1 in blocks:
                flush()
                block = blocks[i + 1]
                cells.append(code(_code(block)))
                if block.exercise and block.exercise[0] in ("solution", "wrong"):
                    # folded, as on the page: Jupyter shows the cell's source collapsed
                    cells[-1].metadata["jupyter"] = {"source_hidden": True}
            elif not drop_output:
                prose.extend(lines[i : end + 1])
            drop_output = False
            i = end + 1
        else:
            prose.append(line)
            i += 1
    flush()

    for number, cell in enumerate(cells):
        cell.id = f"{chapter.stem}-{number}"
    nb = nbformat.v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )
    nbformat.validate(nb)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def relinked_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook of docs/ (the demo) as the site offers it for download: its
    Markdown links to chapters point at their notebooks, next to it."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = relink(cell.source, path.parent)
    return nb
