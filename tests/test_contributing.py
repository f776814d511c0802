"""The contributor's tools: `make chapter`, `make test-chapter`, the chapter
cache of the site build, and the chapter linter (`make check`)."""

import os
import subprocess
import sys

import pytest
import yaml

from tools import chapter_cache, lint_chapters, new_chapter, runner, tangle
from tools.book import ROOT, chapters, fences, read_blocks
from tools.runner import BlockFailure

FENCE = "```"
OUTPUT = "<!--pytest-codeblocks:expected-output-->"
CHAPTER_A = f'# A\n\n{FENCE}python title="micrograd/engine.py"\nclass Value:\n    pass\n{FENCE}\n'


def nav_names(root):
    return [p.name for p in chapters(root)]


# --- make chapter ----------------------------------------------------------


def test_new_chapter_is_the_last_chapter_and_passes_its_tests(book_copy, capsys):
    before = nav_names(book_copy)
    assert new_chapter.main(["batch-norm", "--title", "Batch norm: a sketch"], root=book_copy) == 0
    assert "wrote docs/batch-norm.md" in capsys.readouterr().out
    names = nav_names(book_copy)
    if "contributing.md" in before:  # new chapters go before the Contributing page
        assert names[-2:] == ["batch-norm.md", "contributing.md"]
    else:
        assert names[-1] == "batch-norm.md"
    assert [n for n in names if n != "batch-norm.md"] == before
    config = yaml.safe_load((book_copy / "mkdocs.yml").read_text().replace("!ENV", ""))
    assert {"Batch norm: a sketch": "batch-norm.md"} in config["nav"]

    chapter = book_copy / "docs" / "batch-norm.md"
    text = chapter.read_text()
    assert text.startswith("# Batch norm: a sketch\n") and "## Recap" in text
    blocks = read_blocks(chapter)
    assert [b.title for b in blocks] == ["micrograd/engine.py"] + [None] * 5
    assert blocks[1].expected_output == "42.0\n"
    # an example exercise: start, check, wrong answer, solution
    assert [b.exercise and b.exercise[0] for b in blocks] == [
        None, None, "start", "check", "wrong", "solution"]
    # its outputs are right as generated
    assert [r.output for r in runner.run_chapter(chapter)] == [
        "", "42.0\n", "", "", "", "correct: 42.0\n"]
    # and its titled block goes into the package, inside class Value
    engine = tangle.generate(book_copy)["micrograd/engine.py"]
    assert "\n    def batch_norm(self):\n" in engine
    assert "add_to_class" not in engine
    assert "docs/batch-norm.md" in engine.splitlines()[0]


def test_new_chapter_passes_under_pytest(book_copy):
    assert new_chapter.main(["softmax"], root=book_copy) == 0
    (book_copy / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tools.pytest_book", "-q", "-p", "no:cacheprovider",
         "-p", "no:hypothesispytest", "docs/softmax.md"],
        cwd=book_copy, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout
    assert "6 passed" in run.stdout


def test_a_method_name_value_has_already_is_not_replaced(book_copy):
    assert new_chapter.main(["tanh"], root=book_copy) == 0
    code = read_blocks(book_copy / "docs" / "tanh.md")[0].code
    assert "def tanh_example(self):" in code


@pytest.mark.parametrize("name, words", [
    ("", "say which chapter: make chapter NAME="),
    ("Batch_Norm", "is not a chapter name: use lower-case words joined by hyphens"),
    ("../evil", "is not a chapter name"),
    ("2nd-try", "is not a chapter name"),
    ("nn", "docs/nn.md already exists: pick another NAME"),
])
def test_new_chapter_refuses_and_writes_nothing(name, words, book_copy, capsys):
    config = (book_copy / "mkdocs.yml").read_text()
    files = sorted(p.name for p in (book_copy / "docs").iterdir())
    assert new_chapter.main([name], root=book_copy) == 2
    assert words in capsys.readouterr().err
    assert (book_copy / "mkdocs.yml").read_text() == config
    assert sorted(p.name for p in (book_copy / "docs").iterdir()) == files


def test_new_chapter_refuses_a_name_the_nav_already_has(book_copy, capsys):
    config = book_copy / "mkdocs.yml"
    config.write_text(config.read_text().replace("nav:\n", "nav:\n  - Planned: planned.md\n"))
    assert new_chapter.main(["planned"], root=book_copy) == 2
    assert "the nav of mkdocs.yml already names planned.md" in capsys.readouterr().err
    assert not (book_copy / "docs" / "planned.md").exists()


@pytest.mark.parametrize("ch", ["nn", "nn.md", "docs/nn.md"])
def test_make_test_chapter_accepts_a_name_or_a_path(ch):
    run = subprocess.run(["make", "-n", "test-chapter", f"CH={ch}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "-m pytest -q docs/nn.md" in run.stdout


def test_make_test_runs_the_checks_first():
    run = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    lines = run.stdout.splitlines()
    ruff = next(i for i, line in enumerate(lines) if "ruff check tools tests" in line)
    lint = next(i for i, line in enumerate(lines) if "-m tools.lint_chapters" in line)
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert ruff < pytest_line and lint < pytest_line


# --- the chapter cache of the site build -------------------------------------


def cache_book(make_book, code="print(6 * 7)", output="42\n", intro="Intro."):
    return make_book({
        "a.md": CHAPTER_A,
        "b.md": (f"# B\n\n{intro}\n\n{FENCE}python\nimport graphviz\ng = graphviz.Digraph()\n"
                 f"g.edge('a', 'b')\ng\n{FENCE}\n\n{FENCE}python\n{code}\n{FENCE}\n\n"
                 f"{OUTPUT}\n{FENCE}text\n{output}{FENCE}\n"),
    })


def figures(root, name="b.md"):
    chapter = root / "docs" / name
    blocks = read_blocks(chapter)
    return chapter_cache.chapter_figures(chapter, blocks, tangle.prelude(chapter))


def key(root, name="b.md"):
    chapter = root / "docs" / name
    return chapter_cache.chapter_key(chapter, read_blocks(chapter), tangle.prelude(chapter))


def test_prose_edits_keep_the_key_and_code_edits_change_it(make_book):
    base = key(cache_book(make_book, intro="Intro."))
    # more prose: every block moves down, the key stays
    assert key(cache_book(make_book, intro="Intro.\n\nA second\nparagraph.")) == base
    assert key(cache_book(make_book, code="print(7 * 6)")) != base, "code"
    assert key(cache_book(make_book, output="41\n")) != base, "expected output"
    root = cache_book(make_book)
    b = root / "docs" / "b.md"
    b.write_text(b.read_text().replace(f"{FENCE}python\nprint",
                                       f"<!--pytest.mark.skipif(False, reason='no')-->\n"
                                       f"{FENCE}python\nprint"))
    assert key(root) != base, "markers"
    root = cache_book(make_book)
    a = root / "docs" / "a.md"
    a.write_text(a.read_text().replace("pass", "x = 1"))
    assert key(root) != base, "prelude"
    root = cache_book(make_book)
    (root / "micrograd").mkdir()
    (root / "micrograd" / "engine.py").write_text("X = 1\n")
    assert key(root) != base, "package"


def test_block_order_is_part_of_the_key(make_book):
    one = f"{FENCE}python\nx = 1\n{FENCE}\n\n"
    two = f"{FENCE}python\nx = 2\n{FENCE}\n\n"
    first = make_book({"b.md": "# B\n\n" + one + two})
    k1 = key(first)
    second = make_book({"b.md": "# B\n\n" + two + one})
    assert key(second) != k1


def test_a_cached_run_is_not_run_again_and_its_figures_follow_the_blocks(make_book, monkeypatch):
    root = cache_book(make_book)
    svgs = figures(root)
    assert list(svgs) == [5] and svgs[5].startswith("<svg")
    assert (root / ".cache" / "chapters" / "docs--b.md.json").exists()

    def no_run(self):
        raise AssertionError("the chapter ran again")

    monkeypatch.setattr(runner.ChapterRun, "start", no_run)  # the run's child process
    root = cache_book(make_book, intro="Intro.\n\nTwo more\nlines.")
    assert figures(root) == {8: svgs[5]}  # the same figure, three lines lower


def test_a_failing_chapter_fails_every_time_and_is_not_cached(make_book):
    root = cache_book(make_book, output="43\n")
    for _ in range(2):
        with pytest.raises(BlockFailure, match="docs/b.md:12: the output differs"):
            figures(root)
    assert not (root / ".cache" / "chapters" / "docs--b.md.json").exists()


def test_the_site_build_reuses_a_passing_run_and_still_fails_a_broken_chapter(make_book, tmp_path):
    count_runs = 'with open("runs.txt", "a") as f:\n    f.write("run\\n")\nprint(6 * 7)'
    root = make_book({"ch.md": f"# Ch\n\nIntro.\n\n{FENCE}python\n{count_runs}\n{FENCE}\n\n"
                                f"{OUTPUT}\n{FENCE}text\n42\n{FENCE}\n"})
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + f"hooks:\n  - {ROOT / 'tools' / 'mkdocs_hooks.py'}\n")
    chapter = root / "docs" / "ch.md"

    def build():
        return subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
            cwd=root, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
            capture_output=True, text=True, timeout=300,
        )

    assert build().returncode == 0
    chapter.write_text(chapter.read_text().replace("Intro.", "Intro, edited.\n\nMore prose."))
    run = build()
    assert run.returncode == 0, run.stderr
    assert "More prose." in (tmp_path / "site" / "ch" / "index.html").read_text()
    assert (root / "runs.txt").read_text() == "run\n"  # the prose edit ran nothing
    chapter.write_text(chapter.read_text().replace("\n42\n", "\n43\n"))
    for _ in range(2):
        run = build()
        assert run.returncode != 0
        assert "docs/ch.md:7: the output differs" in run.stderr
    assert (root / "runs.txt").read_text() == "run\n" * 3


# --- make check: the chapters' code under ruff -------------------------------


def test_lint_names_the_chapter_file_and_line(make_book):
    root = make_book({
        "a.md": CHAPTER_A,
        "b.md": (f"# B\n\nText.\n\n{FENCE}python\nimport os\n\nv = Value()\n{FENCE}\n\n"
                 f"More text.\n\n{FENCE}python\nprint(v, undefined_name)\n{FENCE}\n"),
    })
    run = lint_chapters.lint(root / "docs" / "b.md")
    assert run.returncode == 1
    found = run.stdout.splitlines()
    # Value comes from the prelude (chapter a), so it counts as defined
    assert found == [
        "docs/b.md:6:8: F401 [*] `os` imported but unused",
        "docs/b.md:14:10: F821 Undefined name `undefined_name`",
    ], run.stdout


def test_pre_commit_runs_the_tangle_check_and_ruff():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {h["id"]: h for repo in config["repos"] for h in repo["hooks"]}
    assert "tools.tangle --check" in hooks["tangle-check"]["entry"]
    assert "ruff check" in hooks["ruff"]["entry"]
    assert "tools.lint_chapters" in hooks["lint-chapters"]["entry"]


# --- the overview teaches micrograd; this guide explains the machinery -----


def prose(path):
    """A chapter's text without the contents of its code blocks."""
    lines = path.read_text().splitlines()
    inside = {i for open_, close, _ in fences(lines) for i in range(open_, (close or open_) + 1)}
    return "\n".join(line for i, line in enumerate(lines) if i not in inside)


def test_the_overview_teaches_micrograd_first_and_leaves_the_machinery_here():
    path = ROOT / "docs" / "overview.md"
    text, words = path.read_text(), prose(path)
    assert text.index("## What autograd is") < text.index("## How the code carries")
    assert r"L = (a \cdot b + c) \cdot f" in text
    for machinery in ("add_to_class", "tangle", "prelude", "Greeter", "## Outputs and figures"):
        assert machinery not in words, f"the overview still explains {machinery}"
    assert "contributing.md#how-the-code-carries-from-chapter-to-chapter" in words
    # its one titled block, the helper later chapters need, is folded away
    titled = [b for b in read_blocks(path) if b.title]
    assert [b.title for b in titled] == ["micrograd/_book.py"]
    lines = text.splitlines()
    assert lines[titled[0].line - 1].startswith("    "), "the helper is not in a folded block"
    assert any(line.startswith("??? ") for line in lines[:titled[0].line])


def test_the_contributing_chapter_explains_how_code_carries_from_chapter_to_chapter():
    path = ROOT / "docs" / "contributing.md"
    text = path.read_text()
    assert "\n## How the code carries from chapter to chapter\n" in text
    for topic in ("tools/tangle.py", "@add_to_class(Greeter)", "*prelude*", "**Code so\nfar**",
                  "micrograd/_book.py"):
        assert topic in text, topic
    greeter = next(r for r in runner.run_chapter(path) if "Greeter" in r.block.code)
    assert greeter.output == "hello, micrograd\n"


def test_a_named_diagram_uses_its_name_as_its_text_alternative():
    from graphviz import Digraph

    from tools.book import Block
    from tools.cell import to_svg
    from tools.mkdocs_hooks import _figure_alt

    named = Digraph("one neuron: x1 and x2 times w1 and w2, plus b, then tanh")
    named.edge("x1", "o")
    block = Block(chapter=ROOT / "docs" / "nn.md", line=1, code="draw_neuron(2)\n")
    assert _figure_alt(block, to_svg(named), []) == (
        "The graph drawn by draw_neuron(2): one neuron: x1 and x2 times w1 and w2, "
        "plus b, then tanh")
    unnamed = Digraph()
    unnamed.edge("a", "b")
    assert "2 boxes, one per value" in _figure_alt(block, to_svg(unnamed), [])
