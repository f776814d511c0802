"""Start a chapter: ``make chapter NAME=softmax [TITLE="Softmax"]``.

    python -m tools.new_chapter softmax --title "Softmax"

Writes docs/<NAME>.md from tools/chapter_template.md (an intro, one titled
block, one exploration with its checked output, a recap) and adds the page
to the nav of mkdocs.yml after the last chapter, before the Contributing
page. The new chapter passes its tests as written; then make it yours.

It refuses, and writes nothing, when NAME is not lower-case words joined by
hyphens, when docs/<NAME>.md exists, or when the nav already names it.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from pathlib import Path

from tools.book import ROOT, BookError, docs_dir, nav_files, nav_lines, rel
from tools.tangle import assemble, book_blocks

TEMPLATE = Path(__file__).resolve().parent / "chapter_template.md"
NAME_RE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
LAST_PAGE = "contributing.md"  # new chapters go before it


class Refused(Exception):
    pass


def method_name(name: str, root: Path) -> str:
    """The template's method: the chapter's name, unless ``Value`` has it already."""
    method = name.replace("-", "_")
    taken = set()
    try:
        engine = assemble(book_blocks(root)).get("micrograd/engine.py")
        value = engine.defs.get("Value") if engine else None
        taken = {m.name for m in getattr(value, "members", [])}
    except BookError:
        pass  # a broken book fails its own tests; the template still helps
    if method in taken or keyword.iskeyword(method):
        method += "_example"
    return method


def yaml_title(title: str) -> str:
    return f'"{title}"' if re.search(r"[:#{}\[\],&*?|<>=!%@`'\"]", title) else title


def nav_with(root: Path, entry: str) -> str:
    """mkdocs.yml's text with ``entry`` added as a chapter at the end of the nav."""
    lines, start, last = nav_lines(root)
    at = next((i for i in range(start, last + 1) if lines[i].rstrip().endswith(LAST_PAGE)), None)
    if at is None:
        at = last + 1
        indent = re.match(r"\s*", lines[last]).group(0) if last > start else "  "
    else:
        indent = re.match(r"\s*", lines[at]).group(0)
    lines.insert(at, f"{indent}- {entry}")
    return "\n".join(lines) + "\n"


def new_chapter(name: str, title: str | None = None, root: Path = ROOT) -> Path:
    """Write docs/<name>.md and its nav entry; raise ``Refused`` to write nothing."""
    if not name:
        raise Refused('say which chapter: make chapter NAME=my-topic [TITLE="My topic"]')
    if not NAME_RE.fullmatch(name):
        raise Refused(
            f"NAME={name!r} is not a chapter name: use lower-case words joined by "
            "hyphens, like softmax or batch-norm (it becomes docs/<NAME>.md and the URL)"
        )
    page = docs_dir(root) / f"{name}.md"
    if page.exists():
        raise Refused(f"{rel(page)} already exists: pick another NAME, or edit that chapter")
    if any(p.resolve() == page.resolve() for p in nav_files(root)):
        raise Refused(f"the nav of mkdocs.yml already names {name}.md: pick another NAME, "
                      "or remove that nav line first")
    title = title or name.replace("-", " ").capitalize()
    text = TEMPLATE.read_text()
    for key, value in {"title": title, "name": name, "method": method_name(name, root)}.items():
        text = text.replace("{{" + key + "}}", value)
    config = nav_with(root, f"{yaml_title(title)}: {name}.md")
    page.write_text(text)
    (root / "mkdocs.yml").write_text(config)
    return page


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.new_chapter",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("name", nargs="?", default="", help="file name without .md: softmax")
    parser.add_argument("--title", default="", help='heading and nav title: "Softmax"')
    args = parser.parse_args(argv)
    try:
        page = new_chapter(args.name.strip(), args.title.strip() or None, root)
    except Refused as exc:
        print(f"make chapter: {exc}", file=sys.stderr)
        return 2
    steps = {
        "make serve": "read it in the site as you write",
        f".venv/bin/python -m tools.runner {rel(page)}": "see each block's real output",
        "make tangle": "put its titled block into micrograd/",
        f"make test-chapter CH={page.stem}": "run its blocks as tests",
    }
    width = max(map(len, steps))
    print(f"wrote {rel(page)} and added it to the nav of mkdocs.yml. Next:")
    for command, why in steps.items():
        print(f"  {command.ljust(width)}  # {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
