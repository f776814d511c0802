"""The chapter cache never passes a chapter whose inputs changed (tools/chapter_cache.py).

Each test changes one thing a chapter's result depends on and checks that
the key changes, so the chapter runs again; and that what it does not depend
on (prose) keeps the key.
"""

import importlib.metadata
import sys

import pytest

from tools import chapter_cache, runner, tangle
from tools.book import read_blocks

FENCE = "```"
OUTPUT = "<!--pytest-codeblocks:expected-output-->"


def book(make_book, code, output):
    return make_book({
        "a.md": f'# A\n\n{FENCE}python title="micrograd/engine.py"\nclass Value:\n'
                f"    pass\n{FENCE}\n",
        "b.md": f"# B\n\nIntro.\n\n{FENCE}python\n{code}\n{FENCE}\n\n"
                f"{OUTPUT}\n{FENCE}text\n{output}{FENCE}\n",
    })


def key(root):
    chapter = root / "docs" / "b.md"
    return chapter_cache.chapter_key(chapter, read_blocks(chapter), tangle.prelude(chapter))


def figures(root):
    chapter = root / "docs" / "b.md"
    return chapter_cache.chapter_figures(chapter, read_blocks(chapter), tangle.prelude(chapter))


@pytest.mark.parametrize("name", ["data.txt", "docs/data.txt"])
def test_a_file_the_chapter_reads_is_part_of_the_key(name, make_book, monkeypatch):
    code = f'print(open("{name}").read().strip())'
    root = book(make_book, code, "first\n")
    monkeypatch.chdir(root)
    (root / name).write_text("first\n")
    figures(root)  # runs and passes: cached
    before = key(root)
    (root / name).write_text("second\n")
    assert key(root) != before
    with pytest.raises(runner.BlockFailure, match="the output differs"):
        figures(root)  # the stale pass is not reused


def test_a_file_read_through_pathlib_relative_to_the_chapter(make_book, monkeypatch):
    code = ('from pathlib import Path\nprint(Path("docs/table.csv").read_text().count(","))')
    root = book(make_book, code, "2\n")
    monkeypatch.chdir(root)
    (root / "docs" / "table.csv").write_text("a,b,c\n")
    before = key(root)
    (root / "docs" / "table.csv").write_text("a,b\n")
    assert key(root) != before


def test_the_version_of_an_imported_package_is_part_of_the_key(make_book, monkeypatch):
    root = book(make_book, "import yaml\nprint(yaml.__name__)", "yaml\n")
    before = key(root)
    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version",
                        lambda dist: "999.0" if dist.lower() == "pyyaml" else real(dist))
    assert key(root) != before


def test_a_module_of_the_book_imported_by_a_chapter_counts_by_its_text(make_book, monkeypatch):
    root = book(make_book, "import helpers_for_b\nprint(helpers_for_b.X)", "1\n")
    (root / "helpers_for_b.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(root))
    before = key(root)
    (root / "helpers_for_b.py").write_text("X = 2\n")
    assert key(root) != before


def test_the_python_version_is_part_of_the_key(make_book, monkeypatch):
    root = book(make_book, "print(6 * 7)", "42\n")
    before = key(root)
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert key(root) != before


def test_the_graphviz_that_draws_the_figures_is_part_of_the_key(make_book, monkeypatch):
    root = book(make_book, "print(6 * 7)", "42\n")
    before = key(root)
    assert chapter_cache._graphviz().startswith("dot - graphviz version")
    monkeypatch.setattr(chapter_cache, "_graphviz", lambda: "dot - graphviz version 99.0")
    assert key(root) != before


def test_outputs_figures_and_skips_come_back_from_the_cache_as_the_run_gave_them(
        make_book, monkeypatch):
    root = make_book({"b.md": (
        f"# B\n\n{FENCE}python\nprint('a', end='')\nprint()\nprint('\\u00e9')\n{FENCE}\n\n"
        f"{FENCE}python\nimport graphviz\ng = graphviz.Digraph()\ng.edge('x', 'y')\ng\n{FENCE}\n\n"
        f"<!--pytest.mark.skip(reason='not today')-->\n{FENCE}python\nprint(1)\n{FENCE}\n")})
    chapter = root / "docs" / "b.md"
    ran = chapter_cache.chapter_results(chapter)

    def no_run(self):
        raise AssertionError("the chapter ran again")

    monkeypatch.setattr(runner.ChapterRun, "start", no_run)
    again = chapter_cache.chapter_results(chapter)
    assert [type(r) for r in again] == [runner.Result, runner.Result, runner.BlockSkipped]
    assert [(r.output, r.figure) for r in again[:2]] == [(r.output, r.figure) for r in ran[:2]]
    assert again[0].output == "a\n\u00e9\n" and again[1].figure.startswith("<svg")
    assert again[2].reason == ran[2].reason == "not today"
    assert [r.block for r in again] == read_blocks(chapter)


def test_the_tools_are_part_of_the_key(make_book, monkeypatch, tmp_path):
    root = book(make_book, "print(6 * 7)", "42\n")
    before = key(root)
    tools = tmp_path / "tools"
    tools.mkdir()
    for p in chapter_cache.TOOLS.glob("*.py"):
        (tools / p.name).write_text(p.read_text())
    monkeypatch.setattr(chapter_cache, "TOOLS", tools)
    assert key(root) == before
    (tools / "cell.py").write_text((tools / "cell.py").read_text() + "\n# changed\n")
    assert key(root) != before


def test_earlier_chapters_package_and_text_are_part_of_the_key_but_prose_is_not(make_book):
    root = book(make_book, "print(6 * 7)", "42\n")
    before = key(root)
    b = root / "docs" / "b.md"
    b.write_text(b.read_text().replace("Intro.", "Intro.\n\nMore prose, lower blocks."))
    assert key(root) == before
    b.write_text(b.read_text().replace("6 * 7", "7 * 6"))
    assert key(root) != before
    b.write_text(b.read_text().replace("7 * 6", "6 * 7"))
    assert key(root) == before
    a = root / "docs" / "a.md"
    a.write_text(a.read_text().replace("pass", "x = 1"))
    assert key(root) != before
    a.write_text(a.read_text().replace("x = 1", "pass"))
    (root / "micrograd").mkdir()
    (root / "micrograd" / "engine.py").write_text("X = 1\n")
    assert key(root) != before
