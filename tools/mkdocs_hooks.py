"""MkDocs hooks (mkdocs.yml ``hooks:``): run each chapter while building it.

* Each chapter runs as a session (``tools.runner``) while its page is built:
  a block that raises, or prints something other than its checked output,
  fails the build with the chapter file and line. A run that passed is
  remembered in .cache/ (``tools.chapter_cache``) until the chapter's code,
  its prelude or the package changes, so a prose edit rebuilds quickly.
* A block ending in a Graphviz graph or a matplotlib figure gets that figure,
  as inline SVG, right below the block (below its output, if it has one).
* A chapter with a prelude opens with a collapsed "Code so far" block.
* A chapter with Python blocks offers its notebook (``tools.notebooks``):
  a "Download notebook" link at the top, the ``.ipynb`` written into
  ``notebooks/`` after the build (made at each build, never committed), next
  to the other chapters' notebooks and the demo's, so the links between them
  work on the site and in a folder of downloaded notebooks.
* No address of the site is guessed: without ``site_url`` (set SITE_URL when
  building for a host) there is no sitemap, since a sitemap needs full URLs.
* Every Python block of a chapter can run in the reader's browser
  (``tools.page_runtime``, ``docs/js/run.js``): the hook marks each block
  (class ``mg-cell``, its index in ``data-block``), writes the line saying
  why where a block cannot run there, and writes the chapter's session file
  (its prelude and blocks) next to the page; the runtime goes into
  ``site/runtime/``.
* Math written as ``$...$`` / ``$$...$$`` (arithmatex, generic mode) becomes
  MathML on the server, so formulas need no script and no network. The
  ``$...$`` of a notebook page's Markdown cells (mkdocs-jupyter) too.
"""

from __future__ import annotations

import hashlib
import html
import json
import posixpath
import re
import sys
import textwrap
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import latex2mathml.converter  # noqa: E402
from mkdocs.exceptions import PluginError  # noqa: E402

from tools.book import (  # noqa: E402
    FENCE_RE,
    OUTPUT_MARKER_RE,
    Block,
    BookError,
    chapter_title,
    chapters,
    fence_end,
    fences,
    nav_files,
    nav_hint,
    parse_info,
    read_blocks,
    rel,
)
from tools.chapter_cache import chapter_figures  # noqa: E402
from tools.notebooks import (  # noqa: E402
    NOTEBOOK_FOLDER,
    chapter_notebook,
    relinked_notebook,
    write_notebook,
)
from tools.page_runtime import RuntimeMissing, write_fonts, write_runtime  # noqa: E402
from tools.paste import pasteable  # noqa: E402
from tools.runner import BlockFailure  # noqa: E402
from tools.tangle import prelude  # noqa: E402

_figures: dict[str, list[str]] = {}  # page src path -> SVGs, by placeholder number
_notebooks: dict[str, Path] = {}  # notebook path in the site -> its chapter
_sessions: dict[str, dict] = {}  # session file path in the site -> its content
_scripts: dict[str, str] = {}  # code-so-far .py path in the site -> its text
_alts: dict[str, list[str]] = {}  # page src path -> text alternatives of its figures
PLACEHOLDER = '<div class="mg-figure-slot" data-figure="{}"></div>'
MATH_RE = re.compile(
    r'<(span|div) class="arithmatex">\s*(\\\(|\\\[)(.*?)(\\\)|\\\])\s*</\1>', re.S
)
FIGURE_MARK = "<!--mg-figure {}-->"  # in the page until on_post_page puts the SVG there
FIGURE_MARK_RE = re.compile(r"<!--mg-figure (\d+)-->")
FIGURE_SLOT_RE = re.compile(
    r'(?:<p>)?<div class="mg-figure-slot" data-figure="(\d+)"></div>(?:</p>)?'
)


def _after_output(lines: list[str], end: int) -> int:
    """Index after the block closing at ``end`` and its output block, if any."""
    i = end + 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i < len(lines) and "pytest-codeblocks:expected-output" in lines[i]:
        j = i + 1
        while j < len(lines) and not FENCE_RE.match(lines[j]):
            j += 1
        if j < len(lines):
            return fence_end(lines, j) + 1
    return end + 1


def _code_so_far(code: str) -> str:
    body = textwrap.indent(f"```python\n{pasteable(code)}```", "    ")
    return (
        '??? abstract "Code so far: what the earlier chapters put in the package"\n\n'
        "    Every chapter runs after this code (its *prelude*): the package as the\n"
        "    chapters before this one left it. Run it first to start here: paste it\n"
        "    into a Python prompt, IPython or Jupyter, or run the `.py` file above.\n\n"
        f"{body}\n"
    )


def _notebook_link(page, chapter: Path, code: str) -> str:
    """The download links; the files themselves are written by on_post_build."""
    folder = posixpath.dirname(page.file.dest_uri)
    dest = posixpath.join(NOTEBOOK_FOLDER, f"{chapter.stem}.ipynb")
    _notebooks[dest] = chapter
    here = posixpath.relpath(NOTEBOOK_FOLDER, folder or ".")
    links = (f'<a href="{here}/{chapter.stem}.ipynb" download>Download notebook</a> (or '
             f'<a href="{here}/{NOTEBOOK_ZIP}" download>all of them, .zip</a>)')
    if code:
        script = f"{chapter.stem}-code-so-far.py"
        title = chapter_title(chapter, chapter.stem)
        _scripts[posixpath.join(folder, script)] = (
            f'# Building micrograd: the code so far, before the chapter "{title}".\n'
            "# Generated from the book's chapters; run it with `python "
            f"{script}`, or paste it into a Python prompt.\n\n{pasteable(code)}")
        links += f' · <a href="{script}" download>Download the code so far (.py)</a>'
    return (f'<p class="mg-notebook">{links}: this chapter as a Jupyter notebook, the '
            "code so far first.</p>\n")


def _session(page, chapter: Path, blocks: list[Block], code: str) -> str:
    """Remember the chapter's session file (written by on_post_build); its name."""
    name = f"{chapter.stem}.session.json"
    _sessions[posixpath.join(posixpath.dirname(page.file.dest_uri), name)] = {
        "chapter": rel(chapter),
        "prelude": code,
        "blocks": [{"line": b.line, "code": b.code, "runs": b.page_reason is None,
                    "playground": b.in_playground}
                   for b in blocks],
    }
    return name


def _mark_cells(lines: list[str], blocks: list[Block]) -> dict[int, str]:
    """Give each Python block the class mg-cell and its index; a block that
    cannot run in the page also gets mg-norun. Returns {block line: note}, the
    line saying why, for the blocks that cannot run there."""
    notes = {}
    for index, block in enumerate(blocks):
        indent, fence, info = FENCE_RE.match(lines[block.line - 1]).groups()
        _, attrs = parse_info(info, block.chapter, block.line)
        words = [".python", ".mg-cell", f'data-block="{index}"']
        reason = block.page_reason
        if reason is not None:
            words.append(".mg-norun")
            notes[block.line] = (
                f'{indent}<p class="mg-norun-note">Runs only when the book is built, not in '
                f"your browser: {html.escape(reason)}.</p>")
        if block.exercise is not None:  # the Check button finds its parts by these
            words += [f'data-exercise="{block.exercise[1]}"',
                      f'data-exercise-kind="{block.exercise[0]}"']
        if block.page_differs is not None:
            words.append('data-differs="{}"'.format(block.page_differs.replace('"', "&quot;")))
        for key, value in attrs.items():  # superfences escapes these itself
            if '"' in value:
                raise PluginError(f"{block.where}: a fence attribute may not contain a double "
                                  f"quote: {key}={value!r}")
            words.append(f'{key}="{value}"')
        lines[block.line - 1] = f"{indent}{fence}{{ {' '.join(words)} }}"
    return notes


GRAPH_NAME_RE = re.compile(r'<g id="graph0" class="graph"[^>]*>\s*<title>([^<]*)</title>')


def _figure_alt(block: Block, svg: str, before: list[Block]) -> str:
    """What a figure shows, in words, for readers who cannot see it. A plot's
    axis labels come from its block, or from the helper an earlier block wrote."""
    last = [row for row in block.code.strip().split("\n") if row.strip()][-1].strip()
    if 'class="graph"' in svg:
        # a diagram says what it shows in its name: Digraph("a neuron: ...")
        named = GRAPH_NAME_RE.search(svg)
        if named and named.group(1) != "%3":
            return f"The graph drawn by {last}: {html.unescape(named.group(1))}"
        nodes = svg.count('class="node"')
        return (f"The graph drawn by {last}: {nodes} boxes, one per value and per "
                "operation, with arrows from each input to what it feeds")
    what = _plot_words(block.code, "".join(b.code for b in before))
    return f"A plot of {what or 'what the block above computes'}, drawn by the block above"


PLOT_LABEL_RE = re.compile(r'set_([xy]label|title)\(\s*["\']([^"\']+)["\']')


def _plot_words(code: str, earlier: str = "") -> str:
    """"loss against step (title)" from a plot's axis labels and title, found
    in its code, else in the code before it (a helper); "" if it has none."""
    labels = dict(PLOT_LABEL_RE.findall(code)) or dict(PLOT_LABEL_RE.findall(earlier))
    if {"xlabel", "ylabel"} <= set(labels):
        what = f"{labels['ylabel']} against {labels['xlabel']}"
    else:
        what = labels.get("xlabel") or labels.get("ylabel") or ""
    if not what:
        return labels.get("title", "")
    return what + (f" ({labels['title']})" if "title" in labels else "")


def _chapters(config) -> list[Path]:
    return [c.resolve() for c in chapters(Path(config.config_file_path).parent)]


def _mark_outputs(lines: list[str]) -> None:
    """Give each output block (the fence after an expected-output marker) the
    class mg-output, so the page can show it as output rather than code."""
    for open_, _, info in fences(lines):
        before = open_ - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        if before >= 0 and OUTPUT_MARKER_RE.match(lines[before]):
            m = FENCE_RE.match(lines[open_])
            lang = info.split()[0] if info else "text"
            lines[open_] = f"{m.group(1)}{m.group(2)}{{.{lang} .mg-output}}"


def on_page_markdown(markdown, page, config, files):
    path = Path(page.file.abs_src_path)
    if path.resolve() not in _chapters(config):
        return markdown
    try:
        blocks = read_blocks(path)
        if not blocks:
            return markdown
        code = prelude(path)
        # {block line: SVG}; runs the chapter unless .cache/ has this very run
        figures = chapter_figures(path, blocks, code)
    except (BookError, BlockFailure) as exc:
        raise PluginError(f"chapter failed: {exc}") from None

    lines = markdown.split("\n")
    if len(lines) != len(path.read_text(encoding="utf-8").split("\n")):
        raise PluginError(f"{rel(path)}: the page's Markdown does not have the lines of "
                          "the chapter file (front matter, or another plugin?), so its blocks "
                          "cannot be found by line; remove the front matter")
    _mark_outputs(lines)
    notes = _mark_cells(lines, blocks)
    inserts = {}  # line index -> text to insert before it
    svgs, alts = [], []
    for line in sorted(set(figures) | set(notes)):
        at = _after_output(lines, fence_end(lines, line - 1))
        indent = re.match(r"\s*", lines[line - 1]).group(0)
        text = ""
        if line in figures:
            text += f"\n{indent}{PLACEHOLDER.format(len(svgs))}\n"
            svgs.append(figures[line])
            here = next(i for i, b in enumerate(blocks) if b.line == line)
            alts.append(_figure_alt(blocks[here], figures[line], blocks[:here]))
        if line in notes:
            text += f"\n{notes[line]}\n"
        inserts[at] = text
    _figures[page.file.src_uri] = svgs
    _alts[page.file.src_uri] = alts
    for at in sorted(inserts, reverse=True):
        lines.insert(at, inserts[at])
    h1 = next((i for i, text in enumerate(lines) if text.startswith("# ")), -1)
    top = _notebook_link(page, path, code) + (_code_so_far(code) if code else "")
    session = _session(page, path, blocks, code)
    # the same in every chapter: kept out of the search index
    top = (f'<div class="mg-start" data-search-exclude data-session="{session}" markdown>'
           f"\n\n{top}\n</div>\n")
    lines.insert(h1 + 1, "\n" + top)
    return "\n".join(lines)


def _mathml(match: re.Match, page) -> str:
    return _to_mathml(match.group(3), "block" if match.group(2) == "\\[" else "inline", page)


def _to_mathml(tex: str, display: str, page) -> str:
    tex = html.unescape(tex)
    try:
        mathml = latex2mathml.converter.convert(tex, display=display)
    except Exception as exc:  # the converter raises many types
        raise PluginError(
            f"{page.file.src_uri}: cannot turn this math into MathML: {tex!r}: {exc}"
        ) from None
    mathml = _with_tex(_unary_minus(mathml), tex)
    # a display formula wider than the column scrolls in a box of its own
    return f'<div class="mg-math">{mathml}</div>' if display == "block" else mathml


# a minus right after an opening group or an operator (not after ")", "]", "|", "}")
UNARY_MINUS_RE = re.compile(
    r"(<mrow>|<mo\b[^>]*>(?!&#x00029;|&#x0005D;|&#x0007C;|&#x0007D;)[^<]*</mo>)"
    r"<mo>&#x02212;</mo>")
MATH_OPEN_RE = re.compile(r"^(<math\b[^>]*)>(.*)</math>$", re.S)


def _unary_minus(mathml: str) -> str:
    """A minus that starts a group or follows an operator is a sign: no spaces
    around it, unlike the minus of a subtraction."""
    return UNARY_MINUS_RE.sub(
        r'\1<mo form="prefix" lspace="0em" rspace="0em">&#x02212;</mo>', mathml)


def _with_tex(mathml: str, tex: str) -> str:
    """Keep the TeX source: as the formula's alttext (screen readers) and as
    an annotation (what a copy of the formula gives, see docs/js/figures.js)."""
    m = MATH_OPEN_RE.match(mathml)
    if not m:
        return mathml
    source = html.escape(tex.strip(), quote=True)
    return (f'{m.group(1)} alttext="{source}"><semantics>{m.group(2)}'
            f'<annotation encoding="application/x-tex">{source}</annotation></semantics></math>')


TOC_TEX_RE = re.compile(r"\\\((.*?)\\\)")


def _plain_tex(title: str) -> str:
    """A heading's math as plain text for the table of contents: \\(\\tanh\\) -> tanh."""
    return TOC_TEX_RE.sub(lambda m: re.sub(r"\\([A-Za-z]+)", r"\1", m.group(1)), title)


def _fix_toc(items) -> None:
    for item in items:
        item.title = _plain_tex(item.title)
        _fix_toc(item.children)


def on_page_content(html_text, page, config, files):
    if page.toc:
        _fix_toc(page.toc)
    svgs = _figures.get(page.file.src_uri, [])
    alts = _alts.pop(page.file.src_uri, [])
    used = set()

    def figure(m):
        # The SVG itself comes in on_post_page, after the search plugin has
        # read the page: a graph's labels are not words to search for, and
        # parsing them took a good part of every rebuild.
        used.add(int(m.group(1)))
        # a plot scales down to the column; a graph keeps its size and scrolls
        kind = "mg-graph" if 'class="graph"' in svgs[int(m.group(1))] else "mg-plot"
        alt = html.escape(alts[int(m.group(1))], quote=True)
        return (f'<figure class="mg-figure {kind}" role="img" aria-label="{alt}">'
                f"{FIGURE_MARK.format(m.group(1))}</figure>")

    html_text = FIGURE_SLOT_RE.sub(figure, html_text)
    if len(used) != len(svgs):
        raise PluginError(f"{page.file.src_uri}: {len(svgs) - len(used)} figure(s) were not placed")
    if page.file.src_uri.endswith(".ipynb"):
        html_text = _notebook_links(_notebook_math(html_text, page), page, files)
    return MATH_RE.sub(lambda m: _mathml(m, page), html_text)


def on_post_page(output, page, config):
    svgs = _figures.pop(page.file.src_uri, [])
    return FIGURE_MARK_RE.sub(lambda m: svgs[int(m.group(1))], output) if svgs else output


NB_MARKDOWN_RE = re.compile(
    r'(<div class="[^"]*\bjp-RenderedMarkdown\b[^"]*"[^>]*>)(.*?)(</div>)', re.S
)
NB_MATH_RE = re.compile(r"\$\$(.+?)\$\$|\$([^$\n]+?)\$", re.S)
NB_CODE_RE = re.compile(r"(<(pre|code)\b.*?</\2>)", re.S)


def _notebook_math(html_text: str, page) -> str:
    """``$...$`` and ``$$...$$`` in a notebook's Markdown cells -> MathML.

    mkdocs-jupyter leaves the TeX for MathJax, loaded from a CDN; MathML needs
    neither. Code in the cells (``<code>``, ``<pre>``) is left alone.
    """

    def math(m):
        display, tex = ("block", m.group(1)) if m.group(1) is not None else ("inline", m.group(2))
        return _to_mathml(tex, display, page)

    def cell(m):
        parts = NB_CODE_RE.split(m.group(2))
        # split() yields text, code, tag name, text, code, tag name, ...
        body = "".join(
            NB_MATH_RE.sub(math, part) if i % 3 == 0 else part if i % 3 == 1 else ""
            for i, part in enumerate(parts)
        )
        return m.group(1) + body + m.group(3)

    return NB_MARKDOWN_RE.sub(cell, html_text)


NB_LINK_RE = re.compile(r'<a href="(?![\w+.-]+:|#|/)([^"#]+\.(?:md|ipynb))(#[^"]*)?"')


def _notebook_links(html_text: str, page, files) -> str:
    """Links in a notebook page's Markdown cells (mkdocs-jupyter leaves them as
    written): ``library.md`` -> that page; the notebook's own name -> its
    download, in notebooks/. A link to no page of the book fails the build."""
    here = posixpath.dirname(page.file.src_uri)

    def link(m):
        src = posixpath.normpath(posixpath.join(here, m.group(1)))
        if src == page.file.src_uri:
            dest = posixpath.join(NOTEBOOK_FOLDER, posixpath.basename(src))
            href = posixpath.relpath(dest, posixpath.dirname(page.file.dest_uri) or ".")
            return f'<a download href="{href}"'
        target = files.get_file_from_path(src)
        if target is None:
            raise PluginError(f"{page.file.src_uri}: a link to {m.group(1)}, which is not a "
                              "page of the book")
        return f'<a href="{target.url_relative_to(page.file)}{m.group(2) or ""}"'

    html_text = _notebook_alts(html_text)
    # a code cell wider than its box scrolls: the keyboard must reach it too
    html_text = html_text.replace('<div class="highlight-ipynb',
                                  '<div tabindex="0" class="highlight-ipynb')
    return NB_LINK_RE.sub(link, html_text)


NB_ALT = 'alt="No description has been provided for this image"'
NB_PARTS_RE = re.compile(r'<h[1-6] id="[^"]*">(?P<heading>[^<]*)<a class="anchor-link"'
                         r'|<div class="clipboard-copy-txt" id="[^"]*">(?P<code>.*?)</div>'
                         rf"|(?P<img>{NB_ALT})", re.S)


def _notebook_alts(html_text: str) -> str:
    """A notebook's plots (nbconvert writes "No description has been provided")
    say what they show: the axes, from the code of their cell, and the section."""
    heading, code = "", ""

    def part(m):
        nonlocal heading, code
        if m.group("heading") is not None:
            heading = html.unescape(m.group("heading")).strip()
        elif m.group("code") is not None:
            code = html.unescape(m.group("code"))
        else:
            what = _plot_words(code)
            alt = (f"A plot of {what}" if what else "A plot") + (
                f", in “{heading}”" if heading else "") + ", drawn by the cell above"
            return f'alt="{html.escape(alt, quote=True)}"'
        return m.group(0)

    return NB_PARTS_RE.sub(part, html_text)


NOTEBOOK_ZIP = "micrograd-book-notebooks.zip"


def _zip_notebooks(folder: Path) -> None:
    """All the notebooks in one .zip, in one folder, so that their links to
    each other work once unzipped; the same bytes for the same notebooks."""
    if not any(folder.glob("*.ipynb")):  # a book without notebooks
        return
    with zipfile.ZipFile(folder / NOTEBOOK_ZIP, "w", zipfile.ZIP_DEFLATED) as archive:
        for nb in sorted(folder.glob("*.ipynb")):
            info = zipfile.ZipInfo(f"micrograd-book/{nb.name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, nb.read_bytes())


def on_post_build(config):
    """Write each chapter's notebook (and each notebook page's, links made to
    point at the notebooks next to it) into notebooks/, each session file next
    to its page, and the in-page runtime into site/runtime/."""
    site = Path(config.site_dir)
    for dest, chapter in sorted(_notebooks.items()):
        write_notebook(chapter_notebook(chapter), site / dest)
    _notebooks.clear()
    for doc in nav_files(Path(config.config_file_path).parent):
        if doc.suffix == ".ipynb":
            write_notebook(relinked_notebook(doc), site / NOTEBOOK_FOLDER / doc.name)
    _zip_notebooks(site / NOTEBOOK_FOLDER)
    if not config.site_url:  # a sitemap of paths without the host helps no one
        for name in ("sitemap.xml", "sitemap.xml.gz"):
            (site / name).unlink(missing_ok=True)
    try:
        urls = write_runtime(Path(config.config_file_path).parent, Path(config.site_dir))
        write_fonts(Path(config.site_dir))
    except RuntimeMissing as exc:
        raise PluginError(str(exc)) from None
    for dest, text in sorted(_scripts.items()):
        (Path(config.site_dir) / dest).write_text(text, encoding="utf-8")
    _scripts.clear()
    for dest, session in sorted(_sessions.items()):
        out = Path(config.site_dir) / dest
        out.write_text(json.dumps({**session, "runtime": urls}, indent=1) + "\n", encoding="utf-8")
    _sessions.clear()


def _forget_stale_notebook_runs(root: Path) -> None:
    """mkdocs-jupyter keys its cache of the demo's run on the notebook's bytes
    alone, but the run also depends on the package: a new package empties it."""
    cache = root / ".cache" / "mkdocs-jupyter"
    stamp = cache / "package.sha256"
    package = b"".join(p.read_bytes() for p in sorted((root / "micrograd").glob("*.py")))
    digest = hashlib.sha256(package).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return
    for old in cache.glob("*.json"):
        old.unlink()
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def on_pre_build(config):
    """Every Markdown file under docs/ must be in the nav, and every chapter
    the nav names must exist: the nav is the book."""
    _forget_stale_notebook_runs(Path(config.config_file_path).parent)
    docs = Path(config["docs_dir"])
    try:
        listed = set(_chapters(config))
    except BookError as exc:  # a chapter in the nav has no file
        raise PluginError(str(exc)) from None
    for md in sorted(docs.rglob("*.md")):
        if md.resolve() not in listed:
            root = Path(config.config_file_path).parent
            raise PluginError(f"{rel(md)} is not in the nav of mkdocs.yml; {nav_hint(root, md)}")
