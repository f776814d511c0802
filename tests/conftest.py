"""Shared fixtures: a throw-away book in a temporary folder; the site, served,
and the browser that reads it."""

import fcntl
import functools
import http.server
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tools.book import ROOT


def write_book(chapters: dict[str, str], root: Path) -> Path:
    """Chapters into ``root``/docs, in the nav in the order given (text dedented)."""
    (root / "docs").mkdir(parents=True, exist_ok=True)
    nav = "\n".join(f"  - {name}" for name in chapters)
    (root / "mkdocs.yml").write_text(f"site_name: probe\nnav:\n{nav}\n")
    for name, text in chapters.items():
        (root / "docs" / name).write_text(textwrap.dedent(text).lstrip())
    return root


@pytest.fixture
def make_book(tmp_path):
    """Write a small book: ``make_book({"a.md": "...", ...})`` -> its root.

    The chapters go into docs/ and into the nav, in the order given; their
    text is dedented, so tests can indent it.
    """

    def make(chapters: dict[str, str], root: Path = tmp_path) -> Path:
        return write_book(chapters, root)

    return make


@pytest.fixture
def book_copy(tmp_path):
    """A copy of this book (chapters, nav, package) to modify freely."""
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "micrograd", tmp_path / "micrograd",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    return tmp_path


@pytest.fixture
def run_pytest():
    """Run pytest with the book plugin on a throw-away book, in a subprocess
    (keyword arguments go to ``subprocess.run``)."""

    def run(root: Path, *args: str, **popen) -> subprocess.CompletedProcess:
        (root / "pytest.ini").write_text("[pytest]\n")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run(  # not hypothesis's plugin: 0.5 s of imports, unused here
            [sys.executable, "-m", "pytest", "-p", "tools.pytest_book", "-q",
             "-p", "no:cacheprovider", "-p", "no:hypothesispytest", str(root / "docs"), *args],
            cwd=root, env=env, capture_output=True, text=True, timeout=300, **popen,
        )

    return run


def build_command(site: Path) -> list[str]:
    return [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)]


def build_env() -> dict[str, str]:
    return dict(os.environ, NO_MKDOCS_2_WARNING="1")  # read now: tests set SITE_URL


def mkdocs_build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(build_command(site), cwd=root, env=build_env(),
                          capture_output=True, text=True, timeout=900)


def pytest_sessionstart(session):
    """With pytest-xdist, the controller (which runs no test) builds the site in
    the background while the workers start on the tests that do not need it."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(session.config.option,
                                                            "numprocesses", None):
        return
    paths = [Path(str(a).split("::")[0]).resolve() for a in session.config.args]
    if paths and not any(p == ROOT or ROOT / "tests" in [p, *p.parents] for p in paths):
        return  # only chapters: no test needs the site (else the workers build it)
    shared = session.config._tmp_path_factory.getbasetemp()
    (shared / "site.started").touch()
    build = subprocess.Popen(build_command(shared / "site"), cwd=ROOT, env=build_env(),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait():
        stderr = build.communicate()[1]
        name = "site.built" if build.returncode == 0 else "site.failed"
        (shared / name).write_text(stderr[-3000:])

    threading.Thread(target=wait, daemon=True).start()
    session.config.stash[SITE_BUILD] = build


def pytest_sessionfinish(session):
    build = session.config.stash.get(SITE_BUILD, None)
    if build is not None and build.poll() is None:  # no test needed it after all
        build.kill()


SITE_BUILD = pytest.StashKey[subprocess.Popen]()


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """This book's site, built strictly once per test session (with pytest-xdist,
    once for all workers, by the controller: see pytest_sessionstart)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp("site")
        run = mkdocs_build(ROOT, out)
        assert run.returncode == 0, run.stderr[-3000:]
        return out
    shared = tmp_path_factory.getbasetemp().parent
    if not (shared / "site.started").exists():  # the controller did not build it
        with open(shared / "site.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker builds, the others wait
            if not (shared / "site.built").exists():
                run = mkdocs_build(ROOT, shared / "site")
                assert run.returncode == 0, run.stderr[-3000:]
                (shared / "site.built").touch()
    deadline = time.monotonic() + 900
    while not (shared / "site.built").exists():
        failed = shared / "site.failed"
        assert not failed.exists(), f"the site build failed:\n{failed.read_text()}"
        assert time.monotonic() < deadline, "the site build took over 15 minutes"
        time.sleep(0.2)
    return shared / "site"


# The browser tests' (tests/test_browser.py and the modules that open pages):
# one server, one Chromium and one reader's profile per test process, shared
# by every module, so a later module's pages start Python from the copy an
# earlier one kept, with Pyodide already compiled.


@pytest.fixture(scope="session")
def base_url(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=site)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from tests.test_browser import CHROMIUM_ARGS, OFFLINE, chromium, write_report

    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=[*CHROMIUM_ARGS, OFFLINE])
        yield b
        b.close()
    write_report()


@pytest.fixture(scope="session")
def reader(browser):
    from tests.test_browser import Reader

    r = Reader(browser)
    yield r
    r.close()
