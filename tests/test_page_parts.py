"""The in-page runtime's parts that need no browser: page markers, the lint of
imports the page lacks, tools/cell.py (shared by build and page) and the
runtime's wheels."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

import pytest

from tools import cell, page_runtime
from tools.book import ROOT, BookError, read_blocks
from tools.lint_chapters import page_findings

# --- page markers --------------------------------------------------------------


def test_page_markers_attach_to_the_block_below(make_book):
    root = make_book({"ch.md": """
        # Ch

        <!--page: skip it needs a file on disk-->
        ```python
        open("data.txt")
        ```

        <!--page: output-differs timings-->
        <!--pytest-codeblocks:importorskip(math)-->
        ```python
        print(1)
        ```

        <!--pytest-codeblocks:importorskip(torch)-->
        ```python
        import torch
        ```

        ```python
        x = 1
        ```
        """})
    a, b, c, d = read_blocks(root / "docs" / "ch.md")
    assert (a.page_skip, a.page_reason) == ("it needs a file on disk",) * 2
    assert (b.page_differs, b.page_reason) == ("timings", None)
    assert "PyTorch" in c.page_reason
    assert (d.page_skip, d.page_differs, d.page_reason) == (None, None, None)


@pytest.mark.parametrize("text, line, words", [
    ("<!--page: sikp typo-->\n```python\nx = 1\n```\n", 1, "unknown page: marker 'sikp'"),
    ("<!--page: skip-->\n```python\nx = 1\n```\n", 1, "say why: <!--page: skip REASON-->; "
     "readers see the reason"),
    ("<!--page: playground-skips-->\n```python\nx = 1\n```\n", 1, "say why: <!--page: "
     "playground-skips REASON-->; for contributors: readers do not see it"),
    ("# Ch\n\n<!--page: playground-skips a demo-->\n```python\nx = 1\n```\n", 3,
     "this page has none"),
    *[(f"{div}\n\n<!--page: playground-skips a demo-->\n```python\nx\n```\n",
       div.count("\n") + 3, "this page has none") for div in (
        '<div class="mg-player"></div>',
        '<div class="mg-playground-note"></div>',
        '<!-- <div class="mg-playground"></div> -->',
        '```html\n<div class="mg-playground"></div>\n```',
    )],
    ("<!--page: skip why-->\n\nSome prose.\n\n```python\nx = 1\n```\n", 1, "not followed"),
    ("<!--page: skip why-->\n```text\nx = 1\n```\n", 1, "not a Python block"),
    ("text\n\n<!--page: skip a-->\n<!--page: skip b-->\n```python\nx = 1\n```\n", 4,
     "already has"),
])
def test_a_wrong_page_marker_is_an_error_with_its_line(make_book, text, line, words):
    root = make_book({"ch.md": text})
    with pytest.raises(BookError) as err:
        read_blocks(root / "docs" / "ch.md")
    assert err.value.line == line and words in err.value.message, str(err.value)


@pytest.mark.parametrize("div", ['<div class="mg-playground" markdown="0"></div>',
                                 "<div id='pg' class='wide mg-playground'></div>"])
def test_playground_skips_works_on_the_page_with_the_playground(make_book, div):
    root = make_book({"ch.md": f"{div}\n\n"
                               "<!--page: playground-skips a demo-->\n```python\nx = 1\n```\n"})
    [block] = read_blocks(root / "docs" / "ch.md")
    assert block.playground_skips == "a demo" and not block.in_playground
    assert block.page_reason is None  # its Run button still works


def test_a_page_marker_shown_inside_a_fence_is_text(make_book):
    root = make_book({"ch.md": "````markdown\n<!--page: skip why-->\n```python\nx\n```\n````\n"})
    assert read_blocks(root / "docs" / "ch.md") == []


def test_lint_rejects_an_import_the_page_lacks_without_a_marker(make_book):
    root = make_book({"ch.md": """
        # Ch

        ```python
        import math
        import matplotlib.pyplot as plt
        ```

        <!--page: skip it draws a plot-->
        ```python
        from numpy import arange
        ```
        """})
    found = page_findings(root / "docs" / "ch.md")
    assert len(found) == 1
    assert found[0].startswith("docs/ch.md:5: imports matplotlib"), found


def test_the_book_marks_every_block_that_imports_what_the_page_lacks():
    from tools.book import chapters

    assert [f for c in chapters(ROOT) for f in page_findings(c)] == []


def test_most_of_the_books_blocks_run_in_the_page():
    from tools.book import chapters

    blocks = [b for c in chapters(ROOT) for b in read_blocks(c)]
    runnable = [b for b in blocks if b.page_reason is None]
    assert len(runnable) / len(blocks) >= 0.85, f"{len(runnable)} of {len(blocks)}"


# --- tools/cell.py -------------------------------------------------------------


def test_run_shows_printed_text_then_the_last_value_and_streams_it():
    pieces = []
    output, figure = cell.run("print('a')\n1 + 1\n", {}, write=pieces.append)
    assert (output, figure) == ("a\n2\n", None)
    assert "".join(pieces) == output


def test_a_traceback_starts_at_the_blocks_code_and_quotes_it_where_no_file_exists():
    namespace = {}
    cell.run("def f():\n    return 1 / 0\n", namespace, "docs/nowhere.md", 10)
    with pytest.raises(cell.CellError) as err:
        cell.run("print('before')\nf()\n", namespace, "docs/nowhere.md", 20)
    text = err.value.text
    assert text.startswith("Traceback (most recent call last):\n")
    assert 'File "docs/nowhere.md", line 22, in <module>' in text
    assert 'File "docs/nowhere.md", line 12, in f' in text and "return 1 / 0" in text
    assert "cell.py" not in text and text.rstrip().endswith("ZeroDivisionError: division by zero")
    assert err.value.printed == "before\n"


def test_a_syntax_error_is_reported_with_its_line():
    with pytest.raises(cell.CellError) as err:
        cell.run("x = (\n", {}, "docs/nowhere.md", 5)
    assert err.value.kind == "syntax" and err.value.exc.lineno == 6


def test_page_run_turns_every_ending_into_a_result():
    namespace = {}
    assert cell.page_run("x = 2\nx * 3\n", namespace, "docs/p.md", 0, None) == {
        "status": "ok", "output": "6\n", "figure": None}
    failed = cell.page_run("raise SystemExit(3)\n", namespace, "docs/p.md", 0, None)
    assert failed["status"] == "error" and "SystemExit: 3" in failed["error"]
    assert cell.page_run("x\n", namespace, "docs/p.md", 0, None)["output"] == "2\n"


def test_a_graph_is_drawn_by_the_renderer_the_page_sets(monkeypatch):
    class Graph:
        source = "digraph { a -> b }"

        def pipe(self, **kwargs):
            raise AssertionError("the page has no dot program")

    monkeypatch.setattr(cell, "render_dot", lambda source: f'<?xml?>\n<svg id="x">{source}</svg>')
    output, figure = cell.run("g\n", {"g": Graph()})
    assert output == "" and figure == '<svg id="x">digraph { a -> b }</svg>'


# --- the runtime's files ---------------------------------------------------------


def test_the_book_wheel_is_reproducible_and_holds_the_package_and_cell():
    name, data = page_runtime.book_wheel(ROOT)
    assert page_runtime.book_wheel(ROOT) == (name, data)
    assert name == "micrograd_book-0.0.0-py3-none-any.whl"
    wheel = zipfile.ZipFile(io.BytesIO(data))
    names = wheel.namelist()
    assert "tools/cell.py" in names and "micrograd/engine.py" in names
    assert wheel.read("micrograd/engine.py") == (ROOT / "micrograd" / "engine.py").read_bytes()
    record = wheel.read("micrograd_book-0.0.0.dist-info/RECORD").decode().splitlines()
    for row in record:
        path, digest, size = row.split(",")
        if digest:
            data_ = wheel.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data_).digest()).rstrip(b"=")
            assert digest == f"sha256={expected.decode()}" and int(size) == len(data_)


def test_the_graphviz_wheel_holds_the_installed_package():
    name, data = page_runtime.graphviz_wheel()
    assert name.startswith("graphviz-") and name.endswith("-py3-none-any.whl")
    assert "graphviz/__init__.py" in zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_a_missing_npm_package_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(page_runtime, "NODE_MODULES", tmp_path / "node_modules")
    with pytest.raises(page_runtime.RuntimeMissing, match="make setup.*npm ci"):
        page_runtime.write_runtime(ROOT, tmp_path / "site")
    assert not (tmp_path / "site").exists()
