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

import ast
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
OUTPUT_MARKER_RE = re.compile(r"^\s*<!--[-\s]*pytest-codeblocks:\s*expected-output")
# How a block behaves in the reader's browser (the in-page runtime), written
# right above its fence: <!--page: skip needs matplotlib--> (it cannot run
# there; the reason is shown instead of a Run button) or
# <!--page: output-differs timings--> (it runs, but its output is not the
# build's, so the browser test does not compare it).
PAGE_MARKERS = ("skip", "output-differs")
# An exercise: <!--exercise: start NAME--> above the block the reader completes,
# <!--exercise: check NAME--> above the block defining check_NAME(), which
# raises AssertionError with a helpful message unless the answer is right,
# then <!--exercise: wrong NAME--> (a plausible wrong answer, at least one) and
# <!--exercise: solution NAME-->, both folded away in the page.
EXERCISE_KINDS = ("start", "check", "wrong", "solution")
# A block's time limit, when it needs more than the runner's default
# (tools.runner.TIMEOUT): <!--timeout: 300--> (seconds) right above its fence.
# The book's own markers: <!--page: KEYWORD VALUE-->, <!--exercise: KIND NAME-->,
# <!--timeout: SECONDS-->
MARKER_RE = re.compile(r"^\s*<!--\s*(page|exercise|timeout):\s*(\S*)\s*(.*?)\s*-->\s*$")
MAX_TIMEOUT = 3600
# Modules the in-page Python (Pyodide's core) cannot import
NOT_IN_PAGE = {"torch": "PyTorch", "matplotlib": "matplotlib", "numpy": "NumPy"}


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
    page_skip: str | None = None  # why it cannot run in the page (a page: marker)
    page_differs: str | None = None  # why its output in the page is not the build's
    exercise: tuple[str, str] | None = None  # (kind, name): ("start", "softmax_loss")
    timeout: float | None = None  # seconds it may run (<!--timeout: N-->); None: the default

    @property
    def page_reason(self) -> str | None:
        """Why this block has no Run button in the page, or None."""
        if self.page_skip is not None:
            return self.page_skip
        if self.importorskip in NOT_IN_PAGE:
            return f"it needs {NOT_IN_PAGE[self.importorskip]}, which the browser does not have"
        return None

    @property
    def where(self) -> str:
        return f"{rel(self.chapter)}:{self.line}"


class _NavLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # C: 10x faster
    """Reads mkdocs.yml, ignoring tags such as ``!!python/name:``."""


_NavLoader.add_multi_constructor("", lambda loader, suffix, node: None)


def load_config(root: Path = ROOT) -> dict:
    return yaml.load((root / "mkdocs.yml").read_text(), Loader=_NavLoader)


def docs_dir(root: Path = ROOT) -> Path:
    return root / load_config(root).get("docs_dir", "docs")


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
    pages = [p for p in nav_files(root) if p.suffix == ".md"]
    for page in pages:
        if not page.is_file():
            raise missing_page(root, page)
    return pages


def nav_lines(root: Path) -> tuple[list[str], int, int]:
    """mkdocs.yml's lines, and the index of its ``nav:`` line and of its last entry."""
    lines = (root / "mkdocs.yml").read_text().splitlines()
    start = next((i for i, text in enumerate(lines) if text.startswith("nav:")), 0)
    last = start
    for i in range(start + 1, len(lines)):
        if lines[i].strip() and not lines[i][0].isspace():
            break  # the next top-level key
        if lines[i].lstrip().startswith("- "):
            last = i
    return lines, start, last


def missing_page(root: Path, page: Path) -> BookError:
    """The nav names a file that does not exist."""
    name = page.relative_to(docs_dir(root)).as_posix()
    lines, start, last = nav_lines(root)
    entry = re.compile(rf"(^|[\s:'\"-]){re.escape(name)}['\"]?\s*$")
    line = next((i + 1 for i in range(start, last + 1) if entry.search(lines[i])), None)
    return BookError(
        root / "mkdocs.yml", line,
        f"the nav names {name}, but {rel(page)} does not exist; create it "
        f"(make chapter NAME={page.stem}) or remove this line from the nav",
    )


def chapter_title(page: Path, default: str | None = None) -> str:
    """The chapter's H1, or ``default`` (its file name made readable)."""
    h1 = re.search(r"^# (.+)$", read_chapter(page), re.MULTILINE)
    if h1:
        return h1.group(1).strip()
    return default if default is not None else page.stem.replace("-", " ").capitalize()


def nav_hint(root: Path, page: Path) -> str:
    """How to put ``page`` in the nav: the line to add, and where the nav is."""
    title = chapter_title(page)
    title = f'"{title}"' if ":" in title else title
    name = page.relative_to(docs_dir(root)).as_posix()
    _, _, last = nav_lines(root)
    return (f"add the line `  - {title}: {name}` to the nav at its place in the "
            f"reading order (the nav ends at mkdocs.yml:{last + 1})")


def not_in_nav(root: Path, page: Path) -> BookError:
    """A page under docs/ that the nav does not name, so the book skips it."""
    return BookError(page, None, "this page is not in the nav of mkdocs.yml, so the book "
                     f"leaves it out; {nav_hint(root, page)}")


def check_nav(root: Path = ROOT) -> None:
    """The nav names every page under docs/, and every file it names exists."""
    listed = set()
    for path in nav_files(root):
        if not path.exists():
            raise missing_page(root, path)
        listed.add(path.resolve())
    for page in sorted(docs_dir(root).rglob("*.md")):
        if page.resolve() not in listed:
            raise not_in_nav(root, page)


def parse_info(info: str, path: Path, line: int) -> tuple[str, dict[str, str]]:
    """Split a fence info string into its language and its attributes."""
    try:
        words = shlex.split(info)
    except ValueError as exc:
        raise BookError(path, line, f"cannot read the fence info {info!r}: {exc}; "
                        'quote attribute values in pairs: title="micrograd/nn.py"') from None
    if not words:
        return "", {}
    lang, attrs = words[0].lower(), {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        attrs[key] = value if eq else ""
    return lang, attrs


def fences(lines: list[str]) -> list[tuple[int, int | None, str]]:
    """The top-level fences: (opening index, closing index or None, info string).

    A fence closes at a line of the same character, at least as long, with
    nothing after it, so fences inside a longer fence (a chapter showing
    Markdown source) are text, not fences.
    """
    out, opened = [], None  # opened: (index, fence, info)
    for i, line in enumerate(lines):
        m = FENCE_RE.match(line)
        if not m:
            continue
        fence, info = m.group(2), m.group(3).strip()
        if opened is None:
            opened = (i, fence, info)
        elif fence[0] == opened[1][0] and len(fence) >= len(opened[1]) and not info:
            out.append((opened[0], i, opened[2]))
            opened = None
    if opened is not None:
        out.append((opened[0], None, opened[2]))
    return out


def fence_end(lines: list[str], start: int) -> int:
    """Index of the line that closes the fence opened at index ``start``."""
    end = next(close for open_, close, _ in fences(lines) if open_ == start)
    return len(lines) - 1 if end is None else end


def check_fences(path: Path, text: str) -> None:
    """Fail with the opening line when a fence is never closed."""
    lines = text.splitlines()
    for open_, close, _ in fences(lines):
        if close is None:
            fence = FENCE_RE.match(lines[open_]).group(2)
            raise BookError(path, open_ + 1,
                            f"this {fence} fence is never closed; add a closing {fence} line")


def _language(info: str) -> str:
    """The language of a fence: ``python`` for ``python title=...`` or ``{.python}``."""
    word = re.split(r"[\s{}]", info.strip().lstrip("{").strip(), maxsplit=1)[0]
    return word.lstrip(".").lower()


def check_output_markers(path: Path, text: str) -> None:
    """Each expected-output marker comes after a Python block, whose output it is.

    pytest-codeblocks would attach it to any earlier block (a ``text`` block
    too), and then no test would ever check that output.
    """
    lines = text.splitlines()
    spans = fences(lines)
    for i, line in enumerate(lines):
        if not OUTPUT_MARKER_RE.match(line):
            continue
        if any(o < i and (c is None or c > i) for o, c, _ in spans):
            continue  # a marker shown inside a fence is text
        before = [(o, info) for o, c, info in spans if c is not None and c < i]
        fix = "put it right after the ```python block whose output it shows"
        if not before:
            raise BookError(
                path, i + 1, f"this expected-output marker has no block before it; {fix}")
        open_, info = before[-1]
        if _language(info) not in PY_LANGS:
            raise BookError(
                path, i + 1,
                f"this expected-output marker follows a ```{_language(info)} block (line "
                f"{open_ + 1}), not a Python block, so its output would never be checked; {fix}",
            )


class _LineReader(io.StringIO):
    """Text read line by line, remembering the number of the last line read."""

    line = 0

    def readline(self, *args):
        self.line += 1
        return super().readline(*args)


# pytest-codeblocks' errors (they carry no line) -> how to fix them
PARSER_HINTS = {
    "no previous code block": "put the marker right after the ```python block it belongs to",
    "already has expected_output": "a block has one output block; remove one of the two markers",
    "Unknown pytest-codeblocks keyword": (
        "the markers are <!--pytest-codeblocks:expected-output-->, "
        "<!--pytest-codeblocks:importorskip(module)--> and <!--pytest.mark.skipif(...)-->"
    ),
    "Expected importorskip": "write it as <!--pytest-codeblocks:importorskip(torch)-->",
}


# Line breaks Python's str.splitlines() knows but Markdown and Python's parser
# do not: they would make the chapter's line numbers disagree between tools.
ODD_BREAKS = {"\r": "a lone carriage return (CR)", "\v": "a vertical tab",
              "\f": "a form feed", "\x1c": "U+001C", "\x1d": "U+001D", "\x1e": "U+001E",
              "\x85": "U+0085 (NEL)", "\u2028": "U+2028 (LINE SEPARATOR)",
              "\u2029": "U+2029 (PARAGRAPH SEPARATOR)", "\x00": "a NUL byte"}


def read_chapter(path: Path) -> str:
    """A chapter's text: UTF-8, lines ended by LF (CRLF is read as LF).

    Anything else is a BookError with the file and line: bytes that are not
    UTF-8, and characters that some tools take for a line break and others
    do not (so the line numbers in messages would be wrong).
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise BookError(path, line, f"this line is not UTF-8 (byte {data[exc.start]:#04x}); "
                        "save the chapter as UTF-8") from None
    text = text.replace("\r\n", "\n")
    for i, line in enumerate(text.split("\n"), 1):
        odd = next((c for c in line if c in ODD_BREAKS), None)
        if odd is not None:
            raise BookError(path, i, f"this line holds {ODD_BREAKS[odd]}; end lines with a "
                            "plain newline (LF or CRLF) and remove other control characters")
    return text


def read_blocks(path: Path) -> list[Block]:
    """The Python blocks of one chapter, in order, with their markers."""
    path = Path(path)
    text = read_chapter(path)
    check_fences(path, text)
    check_output_markers(path, text)
    reader = _LineReader(text)
    try:
        raw = extract_from_buffer(reader)
    except RuntimeError as exc:
        hint = next((fix for words, fix in PARSER_HINTS.items() if words in str(exc)), None)
        message = f"pytest-codeblocks: {exc}" + (f"; {hint}" if hint else "")
        raise BookError(path, reader.line, message) from None
    page_markers = read_markers(path, text)
    blocks = []
    for cb in raw:
        lang, attrs = parse_info(cb.syntax or "", path, cb.lineno)
        if lang not in PY_LANGS:
            if _language(cb.syntax or "") in PY_LANGS:  # ```{.python title="..."}
                raise BookError(
                    path, cb.lineno,
                    f"the runner cannot run a fence written ```{cb.syntax.strip()}; "
                    'write the language first, then the attributes: ```python title="..."',
                )
            continue
        unknown = sorted(set(attrs) - FENCE_ATTRS)
        if unknown:
            raise BookError(
                path, cb.lineno,
                f"the runner cannot run a fence with attribute(s) {', '.join(unknown)}; "
                f"a Python fence may only carry {', '.join(sorted(FENCE_ATTRS))}: "
                "remove the others, or make it a ```text block if it is not meant to run",
            )
        page = page_markers.pop(cb.lineno, {})
        blocks.append(Block(
            chapter=path, line=cb.lineno, code=_indented_code(text, cb.lineno, cb.code),
            title=attrs.get("title"),
            expected_output=cb.expected_output, marks=list(cb.marks),
            importorskip=cb.importorskip, page_skip=page.get("skip"),
            page_differs=page.get("output-differs"),
            exercise=next(((k[9:], v) for k, v in page.items() if k.startswith("exercise-")),
                          None),
            timeout=page.get("timeout"),
        ))
    for page in page_markers.values():
        raise BookError(path, page["at"], "this marker is above a fence that is not a "
                        "Python block; put it right above the ```python block it is about")
    check_exercises(path, blocks)
    return blocks


def _indented_code(text: str, line: int, parsed: str) -> str:
    """The code of an indented fence (in a details block, say), dedented.

    pytest-codeblocks drops the blank lines of an indented fence, which would
    change a multi-line string and differ from what the page shows and copies.
    """
    lines = text.split("\n")
    indent = len(FENCE_RE.match(lines[line - 1]).group(1))
    if not indent:
        return parsed
    body = lines[line:fence_end(lines, line - 1)]
    return "".join((row[indent:] if not row[:indent].strip() else row.lstrip()) + "\n"
                   for row in body)


def read_markers(path: Path, text: str) -> dict[int, dict]:
    """{fence line: {keyword: value, "at": marker line}} for the book's own
    markers: ``<!--page: KEYWORD REASON-->`` and ``<!--exercise: KIND NAME-->``
    (keywords "exercise-start", ... for the latter).

    A marker belongs to the fence below it, with only blank lines and other
    comment markers between them.
    """
    lines = text.splitlines()
    inside = {i for o, c, _ in fences(lines) for i in range(o, (c if c is not None else o) + 1)}
    found: dict[int, dict] = {}
    for i, line in enumerate(lines):
        m = MARKER_RE.match(line)
        if i in inside or not m:
            continue
        prefix, keyword, value = m.groups()
        if prefix == "page":
            if keyword not in PAGE_MARKERS:
                raise BookError(path, i + 1, f"unknown page: marker {keyword!r}; write "
                                "<!--page: skip REASON--> or <!--page: output-differs REASON-->")
            if not value:
                raise BookError(path, i + 1, f"say why: <!--page: {keyword} REASON-->; readers "
                                "see the reason next to the block")
        elif prefix == "exercise":
            if keyword not in EXERCISE_KINDS or not re.fullmatch(r"[a-z_][a-z0-9_]*", value):
                raise BookError(path, i + 1, f"cannot read {line.strip()!r}; write "
                                "<!--exercise: KIND NAME--> with KIND one of "
                                f"{', '.join(EXERCISE_KINDS)} and NAME a Python name such as "
                                "softmax_loss")
            keyword = f"exercise-{keyword}"
        else:  # timeout
            seconds = None if value else _seconds(keyword)
            if seconds is None:
                raise BookError(path, i + 1, f"cannot read {line.strip()!r}; write "
                                f"<!--timeout: SECONDS--> with SECONDS a number from 1 to "
                                f"{MAX_TIMEOUT}, such as <!--timeout: 300-->")
            keyword, value = "timeout", seconds
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].strip().startswith("<!--")):
            j += 1
        if j >= len(lines) or not FENCE_RE.match(lines[j]) or j not in inside:
            raise BookError(path, i + 1, "this marker is not followed by a block; put it "
                            "right above the ```python block it is about")
        marks = found.setdefault(j + 1, {"at": i + 1})
        if keyword in marks or (keyword.startswith("exercise-") and
                                any(k.startswith("exercise-") for k in marks)):
            raise BookError(path, i + 1, "this block already has such a marker")
        marks[keyword] = value
    return found


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return seconds if 1 <= seconds <= MAX_TIMEOUT else None


def check_exercises(path: Path, blocks: list[Block]) -> None:
    """Each exercise has, in this order, a start, a check (which defines
    ``check_NAME``), at least one wrong answer and a solution."""
    by_name: dict[str, list[Block]] = {}
    for block in blocks:
        if block.exercise:
            by_name.setdefault(block.exercise[1], []).append(block)
    for name, parts in by_name.items():
        kinds = [b.exercise[0] for b in parts]
        first = parts[0].line
        for kind in ("start", "check", "solution"):
            if kinds.count(kind) != 1:
                raise BookError(path, first, f"exercise {name!r} has {kinds.count(kind)} "
                                f"<!--exercise: {kind} {name}--> block(s); it needs exactly one "
                                "start, one check, one solution and at least one wrong answer")
        if "wrong" not in kinds:
            raise BookError(path, first, f"exercise {name!r} has no <!--exercise: wrong {name}--> "
                            "block: show a plausible wrong answer, which the tests prove the "
                            "check rejects")
        if kinds[:2] != ["start", "check"]:
            raise BookError(path, first, f"exercise {name!r}: write its start block first, then "
                            "its check, then its wrong answers and solution")
        check = parts[1]
        try:
            tree = ast.parse(check.code)
        except SyntaxError:
            continue  # the runner reports it, with its line
        defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if f"check_{name}" not in defined:
            raise BookError(path, check.line, f"the check block of exercise {name!r} must define "
                            f"def check_{name}(): the Check button and the tests call it")


def count_python_fences(text: str) -> int:
    """Python fences counted by a plain line scan, independent of any parser."""
    return sum(_language(info) in PY_LANGS for _, _, info in fences(text.splitlines()))
