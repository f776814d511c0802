"""The chapter runner: a chapter is a session, like a notebook run top to bottom.

A session is one namespace. It starts with the chapter's prelude (the
package code of the earlier chapters, see ``tools.tangle.prelude``), then
runs the chapter's Python blocks in order. For each block it

* honours ``pytest.mark.skipif(...)``/``pytest.mark.skip`` and
  ``importorskip(...)`` markers (a skipped block is reported, with its reason);
* runs it with ``tools.cell.run``, the code the page runs it with too: what
  the block prints is captured; if it ends in an expression, that value is
  shown as a notebook would: a Graphviz graph or a matplotlib figure becomes
  an SVG figure, anything else is printed with ``repr``;
* compares the output with the block's ``expected-output`` block, if any.

Code is compiled with the chapter's file name and line numbers, so a
traceback points at the line of the Markdown file.

The tests and the site build run each chapter in a child process
(``ChapterRun``): a block that ends the interpreter (``os._exit``,
``os.abort``, a signal) or never ends (a loop, past its time limit: ``TIMEOUT``
seconds, or the ``<!--timeout: N-->`` marker above it) fails, named by its
file and line, and no block after it is reported as run. A block reads no
input (``input()`` raises ``EOFError`` at once), and the threads it starts
must end with it, so what they print is its output.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from tools import cell
from tools.book import OUTPUTS_FROM, ROOT, Block, BookError, find_root, read_blocks, rel
from tools.tangle import prelude

TIMEOUT = 60.0  # seconds a block may run; <!--timeout: N--> above a block changes it
START_TIMEOUT = 120.0  # seconds for the child to start and run the chapter's prelude
DIFF_LINES = 40  # lines of an output diff shown; the rest is counted
LINE_WIDTH = 200  # characters of one diff line shown


class BlockFailure(Exception):
    """A block raised, or printed something other than its expected output."""

    def __init__(self, block: Block, message: str):
        self.block, self.message = block, message
        super().__init__(f"{block.where}: {message}")


class BlockSkipped(Exception):
    def __init__(self, block: Block, reason: str):
        self.block, self.reason = block, reason
        super().__init__(f"{block.where}: skipped: {reason}")


@dataclass
class Result:
    block: Block
    output: str
    figure: str | None = None  # SVG markup


def skip_reason(block: Block) -> str | None:
    """Why the block's markers say it must not run here, or None."""
    import pytest

    for text in block.marks:
        mark = eval(text, {"sys": sys, "pytest": pytest})
        if mark.name == "skip":
            return mark.kwargs.get("reason", "marked pytest.mark.skip")
        if mark.name == "skipif":
            if any(mark.args):
                return mark.kwargs.get("reason") or f"skipif{mark.args}"
    if block.importorskip:
        try:
            __import__(block.importorskip)
        except ImportError:
            return f"{block.importorskip} is not installed"
    return None


class Session:
    """One namespace in which blocks run in order (``tools.cell`` runs each)."""

    def __init__(self, prelude_code: str = "", origin: str = "<prelude>"):
        self.namespace = cell.new_namespace(prelude_code, origin)

    def run(self, block: Block) -> Result:
        reason = skip_reason(block)
        if reason is not None:
            raise BlockSkipped(block, reason)
        threads = set(threading.enumerate())
        raised: list = []  # exceptions of the block's threads (threading.excepthook)
        late = io.StringIO()  # printed by its threads after its own code ended
        hook, stdin = threading.excepthook, sys.stdin
        threading.excepthook, sys.stdin = raised.append, io.StringIO()  # input(): EOFError
        try:
            with contextlib.redirect_stdout(late):
                try:
                    output, figure = cell.run(block.code, self.namespace,
                                              rel(block.chapter), block.line)
                finally:
                    running = _finish_threads(threads)
        except cell.CellError as err:
            raise BlockFailure(block, _cell_message(err)) from err.exc
        finally:
            threading.excepthook, sys.stdin = hook, stdin
        output += late.getvalue()
        if raised:
            args = raised[0]
            text = "".join(traceback.format_exception(args.exc_type, args.exc_value,
                                                      args.exc_traceback))
            raise BlockFailure(block, f"a thread the block started ({args.thread.name}) raised "
                               f"{args.exc_type.__name__}: {args.exc_value}\n{text}")
        if running:
            raise BlockFailure(block, f"the block left thread(s) running: {', '.join(running)}; "
                               "a block's threads must end before it does (join them), or what "
                               "they print would land in a later block")
        if block.expected_output is not None and output != block.expected_output \
                and not (block.page_differs and sys.version_info[:2] != OUTPUTS_FROM):
            raise BlockFailure(block, output_diff(block.expected_output, output))
        return Result(block, output, figure)


def _cell_message(err: cell.CellError) -> str:
    if err.kind == "syntax":
        return f"syntax error at line {err.exc.lineno}: {err.exc.msg}"
    if err.kind != "raised":
        return err.text
    message = f"the block raised {type(err.exc).__name__}: {err.exc}\n{_own_frames(err.text)}"
    if isinstance(err.exc, EOFError):
        message += ("(a block gets no input: input() and sys.stdin find nothing to read; "
                    "write the value in the code instead)\n")
    elif isinstance(err.exc, SystemExit):
        message += "(a block must not end the interpreter: remove the exit)\n"
    return message


def _own_frames(text: str) -> str:
    """A traceback without the runner's frames (its audit hook refusing a call)."""
    out, skip = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("  File "):
            skip = f'"{__file__}"' in line
        elif not line.startswith("    "):
            skip = False
        if not skip:
            out.append(line)
    return "".join(out)


def _finish_threads(before: set) -> list[str]:
    """Wait for the threads a block started; the names of those still running.

    A non-daemon thread is waited for, as Python waits for it at the end of a
    script; a daemon thread gets a moment to finish.
    """
    started = [t for t in threading.enumerate() if t not in before]
    for thread in started:
        thread.join(None if not thread.daemon else 0.5)
    return [t.name for t in started if t.is_alive()]


def output_diff(expected: str, got: str) -> str:
    """The unified diff of two outputs, cut to ``DIFF_LINES`` lines of at most
    ``LINE_WIDTH`` characters; a missing final newline is said, not hidden."""
    import difflib

    def lines(text: str) -> list[str]:
        out = text.splitlines(keepends=True)
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n\\ no newline at the end\n"
        return out

    diff = list(difflib.unified_diff(lines(expected), lines(got),
                                     "expected output (in the chapter)", "actual output"))
    shown = [line if len(line) <= LINE_WIDTH + 1 else
             f"{line[:LINE_WIDTH]}... ({len(line) - 1} characters)\n" for line in diff]
    if len(shown) > DIFF_LINES:
        shown = shown[:DIFF_LINES] + [f"... {len(shown) - DIFF_LINES} more lines of diff\n"]
    head = "the output differs from the expected-output block"
    if expected.count("\n") > DIFF_LINES or got.count("\n") > DIFF_LINES:
        head += (f" (expected {len(expected.splitlines())} lines, "
                 f"got {len(got.splitlines())})")
    if got and not got.endswith("\n") and got + "\n" == expected:
        head += ("; the block's output does not end with a newline (print(..., end='')?), "
                 "and an output block always does: end the output with a newline")
    return head + ":\n" + "".join(shown)


def chapter_session(chapter: Path) -> Session:
    return Session(prelude(chapter), f"<prelude of {rel(chapter)}>")


def run_chapter(chapter: Path) -> list[Result | BlockSkipped]:
    """Run a chapter after its prelude, in a child process; the first failure
    raises. Returns one result per block: none is left out."""
    results = []
    with ChapterRun(chapter) as run:
        while run.next < len(run.blocks):
            try:
                results.append(run.next_result())
            except BlockSkipped as skipped:
                results.append(skipped)
    return results


class ChapterRun:
    """A chapter running in a child process; its blocks' results, in order.

    ``next_result()`` returns the next block's ``Result`` or raises its
    ``BlockSkipped`` or ``BlockFailure``; a block that ends the child, or
    runs past its time limit, is a ``BlockFailure`` naming it (the child is
    then gone, and the blocks after it never ran). With ``compare=False`` the
    outputs are not compared with the expected ones.
    """

    def __init__(self, chapter: Path, blocks: list[Block] | None = None, compare: bool = True):
        self.chapter = Path(chapter)
        self.blocks = read_blocks(self.chapter) if blocks is None else blocks
        self.compare = compare
        self.next = 0  # index of the block whose result comes next
        self.proc: subprocess.Popen | None = None
        self.buffer = b""
        self.failed: str | None = None  # where the block that stopped the run is

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self) -> None:
        read_fd, write_fd = os.pipe()
        self.log = tempfile.TemporaryFile()  # what the child writes to fds 1 and 2
        paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        command = [sys.executable, "-X", "utf8", "-m", "tools.runner", "--child",
                   str(write_fd), str(len(self.blocks)), "1" if self.compare else "0",
                   str(self.chapter.resolve())]
        try:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                pass_fds=(write_fd,), cwd=find_root(self.chapter) or Path.cwd(), env=env,
                start_new_session=True,  # its own process group: a block's killpg(0) stays in it
            )
        finally:
            os.close(write_fd)
        self.fd = read_fd
        message = self._receive(time.monotonic() + START_TIMEOUT)
        if not isinstance(message, dict) or "ready" not in message:
            if isinstance(message, dict) and "error" in message:
                error = BookError(Path(message["path"]), message["line"], message["error"])
            else:
                error = BookError(self.chapter, None, "the chapter could not start: "
                                  f"{self._lost(message)}")
            self.close()
            raise error

    def next_result(self) -> Result:
        if self.next >= len(self.blocks):
            raise IndexError("every block of the chapter has run")
        index, block = self.next, self.blocks[self.next]
        self.next += 1
        if self.failed is not None:
            raise BlockFailure(block, f"not run: the earlier block {self.failed} failed")
        try:
            return self._result(index, block)
        except (BlockFailure, BookError):
            self.failed = block.where
            raise

    def _result(self, index: int, block: Block) -> Result:
        if self.proc is None:
            self.start()
        limit = block.timeout or TIMEOUT
        message = self._receive(time.monotonic() + START_TIMEOUT)
        if isinstance(message, dict) and message.get("start") == index:
            message = self._receive(time.monotonic() + limit)
        if message == "timeout":
            where = self._where_stuck(block)
            self._kill()
            raise BlockFailure(block, f"the block did not finish within {limit:g} s, the time "
                               "limit for a block; it may loop forever or wait for something. "
                               "If it really needs longer, put <!--timeout: SECONDS--> on the "
                               f"line above its fence{where}")
        if not isinstance(message, dict) or message.get("result") != index:
            raise BlockFailure(block, self._lost(message))
        kind = message["kind"]
        if kind == "skipped":
            raise BlockSkipped(block, message["reason"])
        if kind == "failed":
            raise BlockFailure(block, message["message"])
        if self.next == len(self.blocks):
            end = self._receive(time.monotonic() + START_TIMEOUT)
            if end != {"end": len(self.blocks)}:
                raise BlockFailure(block, f"the chapter has {len(self.blocks)} blocks, but its "
                                   f"run did not end after them: {self._lost(end)}")
        return Result(block, message["output"], message["figure"])

    def _receive(self, deadline: float):
        """The child's next message; "timeout", "stopped" or "eof" when none came."""
        while b"\n" not in self.buffer:
            wait = deadline - time.monotonic()
            if wait <= 0:
                return "timeout"
            ready, _, _ = select.select([self.fd], [], [], min(wait, 0.25))
            if not ready:
                if _stopped(self.proc.pid):
                    return "stopped"
                continue
            chunk = os.read(self.fd, 1 << 20)
            if not chunk:
                return "eof"
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            return json.loads(line)
        except ValueError:
            return "garbled"

    def _lost(self, message) -> str:
        """Why the child sent no result: it ended, or stopped, or wrote nonsense."""
        if message == "stopped":
            self._kill()
            how = "the block stopped the process running the chapter (SIGSTOP)"
        elif message == "garbled":
            self._kill()
            how = "the block wrote over the runner's channel to the test process"
        else:
            self._kill() if message != "eof" else None
            code = self.proc.wait()
            if code < 0:
                try:
                    name = signal.Signals(-code).name
                except ValueError:
                    name = f"signal {-code}"
                how = f"the process running the chapter was killed by {name}"
            else:
                how = f"the process running the chapter ended (exit status {code})"
        how += ("; a block must not end the interpreter (os._exit(), os.abort(), os.kill(), a "
                "signal...), so this block was not checked and the blocks after it did not run")
        tail = self._log_tail()
        return how + (f"\nits last output:\n{tail}" if tail else "")

    def _where_stuck(self, block: Block) -> str:
        """The chapter lines the child was running, from its stack (faulthandler)."""
        start = self.log.seek(0, os.SEEK_END)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGUSR1)
        name = f'File "{rel(block.chapter)}", line '
        for _ in range(20):
            time.sleep(0.05)
            self.log.seek(start)
            dump = self.log.read().decode("utf-8", "replace")
            lines = [row.split(name)[1].split()[0] for row in dump.splitlines() if name in row]
            if lines:  # innermost first
                self.log.truncate(start)  # the dump said it; it is no output of the block
                return f"; it was at line {lines[0]} when stopped"
        return ""

    def _log_tail(self, lines: int = 20) -> str:
        self.log.seek(0)
        text = self.log.read().decode("utf-8", "replace")
        return "".join(text.splitlines(keepends=True)[-lines:])

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def close(self) -> None:
        """Stop the child (if it still runs) and pass on what it wrote to stderr."""
        if self.proc is None:
            return
        self._kill()
        os.close(self.fd)
        tail = self._log_tail(100)
        self.log.close()
        self.proc = None
        if tail.strip():
            sys.stderr.write(f"{rel(self.chapter)}: the blocks wrote to the terminal:\n{tail}")


def _stopped(pid: int) -> bool:
    """Whether the process ``pid`` is stopped (SIGSTOP), without reaping it."""
    if not hasattr(os, "waitid"):
        return False
    try:
        info = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return info is not None and info.si_code == os.CLD_STOPPED


def _refuse_signals_out(event: str, args: tuple) -> None:
    """Audit hook of the child: a block may signal itself and the processes it
    started, never the test process or the build that runs it."""
    if event == "os.kill":
        pid = args[0]
        if pid == os.getppid() or pid == -1 or (pid < -1 and -pid != os.getpgid(0)):
            raise PermissionError(f"a block may not signal process {pid}: it runs the tests")
    elif event == "os.killpg" and args[0] not in (0, os.getpgid(0)):
        raise PermissionError(f"a block may not signal process group {args[0]}")


def _signals_as_in_a_terminal() -> None:
    """Signals do to a block what they do to a script run from a terminal, even
    where the tests were started ignoring some (a shell's background job, or
    nohup, ignores SIGINT, SIGQUIT or SIGHUP, and the child would inherit it):
    SIGINT raises KeyboardInterrupt, and every other ignored signal gets its
    default action back, but SIGPIPE and SIGXFSZ, which Python itself ignores."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for number in signal.valid_signals() - {signal.SIGPIPE, signal.SIGXFSZ}:
        if signal.getsignal(number) == signal.SIG_IGN:
            signal.signal(number, signal.SIG_DFL)


def _child(argv: list[str]) -> None:
    """The child side of ``ChapterRun``: run the chapter, one message per step."""
    channel = os.fdopen(int(argv[0]), "w", encoding="utf-8")
    count, compare, chapter = int(argv[1]), argv[2] == "1", Path(argv[3])
    pid = os.getpid()

    def send(**message):
        if os.getpid() != pid:  # a block forked: the copy must not report
            os._exit(0)
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    import warnings

    warnings.simplefilter("error")  # as under pytest (pyproject.toml): a warning fails
    _signals_as_in_a_terminal()
    sys.addaudithook(_refuse_signals_out)
    import faulthandler

    faulthandler.register(signal.SIGUSR1)  # the parent asks where a block is stuck
    try:
        blocks = read_blocks(chapter)
        if len(blocks) != count:
            raise BookError(chapter, None, f"has {len(blocks)} blocks now, {count} when the "
                            "run began: was it edited meanwhile?")
        session = chapter_session(chapter)
    except BookError as exc:  # raised again as it is by the parent
        send(error=exc.message, path=str(exc.path), line=exc.line)
        os._exit(1)
    except BaseException as exc:  # noqa: B036 (any failure is reported, then the child ends)
        send(error=f"the chapter could not start: {type(exc).__name__}: {exc}\n"
             f"{traceback.format_exc()}", path=str(chapter), line=None)
        os._exit(1)
    send(ready=True)
    for index, block in enumerate(blocks):
        if not compare:
            block.expected_output = None
        send(start=index)
        try:
            result = session.run(block)
        except BlockSkipped as exc:
            send(result=index, kind="skipped", reason=exc.reason)
        except BlockFailure as exc:
            send(result=index, kind="failed", message=exc.message)
            break
        except Exception as exc:  # the runner's own step (a skipif marker, say) failed
            send(result=index, kind="failed", message=f"the runner could not run this block: "
                 f"{type(exc).__name__}: {exc}")
            break
        else:
            send(result=index, kind="ok", output=result.output, figure=result.figure)
    else:
        send(end=len(blocks))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # no atexit handlers, no waiting for the blocks' leftovers


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.runner docs/nn.md``: run a chapter, show every output.

    For writing a chapter: each block's actual output is printed, marked
    where it differs from the block's expected-output (or has none), so it
    can be pasted into the chapter once it is what the text says.
    """
    import argparse

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        _child(argv[1:])

    parser = argparse.ArgumentParser(prog="python -m tools.runner",
                                     description=main.__doc__.split("\n")[0])
    parser.add_argument("chapters", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        return _show(args.chapters)
    except BookError as exc:
        print(f"== {exc}")
        return 2


def _show(chapters: list[Path]) -> int:
    status = 0
    for chapter in chapters:
        blocks = read_blocks(chapter)
        with ChapterRun(chapter, blocks, compare=False) as run:
            for block in blocks:
                try:
                    result = run.next_result()
                except BlockSkipped as exc:
                    print(f"== {block.where}: skipped ({exc.reason})")
                    continue
                except BlockFailure as exc:
                    print(f"== {exc}")
                    return 1
                expected = block.expected_output
                if expected is None:
                    state = "no expected-output" if result.output else "no output"
                else:
                    state = "ok" if expected == result.output else "DIFFERS"
                    status |= expected != result.output
                figure = f", figure of {len(result.figure)} bytes" if result.figure else ""
                print(f"== {block.where}: {state}{figure}")
                if result.output and state != "ok":
                    print(result.output, end="" if result.output.endswith("\n") else "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
