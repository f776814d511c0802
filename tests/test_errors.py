"""A contributor's mistakes: each one is named with its file and line, says how
to fix it, and leaves micrograd/ as it was.

Each case is a small book (see ``make_book`` in conftest.py) with one mistake
in docs/bad.md, after a good chapter that defines ``Value``. The tangler, the
chapter runner and pytest must all stop on it with the same message.
"""

import os
import subprocess
import sys

import pytest

from tools import runner, tangle
from tools.book import ROOT, BookError, check_nav, read_blocks

FENCE = "```"
GOOD = f'# Good\n\n{FENCE}python title="micrograd/engine.py"\nclass Value:\n    pass\n{FENCE}\n'
OUTPUT = "<!--pytest-codeblocks:expected-output-->"

# name: (text of docs/bad.md, line of the mistake, words of the message, words of the fix)
MISTAKES = {
    "unclosed fence": (
        f"# Bad\n\n{FENCE}python\nx = 1\n",
        3, "fence is never closed", "add a closing ``` line"),
    "syntax error in a titled block": (
        f'# Bad\n\n{FENCE}python title="micrograd/engine.py"\ndef f(:\n    pass\n{FENCE}\n',
        4, "syntax error in this micrograd/engine.py block", "fix this line"),
    "title outside micrograd/": (
        f'# Bad\n\n{FENCE}python title="tools/evil.py"\nX = 1\n{FENCE}\n',
        3, 'title="tools/evil.py" is outside the package', "drop the title"),
    "decorator naming a misspelt class": (
        f'# Bad\n\n{FENCE}python title="micrograd/engine.py"\n'
        f"@add_to_class(Valeu)\ndef double(self):\n    pass\n{FENCE}\n",
        4, "@add_to_class(Valeu) names a class", "did you mean @add_to_class(Value)?"),
    "decorator naming an unknown class": (
        f'# Bad\n\n{FENCE}python title="micrograd/engine.py"\n'
        f"@add_to_class(Tensor)\ndef double(self):\n    pass\n{FENCE}\n",
        4, "@add_to_class(Tensor) names a class",
        "define class Tensor in an earlier micrograd/engine.py block first"),
    "expected-output with no block before it": (
        f"# Bad\n\n{OUTPUT}\n{FENCE}text\n1\n{FENCE}\n",
        3, "this expected-output marker has no block before it",
        "put it right after the ```python block whose output it shows"),
    "expected-output after a text block": (
        f"# Bad\n\n{FENCE}python\nprint(1)\n{FENCE}\n\n{FENCE}text\nnot code\n{FENCE}\n\n"
        f"{OUTPUT}\n{FENCE}text\n1\n{FENCE}\n",
        11, "follows a ```text block (line 7), not a Python block",
        "put it right after the ```python block whose output it shows"),
    "misspelt pytest-codeblocks marker": (
        f"# Bad\n\n{FENCE}python\nprint(1)\n{FENCE}\n\n"
        f"<!--pytest-codeblocks:expected-ouput-->\n{FENCE}text\n1\n{FENCE}\n",
        7, 'Unknown pytest-codeblocks keyword "expected-ouput"',
        "the markers are <!--pytest-codeblocks:expected-output-->"),
    "fence attribute the runner cannot run": (
        f'# Bad\n\n{FENCE}python exec="on"\nprint(1)\n{FENCE}\n',
        3, "the runner cannot run a fence with attribute(s) exec",
        "remove the others, or make it a ```text block"),
    "fence written as an attribute list": (
        f'# Bad\n\n{FENCE}{{.python title="micrograd/engine.py"}}\nX = 1\n{FENCE}\n',
        3, "the runner cannot run a fence written",
        'write the language first, then the attributes: ```python title="..."'),
    "titled block in a tilde fence": (
        '# Bad\n\n~~~python title="micrograd/engine.py"\nX = 1\n~~~\n',
        3, "the runner reads backtick fences only", 'write it ```python title="micrograd'),
    "console session": (
        f"# Bad\n\n{FENCE}pycon\n>>> 1 + 1\n2\n{FENCE}\n",
        3, "the runner cannot run a ```pycon block", "write the code in a ```python block"),
    "block hidden in a comment": (
        f'# Bad\n\n<!--\n{FENCE}python title="micrograd/engine.py"\nX = 1\n{FENCE}\n-->\n',
        4, "inside an HTML comment (opened at line 3)", "take it out of the comment"),
    "time limit that is not a number": (
        f"# Bad\n\n<!--timeout: long-->\n{FENCE}python\nx = 1\n{FENCE}\n",
        3, "cannot read '<!--timeout: long-->'", "such as <!--timeout: 300-->"),
    "unbalanced quote in the fence info": (
        f'# Bad\n\n{FENCE}python title="micrograd/engine.py\nX = 1\n{FENCE}\n',
        3, "cannot read the fence info", "quote attribute values in pairs"),
}


def book_with(make_book, text):
    """A book whose second chapter is ``text``, with an old micrograd/ on disk."""
    root = make_book({"good.md": GOOD, "bad.md": text})
    (root / "micrograd").mkdir()
    (root / "micrograd" / "engine.py").write_text("# the old file\n")
    return root


def assert_package_untouched(root):
    assert [p.name for p in (root / "micrograd").iterdir()] == ["engine.py"]
    assert (root / "micrograd" / "engine.py").read_text() == "# the old file\n"


@pytest.mark.parametrize("name", MISTAKES)
def test_tangle_names_file_and_line_suggests_the_fix_and_writes_nothing(name, make_book, capsys):
    text, line, what, fix = MISTAKES[name]
    root = book_with(make_book, text)
    assert tangle.main([], root=root) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tangle: docs/bad.md:{line}: "), err
    assert what in err and fix in err, err
    assert "nothing was written" in err
    assert_package_untouched(root)
    assert tangle.main(["--check"], root=root) == 2  # --check stops on it too


@pytest.mark.parametrize("name", [n for n in MISTAKES if "titled" not in n and "class" not in n
                                  and "outside" not in n])
def test_runner_shows_the_same_message(name, make_book, capsys):
    text, line, what, fix = MISTAKES[name]
    root = book_with(make_book, text)
    assert runner.main([str(root / "docs" / "bad.md")]) == 2
    out = capsys.readouterr().out
    assert out.startswith(f"== docs/bad.md:{line}: ") and what in out and fix in out, out
    assert_package_untouched(root)


def test_pytest_reports_a_chapter_mistake_without_a_traceback(make_book, run_pytest):
    text, line, what, fix = MISTAKES["expected-output with no block before it"]
    root = book_with(make_book, text)
    run = run_pytest(root)
    assert run.returncode != 0
    assert f"docs/bad.md:{line}: {what}" in run.stdout and fix in run.stdout, run.stdout
    assert "Traceback" not in run.stdout and "tools/book.py" not in run.stdout
    assert_package_untouched(root)


# --- the nav ---------------------------------------------------------------


def test_a_page_missing_from_the_nav_says_which_line_to_add(make_book, capsys):
    root = book_with(make_book, "# Bad\n")
    (root / "docs" / "stray-page.md").write_text(f"# A stray page\n\n{GOOD.split(chr(10), 2)[2]}")
    with pytest.raises(BookError) as err:
        check_nav(root)
    message = str(err.value)
    assert message.startswith("docs/stray-page.md: this page is not in the nav of mkdocs.yml")
    assert "add the line `  - A stray page: stray-page.md` to the nav" in message
    assert "the nav ends at mkdocs.yml:4" in message  # site_name, nav:, good.md, bad.md
    # the tangler refuses too: the page's package code would be lost
    assert tangle.main([], root=root) == 2
    assert "docs/stray-page.md: this page is not in the nav" in capsys.readouterr().err
    assert_package_untouched(root)


def test_a_nav_entry_with_no_file_names_the_line_of_mkdocs_yml(make_book, capsys):
    root = book_with(make_book, "# Bad\n")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + "  - ghost.md\n")
    expected = ("mkdocs.yml:5: the nav names ghost.md, but docs/ghost.md does not exist; "
                "create it (make chapter NAME=ghost) or remove this line from the nav")
    with pytest.raises(BookError, match="^" + expected.replace("(", r"\(").replace(")", r"\)")):
        check_nav(root)
    assert tangle.main([], root=root) == 2
    assert expected in capsys.readouterr().err
    assert_package_untouched(root)
    # no chapter runs while the nav is broken, and the runner says why
    assert runner.main([str(root / "docs" / "good.md")]) == 2
    assert capsys.readouterr().out == f"== {expected}\n"


def test_the_site_build_names_a_nav_entry_with_no_file(make_book, tmp_path):
    root = make_book({"ch.md": "# Chapter\n"})
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + "  - ghost.md\n"
                      f"hooks:\n  - {ROOT / 'tools' / 'mkdocs_hooks.py'}\n")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=root, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode != 0
    assert "mkdocs.yml:4: the nav names ghost.md, but docs/ghost.md does not exist" in run.stderr


def test_the_books_chapters_have_none_of_these_mistakes():
    check_nav()
    for chapter in (ROOT / "docs").rglob("*.md"):
        read_blocks(chapter)
