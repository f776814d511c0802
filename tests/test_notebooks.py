"""Chapter notebooks: each one runs in a real Jupyter kernel and prints what
its chapter shows.

The notebooks are made by tools/notebooks.py (the same code the site build
uses) and executed with nbclient in the kernel ``python3`` of this
virtualenv. Every code cell that comes from a block of the chapter must print
what that block prints in the build's run of the chapter (tools.runner,
through the build's cache: tools.chapter_cache), which
for checked blocks is its expected-output; a block that draws a figure must
show an image. Without torch, the ``%%needs torch`` cells must say they were
skipped rather than fail.
"""

import copy
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools.book import ROOT, chapters, nav_files, read_blocks
from tools.chapter_cache import chapter_results
from tools.notebooks import NOTEBOOK_FOLDER, chapter_notebook, relink, relinked_notebook
from tools.runner import BlockSkipped
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

    expected = chapter_results(chapter)  # the build's run of the chapter
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
    nb = chapter_notebook(chapter)
    intro, code_so_far = nb.cells[0], nb.cells[1]
    assert intro.cell_type == "markdown" and "code so far" in intro.source
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


# --- links: relative, to notebooks next to this one; never to this machine ------

MD_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|^\[[^\]]+\]:\s*(\S+)|<(\w+://[^>\s]+)>"
                     r"|href=\"([^\"]+)\"", re.M)
LOCAL = re.compile(r"//(127\.0\.0\.1|localhost)\b")


def links(nb) -> list[str]:
    """Every link target in the notebook's Markdown cells."""
    return [next(g for g in m.groups() if g) for cell in nb.cells if cell.cell_type == "markdown"
            for m in MD_LINK.finditer(cell.source)]


def check_links(nb, folder: Path, name: str) -> int:
    """No link to this machine; every relative link is a file in ``folder``
    (where the notebook is). Returns how many relative links there were."""
    relative = 0
    for href in links(nb):
        assert not LOCAL.search(href), f"{name}: a link to this machine: {href}"
        if re.match(r"[\w+.-]+:|#", href):
            continue
        relative += 1
        path = href.split("#")[0]
        assert "/" not in path and not path.endswith(".md"), f"{name}: {href} is not a notebook"
        assert (folder / path).is_file(), f"{name}: {href} is not next to it, in {folder}"
    return relative


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.name)
def test_each_notebook_links_only_to_notebooks_next_to_it(chapter, tmp_path):
    """As the site stores them (all in notebooks/), or downloaded into one folder."""
    for other in CHAPTERS:
        (tmp_path / f"{other.stem}.ipynb").touch()
    for page in nav_files():
        if page.suffix == ".ipynb":
            (tmp_path / page.name).touch()
    nb = chapter_notebook(chapter)
    check_links(nb, tmp_path, chapter.name)


def test_the_sites_notebooks_link_to_each_other_and_to_no_host(site):
    folder = site / NOTEBOOK_FOLDER
    written = sorted(p.name for p in folder.glob("*.ipynb"))
    expected = sorted([f"{c.stem}.ipynb" for c in CHAPTERS]
                      + [p.name for p in nav_files() if p.suffix == ".ipynb"])
    assert written == expected
    relative = sum(check_links(nbformat.read(folder / name, as_version=4), folder, name)
                   for name in written)
    assert relative > 10, "the book's chapters link to each other"
    assert not (site / "demo" / "demo.ipynb").exists(), "one copy of the demo, in notebooks/"


def test_the_demo_links_resolve_in_the_repository_and_next_to_its_copy(site):
    """docs/demo.ipynb opened on its own links to chapters next to it in docs/;
    the site's copy (notebooks/demo.ipynb) to their notebooks."""
    demo = ROOT / "docs" / "demo.ipynb"
    stored = nbformat.read(demo, as_version=4)
    assert links(stored), "the demo links to its chapter and to its download"
    for href in links(stored):
        assert not LOCAL.search(href)
        if not re.match(r"[\w+.-]+:|#", href):
            assert (demo.parent / href.split("#")[0]).is_file(), href
    copy_ = nbformat.read(site / NOTEBOOK_FOLDER / "demo.ipynb", as_version=4)
    assert check_links(copy_, site / NOTEBOOK_FOLDER, "notebooks/demo.ipynb") >= 1
    assert copy_ == relinked_notebook(demo)


def test_links_become_notebook_links_or_words():
    docs = ROOT / "docs"
    nn = next(c for c in CHAPTERS if c.name == "nn.md")
    heading = next(line[3:] for line in nn.read_text().split("\n") if line.startswith("## "))
    slug = re.sub(r"[^\w\s-]", "", heading).strip().lower().replace(" ", "-")
    text = (f"[the nn chapter](nn.md#{slug}), [the demo](demo.ipynb), [home](index.md), "
            "[gone](no-such-page.md), <http://127.0.0.1:8000>, [dev](http://localhost:8000/nn/)")
    assert relink(text, docs) == (
        f"[the nn chapter](nn.ipynb#{heading.replace(' ', '-')}), [the demo](demo.ipynb), "
        "home (the page *Building micrograd* of the book), [gone](no-such-page.md), "
        "`http://127.0.0.1:8000`, dev (`http://localhost:8000/nn/`)")
