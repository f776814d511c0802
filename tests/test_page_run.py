"""Running the book in the page: Run, edit, restore, stop, in a real browser.

The site is built and served locally as in ``test_browser.py`` (same Tab:
every request is recorded, one to another host is blocked and fails the
test). Each chapter's page is opened, every runnable block's Run button is
pressed in order (and each exercise's Check, on its start block and on its
solution), and what the page shows must equal what the build's run
of that block printed (the chapter runner, through the build's cache:
``tools.chapter_cache.chapter_results``),
except where the chapter declares a difference (``<!--page: output-differs``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.test_browser import (
    CHROMIUM_ARGS,
    OFFLINE_RULES,
    PYTHON_STORE,
    Reader,
    Tab,
    chromium,
    close_checked,
    page_path,
)
from tools.book import chapters, read_blocks
from tools.chapter_cache import chapter_results
from tools.runner import Result, chapter_session

RUN_TIMEOUT = 180_000  # ms: the first Run of a page also starts Python
CHAPTERS = [c for c in chapters() if read_blocks(c)]


@pytest.fixture
def open_page(browser, base_url, reader):
    """Open a chapter: the next page of the process's reader (with the
    permissions asked for, if any), or with context options (a phone), a page
    in a fresh context."""
    tabs = []

    def open_(chapter: Path, permissions: tuple[str, ...] = (), **options) -> Tab:
        t = Tab(browser, base_url, None if options else reader, **options)
        tabs.append(t)
        if permissions:  # a reader's are taken back as the page closes
            t.context.grant_permissions(list(permissions), origin=base_url.rstrip("/"))
        t.visit(page_path(chapter))
        return t

    yield open_
    close_checked(tabs)


def run_block(page, index: int, timeout: int = RUN_TIMEOUT):
    """Press Run on the block with data-block=index; wait for its result."""
    cell = page.locator(f"div.mg-cell[data-block='{index}']")
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Run", exact=True).click()  # scrolls to it, as a reader
    output = output_of(page, index)
    output.and_(page.locator("[data-status]")).wait_for(state="attached", timeout=timeout)
    return output


def output_of(page, index: int):
    cell = page.locator(f"div.mg-cell[data-block='{index}']")
    return cell.locator("xpath=following-sibling::pre[@data-output][1]")


def edit(page, index: int, code: str) -> None:
    cell = page.locator(f"div.mg-cell[data-block='{index}']")
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Edit", exact=True).click()
    code_el = cell.locator("pre > code")
    code_el.press("Control+a")
    code_el.press("Delete")
    page.keyboard.insert_text(code)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.stem for c in CHAPTERS])
def test_every_runnable_block_shows_the_output_the_build_checked(open_page, chapter):
    """Run every block in order, as a reader would; at each exercise, first
    press Check on the unchanged start (it fails with the check's message, as
    in CPython), then on the solution (it passes), then restore the start."""
    blocks = read_blocks(chapter)
    built = chapter_results(chapter)  # what the build shows for each block
    messages = cpython_check_messages(chapter, blocks)
    t = open_page(chapter)
    page = t.page
    assert not any("/runtime/" in url or "run-worker" in url for url in t.requests), (
        "the page loaded the runtime before any Run"
    )
    cells = page.locator("div.mg-cell")
    assert cells.count() == len(blocks), "every Python block of the chapter is a cell"
    # open the folded blocks (exercises' solutions), as a reader does to run them
    page.evaluate("document.querySelectorAll('article details').forEach(d => d.open = true)")
    # each cell: whether it says it cannot run, the note and Run buttons below it (one read)
    shapes = cells.evaluate_all("""cells => cells.map(c => {
        let bar = null, note = null;  // up to the next cell
        for (let e = c.nextElementSibling; e && !e.classList.contains('mg-cell');
             e = e.nextElementSibling) {
          if (e.classList.contains('mg-run-bar')) bar = bar || e;
          if (e.classList.contains('mg-norun-note')) note = note || e;
        }
        return [c.classList.contains('mg-norun'), note ? note.innerText : '',
                bar ? [...bar.querySelectorAll('button')].filter(
                          b => b.textContent.trim() === 'Run').length : 0]; })""")
    for block, (norun, note, run_buttons) in zip(blocks, shapes, strict=True):
        assert norun == (block.page_reason is not None), f"{block.where}: mg-norun is {norun}"
        if norun:
            assert block.page_reason in note, f"{block.where}: no reason shown"
        else:
            assert run_buttons == 1, f"{block.where}: {run_buttons} Run buttons below it"
    runs = page.locator("div.mg-run-bar").get_by_role("button", name="Run", exact=True)
    assert runs.count() == sum(b.page_reason is None for b in blocks), "one Run per runnable block"
    # Every Run button can be pressed: enabled, and on top where it is drawn once
    # scrolled to (what playwright's click checks first, here for all at once).
    blocked = runs.evaluate_all("""buttons => buttons.flatMap(b => {
        b.scrollIntoView({block: 'center', behavior: 'instant'});
        const r = b.getBoundingClientRect();
        const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        if (!b.disabled && b.checkVisibility() && b.contains(top)) return [];
        let cell = b.closest('.mg-run-bar');
        while (!cell.classList.contains('mg-cell')) cell = cell.previousElementSibling;
        return [`block ${cell.dataset.block}: disabled ${b.disabled}, ` +
                `on top: ${top && top.outerHTML.slice(0, 80)}`]; })""")
    assert not blocked, f"Run buttons that cannot be pressed: {blocked}"
    ran = checked = 0
    for index, block in enumerate(blocks):
        if block.page_reason is not None:
            continue
        if block.exercise and block.exercise[0] == "start":
            check_exercise(page, blocks, index, messages[block.exercise[1]])
            checked += 1
        # Run pressed (the button's click) and its result read in one call:
        # playwright's own click, with its checks and frames, costs 4 times as
        # much in this loop; tests below press Run as a reader does.
        status, shown, svgs = page.evaluate(RUN_AND_READ, [index, RUN_TIMEOUT])
        ran += 1
        assert status == "ok", f"{block.where}: the page says {status}:\n{shown}"
        result = built[index]
        if block.page_differs is None and isinstance(result, Result):
            assert shown == result.output, (
                f"{block.where}: the page shows\n{shown!r}\nthe build checked\n{result.output!r}")
            assert svgs == (1 if result.figure else 0), f"{block.where}: figure"
    assert ran == sum(b.page_reason is None for b in blocks)
    assert checked == len(messages), "an exercise was not checked in the page"
    assert any("pyodide.asm.wasm" in url for url in t.requests), "the runtime did not load"


# Press Run below block i and wait for its result: [status, text, drawings in a
# figure right below the output] (the output's data-status says it is done).
RUN_AND_READ = """([i, timeout]) => new Promise((resolve, reject) => {
  const cell = document.querySelector(`div.mg-cell[data-block='${i}']`);
  const next = (e, test) => { while (e && !test(e)) e = e.nextElementSibling; return e; };
  const bar = next(cell.nextElementSibling, e => e.classList.contains('mg-run-bar'));
  const run = [...bar.querySelectorAll('button')].find(b => b.textContent.trim() === 'Run');
  run.click();
  const out = next(cell.nextElementSibling, e => e.matches('pre[data-output]'));
  const read = () => {
    if (!out.hasAttribute('data-status')) return false;
    const fig = out.nextElementSibling;
    resolve([out.getAttribute('data-status'), out.textContent,
             fig && fig.tagName === 'FIGURE' ? fig.querySelectorAll('svg').length : 0]);
    return true;
  };
  if (read()) return;
  const watch = new MutationObserver(() => read() && watch.disconnect());
  watch.observe(out, {attributes: true, attributeFilter: ['data-status']});
  setTimeout(() => reject(new Error(`block ${i}: no result after ${timeout} ms`)), timeout);
})"""


def cpython_check_messages(chapter: Path, blocks) -> dict[str, str]:
    """{exercise: the message check_NAME() gives for the unchanged start block},
    in CPython, with the chapter run up to that block as the page runs it."""
    from tests.test_exercises import attempt, exercises

    found = exercises(blocks)
    if not found:
        return {}
    session, messages = chapter_session(chapter), {}
    for block in blocks:
        if block.exercise and block.exercise[0] == "start":
            name = block.exercise[1]
            messages[name] = attempt(session.namespace, block, found[name]["check"][0], name)
            if len(messages) == len(found):
                break
        if block.page_reason is None:
            session.run(block)
    return messages


def check_exercise(page, blocks, index: int, message: str) -> None:
    """Press Check on the start block ``index`` unchanged (it must fail with
    ``message``, CPython's), then on the solution (it must pass); restore it."""
    name = blocks[index].exercise[1]
    solution = next(b for b in blocks if b.exercise == ("solution", name))
    cell = page.locator(f"div.mg-cell[data-block='{index}']")
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    result = cell.locator("xpath=following-sibling::p[@data-check][1]")
    for answer, status in (("start", "fail"), ("solution", "pass")):
        if answer == "solution":
            edit(page, index, solution.code.replace(f"check_{name}()", ""))
        bar.get_by_role("button", name="Check", exact=True).click()
        result.and_(page.locator("[data-status]")).wait_for(state="attached",
                                                            timeout=RUN_TIMEOUT)
        shown = result.text_content()
        assert result.get_attribute("data-status") == status, f"{name}: {shown}"
        if status == "fail":  # the check's message (floats to 9 digits: tanh, see nn.md)
            assert rounded(message.strip().split("\n")[-1]) in rounded(shown), (name, shown)
    bar.get_by_role("button", name="Restore").click()
    assert cell.locator("pre > code").text_content().rstrip("\n") == \
        blocks[index].code.rstrip("\n"), f"{name}: Restore did not bring the start back"


def rounded(text: str) -> str:
    return re.sub(r"-?\d+\.\d+(e-?\d+)?", lambda m: f"{float(m.group()):.9g}", text)


VALUE = next(c for c in CHAPTERS if c.stem == "value")


def test_an_error_shows_a_traceback_of_the_readers_code_and_the_session_goes_on(open_page):
    page = open_page(VALUE).page
    blocks = read_blocks(VALUE)
    assert run_block(page, 0).get_attribute("data-status") == "ok"
    edit(page, 1, "x = 1\nundefined_name + x\n")
    out = run_block(page, 1)
    assert out.get_attribute("data-status") == "error"
    text = out.text_content()
    assert "NameError: name 'undefined_name' is not defined" in text
    # an edited block is a file of its own, numbered as in the chapter
    assert f'File "docs/value.md (your edit #1)", line {blocks[1].line + 2}' in text, text
    assert "undefined_name + x" in text, "the traceback quotes the edited line"
    for internal in ("_pyodide", "tools/cell.py", "pyodide.asm"):
        assert internal not in text, f"the traceback shows the runtime's internals: {text}"
    # the session still works: restore the block, run it and the next one
    cell = page.locator("div.mg-cell[data-block='1']")
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Restore").click()
    assert cell.locator("pre > code").text_content().rstrip("\n") == blocks[1].code.rstrip("\n")
    out = run_block(page, 1)
    assert out.get_attribute("data-status") == "ok"
    assert out.text_content() == blocks[1].expected_output
    assert run_block(page, 2).get_attribute("data-status") == "ok"


def test_run_first_runs_the_blocks_above_and_edits_mark_later_outputs_stale(open_page):
    page = open_page(VALUE).page
    blocks = read_blocks(VALUE)
    last = len(blocks) - 1
    out = run_block(page, 4)  # uses names defined by blocks 0-3
    assert out.get_attribute("data-status") == "ok"
    for index in range(4):
        assert output_of(page, index).get_attribute("data-status") == "ok", index
    assert output_of(page, last).get_attribute("data-status") is None  # below: not run
    edit(page, 2, blocks[2].code + "\n")  # any change to block 2 ...
    page.keyboard.insert_text("# changed\n")
    for index in (2, 3, 4):  # ... makes its output, and those below it, stale
        assert output_of(page, index).get_attribute("data-stale") is not None, index
    assert output_of(page, 1).get_attribute("data-stale") is None


def test_edits_survive_a_reload_until_restored_and_copy_takes_the_edit(open_page):
    t = open_page(VALUE, permissions=("clipboard-read", "clipboard-write"))
    page = t.page
    edit(page, 1, "print('edited by a reader')\n")
    t.reload()
    code = page.locator("div.mg-cell[data-block='1'] pre > code")
    assert "edited by a reader" in code.text_content()
    page.locator("div.mg-cell[data-block='1'] button[data-md-type=copy]").click()
    assert "edited by a reader" in page.evaluate("navigator.clipboard.readText()")
    out = run_block(page, 1)
    assert out.text_content() == "edited by a reader\n"
    bar = page.locator("div.mg-cell[data-block='1']").locator(
        "xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Restore").click()
    t.reload()
    assert "edited by a reader" not in code.text_content()
    stored = page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('mg-edit:'))")
    assert stored == []


def test_stop_ends_a_endless_run_and_the_next_run_starts_afresh(open_page):
    t = open_page(VALUE)
    page = t.page
    edit(page, 0, "import time\nwhile True:\n    time.sleep(0.01)\n")
    cell = page.locator("div.mg-cell[data-block='0']")
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Run", exact=True).click()
    stop = bar.get_by_role("button", name="Stop")
    stop.wait_for(state="visible", timeout=RUN_TIMEOUT)
    page.wait_for_function(
        "() => document.querySelector('.mg-run-output')?.getAttribute('data-state') === 'running'",
        timeout=RUN_TIMEOUT)
    page.wait_for_timeout(300)  # it is really looping now
    later = page.locator("div.mg-cell[data-block='2']").locator(
        "xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    later.get_by_role("button", name="Run", exact=True).click()  # queued behind the loop
    stop.click()
    out = output_of(page, 0)
    out.and_(page.locator("[data-status]")).wait_for(state="attached", timeout=10_000)
    assert out.get_attribute("data-status") == "error" and "Stopped" in out.text_content()
    page.wait_for_timeout(800)  # a wrongly kept run would start a worker at once
    workers = [url for url in t.requests if url.endswith("run-worker.js")]
    assert len(workers) == 1, "a run queued before Stop started a new session"
    assert output_of(page, 2).get_attribute("data-status") is None
    bar.get_by_role("button", name="Restore").click()
    out = run_block(page, 1)  # a new session; block 0 (restored) runs first
    assert out.get_attribute("data-status") == "ok"
    assert out.text_content() == read_blocks(VALUE)[1].expected_output


def test_output_streams_while_a_block_runs_and_input_gets_a_clear_error(open_page):
    page = open_page(VALUE).page
    edit(page, 0, "import time\nfor i in range(4):\n    print('step', i)\n    time.sleep(0.5)\n")
    cell = page.locator("div.mg-cell[data-block='0']")
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Run", exact=True).click()
    out = output_of(page, 0)
    page.wait_for_function(
        "() => { const o = document.querySelector('pre[data-output]');"
        " return o.textContent.includes('step 1') && !o.hasAttribute('data-status'); }",
        timeout=RUN_TIMEOUT)  # printed text shows before the block ends
    out.and_(page.locator("[data-status]")).wait_for(state="attached", timeout=RUN_TIMEOUT)
    assert out.text_content() == "".join(f"step {i}\n" for i in range(4))
    edit(page, 1, "print('asking')\nname = input('name? ')\n")
    out = run_block(page, 1)
    assert out.get_attribute("data-status") == "error"
    assert "EOFError" in out.text_content() and out.text_content().startswith("asking\n")


def test_a_graph_drawn_in_the_page_fits_a_phone(open_page):
    t = open_page(VALUE, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = t.page
    blocks = read_blocks(VALUE)
    index = next(i for i, b in enumerate(blocks) if b.code.strip().startswith("draw_dot("))
    page_width = "document.documentElement.scrollWidth"
    before = page.evaluate(page_width)
    out = run_block(page, index)
    assert out.get_attribute("data-status") == "ok"
    figure = out.locator("xpath=following-sibling::*[1][self::figure]")
    assert figure.locator("svg g.node").count() > 3
    assert figure.is_visible()
    box = figure.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box  # the graph scrolls in its box
    for control in ("Run", "Edit", "Restart"):
        button = page.get_by_role("button", name=control, exact=True).nth(index)
        if button.is_visible():
            b = button.bounding_box()
            assert b["x"] + b["width"] <= 390, f"{control} is off screen"
    # running adds nothing wider than the page was (its own width is the
    # business of the page's layout, tested elsewhere)
    assert page.evaluate(page_width) <= max(before, 390)


def test_session_files_list_the_blocks_and_a_self_hosted_runtime(site):
    for chapter in CHAPTERS:
        data = json.loads((site / chapter.stem / f"{chapter.stem}.session.json").read_text())
        assert [b["code"] for b in data["blocks"]] == [b.code for b in read_blocks(chapter)]
        urls = [data["runtime"]["pyodide"] + "pyodide.asm.wasm", data["runtime"]["viz"],
                *data["runtime"]["wheels"]]
        for url in urls:
            assert "://" not in url and (site / url).is_file(), url


def test_an_open_code_annotation_is_not_taken_for_code(open_page):
    page = open_page(VALUE).page
    blocks = read_blocks(VALUE)
    index = next(i for i, b in enumerate(blocks) if "# (1)!" in b.code)
    cell = page.locator(f"div.mg-cell[data-block='{index}']")
    cell.locator(".md-annotation__index").first.click()  # the bubble opens, in the code
    bar = cell.locator("xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]")
    bar.get_by_role("button", name="Edit", exact=True).click()
    code = cell.locator("pre > code")
    code.press("Control+End")
    page.keyboard.insert_text("\n")
    out = run_block(page, index)
    assert out.get_attribute("data-status") == "ok", out.text_content()
    assert out.text_content() == (blocks[index].expected_output or "")


PROBE = "import random\nprint(hash('micrograd'), random.random())\n"


def probe(t: Tab) -> tuple[str, str]:
    """Run PROBE as block 0 of the Value chapter: (the str hash, a random number)."""
    t.visit(page_path(VALUE))
    edit(t.page, 0, PROBE)
    out = run_block(t.page, 0)
    assert out.get_attribute("data-status") == "ok", out.text_content()
    salt, number = out.text_content().split()
    return salt, number


def kept_copy(t: Tab) -> str:
    """The one copy of Python kept in Cache Storage (waiting while it is
    written): its URL, once it is checked to be gzip of an interpreter's memory."""
    t.stay_until_python_is_kept()
    urls = t.page.evaluate("async s => (await (await caches.open(s)).keys()).map(r => r.url)",
                           PYTHON_STORE)
    assert len(urls) == 1, f"copies of Python kept: {urls}"
    url = urls[0]
    assert url.startswith(t.base + "runtime/pyodide-") and url.endswith("/memory-snapshot.gz")
    size = t.page.evaluate("""async ([s, url]) => (await new Response(
        (await (await caches.open(s)).match(url)).body.pipeThrough(
          new DecompressionStream('gzip'))).arrayBuffer()).byteLength""", [PYTHON_STORE, url])
    assert size > 10_000_000, f"the kept copy holds {size} bytes"
    return url


def test_a_later_page_starts_from_a_kept_copy_of_python_and_a_damaged_copy_is_dropped(
        browser, base_url):
    """The first page keeps a copy of Python as started; the next starts from it
    (the same str hash salt: the same interpreter memory) with random numbers of
    its own. A damaged copy (cut short, or gzip of other bytes) is dropped:
    Python starts the ordinary way (a new salt), and a good copy is kept again."""
    own = Reader(browser)  # a new profile: no copy yet
    try:
        t = Tab(browser, base_url, own)
        first = probe(t)
        url = kept_copy(t)
        close_checked([t])
        t = Tab(browser, base_url, own)
        later = probe(t)
        assert later[0] == first[0], "the later page did not start from the kept copy"
        assert later[1] != first[1], "a session from the copy repeats the random numbers"
        damages = {
            "cut short": "b => b.slice(0, b.byteLength >> 1)",
            "gzip of other bytes": """async () => new Response(new Blob([new Uint8Array(4e6)
                .map((_, i) => i * 7919)]).stream().pipeThrough(new CompressionStream('gzip'))
                ).arrayBuffer()""",
        }
        made = first[0]  # the salt of the start the kept copy comes from
        for how, damage in damages.items():
            t.page.evaluate(f"""async ([store, url]) => {{
                const cache = await caches.open(store);
                const bytes = await (await cache.match(url)).arrayBuffer();
                await cache.put(url, new Response(await ({damage})(bytes))); }}""",
                [PYTHON_STORE, url])
            close_checked([t])
            t = Tab(browser, base_url, own)
            warnings: list[str] = []
            t.page.on("console", lambda m, w=warnings: m.type == "warning" and w.append(m.text))
            salt, _ = probe(t)
            assert salt != made, f"{how}: Python started from the damaged copy"
            assert any("kept copy did not load" in w for w in warnings), (how, warnings)
            assert kept_copy(t) == url, how
            made = salt
        close_checked([t])
    finally:
        own.close()


def test_a_page_served_to_another_machine_runs_without_a_kept_copy(browser, base_url):
    """Over plain http from another host (``make serve ADDR=0.0.0.0:8000`` read
    on a phone) a page is no secure context: no Cache Storage, so no copy of
    Python is kept and Python starts the ordinary way; the blocks run as anywhere."""
    port = urlsplit(base_url).port
    other = browser.browser_type.launch(  # book.example is this machine, by name
        executable_path=chromium(),
        args=[*CHROMIUM_ARGS,
              f"--host-resolver-rules=MAP book.example 127.0.0.1 , {OFFLINE_RULES}"])
    try:
        t = Tab(other, f"http://book.example:{port}/")
        t.visit(page_path(VALUE))
        assert t.page.evaluate("[isSecureContext, typeof caches]") == [False, "undefined"]
        out = run_block(t.page, 1)  # block 0 runs first
        assert out.get_attribute("data-status") == "ok", out.text_content()
        assert out.text_content() == read_blocks(VALUE)[1].expected_output
        assert any("pyodide.asm.wasm" in url for url in t.requests)
        close_checked([t])
    finally:
        other.close()


def test_python_that_cannot_start_says_why_under_the_block(open_page):
    """When the runtime cannot start (here its session file is refused, as for
    a reader gone offline) the block says so; the next Run starts afresh."""
    t = open_page(VALUE)
    page = t.page
    page.route("**/*.session.json", lambda route: route.fulfill(status=503, body="down"))
    out = run_block(page, 0)
    assert out.get_attribute("data-status") == "error"
    assert "The Python runtime could not start" in out.text_content(), out.text_content()
    assert "(503)" in out.text_content(), out.text_content()
    page.unroute("**/*.session.json")
    assert all("503" in e for e in t.errors), t.errors  # the refused file's console line
    t.errors.clear()
    out = run_block(page, 1)
    assert out.get_attribute("data-status") == "ok", out.text_content()
    assert out.text_content() == read_blocks(VALUE)[1].expected_output
