"""How long `make serve` takes to show an edit of a chapter.

    .venv/bin/python bench/preview.py [--chapter nn.md] [--rounds 5]
                                      [--edit prose|code] [--keep-cache] [--dirty]
                                      [--no-strict]

Copies the book (all but .git, .venv and build output) into a temporary
folder, starts `mkdocs serve --strict` there on a free port and waits for
the first build. Then it edits the chapter several times: one prose line
(the default), or, with --edit code, a comment added to its first
exploration block, so that the chapter runs again. After each edit it polls
the served page until the new words appear, and prints how long that took
and the CPU time the server spent meanwhile (its rebuild: unlike the wall
time, this does not grow when other work loads the machine).

The real book is never touched, and the copy is deleted at the end. With
--keep-cache the copy starts from this book's .cache/, as a contributor's
second `make serve` would; without it the first build runs every chapter
and the demo notebook. --dirty adds mkdocs' --dirty option (which the
strict build refuses: its warning counts as an error; add --no-strict).

A measurement, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MKDOCS = ROOT / ".venv" / "bin" / "mkdocs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.read().decode("utf-8")
    except OSError:
        return None


def wait_for(url: str, words: str, limit: float, server: subprocess.Popen) -> float:
    """Seconds until the page at ``url`` contains ``words``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if server.poll() is not None:
            raise TimeoutError(f"mkdocs serve stopped (exit {server.returncode})")
        page = fetch(url)
        if page is not None and words in page:
            return time.monotonic() - start
        time.sleep(0.02)
    raise TimeoutError(f"{url} did not show {words!r} within {limit} s")


def prose_line(lines: list[str]) -> int:
    """Index of the first paragraph line after the H1 (the intro)."""
    h1 = next(i for i, line in enumerate(lines) if line.startswith("# "))
    return next(i for i in range(h1 + 1, len(lines)) if lines[i].strip())


def code_line(lines: list[str]) -> int:
    """Index of the first line of code of the first untitled Python block."""
    return next(i for i, line in enumerate(lines) if line.strip() == "```python") + 1


def cpu_seconds(pid: int) -> float:
    """User and system time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SKIP = {".git", ".venv", "site", ".cache", ".pytest_cache", ".ruff_cache", "test-artifacts"}


def copy_book(dest: Path, keep_cache: bool) -> None:
    """Everything mkdocs.yml may refer to; not the venv, git or build output."""
    for item in ROOT.iterdir():
        if item.name in SKIP or item.name.endswith(".egg-info"):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(item, dest / item.name)
    if keep_cache and (ROOT / ".cache").is_dir():
        shutil.copytree(ROOT / ".cache", dest / ".cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chapter", default="nn.md", help="page to edit (in docs/)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--edit", choices=["prose", "code"], default="prose")
    parser.add_argument("--dirty", action="store_true", help="serve with --dirty")
    parser.add_argument("--no-strict", action="store_true", help="serve without --strict")
    parser.add_argument("--keep-cache", action="store_true",
                        help="start from this book's .cache/ instead of an empty one")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        book = Path(tmp)
        copy_book(book, args.keep_cache)
        port = free_port()
        cmd = [str(MKDOCS), "serve", "-a", f"127.0.0.1:{port}",
               "--no-strict" if args.no_strict else "--strict"]
        if args.dirty:
            cmd.append("--dirty")
        log = open(book / "serve.log", "w")
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
        server = subprocess.Popen(cmd, cwd=book, stdout=log, stderr=subprocess.STDOUT,
                                  env=env, start_new_session=True)
        url = f"http://127.0.0.1:{port}/{Path(args.chapter).stem}/"
        chapter = book / "docs" / args.chapter
        try:
            start = time.monotonic()
            first = wait_for(url, "</html>", 600, server)
            print(f"first build, page served after {time.monotonic() - start:.2f} s")
            del first
            times = []
            for n in range(args.rounds):
                lines = chapter.read_text().split("\n")
                token = f"preview-probe-{n}-{time.time_ns()}"
                if args.edit == "prose":
                    i = prose_line(lines)
                    lines[i] = f"{lines[i]} {token}"
                else:
                    i = code_line(lines)
                    lines.insert(i, f"# {token}")
                time.sleep(1.0)  # let the server settle between edits
                cpu = cpu_seconds(server.pid)
                chapter.write_text("\n".join(lines))
                seconds = wait_for(url, token, 60, server)
                cpu = cpu_seconds(server.pid) - cpu
                times.append(seconds)
                print(f"edit {n + 1}: shown after {seconds:.2f} s (server CPU {cpu:.2f} s)")
            print(f"{args.edit} edit -> page: median {statistics.median(times):.2f} s, "
                  f"max {max(times):.2f} s over {len(times)} edits"
                  + (" (--dirty)" if args.dirty else "")
                  + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        except TimeoutError as exc:
            log.flush()
            print(exc, file=sys.stderr)
            print((book / "serve.log").read_text()[-3000:], file=sys.stderr)
            return 1
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
