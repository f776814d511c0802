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
import textwrap
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
# build's, so the browser test does not compare it). On the playground's page,
# <!--page: playground-skips REASON--> marks a block the playground does not
# need (a demonstration, say): its Run button works, but the playground's
# session leaves it out, so Train starts without waiting for it.
PAGE_MARKERS = ("skip", "output-differs", "playground-skips")
# the playground's place in its page: an element of class mg-playground, as
# docs/js/run.js looks for it (not in a fence or an HTML comment)
PLAYGROUND_RE = re.compile(r"""<\w[^>]*\sclass\s*=\s*["'](?:[^"']*\s)?mg-playground["'\s]""")
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
# The CPython whose outputs the chapters show. On another version, and in the
# page, a block marked <!--page: output-differs REASON--> runs unchecked.
OUTPUTS_FROM = (3, 11)
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
    playground_skips: str | None = None  # why the playground's session leaves it out
    exercise: tuple[str, str] | None = None  # (kind, name): ("start", "softmax_loss")
    timeout: float | None = None  # seconds it may run (<!--timeout: N-->); None: the default

    @property
    def in_playground(self) -> bool:
        """Whether the playground's session (docs/js/playground.js) runs it."""
        return self.page_reason is None and self.playground_skips is None

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
    check_python_fences(path, text)
    reader = _LineReader(text)
    try:
        raw = extract_from_buffer(reader)
    except RuntimeError as exc:
        hint = next((fix for words, fix in PARSER_HINTS.items() if words in str(exc)), None)
        message = f"pytest-codeblocks: {exc}" + (f"; {hint}" if hint else "")
        raise BookError(path, reader.line, message) from None
    check_same_blocks(path, text, [cb.lineno for cb in raw])
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
            playground_skips=page.get("playground-skips"),
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


def _has_playground(lines: list[str], inside: set[int]) -> bool:
    """Whether the page shows the playground: its element outside fences and comments."""
    shown = "\n".join(line for n, line in enumerate(lines) if n not in inside)
    return bool(PLAYGROUND_RE.search(re.sub(r"<!--.*?-->", "", shown, flags=re.DOTALL)))


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
                                "<!--page: skip REASON-->, <!--page: output-differs REASON--> "
                                "or <!--page: playground-skips REASON-->")
            if not value:
                who = ("for contributors: readers do not see it" if keyword == "playground-skips"
                       else "readers see the reason next to the block")
                raise BookError(path, i + 1, f"say why: <!--page: {keyword} REASON-->; {who}")
            if keyword == "playground-skips" and not _has_playground(lines, inside):
                raise BookError(path, i + 1, "<!--page: playground-skips--> is for the page "
                                'that has the playground (a <div class="mg-playground">); '
                                "this page has none, so the marker would do nothing: remove it")
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


# Python fences a reader sees as code but the runner does not run: a console
# session, another Python, a stub file. Tracebacks are output, not code.
NOT_RUN_HINTS = {
    "pycon": "a console session (>>> prompts) cannot be checked: write the code in a "
             "```python block and what it prints in its expected-output block",
}
PY_OUTPUT_LANGS = {"pytb", "py3tb", "py2tb", "pypylog"}
QUOTED_FENCE_RE = re.compile(r"^\s*>[\s>]*(`{3,}|~{3,})\s*(.*)$")
TEXT_FIX = ("make it a ```python fence to run it, or a ```text fence if it must not run")


def looks_like_python_lang(lang: str) -> bool:
    """Whether a fence's language is some Python (python, py, pycon, ipython...)."""
    return (lang.startswith("py") or "python" in lang) and lang not in PY_OUTPUT_LANGS


def scan(lines: list[str]) -> list[dict]:
    """Every fence of a chapter as a Markdown page shows it, in order: its
    opening and closing index, character, info, and the index of the HTML
    comment it is inside (None when a reader sees it). A comment's inside is raw HTML, so
    its fence lines open nothing; a fence's inside is text, so ``<!--`` in it
    opens nothing either."""
    out, opened, comment = [], None, None  # comment: index of the open <!--
    for i, line in enumerate(lines):
        if opened is None and comment is not None:
            m = FENCE_RE.match(line)
            if m:
                out.append({"at": i, "fence": m.group(2), "info": m.group(3).strip(),
                            "comment": comment, "close": i})
            if "-->" in line:
                comment = None
            continue
        m = FENCE_RE.match(line)
        if opened is None:
            if m:
                opened = {"at": i, "fence": m.group(2), "info": m.group(3).strip(),
                          "comment": None, "close": len(lines) - 1}
                out.append(opened)
            elif line.lstrip().startswith("<!--") and "-->" not in line:
                comment = i  # a comment block; one in a sentence is the sentence's
        elif (m and m.group(2)[0] == opened["fence"][0]
              and len(m.group(2)) >= len(opened["fence"]) and not m.group(3).strip()):
            opened["close"], opened = i, None
    return out


def check_python_fences(path: Path, text: str) -> None:
    """Every fence a reader sees as Python runs, or stops the book here.

    Runs: ```python (or py, python3, in any case), of three or more
    backticks, at the top level or indented in a list or an admonition, with
    only display attributes. Stops with the line: a Python fence of tildes,
    in an attribute list ({.python}), in a quote (>), of a language the
    runner cannot check (pycon, ipython...), an indented code block that
    reads as Python, and a Python fence hidden in an HTML comment, which
    readers never see and pytest-codeblocks would still run.
    """
    lines = text.splitlines()
    for fence in scan(lines):
        info, line = fence["info"], fence["at"] + 1
        lang = _language(info)
        if not looks_like_python_lang(lang):
            continue
        if fence["comment"] is not None:
            raise BookError(path, line, f"this {lang} block is inside an HTML comment (opened at "
                            f"line {fence['comment'] + 1}): readers never see it, yet it would "
                            "run; delete it, or take it out of the comment")
        if fence["fence"][0] == "~":
            raise BookError(path, line, f"the runner reads backtick fences only, so this "
                            f"{fence['fence']}{info} block would not run; write it "
                            f"```{info}")
        if info.startswith("{"):
            raise BookError(path, line, f"the runner cannot run a fence written "
                            f"{fence['fence']}{info}; write the language first, then the "
                            'attributes: ```python title="..."')
        if lang not in PY_LANGS:
            hint = NOT_RUN_HINTS.get(lang, TEXT_FIX)
            raise BookError(path, line, f"the runner cannot run a ```{lang} block, which "
                            f"readers see as Python code; {hint}")
    shown = {i for f in scan(lines) if f["comment"] is None
             for i in range(f["at"], f["close"] + 1)}
    for i, line in enumerate(lines):
        m = QUOTED_FENCE_RE.match(line) if i not in shown else None
        if m and looks_like_python_lang(_language(m.group(2))):
            raise BookError(path, i + 1, "the runner cannot read a Python block inside a "
                            "quote (>); take the block out of the quote")
    check_indented_code(path, lines)


def check_indented_code(path: Path, lines: list[str]) -> None:
    """Stop at an indented code block (four spaces, at the top level) that reads
    as Python: readers see code the runner never runs."""
    inside = {i for f in scan(lines) if f["comment"] is None
              for i in range(f["at"], f["close"] + 1)}
    container = False  # a list item, an admonition, a footnote or a tab is open
    previous = ""  # the last non-blank line at the top level
    i = 0
    while i < len(lines):
        line = lines[i]
        if i in inside or not line.strip():
            i += 1
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0:
            container = bool(re.match(r"([-*+]|\d+[.)])\s|(!!!|\?\?\?\+?|===)\s|\[\^", line))
            previous = line
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and i not in inside and (not lines[i].strip() or
                                                       lines[i].startswith("    ")):
            i += 1
        after_blank = start > 0 and not lines[start - 1].strip()
        if indent < 4 or container or not after_blank or previous.startswith("<"):
            continue
        code = textwrap.dedent("\n".join(lines[start:i]))
        if _reads_as_python(code):
            raise BookError(path, start + 1, "this indented code block reads as Python, but the "
                            f"runner only runs fences; {TEXT_FIX}")


def _reads_as_python(code: str) -> bool:
    """Parses as Python and holds a statement: an assignment, a def, an import...
    (bare expressions alone may be an output, such as ``Value(data=2.0)``)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return any(not isinstance(node, ast.Expr) for node in tree.body)


def check_same_blocks(path: Path, text: str, parsed: list[int]) -> None:
    """pytest-codeblocks' parser (markers, expected outputs) found its blocks
    where the page shows fences; else the two disagree on what is code."""
    opening = {f["at"] + 1 for f in scan(text.splitlines()) if f["comment"] is None}
    for line in parsed:
        if line not in opening:
            raise BookError(path, line, "pytest-codeblocks reads a block here, but the page "
                            "shows this line as text inside another block; close that block "
                            "with a line of its fence alone (no info after it), or use a "
                            "longer fence (````) around it")


def count_python_fences(text: str) -> int:
    """Python fences counted by a plain line scan, independent of any parser."""
    return sum(_language(info) in PY_LANGS for _, _, info in fences(text.splitlines()))
