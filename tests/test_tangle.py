"""The tangler: chapters -> micrograd/ (tools/tangle.py)."""

import importlib
import os
import stat
import sys

import pytest

from tools import tangle
from tools.book import BookError

FENCE = "```"


def titled(path, code):
    return f'{FENCE}python title="{path}"\n{code.strip()}\n{FENCE}\n'


def generated(root, path="micrograd/engine.py"):
    return tangle.generate(root)[path]


# --- the committed package ------------------------------------------------


def test_package_matches_chapters():
    assert tangle.diff(tangle.generate()) == "", "micrograd/ is stale: run `make tangle`"


def test_tangling_twice_gives_the_same_bytes():
    assert tangle.generate() == tangle.generate()


def test_deleted_package_files_are_restored_byte_for_byte(book_copy):
    originals = {p.name: p.read_bytes() for p in (book_copy / "micrograd").glob("*.py")}
    assert "engine.py" in originals and "nn.py" in originals
    for p in (book_copy / "micrograd").glob("*.py"):
        p.unlink()
    assert tangle.main([], root=book_copy) == 0
    restored = {p.name: p.read_bytes() for p in (book_copy / "micrograd").glob("*.py")}
    assert restored == originals


def test_check_fails_with_a_diff_when_the_package_was_edited(book_copy, capsys):
    engine = book_copy / "micrograd" / "engine.py"
    engine.write_text(engine.read_text().replace("class Value", "class Valeu", 1))
    assert tangle.main(["--check"], root=book_copy) == 1
    out = capsys.readouterr()
    assert "-class Valeu" in out.out and "+class Value" in out.out
    assert "make tangle" in out.err


def test_check_passes_on_a_fresh_copy(book_copy):
    assert tangle.main(["--check"], root=book_copy) == 0


def test_stale_generated_file_is_removed_but_a_foreign_file_is_kept(book_copy):
    pkg = book_copy / "micrograd"
    (pkg / "old.py").write_text(tangle.HEADER.format(sources="docs/x.md") + "\nx = 1\n")
    (pkg / "mine.py").write_text("y = 2\n")
    assert tangle.main([], root=book_copy) == 0
    assert not (pkg / "old.py").exists()
    assert (pkg / "mine.py").exists()


# --- merge rules ----------------------------------------------------------


def test_untitled_blocks_are_not_tangled(make_book):
    untitled = f"\n{FENCE}python\nY = 2\n{FENCE}\n"
    root = make_book({"a.md": titled("micrograd/engine.py", "X = 1") + untitled})
    text = generated(root)
    assert "X = 1" in text and "Y = 2" not in text


def test_last_definition_wins_and_takes_the_last_place(make_book):
    root = make_book({
        "a.md": titled("micrograd/engine.py", "def f():\n    return 1\n\n\ndef g():\n    return 2"),
        "b.md": titled("micrograd/engine.py", "def f():\n    return 3"),
    })
    text = generated(root)
    assert "return 1" not in text
    assert text.index("def g") < text.index("def f") < text.index("return 3")


def test_a_class_written_again_replaces_the_old_one_whole(make_book):
    root = make_book({
        "a.md": titled("micrograd/engine.py", "class A:\n    def old(self):\n        pass"),
        "b.md": titled("micrograd/engine.py", "class A:\n    def new(self):\n        pass"),
    })
    text = generated(root)
    assert "def new" in text and "def old" not in text
    assert text.count("class A") == 1


def test_add_to_class_merges_methods_into_the_class_body(make_book):
    root = make_book({
        "a.md": titled("micrograd/engine.py", """
class A:
    def keep(self):
        return "kept"

    def swap(self):
        return "old"
"""),
        "b.md": titled("micrograd/engine.py", """
@add_to_class(A)
def swap(self):
    return "new"


@add_to_class(A)
def extra(self):  # added
    return "extra"
"""),
    })
    text = generated(root)
    assert "add_to_class" not in text
    assert "    def swap(self):\n        return \"new\"" in text
    assert '"old"' not in text
    # replaced in place, new methods appended, all inside the class body
    assert text.index("def keep") < text.index("def swap") < text.index("def extra")
    assert "    def extra(self):  # added" in text
    namespace = {}
    exec(text, namespace)
    a = namespace["A"]()
    assert (a.keep(), a.swap(), a.extra()) == ("kept", "new", "extra")


def test_imports_go_to_the_top_once(make_book):
    root = make_book({
        "a.md": titled("micrograd/engine.py", "import math\n\n\ndef f():\n    return math.pi"),
        "b.md": titled("micrograd/engine.py",
                       "import math\nimport random, os\n\n\ndef g():\n    return random, os"),
    })
    text = generated(root)
    lines = text.splitlines()
    assert lines.count("import math") == 1
    assert "import random" in lines and "import os" in lines
    assert lines.index("import os") < lines.index("def f():")


def test_names_from_other_package_files_are_imported(make_book):
    root = make_book({
        "a.md": titled("micrograd/engine.py", "class Value:\n    pass"),
        "b.md": titled("micrograd/nn.py",
                       "class Neuron:\n    def __init__(self):\n        self.w = Value()"),
    })
    files = tangle.generate(root)
    assert "from micrograd.engine import Value" in files["micrograd/nn.py"]
    assert "import" not in files["micrograd/engine.py"].split("\n", 1)[1]


def test_header_names_the_chapters_and_init_reexports_public_names(make_book):
    root = make_book({
        "a.md": titled("micrograd/_helpers.py", "def add_to_class(cls):\n    return cls"),
        "b.md": titled("micrograd/engine.py",
                       "class Value:\n    pass\n\n\ndef _private():\n    pass"),
        "c.md": titled("micrograd/engine.py", "TOLERANCE = 1e-6"),
    })
    files = tangle.generate(root)
    assert files["micrograd/engine.py"].splitlines()[0] == tangle.HEADER.format(
        sources="docs/b.md, docs/c.md")
    init = files["micrograd/__init__.py"]
    assert "from micrograd.engine import Value, TOLERANCE" in init
    assert "_private" not in init and "_helpers" not in init


def test_generated_package_imports_and_runs(make_book, monkeypatch):
    root = make_book({
        "a.md": titled("micrograd/engine.py",
                       "class Value:\n    def __init__(self, data):\n        self.data = data"),
        "b.md": titled("micrograd/engine.py",
                       "@add_to_class(Value)\ndef double(self):\n    return Value(2 * self.data)"),
        "c.md": titled("micrograd/nn.py", "def make():\n    return Value(21).double()"),
    })
    tangle.write(tangle.generate(root), root)
    monkeypatch.syspath_prepend(str(root))
    for name in [m for m in sys.modules if m == "micrograd" or m.startswith("micrograd.")]:
        monkeypatch.delitem(sys.modules, name)
    nn = importlib.import_module("micrograd.nn")
    assert nn.make().data == 42
    assert importlib.import_module("micrograd").make is nn.make


# --- errors: file and line, nothing written ---------------------------------


ERRORS = {
    "unclosed fence": (
        f"text\n\n{FENCE}python\nx = 1\n", 3, "never closed"),
    "syntax error": (
        f'intro\n\n{FENCE}python title="micrograd/engine.py"\ndef f(:\n    pass\n{FENCE}\n', 4,
        "syntax error"),
    "title outside the package": (
        f'{FENCE}python title="tools/evil.py"\nX = 1\n{FENCE}\n', 1, "outside the package"),
    "unknown class": (
        f'{FENCE}python title="micrograd/engine.py"\n\n'
        f"@add_to_class(Nope)\ndef f(self):\n    pass\n{FENCE}\n",
        3, "Nope"),
    "statement in package code": (
        f'{FENCE}python title="micrograd/engine.py"\nprint("hi")\n{FENCE}\n', 2,
        "only imports, definitions and assignments"),
    "package import in package code": (
        f'{FENCE}python title="micrograd/nn.py"\nfrom micrograd.engine import Value\n{FENCE}\n', 2,
        "does not import micrograd"),
}


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_mistakes_name_file_and_line_and_write_nothing(case, make_book, capsys):
    text, line, words = ERRORS[case]
    good = titled("micrograd/engine.py", "class Value:\n    pass")
    root = make_book({"good.md": good, "bad.md": text})
    pkg = root / "micrograd"
    pkg.mkdir()
    (pkg / "engine.py").write_text("# the old file\n")
    with pytest.raises(BookError) as err:
        tangle.generate(root)
    assert str(err.value).startswith(f"docs/bad.md:{line}: ")
    assert words in str(err.value)
    assert tangle.main([], root=root) == 2
    assert f"docs/bad.md:{line}" in capsys.readouterr().err
    assert sorted(p.name for p in pkg.iterdir()) == ["engine.py"]
    assert (pkg / "engine.py").read_text() == "# the old file\n"


def test_add_to_class_for_a_class_of_another_file_says_where_it_is(make_book):
    root = make_book({
        "a.md": titled("micrograd/engine.py", "class Value:\n    pass"),
        "b.md": titled("micrograd/nn.py", "@add_to_class(Value)\ndef f(self):\n    pass"),
    })
    with pytest.raises(BookError, match="defined in micrograd/engine.py"):
        tangle.generate(root)


# --- one name, one module; malformed input; all-or-nothing writes -----------


TITLES = {  # title -> words the error must hold (None: accepted as it is)
    "micrograd/engine.py": None,
    "micrograd/_helpers.py": None,
    "micrograd/./engine.py": 'write it as title="micrograd/engine.py"',
    "micrograd//engine.py": 'write it as title="micrograd/engine.py"',
    "./micrograd/engine.py": 'write it as title="micrograd/engine.py"',
    "micrograd/x/../engine.py": 'write it as title="micrograd/engine.py"',
    " micrograd/engine.py": 'write it as title="micrograd/engine.py"',
    "micrograd\\engine.py": 'write it as title="micrograd/engine.py"',
    "/micrograd/engine.py": 'write it as title="micrograd/engine.py"',
    "micrograd/sub/engine.py": "no subfolders",
    "micrograd/my-engine.py": 'e.g. title="micrograd/my_engine.py"',
    "micrograd/1engine.py": 'e.g. title="micrograd/_1engine.py"',
    "micrograd/class.py": 'e.g. title="micrograd/class_.py"',
    "micrograd/café.py": "importable module name",
    "micrograd/engine.PY": "outside the package",
    "micrograd/engine": "outside the package",
    "micrograd/../tools/evil.py": "outside the package",
    "../micrograd/engine.py": "outside the package",
    "micrograd": "outside the package",
    "tools/evil.py": "outside the package",
}


@pytest.mark.parametrize("title", TITLES)
def test_a_title_names_a_package_file_in_exactly_one_way(title, make_book):
    root = make_book({"a.md": f"intro\n\n{FENCE}python title=\"{title}\"\nX = 1\n{FENCE}\n"})
    words = TITLES[title]
    if words is None:
        assert tangle.generate(root)[title].endswith("X = 1\n")
        return
    with pytest.raises(BookError) as err:
        tangle.generate(root)
    assert str(err.value).startswith("docs/a.md:3: "), err.value
    assert words in str(err.value)


def test_two_titles_that_differ_only_in_case_are_refused(make_book):
    root = make_book({"a.md": titled("micrograd/engine.py", "X = 1"),
                      "b.md": titled("micrograd/Engine.py", "Y = 1")})
    with pytest.raises(BookError, match=r"^docs/b.md:1: .*only in case"):
        tangle.generate(root)


MALFORMED = {  # chapter bytes -> (line, words)
    "latin-1 byte": (b"# A\n\nok\n\ncaf\xe9\n", 5, "not UTF-8"),
    "lone carriage return": (b"# A\r\rtext\n", 1, "carriage return"),
    "line separator": ("# A\n\nx\u2028y\n".encode(), 3, "U+2028"),
    "paragraph separator": ("# A\n\nx\u2029y\n".encode(), 3, "U+2029"),
    "next line": ("# A\nx\x85y\n".encode(), 2, "NEL"),
    "form feed in code": (b'# A\n\n```python title="micrograd/engine.py"\nX = 1\x0c\n```\n', 4,
                          "form feed"),
    "nul byte": (b'# A\n\n```python title="micrograd/engine.py"\nX = "\x00"\n```\n', 4, "NUL"),
    "vertical tab": (b"# A\n\x0b\n", 2, "vertical tab"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_chapters_are_errors_with_file_and_line(case, make_book, capsys):
    data, line, words = MALFORMED[case]
    root = make_book({"a.md": "# A\n"})
    (root / "docs" / "a.md").write_bytes(data)
    with pytest.raises(BookError) as err:
        tangle.generate(root)
    assert str(err.value).startswith(f"docs/a.md:{line}: "), err.value
    assert words in str(err.value)
    assert tangle.main([], root=root) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_windows_line_ends_and_a_byte_order_mark_are_read_as_plain_text(newline, make_book):
    text = f"# A{newline}{newline}{FENCE}python title=\"micrograd/engine.py\"{newline}" \
           f"X = '''a{newline}b'''{newline}{FENCE}{newline}"
    root = make_book({"a.md": "# A\n"})
    (root / "docs" / "a.md").write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert "X = '''a\nb'''\n" in tangle.generate(root)["micrograd/engine.py"]


def test_generated_files_get_ordinary_permissions(make_book):
    root = make_book({"a.md": titled("micrograd/engine.py", "X = 1")})
    old = os.umask(0o022)
    try:
        assert tangle.main([], root=root) == 0
    finally:
        os.umask(old)
    for p in (root / "micrograd").iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_a_write_that_fails_half_way_leaves_the_package_as_it_was(make_book, monkeypatch,
                                                                  capsys):
    root = make_book({"a.md": titled("micrograd/engine.py", "X = 1") +
                      titled("micrograd/nn.py", "Y = 2")})
    assert tangle.main([], root=root) == 0
    before = {p.name: p.read_bytes() for p in (root / "micrograd").iterdir()}
    (root / "docs" / "a.md").write_text(titled("micrograd/engine.py", "X = 10") +
                                        titled("micrograd/nn.py", "Y = 20"))
    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(tangle.os, "replace", flaky)
    assert tangle.main([], root=root) == 2
    assert "left as it was" in capsys.readouterr().err
    assert len(calls) == 2  # the first file had been replaced, and was put back
    assert {p.name: p.read_bytes() for p in (root / "micrograd").iterdir()} == before
    monkeypatch.setattr(tangle.os, "replace", real)
    assert tangle.main(["--check"], root=root) == 1  # stale, but not poisoned
    assert tangle.main([], root=root) == 0
    assert tangle.main(["--check"], root=root) == 0


def test_leftovers_of_a_killed_run_neither_poison_check_nor_stay(make_book):
    root = make_book({"a.md": titled("micrograd/engine.py", "X = 1")})
    assert tangle.main([], root=root) == 0
    for name in (".tangle-abc123.py", ".tangle-def456.tmp"):
        (root / "micrograd" / name).write_text("half a fi")
    assert tangle.main(["--check"], root=root) == 0
    assert tangle.main([], root=root) == 0
    assert not list((root / "micrograd").glob(".tangle-*"))


def test_the_package_folder_must_be_a_real_folder_of_the_book(make_book, tmp_path, capsys):
    root = make_book({"a.md": titled("micrograd/engine.py", "X = 1")}, root=tmp_path / "book")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "micrograd").symlink_to(elsewhere)
    assert tangle.main([], root=root) == 2
    assert "not a folder of this book" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []
