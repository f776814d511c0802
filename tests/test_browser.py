"""The site in a real browser: Debian's chromium, driven by playwright.

The session builds the site strictly into a temporary folder and serves it
with http.server on 127.0.0.1. Every request a page makes is recorded; one to
any other host is counted and fails the test, so the pages are proven to work
offline (fonts, scripts, math, the notebook page's assets). Chromium resolves
no other host name (``OFFLINE``), so such a request fails at once and nothing
leaves the machine. No request is intercepted (playwright's routing would
turn the browser's HTTP cache off, and with it V8's cache of compiled code).

Chromium: ``make test`` installs it (``make debs``) and sets
BOOK_BROWSER=required, so there a missing chromium fails these tests. Run
outside make on a machine without chromium, they skip and say why.

test-artifacts/ (git-ignored) receives nn.png and nn-dark.png, screenshots of
the neural-network chapter, and browser-report.txt: the pages visited, the
requests made and blocked, and the timings (with pytest-xdist, as ``make
test`` runs, one report per worker: browser-report-gw0.txt, ...).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

import pytest

from tools.book import FENCE_RE, ROOT, nav_files, read_blocks
from tools.paste import pasteable
from tools.tangle import prelude

ARTIFACTS = ROOT / "test-artifacts"
NN = ROOT / "docs" / "nn.md"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# every host name but the local server's fails to resolve (an IP address too)
OFFLINE_RULES = "MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
OFFLINE = f"--host-resolver-rules={OFFLINE_RULES}"
ANNOTATION = re.compile(r"[ \t]*# \(\d+\)!")
REPORT: dict = {"pages": [], "requests": 0, "blocked": [], "timings": {}}


def chromium() -> str:
    """The chromium executable; fail under ``make test``, else skip, if missing."""
    path = shutil.which("chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path, why = None, "the playwright package is not installed (pip install -e '.[test]')"
    else:
        why = "chromium is not installed (Debian package `chromium`; `make debs` installs it)"
    if path is None:
        if os.environ.get("BOOK_BROWSER") == "required":
            pytest.fail(why)
        pytest.skip(f"{why}; `make test` installs it and runs these tests")
    return path


def write_report() -> None:
    """test-artifacts/browser-report.txt: what this process's pages did."""
    ARTIFACTS.mkdir(exist_ok=True)
    lines = [f"pages visited ({len(REPORT['pages'])}):"]
    lines += [f"  {url}  {ms:.0f} ms" for url, ms in REPORT["pages"]]
    lines += [
        f"requests made: {REPORT['requests']}",
        f"requests to other hosts (blocked): {len(REPORT['blocked'])}",
    ]
    lines += [f"  {url}" for url in REPORT["blocked"]]
    lines += [f"{name}: {seconds:.1f} s" for name, seconds in REPORT["timings"].items()]
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # each worker has its own pages
    name = f"browser-report-{worker}.txt" if worker else "browser-report.txt"
    (ARTIFACTS / name).write_text("\n".join(lines) + "\n")


CONTEXT = {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"}


PYTHON_STORE = "micrograd-book-python"  # docs/js/run-worker.js: the copy of Python as started
KEPT = """async store => !self.caches || (await (await caches.open(store)).keys())
    .some(r => r.url.endsWith('/memory-snapshot.gz'))"""


class Reader:
    """One reader's browser profile, for the pages a test process opens one
    after another (the ``reader`` fixture, tests/conftest.py), as a reader goes
    from chapter to chapter: an ordinary profile on
    disk (not a fresh context's, which keeps no compiled code), so a later page
    finds what an earlier one left in the HTTP cache, in V8's cache of compiled
    code (Pyodide's WebAssembly) and in Cache Storage (the in-page runtime's
    copy of Python as started: docs/js/run-worker.js). localStorage (a reader's
    edits) is cleared as each page closes, so a test leaves nothing for the next.
    """

    def __init__(self, browser):
        self._profile = tempfile.mkdtemp(prefix="book-reader-")
        self.context = browser.browser_type.launch_persistent_context(
            self._profile, executable_path=chromium(), args=[*CHROMIUM_ARGS, OFFLINE],
            **CONTEXT)
        for blank in self.context.pages:  # the window a profile opens with
            blank.close()
        self.tab: Tab | None = None  # the page open now

    def close(self):
        try:
            self.context.close()
        finally:
            shutil.rmtree(self._profile, ignore_errors=True)


class Tab:
    """A page that records requests and console errors: in a fresh context, or
    the next page of a ``Reader``'s (``reader=``, with no context options).

    A request to any other host than the local server is kept in ``outside``
    (it fails: ``OFFLINE``).
    """

    QUIET = 0.05  # s without a request starting or ending: the page has settled

    def __init__(self, browser, base_url, reader: Reader | None = None, **context_options):
        self.base = base_url
        self.requests: list[str] = []
        self.outside: list[str] = []
        self.errors: list[str] = []
        self._loading: set = set()  # the page's requests not yet finished or failed
        self._last = time.monotonic()
        self.reader = reader
        if reader is None:
            self.context = browser.new_context(**{**CONTEXT, **context_options})
        else:
            assert not context_options and reader.tab is None, "one page of a reader at a time"
            self.context = reader.context
        self.page = self.context.new_page()
        if reader is not None:
            reader.tab = self
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("websocket", lambda ws: self.outside.append(ws.url))
        self.page.on("request", self._started)
        self.page.on("requestfinished", self._ended)
        self.page.on("requestfailed", self._ended)

    def _started(self, request):  # the page's and its workers'
        url = request.url
        self.requests.append(url)
        if not url.startswith((self.base, "data:", "blob:")):
            self.outside.append(url)
        self._loading.add(request)
        self._last = time.monotonic()

    def _ended(self, request):
        self._loading.discard(request)
        self._last = time.monotonic()

    def visit(self, path: str):
        """Open ``path`` and wait until it has loaded (the load event: its
        scripts, mkdocs-material's and docs/js/*.js, have run) and settled: no
        request of the page (its worker's too: the search index) is still
        loading, none started or ended for QUIET seconds, and its fonts are in.
        (playwright's "networkidle", 500 ms without a request: see ``idle``.)"""
        start = time.perf_counter()
        self._loading.clear()  # the page we leave: its requests are cancelled
        response = self.page.goto(self.base + path)
        self._settle(path)
        REPORT["pages"].append((self.base + path, 1000 * (time.perf_counter() - start)))
        assert response is not None and response.status == 200, (
            f"{path}: HTTP {response and response.status}"
        )
        return response

    def reload(self):
        """Reload the page, as a reader does, and wait as ``visit`` does."""
        self._loading.clear()
        response = self.page.reload()
        self._settle(self.page.url)
        assert response is not None and response.status == 200, self.page.url
        return response

    def _settle(self, path: str) -> None:
        deadline = time.monotonic() + 30
        while self._loading or time.monotonic() - self._last < self.QUIET:
            assert time.monotonic() < deadline, (
                f"{path}: still loading after 30 s: {[r.url for r in self._loading]}")
            self.page.wait_for_timeout(20)  # events (requests ending) arrive meanwhile
        self.page.evaluate("document.fonts.ready.then(() => null)")  # laid out in its fonts

    def idle(self):
        """Wait for playwright's "networkidle": no request for 500 ms."""
        self.page.wait_for_load_state("networkidle")

    def close(self):
        REPORT["requests"] += len(self.requests)
        REPORT["blocked"] += self.outside
        if self.reader is None:
            self.context.close()
            return
        try:
            if self.page.url.startswith(self.base):
                self.stay_until_python_is_kept()
                self.page.evaluate("localStorage.clear()")
            self.context.clear_permissions()
        finally:
            self.page.close()
            self.reader.tab = None

    def stay_until_python_is_kept(self):
        """A page that started Python keeps a copy of it in the background
        (docs/js/run-worker.js), for the reader's next page; closed at once
        (a chapter of three short blocks) it would keep none. Wait for the copy,
        as a reader who stays a moment would (at most 30 s: a copy that cannot
        be kept costs the next page only time, and says so in the console)."""
        if any(url.endswith("/pyodide.asm.wasm") for url in self.requests):
            deadline = time.monotonic() + 30
            while not self.page.evaluate(KEPT, PYTHON_STORE) and time.monotonic() < deadline:
                self.page.wait_for_timeout(100)


def close_checked(tabs: list[Tab]) -> None:
    """Close the tabs; fail if one had a console error or asked another host."""
    errors = [e for t in tabs for e in t.errors]
    outside = [url for t in tabs for url in t.outside]
    for t in tabs:
        t.close()
    assert not outside, f"requests to other hosts: {outside}"
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def tab(browser, base_url):
    tabs = []

    def open_tab(**options):
        tabs.append(Tab(browser, base_url, **options))
        return tabs[-1]

    yield open_tab
    for t in tabs:
        t.close()


def page_path(doc: Path) -> str:
    """URL path of a nav page: index.md -> '', nn.md -> 'nn/', demo.ipynb -> 'demo/'."""
    return "" if doc.stem == "index" else f"{doc.stem}/"


def fences(text: str) -> list[tuple[str, str]]:
    """(info string, content) of every top-level fence, in order."""
    lines, out, i = text.split("\n"), [], 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines):
            n = FENCE_RE.match(lines[j])
            if (
                n
                and n.group(2)[0] == m.group(2)[0]
                and len(n.group(2)) >= len(m.group(2))
                and not n.group(3)
            ):
                break
            j += 1
        indent = len(m.group(1))  # a fence inside a details block: its code is dedented
        body = [line[indent:] if not indent or line[:indent].isspace() else line.lstrip()
                for line in lines[i + 1 : j]]
        out.append((m.group(3).strip(), "\n".join(body) + "\n"))
        i = j + 1
    return out


# --- every page --------------------------------------------------------------


def test_every_page_loads_with_no_console_error_and_no_outside_request(tab):
    """Every page, checked once it has had no request for 500 ms (playwright's
    networkidle). The pages take turns in three tabs: while one waits out its
    500 ms, the next pages load in the others."""
    pages = [page_path(doc) for doc in nav_files()] + ["404.html"]
    tabs = [tab() for _ in range(3)]
    waiting = []  # (path, tab, requests before), in the order visited

    def check(path, t, before):
        t.idle()
        assert len(t.requests) > before, f"{path}: no request recorded; is the recorder working?"
        assert not t.errors, f"{path}: console errors: {t.errors}"
        assert not t.outside, f"{path}: requests to other hosts: {t.outside}"

    for i, path in enumerate(pages):
        t = tabs[i % len(tabs)]
        if waiting and waiting[0][1] is t:  # the tab's page is checked before it moves on
            check(*waiting.pop(0))
        waiting.append((path, t, len(t.requests)))
        t.visit(path)
    for page in waiting:
        check(*page)


def test_a_request_to_another_host_is_caught(tab, browser, base_url, reader):
    """The recorder itself, in a fresh context and in a reader's profile: an
    outside fetch (by name or by address) fails at once and is counted."""
    probes = ["https://example.org/probe", "http://10.255.255.1/probe"]
    for t in (tab(), Tab(browser, base_url, reader)):
        try:
            t.visit("")
            results = t.page.evaluate("""urls => Promise.all(urls.map(u => fetch(u).then(
                () => 'answered', () => 'failed')))""", probes)
            assert results == ["failed", "failed"], results
            deadline = time.monotonic() + 5
            while len(t.outside) < len(probes) and time.monotonic() < deadline:
                t.page.wait_for_timeout(20)  # the request events arrive
            assert t.outside == probes
            t.outside.clear()  # probes, not a page's requests: leave them out of the report
            t.errors.clear()
        finally:
            if t.reader is not None:
                t.close()


def test_home_page_maps_every_page(tab):
    t = tab()
    t.visit("")
    links = t.page.eval_on_selector_all(
        "article a[href]", "as => as.map(a => a.getAttribute('href').split('#')[0])"
    )
    for doc in [d for d in nav_files() if d.stem != "index"]:
        assert any(href.rstrip("/").endswith(doc.stem) for href in links), (
            f"{doc.name} is not linked from the home page"
        )


# --- the neural-network chapter ---------------------------------------------


@pytest.fixture
def nn_tab(tab, base_url):
    t = tab(permissions=["clipboard-read", "clipboard-write"])
    t.visit(page_path(NN))
    yield t
    assert not t.errors, f"console errors: {t.errors}"
    assert not t.outside, f"requests to other hosts: {t.outside}"


def test_nn_forward_pass_graph_is_drawn_and_visible(nn_tab):
    page = nn_tab.page
    graphs = page.locator("figure.mg-figure svg")
    sizes = [graphs.nth(i).locator("g.node").count() for i in range(graphs.count())]
    assert sizes and max(sizes) > 100, f"no forward-pass graph (node counts {sizes})"
    graph = graphs.nth(sizes.index(max(sizes)))
    graph.scroll_into_view_if_needed()
    assert graph.is_visible()
    box = graph.bounding_box()
    assert box["width"] > 1000 and box["height"] > 300, box  # natural size: readable labels
    assert page.locator("figure.mg-figure").nth(sizes.index(max(sizes))).is_visible()


def test_nn_math_is_rendered_as_mathml(nn_tab):
    page = nn_tab.page
    maths = page.locator("article math")
    assert maths.count() >= 3
    for i in range(maths.count()):
        box = maths.nth(i).bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, f"formula {i} has no size"
    # a display fraction is taller than a line of text: MathML is laid out, not shown as text
    frac = page.locator("article math[display=block]:has(mfrac)").first
    line = page.locator("article p").first.evaluate(
        "p => parseFloat(getComputedStyle(p).lineHeight)"
    )
    assert frac.bounding_box()["height"] > line


def test_nn_every_code_block_copies_exactly_its_code(nn_tab):
    page = nn_tab.page
    page.locator("article details summary").first.click()  # open "Code so far"
    # and the folded answers of the exercises, as a reader does to copy them
    page.evaluate("document.querySelectorAll('article details').forEach(d => d.open = true)")
    expected = [pasteable(prelude(NN))] + [content for _, content in fences(NN.read_text())]
    python = [content for info, content in fences(NN.read_text()) if info.split()[:1] == ["python"]]
    assert python == [b.code for b in read_blocks(NN)], "the fence scan disagrees with read_blocks"

    # the blocks found once (a locator would search the big page again at each use)
    blocks = page.locator("article pre:has(> code)").element_handles()
    assert len(blocks) == len(expected)
    for i, code in enumerate(expected):
        buttons = blocks[i].query_selector_all("button[data-md-type=copy]")
        assert len(buttons) == 1, f"code block {i} has no copy button"
        page.evaluate("navigator.clipboard.writeText('')")
        buttons[0].click()  # as a reader clicks: visible, still, not covered
        copied = page.evaluate("navigator.clipboard.readText()")
        # a code annotation's marker (``# (1)!``) is not copied, only the code
        assert copied == ANNOTATION.sub("", code).rstrip("\n"), (
            f"code block {i} copies something else"
        )


def test_nn_dark_mode_toggle_and_screenshots(nn_tab):
    page = nn_tab.page
    ARTIFACTS.mkdir(exist_ok=True)
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    assert page.evaluate(scheme) == "default"
    page.screenshot(path=ARTIFACTS / "nn.png", full_page=True)
    page.locator("label[title='Switch to dark mode']").click()
    page.wait_for_function(f"{scheme} === 'slate'")
    # figures turn light-on-dark with the palette
    assert "invert" in page.locator("figure.mg-figure svg").first.evaluate(
        "s => getComputedStyle(s).filter"
    )
    page.screenshot(path=ARTIFACTS / "nn-dark.png", full_page=True)
    page.locator("label[title='Switch to light mode']").click()
    page.wait_for_function(f"{scheme} === 'default'")


def test_nn_links_footer_and_notebook(nn_tab):
    page = nn_tab.page
    edit = page.locator("a.md-content__button[rel=edit]")
    assert edit.get_attribute("href").endswith("/edit/main/docs/nn.md")
    assert page.locator("a.md-source").first.get_attribute("href").startswith("https://github.com/")
    prev, nxt = page.locator("a.md-footer__link--prev"), page.locator("a.md-footer__link--next")
    docs = nav_files()
    here = docs.index(NN)
    assert prev.get_attribute("href").rstrip("/").endswith(docs[here - 1].stem)
    if here + 1 < len(docs):
        assert nxt.get_attribute("href").rstrip("/").endswith(docs[here + 1].stem)

    link = page.locator("a[download]", has_text="Download notebook")
    href = link.get_attribute("href")
    assert href == "../notebooks/nn.ipynb"  # all the notebooks side by side
    response = page.request.get(urljoin(page.url, href))
    assert response.status == 200
    nb = json.loads(response.text())
    assert nb["cells"][1]["cell_type"] == "code" and "class Value" in "".join(
        nb["cells"][1]["source"]
    )


def test_search_finds_a_chapter(tab):
    t = tab()
    t.visit("")
    search = t.page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("backpropagation")
    results = t.page.locator(".md-search-result__item")
    results.first.wait_for(timeout=10_000)
    assert results.count() > 0
    assert not t.errors and not t.outside


def test_notebook_pages_have_no_tex_left(tab):
    """mkdocs-jupyter pages: their Markdown math is MathML too, not $...$ for MathJax."""
    notebooks = [doc for doc in nav_files() if doc.suffix == ".ipynb"]
    if not notebooks:
        pytest.skip("no notebook page in the nav yet")
    t = tab()
    for doc in notebooks:
        t.visit(page_path(doc))
        text = t.page.locator("article .jp-RenderedMarkdown").all_inner_texts()
        assert not any(re.search(r"\$[^$\s][^$]*\$", s) for s in text), f"{doc.name}: TeX left"
        assert not t.errors and not t.outside


@pytest.mark.parametrize("term, chapter", [
    ("__radd__", "nn"), ("radd", "nn"), ("zero_grad", "library"), ("draw_dot", "value"),
    ("_backward", "backward"), ("topo", "backward"),
])
def test_search_finds_the_chapter_that_defines_a_code_name(tab, term, chapter):
    """Search splits code names too (mkdocs.yml: the search plugin's separator)."""
    t = tab()
    t.visit("")
    search = t.page.locator("input.md-search__input")
    search.click()
    search.press_sequentially(term)
    results = t.page.locator(".md-search-result__item > a")
    results.first.wait_for(timeout=10_000)
    hrefs = results.evaluate_all("links => links.map(a => a.getAttribute('href'))")
    pages = {urljoin(t.base, href).split("?")[0].split("#")[0] for href in hrefs}
    assert f"{t.base}{chapter}/" in pages, f"searching {term!r} finds {sorted(pages)}"


def test_no_page_scrolls_sideways_on_a_phone(tab):
    """At 390 px wide, wide math, code, tables and figures scroll in their own
    boxes; the page itself never scrolls sideways (folded blocks opened too)."""
    t = tab(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    wide = {}
    for doc in nav_files():
        t.visit(page_path(doc))
        t.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        width = t.page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[doc.name] = width
        # plots scale down to the column: none is cut off
        plots = t.page.evaluate(
            "[...document.querySelectorAll('figure.mg-plot svg')]"
            ".map(s => Math.round(s.getBoundingClientRect().right))")
        if any(right > 390 for right in plots):
            wide[f"{doc.name} plots"] = plots
    assert wide == {}, f"pages wider than the phone: {wide}"


def test_math_is_drawn_in_the_sites_math_font_and_copies_as_tex(tab):
    t = tab(permissions=["clipboard-read", "clipboard-write"])
    t.visit(page_path(NN))
    page = t.page
    page.evaluate("document.fonts.ready")
    family = page.locator("article math").first.evaluate("m => getComputedStyle(m).fontFamily")
    assert family.startswith('"STIX Two Math"'), family
    assert page.evaluate("document.fonts.check('16px \"STIX Two Math\"')")
    assert any(url.endswith("/fonts/stix-two-math.woff") for url in t.requests)
    # select one formula and copy it: the clipboard gets its TeX
    formula = page.locator("article math[display=block]").first
    tex = formula.locator("annotation").text_content()
    formula.evaluate("m => { const r = document.createRange(); r.selectNodeContents(m);"
                     " const s = getSelection(); s.removeAllRanges(); s.addRange(r); }")
    page.keyboard.press("Control+c")
    assert page.evaluate("navigator.clipboard.readText()") == tex
    assert not t.errors and not t.outside


def test_a_graph_wider_than_its_column_can_be_seen_whole_and_in_detail(nn_tab):
    page = nn_tab.page
    box = page.locator("figure.mg-graph").filter(has=page.locator("g.node >> nth=100")).first
    bar = box.locator("xpath=following-sibling::div[contains(@class,'mg-zoom')][1]")
    svg = box.locator(":scope > svg")
    box.scroll_into_view_if_needed()
    column = box.evaluate("b => b.clientWidth")
    natural = svg.bounding_box()["width"]
    assert natural > column
    bar.get_by_role("button", name="Zoom to fit").click()
    assert svg.bounding_box()["width"] <= column + 1, "Zoom to fit: the whole graph in view"
    bar.get_by_role("button", name="Zoom in").click()
    bigger = svg.bounding_box()["width"]
    assert bigger > column
    box.focus()
    page.keyboard.press("+")
    assert svg.bounding_box()["width"] > bigger, "+ on the focused figure zooms in"
    page.keyboard.press("1")
    assert abs(svg.bounding_box()["width"] - natural) < 2, "1: natural size"
    link = bar.get_by_role("link", name="Open full size")
    assert link.get_attribute("href").startswith("blob:")
    assert link.get_attribute("target") == "_blank"
    with page.expect_popup() as popup:
        link.click()
    opened = popup.value
    opened.wait_for_load_state()
    assert opened.locator("svg g.node").count() > 100
    opened.close()


def test_long_outputs_wrap_clear_of_the_copy_button(tab):
    t = tab(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    t.visit(page_path(NN))
    outputs = t.page.locator("article .mg-output pre > code")
    assert outputs.count() > 3
    for i in range(outputs.count()):
        code = outputs.nth(i)
        code.scroll_into_view_if_needed()
        assert code.evaluate("c => c.scrollWidth <= c.clientWidth + 1"), f"output {i} scrolls"
        button = code.locator("xpath=preceding-sibling::button | ../button").first
        if button.count() and button.is_visible():
            right = code.evaluate("c => c.getBoundingClientRect().right"
                                  " - parseFloat(getComputedStyle(c).paddingRight)")
            assert right <= button.bounding_box()["x"] + 1, f"output {i} runs under the button"


# --- the demo page in the book's look; plots in the dark; accessibility -------

DEMO = ROOT / "docs" / "demo.ipynb"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# the token kinds (Pygments classes) compared between the demo and a chapter
TOKENS = ["k", "kn", "nb", "mi", "s2", "c1", "o", "p", "n"]


def token_colours(page, box: str) -> dict:
    """Computed colour of the first token of each kind in code boxes ``box``."""
    return page.evaluate(
        """([box, kinds]) => Object.fromEntries(kinds.map(k => {
             const e = document.querySelector(`${box} span.${k}`);
             return [k, e && getComputedStyle(e).color]; }))""", [box, TOKENS])


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_demo_codes_colours_are_the_chapters(tab, scheme):
    t = tab(color_scheme=scheme)
    t.visit(page_path(NN))
    chapter = token_colours(t.page, "article .highlight")
    chapter_bg = t.page.evaluate(
        "getComputedStyle(document.querySelector('article .highlight pre > code')).backgroundColor")
    t.visit(page_path(DEMO))
    demo = token_colours(t.page, "article .highlight-ipynb")
    demo_bg = t.page.evaluate(
        "getComputedStyle(document.querySelector('article .highlight-ipynb')).backgroundColor")
    both = [k for k in TOKENS if chapter[k] and demo[k]]
    assert len(both) >= 6, f"too few token kinds in both pages: {both}"
    assert {k: demo[k] for k in both} == {k: chapter[k] for k in both}
    assert demo_bg == chapter_bg
    assert not t.errors and not t.outside


def test_the_demo_fits_a_phone(tab):
    """At 390 px no sideways scroll; each code cell and output uses the column
    (no prompts beside it) and scrolls inside its own box, reachable by keyboard."""
    t = tab(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    t.visit(page_path(DEMO))
    page = t.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    column = page.evaluate("document.querySelector('article').getBoundingClientRect().width")
    boxes = page.evaluate("""[...document.querySelectorAll(
        'article .jp-CodeCell .highlight-ipynb, article .jp-OutputArea-output pre')].map(e => {
          const r = e.getBoundingClientRect(), s = getComputedStyle(e);
          return {left: r.left, right: r.right, width: r.width,
                  scrolls: e.scrollWidth > e.clientWidth, overflow: s.overflowX,
                  tabindex: e.getAttribute('tabindex'),
                  code: e.classList.contains('highlight-ipynb')}; })""")
    assert sum(b["code"] for b in boxes) >= 5
    for i, b in enumerate(boxes):
        assert b["left"] >= 0 and b["right"] <= 390, f"box {i} leaves the screen: {b}"
        if b["code"]:
            assert b["width"] >= 0.9 * column - 40, f"code box {i} is cramped: {b}"
        if b["scrolls"]:
            assert b["overflow"] in ("auto", "scroll"), f"box {i} is cut off: {b}"
            assert not b["code"] or b["tabindex"] == "0", f"code box {i}: no keyboard scroll"
    assert any(b["scrolls"] for b in boxes if b["code"]), "no long line: is the test looking?"
    assert not t.errors and not t.outside


def corner_and_page(page, element) -> tuple[tuple, tuple]:
    """The colour of the pixel just inside the top-left corner of ``element``
    (where a plot's background is), and the page's own background colour."""
    from io import BytesIO

    from PIL import Image

    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    shot = Image.open(BytesIO(page.screenshot())).convert("RGB")
    corner = shot.getpixel((int(box["x"]) + 3, int(box["y"]) + 3))
    outside = shot.getpixel((int(box["x"]) - 6, int(box["y"]) + 3))
    return corner, outside


@pytest.mark.parametrize("doc, selector", [
    ("derivatives.md", "figure.mg-plot svg"),
    ("demo.ipynb", ".jp-RenderedSVG img, .jp-RenderedImage img"),
])
def test_a_plot_in_dark_mode_is_no_bright_box(tab, doc, selector):
    t = tab(color_scheme="dark")
    t.visit(page_path(ROOT / "docs" / doc))
    assert t.page.evaluate("document.body.getAttribute('data-md-color-scheme')") == "slate"
    plot = t.page.locator(f"article {selector}").first
    corner, outside = corner_and_page(t.page, plot)
    assert max(corner) < 80, f"the plot's background is bright: {corner}"
    assert max(abs(a - b) for a, b in zip(corner, outside, strict=True)) <= 12, (
        f"the plot's background {corner} stands out from the page's {outside}")
    assert not t.errors and not t.outside


# The rules checked on every page: the colour rules in both palettes, the
# others (the page's structure and names, the same HTML in either) in light.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
A11Y_RULES = [
    *COLOUR_RULES, "heading-order", "page-has-heading-one",
    "image-alt", "svg-img-alt", "role-img-alt", "button-name", "link-name", "region",
    "landmark-unique", "aria-dialog-name", "scrollable-region-focusable", "document-title",
    "html-has-lang", "list", "listitem", "empty-heading", "label-content-name-mismatch",
]


PALETTES = {"light": "default", "dark": "slate"}  # prefers-color-scheme -> mkdocs-material's


# Each palette in pages loaded in it (switched without a reload, Chromium
# leaves the code blocks in the old palette's colours: their transitions).
@pytest.mark.parametrize("scheme", PALETTES)
def test_every_page_passes_the_accessibility_checks(tab, scheme):
    """axe-core (npm, node_modules/axe-core) in each page at 1280 px: contrast of
    the book's colours (WCAG AA) in both palettes; in light, also headings in
    order, every image, button and link named."""
    if not AXE.is_file():
        pytest.fail("node_modules/axe-core is missing: run `npm ci` (make setup)")
    t = tab(color_scheme=scheme)
    t.context.add_init_script(path=str(AXE))  # in each page as it loads: no injection after
    found = {}
    for doc in nav_files():
        t.visit(page_path(doc))
        palette = t.page.evaluate("document.body.getAttribute('data-md-color-scheme')")
        assert palette == PALETTES[scheme], f"{scheme}: {doc.name}: the palette is {palette}"
        violations = t.page.evaluate(
            """async rules => (await axe.run(document, {runOnly: {type: 'rule', values: rules},
                 resultTypes: ['violations']})).violations.map(v =>
                 `${v.id}: ${v.nodes.length} (${v.nodes[0].target.join(' ')})`)""",
            A11Y_RULES if scheme == "light" else COLOUR_RULES)
        if violations:
            found[doc.name] = violations
        headings = t.page.evaluate(
            "[...document.querySelectorAll('article :is(h1,h2,h3,h4,h5,h6)')]"
            ".map(h => +h.tagName[1])")
        assert headings.count(1) == 1, f"{doc.name}: {headings.count(1)} h1"
        skips = [(a, b) for a, b in zip(headings, headings[1:], strict=False)
                 if b > a + 1]
        assert not skips, f"{doc.name}: a heading level skipped: {skips}"
    assert found == {}, f"{scheme}: {found}"
    assert not t.errors and not t.outside
