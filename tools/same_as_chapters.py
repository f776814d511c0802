"""The package must do what the chapters do: the tangler's checks.

In the chapters, all titled blocks run in one namespace, in book order. The
package runs each file's imports first, then the last definition of each
name, in book order, in one namespace per file. The two agree unless one of
a few shapes occurs; each is refused with the chapter's file and line:

* a statement that reads a name when it runs (an assigned value, a default,
  a decorator, a base class, a class body) while that name is defined again
  later, or that reads the name it defines;
* a statement that calls a class to which methods are added later;
* a class-body alias (``radd = add``) of a method replaced later;
* one name defined in two files, imported two ways, imported after it was
  defined, or both a top-level name and a method (``@add_to_class`` returns
  the method, so in the chapters it is a global name too);
* a global name no package code defines (it came from an untitled block),
  or that only another file imports;
* files that would import each other; ``:=``, ``import *``, ``__future__``
  imports, and annotations without a value.

tests/test_equivalence.py runs the chapters' titled blocks and imports the
package, and compares them, on the book and on random chapters.
"""

from __future__ import annotations

import ast
import builtins
import symtable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tools.book import Block, BookError, rel

if TYPE_CHECKING:  # the tangler's classes; it imports this module
    from tools.tangle import ClassDef, Member, ModuleFile, Package

DECORATOR = "add_to_class"
# Names every module has without defining them
MODULE_NAMES = {"__name__", "__doc__", "__file__", "__spec__", "__loader__", "__package__",
                "__builtins__", "__path__", "__annotations__"}


@dataclass
class Binding:
    """A name bound at the top level of the book's one namespace."""

    kind: str  # "def" (definitions, assignments), "import", or "method" (@add_to_class)
    module: str  # the package file
    order: int
    chapter: Path
    line: int
    text: str = ""  # an import's text

    @property
    def where(self) -> str:
        return f"{rel(self.chapter)}:{self.line}"


def is_add_to_class(dec: ast.expr) -> bool:
    return isinstance(dec, ast.Call) and getattr(dec.func, "id", None) == DECORATOR


def now_names(node: ast.AST) -> set[str]:
    """The names a statement reads when it runs, not later when its functions are called:
    decorators, default values, base classes, assigned values, class bodies."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts = [d for d in node.decorator_list if not is_add_to_class(d)]
        parts += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    elif isinstance(node, ast.ClassDef):
        parts = node.decorator_list + node.bases + [k.value for k in node.keywords]
        return set().union(expr_names(parts), *(now_names(s) for s in node.body))
    elif isinstance(node, (ast.Assign, ast.AnnAssign)):
        parts = [node.value] if node.value else []
    else:
        parts = []
    return expr_names(parts)


def expr_names(exprs: list[ast.expr]) -> set[str]:
    loaded, local = set(), set()
    todo = list(exprs)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Lambda):  # its body runs later
            todo += node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
            continue
        if isinstance(node, ast.comprehension):
            local |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loaded.add(node.id)
        todo += ast.iter_child_nodes(node)
    return loaded - local


def global_reads(code: str, filename: str) -> dict[str, None]:
    """Every global name the code reads, now or when its functions run (symtable)."""
    out: dict[str, None] = {}
    todo = [symtable.symtable(code, filename, "exec")]
    while todo:
        table = todo.pop()
        kind = table.get_type()
        kind = getattr(kind, "value", kind)  # an enum from Python 3.13
        for sym in table.get_symbols():
            if not sym.is_referenced():
                continue
            if kind == "module" or (kind == "class" and not sym.is_local()) or (
                    sym.is_global() and not (sym.is_declared_global() and sym.is_assigned())):
                out.setdefault(sym.get_name())
        todo += table.get_children()
    return out


def reject_rare_shapes(block: Block, node: ast.stmt, title: str) -> None:
    """Shapes whose tangled form could not behave as the chapter does."""
    def fail(line: int, message: str):
        raise BookError(block.chapter, line, f"in this {title} block, {message}")

    if isinstance(node, ast.AnnAssign) and node.value is None:
        fail(node.lineno, f"`{ast.unparse(node)}` binds nothing; give it a value or drop it")
    if isinstance(node, ast.ImportFrom) and node.module == "__future__":
        fail(node.lineno, "a __future__ import changes only its own block in the chapters, "
             "but the whole file in the package; leave it out")
    if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
        fail(node.lineno, "`import *` hides which names it binds; import the names you use")
    outer = [node] if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else \
        node.decorator_list + node.args.defaults
    for part in outer:
        for sub in ast.walk(part):
            if isinstance(sub, ast.NamedExpr):
                fail(sub.lineno, "`:=` binds a name the tangler cannot follow; "
                     "write it as its own assignment")


def _check_class_body(cls: ClassDef, target: str) -> None:
    """A class-body statement that read a member (``radd = add``) keeps, in the
    chapters, the member as it was when the class was created; in the package it
    gets the member's last version. So that member must not be replaced later."""
    final = {m.name: m for m in cls.members if m.name}
    for m in cls.members:
        for name in sorted(m.uses & set(final) - {m.name}):
            new = final[name]
            if new.order > m.order:
                raise BookError(
                    new.where[0], new.where[1],
                    f"this replaces {target}.{name}, but `{m.source.splitlines()[0].strip()}` "
                    f"({rel(m.where[0])}:{m.where[1]}) took the old {name} when the class was "
                    f"created; the package would give it the new one. Replace that too, "
                    f"after this (@{DECORATOR}({target}) def {m.name}(...)), or give the new "
                    "method another name",
                )


def check_method_reads(cls: ClassDef, new: Member, target: str) -> None:
    clash = sorted(new.uses & {m.name for m in cls.members if m.name})
    if clash:
        raise BookError(
            new.where[0], new.where[1],
            f"this method's decorators or defaults read {', '.join(clash)}: in the chapters "
            f"that is the global name, in the package it would be {target}'s member; "
            "rename one of them",
        )


def _is_class(item: Member | ClassDef | None) -> bool:
    return hasattr(item, "members")


def check(files: Package, cross_imports: dict[str, list[str]]) -> None:
    """Refuse what would make the package ``files`` differ from the chapters.
    ``cross_imports``: the imports between package files, by file."""
    for name, bindings in files.history.items():
        _check_one_binding(name, bindings)
    for f in files.values():
        for top in f.kept():
            items = [top.item] + (top.item.members if _is_class(top.item) else [])
            members = set()
            if _is_class(top.item):
                members = {m.name for m in top.item.members}
                _check_class_body(top.item, top.names[0])
            for item in items:
                local = members if item is not top.item else set()
                for name in sorted(item.uses - local):
                    _check_read(files, f, top.item.order, item, name)
    _check_defined(files)
    _check_no_cycle(files, cross_imports)


def _check_one_binding(name: str, bindings: list[Binding]) -> None:
    """One name, one meaning: defined in one package file, never imported two ways or
    imported after a definition, never both a top-level name and a method."""
    for j, b in enumerate(bindings):
        for a in bindings[:j]:
            kinds = (a.kind, b.kind)
            if kinds == ("def", "def") and a.module != b.module:
                why = (f"`{name}` is defined in {a.module} ({a.where}) and again here in "
                       f"{b.module}; in the chapters one replaces the other everywhere, in "
                       "the package each file would keep its own: rename one")
            elif kinds == ("import", "import") and a.text != b.text:
                why = (f"`{b.text}` binds `{name}`, which `{a.text}` ({a.where}) bound "
                       "already; the package puts imports first, so it could not keep the "
                       "chapters' order: import it one way, or under another name")
            elif kinds == ("def", "import"):
                why = (f"this import replaces the `{name}` defined at {a.where}, but the "
                       "package puts imports first, so there the definition would win: "
                       "rename one")
            elif "method" in kinds and a.kind != b.kind:
                why = (f"`{name}` is both a method added with @{DECORATOR} and a top-level "
                       f"name (also at {a.where}); in the chapters @{DECORATOR} also binds "
                       f"the method to the global name `{name}`, in the package it does not: "
                       "rename one")
            else:
                continue
            raise BookError(b.chapter, b.line, why)


def _check_read(files: Package, f: ModuleFile, place: int, item, name: str) -> None:
    """``item`` reads ``name`` when it runs (at ``item.order`` in the chapters, at the
    position ``place`` of its statement in the package): both must see the same value."""
    bindings = [b for b in files.history.get(name, []) if b.kind != "method"]
    if not bindings:
        return  # a builtin, or undefined: _check_defined says which
    last = bindings[-1]
    limit = place if last.kind == "def" and last.module == f.path else item.order
    chapter, line = item.where
    cls = files[last.module].bound[name].item if last.kind == "def" else None
    if last.order < limit and _is_class(cls) and not _is_class(item):
        later = [m for m in cls.members if m.order > item.order]
        if later:
            raise BookError(chapter, line, (
                f"this statement uses class `{name}` when it runs, but methods are added to "
                f"it later ({rel(later[0].where[0])}:{later[0].where[1]}); in the package they "
                "would be there already: move the statement after them"))
    if last.order < limit:
        return
    if last.order == item.order:
        before = f" (from {bindings[-2].where})" if len(bindings) > 1 else ""
        why = (f"this statement reads `{name}` and defines it again; the package keeps only "
               f"this definition, so the `{name}` it reads{before} would be gone: "
               "use a new name")
    elif last.order > item.order:
        why = (f"this statement reads `{name}` when it runs, but `{name}` is defined again "
               f"later ({last.where}); the package would run it with the later `{name}`. "
               "Move it after that definition, or rename one of the two")
    else:
        why = (f"this method reads `{name}` when the class is created, but `{name}` is only "
               f"defined after the class ({last.where}); in the package the method is part "
               "of the class, so define the class after it")
    raise BookError(chapter, line, why)


def _check_defined(files: Package) -> None:
    """Every global name package code reads is defined by package code (or imported in
    its own file): in the chapters it might come from an untitled block."""
    defined = {n for n, bs in files.history.items() if any(b.kind == "def" for b in bs)}
    builtin = set(dir(builtins)) | MODULE_NAMES | {DECORATOR}
    for block, title, reads in files.reads:
        imported = {n for n, bs in files.history.items()
                    if any(b.kind == "import" and b.module == title for b in bs)}
        for name in reads:
            if name in defined or name in imported or name in builtin:
                continue
            line = next((n.lineno for n in ast.walk(ast.parse("\n" * block.line + block.code))
                         if isinstance(n, ast.Name) and n.id == name), block.line)
            other = [b.module for b in files.history.get(name, []) if b.kind == "import"]
            why = f"it is imported in {other[0]} only: import it in this file too" if other \
                else "in the chapters it may come from an untitled block or an earlier run, " \
                "but the package would fail with a NameError: define or import it here"
            raise BookError(block.chapter, line,
                            f"`{name}` is not defined by any package code; {why}")


def _check_no_cycle(files: Package, cross_imports: dict[str, list[str]]) -> None:
    needs = {path: {line.split()[1] for line in imports}
             for path, imports in cross_imports.items()}
    by_module = {f.module: f.path for f in files.values()}
    for start in needs:
        path, seen = [start], {start}
        while path:
            deps = [by_module[m] for m in needs[path[-1]] if m in by_module]
            if start in deps:
                chain = " -> ".join(path + [start])
                block = next(b for b, t, _ in files.reads if t == start)
                raise BookError(block.chapter, block.line,
                                f"the package files would import each other ({chain}): move "
                                "the names one of them uses into the other")
            nxt = [d for d in deps if d not in seen]
            if not nxt:
                path.pop()
                continue
            seen.add(nxt[0])
            path.append(nxt[0])


