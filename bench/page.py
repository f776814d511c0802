"""Benchmark the in-page runtime: what a reader waits for, and what it costs.

    make bench-page          (or: .venv/bin/python -m bench.page)

Builds the site into a temporary folder, serves it on 127.0.0.1 and drives
Debian's chromium with playwright (no routing, so the browser's HTTP cache
works as a reader's does; a request to another host is counted and fails
the run). It reports, on this machine:

1. the bytes a chapter page (Training) loads before the first Run, and what
   the first Run adds (the runtime, the wheels, the session file);
2. the time from pressing Run on the chapter's first block to its output,
   with a cold cache (a new browser profile) and a warm one (the same
   profile, opening another chapter, as a reader moving on does: Python
   starts from the copy the first page kept, docs/js/run-worker.js);
3. the training chapter's loop (its block ``for k in range(20): ...``) run
   in the page, against the same code after the same blocks in CPython (the
   build's runner), as a ratio: the median of several runs of each, timed
   around the block in the worker and in the runner alike;
4. the playground's training step (its block of 100 ``trainer.step()``
   calls: the demo's 2-16-16-1 network on 100 moons, fused), milliseconds per
   step in the page against CPython (goal: within 3x);
5. the playground's first Step, from the press to the step shown, in a page
   whose Python has not started yet (the runtime files from the cache, Python
   from the copy an earlier page kept): what
   a reader waits for before the playground moves.

Exits 1 if a block's result in the page is an error, or any request leaves
the machine.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tools.book import ROOT, read_blocks
from tools.runner import chapter_session

TRAINING = ROOT / "docs" / "training.md"
PLAYGROUND = ROOT / "docs" / "playground.md"
STEPS = 100  # trainer.step() calls in the playground's block
OTHER = ROOT / "docs" / "nn.md"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def loop_index(chapter: Path, words: str = "for k in range(20):") -> int:
    return next(i for i, b in enumerate(read_blocks(chapter)) if words in b.code)


def cpython_ms(chapter: Path, index: int, rounds: int) -> list[float]:
    """Milliseconds of block ``index`` in CPython, after the blocks above it."""
    blocks = read_blocks(chapter)
    session = chapter_session(chapter)
    for block in blocks[:index]:
        session.run(block)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        session.run(blocks[index])
        times.append(1000 * (time.perf_counter() - start))
    return times


class Browser:
    def __init__(self, playwright, profile: Path, base: str):
        self.base = base
        self.bytes = 0
        self.outside: list[str] = []
        self.context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=shutil.which("chromium"), args=ARGS, headless=True)
        self.context.on("requestfinished", self._count)
        self.context.on("request", self._check)

    def _check(self, request):
        if not request.url.startswith(self.base):
            self.outside.append(request.url)

    def _count(self, request):
        sizes = request.sizes()
        self.bytes += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    def open(self, chapter: Path):
        page = self.context.new_page()
        page.goto(f"{self.base}{chapter.stem}/")
        page.wait_for_load_state("networkidle")
        # open the folded blocks (helpers, solutions), as a reader does to run them
        page.evaluate("document.querySelectorAll('article details').forEach(d => d.open = true)")
        return page

    def first_step(self) -> float:
        """Seconds from pressing the playground's Step to its first step shown."""
        page = self.open(PLAYGROUND)
        start = time.perf_counter()
        page.get_by_role("button", name="Step", exact=True).click()
        page.wait_for_function(
            "() => document.querySelector('[data-step]').dataset.step === '1'", timeout=300_000)
        return time.perf_counter() - start

    def timed(self, page, index: int, rounds: int) -> list[float]:
        """Milliseconds of block ``index`` in the worker, ``rounds`` times."""
        self.run(page, index)  # the blocks above it run first
        times = []
        for _ in range(rounds):
            self.run(page, index)
            times.append(float(page.locator(f"div.mg-cell[data-block='{index}']").locator(
                "xpath=following-sibling::pre[@data-output][1]").get_attribute("data-ms")))
        return times

    def run(self, page, index: int) -> float:
        """Press Run on block ``index``; seconds until its result is shown."""
        output = page.locator(f"div.mg-cell[data-block='{index}']").locator(
            "xpath=following-sibling::pre[@data-output][1]")
        button = page.locator(f"div.mg-cell[data-block='{index}']").locator(
            "xpath=following-sibling::div[contains(@class,'mg-run-bar')][1]"
        ).get_by_role("button", name="Run", exact=True)
        start = time.perf_counter()
        button.click()
        output.and_(page.locator("[data-status]")).wait_for(state="attached", timeout=300_000)
        seconds = time.perf_counter() - start
        if output.get_attribute("data-status") != "ok":
            raise SystemExit(f"block {index} failed in the page:\n{output.text_content()}")
        return seconds


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="runs of the loop, each side")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-page-") as tmp:
        site = Path(tmp) / "site"
        print("building the site ...", flush=True)
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
                       cwd=ROOT, check=True, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
        server, base = serve(site)
        index = loop_index(TRAINING)
        with sync_playwright() as p:
            browser = Browser(p, Path(tmp) / "profile", base)
            page = browser.open(TRAINING)
            before = browser.bytes
            cold = browser.run(page, 0)
            page.wait_for_load_state("networkidle")
            after = browser.bytes
            page_ms = browser.timed(page, index, args.rounds)
            play = loop_index(PLAYGROUND, f"for k in range({STEPS}):")
            play_page = browser.timed(browser.open(PLAYGROUND), play, 3)
            first_step = browser.first_step()
            warm_page = browser.open(OTHER)
            counted = browser.bytes
            warm = browser.run(warm_page, 0)
            warm_bytes = browser.bytes - counted
            outside = browser.outside
            browser.context.close()
        server.shutdown()
    cpython = cpython_ms(TRAINING, index, args.rounds)
    play_cpython = cpython_ms(PLAYGROUND, play, 3)
    page_median, cpython_median = statistics.median(page_ms), statistics.median(cpython)
    print(f"\nin-page runtime, {TRAINING.relative_to(ROOT)} (chromium, 127.0.0.1)")
    print(f"  page before the first Run:   {before / 1e3:9.1f} kB")
    print(f"  the first Run adds:          {(after - before) / 1e6:9.2f} MB "
          "(runtime, wheels, session file)")
    print(f"  first Run -> output, cold:   {cold:9.2f} s  (new browser profile)")
    print(f"  first Run -> output, warm:   {warm:9.2f} s  "
          f"({OTHER.stem} chapter next, {warm_bytes / 1e6:.2f} MB counted from the network "
          "or the cache)")
    print(f"  training loop, page:         {page_median:9.1f} ms  (median of {len(page_ms)})")
    print(f"  training loop, CPython:      {cpython_median:9.1f} ms  "
          f"({sys.version.split()[0]}, the build's runner)")
    print(f"  page / CPython:              {page_median / cpython_median:9.2f}x")
    step_page = statistics.median(play_page) / STEPS
    step_cpython = statistics.median(play_cpython) / STEPS
    print(f"playground step ({PLAYGROUND.relative_to(ROOT)}, MLP 2-16-16-1 fused, 100 points)")
    print(f"  page:                        {step_page:9.1f} ms per step")
    print(f"  CPython:                     {step_cpython:9.1f} ms per step")
    ratio = step_page / step_cpython
    print(f"  page / CPython:              {ratio:9.2f}x  (goal: within 3x: "
          f"{'met' if ratio <= 3 else 'MISSED'})")
    print(f"  first Step -> step shown:    {first_step:9.2f} s  (Python started for the "
          "playground, from the kept copy)")
    if outside:
        print(f"requests to other hosts: {outside}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
