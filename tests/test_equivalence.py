"""The package behaves like the chapters (issue: the machinery cannot be fooled).

In the chapters, the titled blocks run one after another in one namespace.
The tangler turns them into package files. Importing the package must give
what running those blocks gives: the same names, bound to objects that are
the same code with the same values, computing the same results. A shape the
tangler cannot keep equivalent must be refused with the chapter's file and
line. Tested on the real book, on hand-written tricky chapters, and on
randomly generated ones.
"""

from __future__ import annotations

import dis
import importlib
import random
import re
import sys
import types
from pathlib import Path

import pytest

from tools import tangle
from tools.book import ROOT, BookError

FENCE = "```"
SKIP_ATTRS = {"__module__", "__dict__", "__weakref__", "__firstlineno__",
              "__static_attributes__", "__qualname__"}


# --- the two sides --------------------------------------------------------


def run_titled(root: Path, untitled: bool = False) -> dict:
    """Run the titled blocks of the book (``untitled``: all its blocks) in order in
    one namespace, as written."""
    namespace: dict = {"__name__": "chapters"}
    for block in tangle.book_blocks(root):
        if block.title or untitled:
            code = compile("\n" * block.line + block.code, str(block.chapter), "exec",
                           dont_inherit=True)
            exec(code, namespace)
    return namespace


def import_package(root: Path) -> dict[str, types.ModuleType]:
    """Import the package written in ``root`` afresh; put sys back as it was."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == tangle.PACKAGE}
    for k in saved:
        del sys.modules[k]
    sys.path.insert(0, str(root))
    try:
        importlib.invalidate_caches()
        names = sorted(p.stem for p in (root / tangle.PACKAGE).glob("*.py"))
        return {n: importlib.import_module(f"{tangle.PACKAGE}.{n}") for n in names}
    finally:
        sys.path.remove(str(root))
        for k in [k for k in sys.modules if k.split(".")[0] == tangle.PACKAGE]:
            del sys.modules[k]
        sys.modules.update(saved)


# --- "the same" ----------------------------------------------------------


def _ops(code: types.CodeType) -> list[tuple[str, object]]:
    """The instructions, without what depends only on how CPython specialised them."""
    out = []
    for i in dis.get_instructions(code):
        if i.opname in ("PRECALL", "CACHE", "RESUME", "PUSH_NULL", "NOP"):
            continue
        name = "LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname
        jump = i.opcode in dis.hasjrel or i.opcode in dis.hasjabs  # offsets vary
        keep = isinstance(i.argval, (str, int, type(None))) and not jump
        value = i.argval if keep else None
        if isinstance(value, str) and "<locals>." in value:  # a qualified name (3.10)
            value = value.rsplit("<locals>.", 1)[-1]
        out.append((name, value))
    return out


def _code_same(a: types.CodeType, b: types.CodeType) -> bool:
    if (_ops(a), a.co_varnames, a.co_freevars, a.co_cellvars,
            a.co_argcount, a.co_kwonlyargcount, a.co_flags) != \
            (_ops(b), b.co_varnames, b.co_freevars, b.co_cellvars,
             b.co_argcount, b.co_kwonlyargcount, b.co_flags):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _code_same(x, y):
                return False
        elif isinstance(x, str) and isinstance(y, str) and "<locals>." in x + y:
            # Python 3.10 keeps qualified names of nested functions as constants: a
            # method written in the class (C.m.<locals>...) or added later (m.<locals>...)
            if x.rsplit("<locals>.", 1)[-1] != y.rsplit("<locals>.", 1)[-1]:
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def differ(a, b, where: str, seen: set | None = None) -> str | None:
    """Why ``a`` (package) and ``b`` (chapters) are not the same, or None."""
    seen = set() if seen is None else seen
    if a is b or (id(a), id(b)) in seen:
        return None
    seen.add((id(a), id(b)))
    if type(a) is not type(b) and not (isinstance(a, type) and isinstance(b, type)):
        return f"{where}: {type(a).__name__} in the package, {type(b).__name__} in the chapters"
    if isinstance(a, types.FunctionType):
        if not _code_same(a.__code__, b.__code__):
            return f"{where}: the function's code differs"
        for part in ("__defaults__", "__kwdefaults__", "__closure__"):
            x, y = getattr(a, part) or (), getattr(b, part) or ()
            x = x.values() if isinstance(x, dict) else x
            y = y.values() if isinstance(y, dict) else y
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                if part == "__closure__":
                    u, v = u.cell_contents, v.cell_contents
                why = differ(u, v, f"{where}.{part}[{i}]", seen)
                if why:
                    return why
        for name in _global_loads(a.__code__):
            ga, gb = a.__globals__.get(name, _MISSING), b.__globals__.get(name, _MISSING)
            if (ga is _MISSING) != (gb is _MISSING):
                side = "package" if ga is _MISSING else "chapters"
                return f"{where} reads `{name}`, which the {side} do not define"
            if ga is not _MISSING:
                why = differ(ga, gb, f"{where} -> {name}", seen)
                if why:
                    return why
        return None
    if isinstance(a, type):
        if a.__name__ != b.__name__ or len(a.__bases__) != len(b.__bases__):
            return f"{where}: classes {a.__name__} and {b.__name__} differ"
        for x, y in zip(a.__bases__, b.__bases__, strict=True):
            why = differ(x, y, f"{where} base", seen)
            if why:
                return why
        keys_a, keys_b = set(vars(a)) - SKIP_ATTRS, set(vars(b)) - SKIP_ATTRS
        if keys_a != keys_b:
            return f"{where}: members differ: {sorted(keys_a ^ keys_b)}"
        for k in sorted(keys_a):
            why = differ(vars(a)[k], vars(b)[k], f"{where}.{k}", seen)
            if why:
                return why
        return None
    if isinstance(a, (staticmethod, classmethod)):
        return differ(a.__func__, b.__func__, where, seen)
    if isinstance(a, property):
        for part in ("fget", "fset", "fdel"):
            why = differ(getattr(a, part), getattr(b, part), f"{where}.{part}", seen)
            if why:
                return why
        return None
    if isinstance(a, types.ModuleType):
        return None if a.__name__ == b.__name__ else f"{where}: modules differ"
    if isinstance(a, (types.MemberDescriptorType, types.GetSetDescriptorType)):
        return None if a.__name__ == b.__name__ else f"{where}: slots differ"
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            why = differ(x, y, f"{where}[{i}]", seen)
            if why:
                return why
        return None
    if hasattr(a, "__dict__") and not callable(a):
        return differ(type(a), type(b), f"{where} type", seen) or \
            differ(sorted(vars(a).items()), sorted(vars(b).items()), f"{where} state", seen)
    try:
        equal = a == b
    except Exception:  # noqa: BLE001 - an odd __eq__: fall back on repr
        equal = repr(a) == repr(b)
    return None if equal is True else f"{where}: {a!r} in the package, {b!r} in the chapters"


_MISSING = object()


def _global_loads(code: types.CodeType) -> list[str]:
    """The global names a function (and the functions inside it) reads."""
    out = [i.argval for i in dis.get_instructions(code)
           if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out += _global_loads(const)
    return list(dict.fromkeys(out))


def compare(root: Path, package: Path | None = None, untitled: bool = False) -> str | None:
    """Why the package in ``package`` (default: ``root``) and the chapters of ``root``
    differ, or None."""
    chapters = run_titled(root, untitled)
    modules = import_package(package or root)
    methods = {b for n, bs in tangle.assemble(tangle.book_blocks(root)).history.items()
               for b in ([n] if all(x.kind == "method" for x in bs) else [])}
    seen_names = set()
    for mod_name, module in modules.items():
        for name, value in vars(module).items():
            if name.startswith("__") or isinstance(value, types.ModuleType) and \
                    value.__name__.startswith(tangle.PACKAGE):
                continue
            seen_names.add(name)
            if name not in chapters:
                return f"{mod_name}.{name} is in the package but not in the chapters"
            why = differ(value, chapters[name], f"{mod_name}.{name}")
            if why:
                return why
    extra = set(chapters) - seen_names - methods - {"__name__", "__builtins__"}
    if extra:
        return f"the chapters define {sorted(extra)}, the package does not"
    return None


def calls(namespace: dict) -> dict[str, str]:
    """What every function of no arguments returns (or raises)."""
    out = {}
    for name, value in sorted(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__code__.co_argcount == 0 \
                and not name.startswith("_") and name != "add_to_class":
            try:
                out[name] = repr(value())
            except Exception as exc:  # noqa: BLE001 - what it raises is the result
                out[name] = f"raises {type(exc).__name__}"
    return out


# --- the real book ----------------------------------------------------------


@pytest.fixture(scope="module")
def tangled(tmp_path_factory) -> Path:
    """The package the tangler makes of the book's chapters, in a folder of its own
    (that micrograd/ is that package is tests/test_tangle.py's business)."""
    out = tmp_path_factory.mktemp("tangled")
    tangle.write(tangle.generate(ROOT), out)
    return out


def test_the_package_is_the_chapters_titled_blocks(tangled):
    assert compare(ROOT, tangled) is None


def test_the_package_computes_what_the_chapters_compute(tangled):
    chapters = run_titled(ROOT)
    modules = import_package(tangled)

    def train(Value, MLP):
        random.seed(1)
        model = MLP(3, [4, 4, 1])
        xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
        ys = [1.0, -1.0, -1.0, 1.0]
        losses = []
        for _ in range(5):
            loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data -= 0.05 * p.grad
            losses.append(loss.data)
        x = Value(0.7)
        y = (x.tanh() * x.exp() + x ** 3 - x / 2).relu()
        y.backward()
        return losses, [p.data for p in model.parameters()], y.data, x.grad

    package = train(modules["engine"].Value, modules["nn"].MLP)
    assert package == train(chapters["Value"], chapters["MLP"])
    assert package[0][-1] < package[0][0]


# --- tricky chapters --------------------------------------------------------


BOOK = "micrograd/_book.py"
ADD_TO_CLASS = """
def add_to_class(cls):
    def attach(method):
        setattr(cls, method.__name__, method)
        return method
    return attach
"""


def titled(title, code):
    return f'{FENCE}python title="{title}"\n{code.strip()}\n{FENCE}\n\n'


def book(*chapters):
    """Chapters as lists of (title, code); the first chapter defines add_to_class."""
    out = {"a0.md": titled(BOOK, ADD_TO_CLASS)}
    for i, blocks in enumerate(chapters, 1):
        out[f"a{i}.md"] = "".join(titled(t, c) for t, c in blocks)
    return out


E, N = "micrograd/engine.py", "micrograd/nn.py"

KEPT = {  # shapes the tangler keeps equivalent
    "multi-line string in a method added later": book(
        [(E, "class A:\n    def keep(self):\n        return 1")],
        [(E, '@add_to_class(A)\ndef text(self):\n    return """one\n  two\nthree"""')],
        [(E, "def probe():\n    return A().text()")]),
    "multi-line strings in a class body": book(
        [(E, 'class A:\n    """Doc\n    on two lines."""\n    def t(self):\n'
             '        return f"""x{1}\n    y\n"""\n\n\ndef probe():\n    return A().t()')]),
    "chained assignment, one name redefined": book(
        [(E, "A = B = 1")], [(E, "A = 2\n\n\ndef probe():\n    return A, B")]),
    "alias and its method both replaced": book(
        [(E, "class V:\n    def add(self):\n        return 1\n    radd = add")],
        [(E, "@add_to_class(V)\ndef add(self):\n    return 2\n\n\n"
             "@add_to_class(V)\ndef radd(self):\n    return 3")],
        [(E, "def probe():\n    return V().add(), V().radd()")]),
    "redefined name used only when called": book(
        [(E, "def f():\n    return 1\n\n\ndef g():\n    return f()")],
        [(E, "def f():\n    return 2")], [(E, "def probe():\n    return g()")]),
    "a definition replacing an import of its file": book(
        [(E, "from math import exp\n\n\ndef probe():\n    return exp(0)")],
        [(E, "def exp(x):\n    return x")]),
    "a definition replacing another file's import": book(
        [(N, "from math import exp\n\n\ndef probe():\n    return exp(0)")],
        [(E, "def exp(x):\n    return x")]),
    "comprehension variable named like a redefined global": book(
        [(E, "x = 1\nSQUARES = [x * x for x in range(3)]")],
        [(E, "x = 2\n\n\ndef probe():\n    return SQUARES, x")]),
    "a class of one file used by another": book(
        [(E, "class Value:\n    def __init__(self, d):\n        self.d = d")],
        [(N, "ONE = 1\n\n\ndef probe():\n    return Value(ONE).d")]),
}

REFUSED = {  # shapes the tangler must refuse: (book, chapter, line, words)
    "name redefined after use": (book(
        [(E, "def f():\n    return 1\n\n\nX = f()")], [(E, "def f():\n    return 2")]),
        "a1.md", 6, "defined again later"),
    "name that reads itself": (book(
        [(E, "X = 1")], [(E, "X = X + 1")]), "a2.md", 2, "defines it again"),
    "alias of a replaced method": (book(
        [(E, "class V:\n    def add(self):\n        return 1\n    radd = add")],
        [(E, "@add_to_class(V)\ndef add(self):\n    return 2")]),
        "a2.md", 2, "took the old add"),
    "import shadowing a definition": (book(
        [(E, "def exp(x):\n    return x")], [(E, "from math import exp")]),
        "a2.md", 2, "imports first"),
    "a __future__ import": (book(
        [(E, "def h(x: int) -> int:\n    return x")],
        [(E, "from __future__ import annotations")]),
        "a2.md", 2, "__future__"),
    "two imports of one name": (book(
        [(E, "from math import sqrt")], [(E, "from cmath import sqrt")],
        [(E, "from math import sqrt\n\n\ndef probe():\n    return sqrt(-1)")]),
        "a2.md", 2, "import it one way"),
    "one name in two files": (book(
        [(E, "def _fmt(x):\n    return str(x)")], [(N, "def _fmt(x):\n    return repr(x)")]),
        "a2.md", 2, "rename one"),
    "an import another file relies on": (book(
        [(E, "import math")], [(N, "def f():\n    return math.pi")]),
        "a2.md", 3, "imported in micrograd/engine.py only"),
    "a name only an untitled block defines": (
        {**book([(E, "def f():\n    return helper()")]),
         "a0.md": titled(BOOK, ADD_TO_CLASS) + f"{FENCE}python\nhelper = len\n{FENCE}\n"},
        "a1.md", 3, "`helper` is not defined"),
    "method named like a global": (book(
        [(E, "class V:\n    pass\n\n\ndef tanh(x):\n    return x")],
        [(E, "@add_to_class(V)\ndef tanh(self):\n    return 0")]),
        "a2.md", 2, "both a method added with"),
    "default read before redefinition": (book(
        [(E, "K = 1\n\n\ndef f(k=K):\n    return k")], [(E, "K = 2")]),
        "a1.md", 5, "defined again later"),
    "class written again after an instance": (book(
        [(E, "class A:\n    pass\n\n\nZERO = A()")], [(E, "class A:\n    x = 1")]),
        "a1.md", 6, "defined again later"),
    "method default naming a member": (book(
        [(E, "class A:\n    size = 3")],
        [(E, "size = 4\n\n\n@add_to_class(A)\ndef f(self, n=size):\n    return n")]),
        "a2.md", 5, "rename one"),
    "walrus": (book([(E, "X = (Y := 2)")]), "a1.md", 2, ":="),
    "annotation without a value": (book([(E, "X: int")]), "a1.md", 2, "binds nothing"),
    "star import": (book([(E, "from math import *")]), "a1.md", 2, "import *"),
    "a call of a class that gets methods later": (book(
        [(E, "class C:\n    def m(self):\n        return 0\n\n\nK = C().m()")],
        [(E, "@add_to_class(C)\ndef m(self):\n    return 1")]),
        "a1.md", 7, "methods are added"),
    "files that import each other": (book(
        [(E, "class Value:\n    def f(self):\n        return helper()")],
        [(N, "def helper():\n    return Value")]),
        "a1.md", 1, "import each other"),
}


@pytest.mark.parametrize("case", KEPT, ids=list(KEPT))
def test_tricky_shapes_are_kept_equivalent(case, make_book):
    root = make_book(KEPT[case])
    tangle.write(tangle.generate(root), root)
    assert compare(root) is None
    chapters, modules = run_titled(root), import_package(root)
    package = {k: v for m in modules.values() for k, v in vars(m).items()}
    assert calls(package) == calls(chapters)
    assert "probe" in calls(package)


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_shapes_that_would_differ_are_refused_with_file_and_line(case, make_book):
    chapters, name, line, words = REFUSED[case]
    root = make_book(chapters)
    with pytest.raises(BookError) as err:
        tangle.generate(root)
    assert str(err.value).startswith(f"docs/{name}:{line}: "), str(err.value)
    assert words in str(err.value)


def test_without_the_checks_the_refused_shapes_really_differ(tmp_path, monkeypatch):
    """The refusals are not over-cautious: with the checks switched off, the
    package of each refused book differs from its chapters or fails to import."""
    from tests.conftest import write_book

    monkeypatch.setattr(tangle.same_as_chapters, "check", lambda files, cross: None)
    syntax_only = {"walrus", "annotation without a value", "star import"}
    # (a __future__ import changes the flags of the code compiled after it: differ sees it)
    for i, (case, (chapters, *_)) in enumerate(REFUSED.items()):
        if case in syntax_only:
            continue
        root = write_book(chapters, tmp_path / str(i))
        try:
            tangle.write(tangle.generate(root), root)
            why = compare(root, untitled=True)
        except Exception as exc:  # noqa: BLE001 - failing to import is a difference too
            why = f"{type(exc).__name__}: {exc}"
        assert why, f"{case}: the package is the same as the chapters after all"


# --- random chapters ------------------------------------------------------


def random_book(rng: random.Random) -> dict:
    """Three chapters of small titled blocks over two files, drawn so that names
    collide, get redefined, aliased, replaced and read before or after."""
    funcs, consts = ["f", "g"], ["K", "J"]

    def expr():
        return rng.choice(["1", "2", "K", "f()", "len('ab')", "[i for i in range(2)]",
                           "C().m()", "K + J"])

    def stmt(title):
        if title == N:  # the other file reads the first one's names
            return f"def h():\n    return {expr()}"
        kind = rng.randrange(9)
        if kind == 0:
            return f"def {rng.choice(funcs)}():\n    return {expr()}"
        if kind == 1:
            return f"{rng.choice(consts)} = {expr()}"
        if kind == 2:
            return f"{' = '.join(rng.sample(consts, 2))} = {rng.randrange(5)}"
        if kind == 3:
            return (f"class C:\n    def m(self):\n        return {rng.randrange(5)}\n"
                    f"    n = m\n    s = '''a\n  b'''")
        if kind == 4:
            return f"@add_to_class(C)\ndef {rng.choice('mn')}(self):\n    return {expr()}"
        if kind == 5:
            return rng.choice(["import math"] * 4 + ["from math import floor as f"])
        if kind == 6:
            return f"def {rng.choice(funcs)}(k={rng.choice(consts)}):\n    return k"
        if kind == 7:
            return f"@add_to_class(C)\ndef t(self):\n    return '''x\n    y{rng.randrange(3)}'''"
        return f"def {rng.choice(funcs)}():\n    return math.floor({rng.randrange(9)} / 2)"

    base = "K = J = 1\n\n\ndef f():\n    return 1\n\n\nclass C:\n    def m(self):\n" \
        "        return 0"
    chapters = [[(E, base)]]
    for _ in range(3):
        blocks = []
        for _ in range(rng.randrange(1, 3)):
            title = rng.choice([E] * 5 + [N])
            blocks.append((title, "\n\n\n".join(stmt(title)
                                                for _ in range(rng.randrange(1, 4)))))
        chapters.append(blocks)
    return book(*chapters)


def test_random_chapters_are_tangled_equivalently_or_refused(tmp_path):
    from tests.conftest import write_book

    outcomes = {"kept": 0, "refused": 0, "invalid": 0}
    for seed in range(300):
        chapters = random_book(random.Random(seed))
        root = write_book(chapters, tmp_path / str(seed))
        try:
            expected = calls(run_titled(root))
        except Exception:  # noqa: BLE001 - the chapters themselves fail: not a book
            outcomes["invalid"] += 1
            continue
        try:
            files = tangle.generate(root)
        except BookError as exc:
            where = re.match(r"docs/(a\d\.md):(\d+): ", str(exc))
            assert where, f"seed {seed}: no file and line in {exc}"
            lines = (root / "docs" / where[1]).read_text().splitlines()
            assert 1 <= int(where[2]) <= len(lines), f"seed {seed}: {exc}"
            outcomes["refused"] += 1
            continue
        tangle.write(files, root)
        why = compare(root)
        assert why is None, f"seed {seed}: {why}\n{chapters}"
        package = {k: v for m in import_package(root).values() for k, v in vars(m).items()}
        assert calls(package) == expected, f"seed {seed}"
        outcomes["kept"] += 1
    # the corpus exercises both outcomes, not only one
    assert outcomes["kept"] >= 30 and outcomes["refused"] >= 30, outcomes
