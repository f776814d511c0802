"""Every Python block a reader sees as code runs, or stops the book at its line.

A chapter can hold Python in many Markdown shapes. Each shape below either
runs like a plain ```python block (and is tangled, when titled) or is refused
with the chapter's file and line by everything that reads the book: the
runner, pytest, the chapter linter (`make check`), the tangler and the site
build. Code a reader cannot see (in an HTML comment) is refused too.
"""

import subprocess
import sys

import pytest
from pytest_codeblocks.main import extract_from_buffer

from tools import lint_chapters, tangle
from tools.book import ROOT, BookError, count_python_fences, read_blocks
from tools.runner import run_chapter

B = "```"

# name: a chapter's text after "# Probe\n\n"; it prints "ok\n" (checked) once
RUNS = {
    "python": f"{B}python\nprint('ok')\n{B}\n",
    "py": f"{B}py\nprint('ok')\n{B}\n",
    "python3": f"{B}python3\nprint('ok')\n{B}\n",
    "Python": f"{B}Python\nprint('ok')\n{B}\n",
    "PY": f"{B}PY\nprint('ok')\n{B}\n",
    "space before the language": f"{B} python\nprint('ok')\n{B}\n",
    "display attributes": f'{B}python linenums="1" hl_lines="1"\nprint(\'ok\')\n{B}\n',
    "four backticks, a fence inside a string": (
        f"````python\ns = '''\n{B}\n'''\nprint('ok' if s == '\\n{B}\\n' else s)\n````\n"),
    "five backticks": "`````python\nprint('ok')\n`````\n",
    "in a list item": f"- a step\n\n    {B}python\n    print('ok')\n    {B}\n",
    "in a numbered list, three spaces": f"1. a step\n\n   {B}python\n   print('ok')\n   {B}\n",
    "in a note": f'!!! note "A note"\n\n    {B}python\n    print(\'ok\')\n    {B}\n',
    "in a folded note": f'??? tip "Folded"\n\n    {B}python\n    print(\'ok\')\n    {B}\n',
    "in an open folded note": f'???+ tip "Open"\n\n    {B}py\n    print(\'ok\')\n    {B}\n',
    "in a tab": f'=== "Tab"\n\n    {B}python\n    print(\'ok\')\n    {B}\n',
    "blank lines inside, indented": (
        f"- a step\n\n    {B}python\n    s = '''a\n\n    b'''\n\n"
        f"    print('ok' if s == 'a\\n\\nb' else repr(s))\n    {B}\n"),
    "after a sentence naming <!--": f"Markers open with `<!--`, then...\n\n{B}python\n"
                                    f"print('ok')\n{B}\n",
    "after a one-line comment": f"<!-- a note for writers -->\n{B}python\nprint('ok')\n{B}\n",
}

# name: (text after "# Probe\n\n", line of the mistake, words of the message)
REFUSED = {
    "tilde fence": ("~~~python\nprint(1)\n~~~\n", 3, "reads backtick fences only"),
    "tilde fence, py": ("~~~py\nprint(1)\n~~~\n", 3, "write it ```py"),
    "four tildes": ("~~~~python\nprint(1)\n~~~~\n", 3, "reads backtick fences only"),
    "tilde fence in a list": ("- step\n\n    ~~~python\n    print(1)\n    ~~~\n", 5,
                              "reads backtick fences only"),
    "attribute list": (f"{B}{{.python}}\nprint(1)\n{B}\n", 3, "write the language first"),
    "attribute list with a title": (f'{B}{{ .py title="x.py" }}\nprint(1)\n{B}\n', 3,
                                    "write the language first"),
    "attribute list with a class": (f"{B}{{.python .numberLines}}\nprint(1)\n{B}\n", 3,
                                    "write the language first"),
    "pycon": (f"{B}pycon\n>>> 1 + 1\n2\n{B}\n", 3, "a console session (>>> prompts)"),
    "ipython": (f"{B}ipython\nx = 1\n{B}\n", 3, "cannot run a ```ipython block"),
    "python2": (f"{B}python2\nprint 1\n{B}\n", 3, "cannot run a ```python2 block"),
    "py2": (f"{B}py2\nx = 1\n{B}\n", 3, "cannot run a ```py2 block"),
    "pyi": (f"{B}pyi\ndef f() -> int: ...\n{B}\n", 3, "cannot run a ```pyi block"),
    "python-console": (f"{B}python-console\n>>> 1\n{B}\n", 3, "cannot run a ```python-console"),
    "in a quote": (f"> {B}python\n> print(1)\n> {B}\n", 3, "inside a quote (>)"),
    "in a nested quote": (f"> > {B}py\n> > print(1)\n> > {B}\n", 3, "inside a quote (>)"),
    "in a quote, tildes": ("> ~~~python\n> print(1)\n> ~~~\n", 3, "inside a quote (>)"),
    "in an HTML comment": (f"<!--\n{B}python\nprint(1)\n{B}\n-->\n", 4,
                           "inside an HTML comment (opened at line 3)"),
    "in a comment with text": (f"Text.\n\n<!-- old version:\n\n{B}python\nprint(1)\n{B}\n\n-->\n",
                               7, "readers never see it, yet it would run"),
    "in an indented comment": (f"- a\n\n    <!--\n    {B}py\n    x = 1\n    {B}\n    -->\n", 6,
                               "inside an HTML comment"),
    "tildes in a comment": ("<!--\n~~~python\nprint(1)\n~~~\n-->\n", 4, "inside an HTML comment"),
    "indented code block": ("Some text.\n\n    x = 1\n    print(x)\n", 5,
                            "this indented code block reads as Python"),
    "indented code block, a def": ("Text.\n\n    def f():\n        return 1\n", 5,
                                   "reads as Python"),
    "in a tilde fence, seen by pytest-codeblocks": (
        f"~~~markdown\n{B}python\nprint(1)\n{B}\n~~~\n", 4,
        "pytest-codeblocks reads a block here, but the page shows this line as text"),
}

# Not Python to a reader, or not code: left alone, and nothing runs
NOT_RUN = {
    "text": f"{B}text\nx = 1\n{B}\n",
    "a traceback": f'{B}pytb\nTraceback (most recent call last):\n  File "x", line 1\n{B}\n',
    "shell": f"{B}sh\nmake serve\n{B}\n",
    "no language": f"{B}\nsome words\n{B}\n",
    "indented output": "Text.\n\n    42\n    Value(data=2.0)\n",
    "indented shell": "Text.\n\n    make test-chapter CH=nn\n",
    "indented text in a list": "- one\n\n    x = 1 is not code here\n\n    y = 2\n",
    "indented paragraph of a note": '!!! note "N"\n\n    x = 1 is a statement\n',
    "a quoted python block shown as Markdown": f"````markdown\n> {B}python\n> x = 1\n> {B}\n````\n",
    "a python block shown as Markdown": f"````markdown\n{B}python\nx = 1\n{B}\n````\n",
    "a python block shown in a longer tilde fence": "~~~~text\n~~~python\nx = 1\n~~~\n~~~~\n",
}


def chapter(make_book, text):
    root = make_book({"ch.md": "# Probe\n\n" + text})
    return root / "docs" / "ch.md"


@pytest.mark.parametrize("name", RUNS)
def test_a_python_shape_runs_and_is_checked(name, make_book):
    path = chapter(make_book, RUNS[name] + "\n<!--pytest-codeblocks:expected-output-->\n"
                   f"{B}text\nok\n{B}\n")
    blocks = read_blocks(path)
    assert len(blocks) == 1 == count_python_fences(path.read_text())
    assert [r.output for r in run_chapter(path)] == ["ok\n"]


def test_every_shape_that_runs_is_one_test_under_pytest(make_book, run_pytest):
    text = "# Probe\n\n" + "\n".join(RUNS.values())
    root = make_book({"ch.md": text})
    blocks = read_blocks(root / "docs" / "ch.md")
    assert len(blocks) == len(RUNS) == count_python_fences(text)
    # pytest-codeblocks' parser, which reads the markers, sees these very blocks
    raw = extract_from_buffer(__import__("io").StringIO(text))
    assert [cb.lineno for cb in raw] == [b.line for b in blocks]
    run = run_pytest(root)
    assert f"{len(RUNS)} passed" in run.stdout and run.returncode == 0, run.stdout[-2000:]
    collected = run_pytest(root, "--collect-only").stdout
    assert [line for line in collected.splitlines() if "::line_" in line] == [
        f"docs/ch.md::line_{b.line}" for b in blocks]


@pytest.mark.parametrize("fence", ["```py", "```Python", "````python", "  ```python"])
def test_a_titled_block_in_any_running_shape_is_tangled(fence, make_book):
    indent = fence[:len(fence) - len(fence.lstrip())]
    close = indent + "`" * (len(fence.strip()) - len(fence.strip().lstrip("`")))
    text = "- item\n\n" if indent else ""
    text += f'{fence} title="micrograd/engine.py"\n{indent}X = 42\n{close}\n'
    root = make_book({"ch.md": "# Probe\n\n" + text})
    assert tangle.generate(root)["micrograd/engine.py"].rstrip().endswith("X = 42")


@pytest.mark.parametrize("name", REFUSED)
def test_a_python_shape_the_runner_cannot_run_is_refused_by_line(name, make_book):
    text, line, words = REFUSED[name]
    path = chapter(make_book, text)
    with pytest.raises(BookError) as err:
        read_blocks(path)
    message = str(err.value)
    assert message.startswith(f"docs/ch.md:{line}: ") and words in message, message


@pytest.mark.parametrize("name", NOT_RUN)
def test_what_is_not_python_code_is_left_alone(name, make_book):
    path = chapter(make_book, NOT_RUN[name])
    assert read_blocks(path) == []
    assert count_python_fences(path.read_text()) == 0


def test_the_linter_pytest_and_the_tangler_refuse_each_shape(make_book, run_pytest, capsys):
    names = list(REFUSED)
    root = make_book({f"c{i}.md": "# Probe\n\n" + REFUSED[n][0] for i, n in enumerate(names)})
    # make check: the chapter linter names the file and line
    for i, name in enumerate(names):
        assert lint_chapters.main([str(root / "docs" / f"c{i}.md")]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"lint: docs/c{i}.md:{REFUSED[name][1]}: "), (name, err)
    # pytest: one error per chapter, each by file and line, no traceback
    run = run_pytest(root)
    assert run.returncode != 0
    assert f"{len(names)} errors" in run.stdout, run.stdout[-2000:]
    for i, name in enumerate(names):
        line, words = REFUSED[name][1:]
        assert f"docs/c{i}.md:{line}: " in run.stdout and words in run.stdout, name
    assert "tools/book.py" not in run.stdout
    # the tangler writes nothing
    assert tangle.main([], root=root) == 2
    assert not (root / "micrograd").exists()


def test_the_strict_build_refuses_a_hidden_block(make_book, tmp_path):
    from tests.conftest import mkdocs_build

    text, line, words = REFUSED["in an HTML comment"]
    root = make_book({"ch.md": "# Probe\n\n" + text})
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + f"hooks:\n  - {ROOT / 'tools/mkdocs_hooks.py'}\n")
    run = mkdocs_build(root, tmp_path / "site")
    assert run.returncode != 0
    assert f"docs/ch.md:{line}: this python block is inside an HTML comment" in run.stderr, \
        run.stderr[-2000:]


def test_the_books_chapters_use_only_shapes_that_run():
    # every Python fence of the book is a plain ```python fence, which runs
    for page in (ROOT / "docs").rglob("*.md"):
        read_blocks(page)
    run = subprocess.run([sys.executable, "-m", "tools.lint_chapters"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert "lint: docs/" not in run.stderr, run.stderr  # no chapter refused (BookError)
