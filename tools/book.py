"""The book as data: its chapters in nav order and their Python blocks.

Everything else (the tangler, the chapter runner, the pytest plugin, the
site hooks) reads the book through this module, so they all agree on what a
chapter is, which blocks it holds and where each block starts.

Blocks are parsed with pytest-codeblocks' own parser, so its comment markers
work as its documentation says (``expected-output``, ``cont``,
``pytest.mark.skipif(...)``, ``importorskip(...)``). Unlike pytest-codeblocks
itself, every Python fence is kept whatever its info string, so a titled
block (```` ```python title="micrograd/nn.py" ````) is never lost.
"""

from __future__ import annotations

import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pytest_codeblocks.main import extract_from_buffer

ROOT = Path(__file__).resolve().parent.parent
PY_LANGS = {"python", "py", "python3"}
# Attributes a Python fence may carry; all of them are about display only.
FENCE_ATTRS = {"title", "linenums", "hl_lines"}
FENCE_RE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*(.*)$")


class BookError(Exception):
    """A mistake in a chapter, reported as ``file:line: message``."""

    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = rel(path) + (f":{line}" if line else "")
        super().__init__(f"{where}: {message}")


def find_root(path: Path) -> Path | None:
    """The book a file belongs to: the nearest folder with a mkdocs.yml."""
    for folder in Path(path).resolve().parents:
        if (folder / "mkdocs.yml").is_file():
            return folder
    return None


def rel(path: Path) -> str:
    """Path relative to its book (``docs/nn.md``), for messages."""
    path = Path(path).resolve()
    root = find_root(path) or ROOT
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@dataclass
class Block:
    """One Python fence of a chapter."""

    chapter: Path
    line: int  # line of the opening fence, 1-based
    code: str
    title: str | None = None  # "micrograd/engine.py" for package code
    expected_output: str | None = None
    marks: list[str] = field(default_factory=list)
    importorskip: str | None = None

    @property
    def where(self) -> str:
        return f"{rel(self.chapter)}:{self.line}"


class _NavLoader(yaml.SafeLoader):
    """Reads mkdocs.yml, ignoring tags such as ``!!python/name:``."""


_NavLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def load_config(root: Path = ROOT) -> dict:
    return yaml.load((root / "mkdocs.yml").read_text(), Loader=_NavLoader)


def nav_files(root: Path = ROOT) -> list[Path]:
    """Every file named in the nav of mkdocs.yml, in order."""
    config = load_config(root)
    docs = root / config.get("docs_dir", "docs")
    out: list[Path] = []

    def walk(entry):
        if isinstance(entry, str):
            if "://" not in entry:
                out.append(docs / entry)
        elif isinstance(entry, list):
            for item in entry:
                walk(item)
        elif isinstance(entry, dict):
            for value in entry.values():
                walk(value)

    walk(config.get("nav", []))
    return out


def chapters(root: Path = ROOT) -> list[Path]:
    """The Markdown pages of the book, in reading order (the nav order)."""
    return [p for p in nav_files(root) if p.suffix == ".md"]


def parse_info(info: str, path: Path, line: int) -> tuple[str, dict[str, str]]:
    """Split a fence info string into its language and its attributes."""
    try:
        words = shlex.split(info)
    except ValueError as exc:
        raise BookError(path, line, f"cannot read the fence info {info!r}: {exc}")
    if not words:
        return "", {}
    lang, attrs = words[0].lower(), {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        attrs[key] = value if eq else ""
    return lang, attrs


def check_fences(path: Path, text: str) -> None:
    """Fail with the opening line when a fence is never closed."""
    opened = None  # (line, fence)
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE_RE.match(line)
        if not m:
            continue
        fence = m.group(2)
        if opened is None:
            opened = (number, fence)
        elif fence[0] == opened[1][0] and len(fence) >= len(opened[1]) and not m.group(3):
            opened = None
    if opened:
        raise BookError(
            path, opened[0],
            f"this {opened[1]} fence is never closed; add a closing {opened[1]} line",
        )


def read_blocks(path: Path) -> list[Block]:
    """The Python blocks of one chapter, in order, with their markers."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    check_fences(path, text)
    try:
        raw = extract_from_buffer(io.StringIO(text))
    except RuntimeError as exc:
        raise BookError(path, None, f"pytest-codeblocks could not parse it: {exc}")
    blocks = []
    for cb in raw:
        lang, attrs = parse_info(cb.syntax or "", path, cb.lineno)
        if lang not in PY_LANGS:
            continue
        unknown = sorted(set(attrs) - FENCE_ATTRS)
        if unknown:
            raise BookError(
                path, cb.lineno,
                f"the runner cannot run a fence with attribute(s) {', '.join(unknown)}; "
                f"a Python fence may only carry {', '.join(sorted(FENCE_ATTRS))}",
            )
        blocks.append(Block(
            chapter=path, line=cb.lineno, code=cb.code, title=attrs.get("title"),
            expected_output=cb.expected_output, marks=list(cb.marks),
            importorskip=cb.importorskip,
        ))
    return blocks


def count_python_fences(text: str) -> int:
    """Python fences counted by a plain line scan, independent of any parser.

    Fences inside a longer fence (a chapter showing Markdown source) are not
    counted, since they are text, not code.
    """
    count, opened = 0, None
    for line in text.splitlines():
        m = FENCE_RE.match(line)
        if not m:
            continue
        if opened is None:
            opened = m.group(2)
            info = m.group(3).strip()
            lang = re.split(r"[\s{]", info, maxsplit=1)[0].lstrip(".").lower()
            count += lang in PY_LANGS
        elif m.group(2)[0] == opened[0] and len(m.group(2)) >= len(opened) and not m.group(3):
            opened = None
    return count
