"""Chapter notebooks: each one runs in a real Jupyter kernel and prints what
its chapter shows.

The notebooks are made by tools/notebooks.py (the same code the site build
uses) and executed with nbclient in the kernel ``python3`` of this
virtualenv. Every code cell that comes from a block of the chapter must print
what that block prints in the chapter's own session (tools.runner), which
for checked blocks is its expected-output; a block that draws a figure must
show an image. Without torch, the ``%%needs torch`` cells must say they were
skipped rather than fail.
"""

import copy

import nbformat
import pytest
from nbclient import NotebookClient

from tools.book import chapters, read_blocks
from tools.notebooks import chapter_notebook
from tools.runner import BlockSkipped, run_chapter
from tools.tangle import prelude

CHAPTERS = [c for c in chapters() if read_blocks(c)]
IMAGES = ("image/svg+xml", "image/png")


def execute(nb):
    """Run a copy of ``nb``; values are shown with repr(), as the book shows them
    (IPython's pretty printer would wrap long lists over several lines)."""
    nb = copy.deepcopy(nb)
    nb.cells.insert(0, nbformat.v4.new_code_cell("%config PlainTextFormatter.pprint = False"))
    NotebookClient(nb, kernel_name="python3", timeout=600).execute()
    return nb.cells[1:]


def text_of(cell) -> str:
    """What a code cell printed, plus its value's repr if it shows no image."""
    out = []
    for o in cell.outputs:
        if o.output_type == "stream" and o.name == "stdout":
            out.append(o.text)
        elif o.output_type == "execute_result" and not any(k in o.data for k in IMAGES):
            out.append(o.data["text/plain"] + "\n")
    return "".join(out)


def images(cell) -> int:
    """How many outputs of the cell show a picture."""
    return sum(any(k in o.get("data", {}) for k in IMAGES) for o in cell.outputs)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_chapter_notebook_runs_and_prints_the_chapters_outputs(chapter):
    nb = chapter_notebook(chapter)
    blocks = read_blocks(chapter)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    setup = (bool(prelude(chapter)) + any(b.importorskip for b in blocks)
             + any("matplotlib" in b.code for b in blocks))
    assert len(code_cells) == setup + len(blocks), "one code cell per block, after the setup cells"

    expected = run_chapter(chapter)
    cells = [c for c in execute(nb) if c.cell_type == "code"][setup:]
    for block, cell, result in zip(blocks, cells, expected, strict=True):
        where = f"{block.where} (notebook cell {cell.id})"
        if isinstance(result, BlockSkipped):
            assert text_of(cell) == f"skipped: {block.importorskip} is not installed\n", where
            continue
        assert text_of(cell) == result.output, where
        if block.expected_output is not None:
            assert text_of(cell) == block.expected_output, where
        # a figure shows once, as in the book; never twice
        assert images(cell) == (result.figure is not None), where


def test_notebook_starts_with_the_code_so_far_and_keeps_the_prose():
    chapter = next(c for c in CHAPTERS if c.name == "nn.md")
    nb = chapter_notebook(chapter, "https://example.org/book/")
    intro, code_so_far = nb.cells[0], nb.cells[1]
    assert intro.cell_type == "markdown" and "code so far" in intro.source
    assert "https://example.org/book/nn/" in intro.source
    assert code_so_far.cell_type == "code" and code_so_far.source == prelude(chapter).rstrip("\n")
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "# A neural-network library" in markdown and "$$" in markdown
    # outputs come from running the cells, not from copies in the Markdown
    assert "expected-output" not in markdown and "Value(data=0.3819165660454811)" not in markdown
    titled = [
        c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("# micrograd/")
    ]
    assert titled and all(
        s.startswith("# micrograd/nn.py") or s.startswith("# micrograd/engine.py") for s in titled
    )


def test_notebook_bytes_are_the_same_each_time(tmp_path):
    chapter = CHAPTERS[-1]
    assert nbformat.writes(chapter_notebook(chapter)) == nbformat.writes(chapter_notebook(chapter))
