"""The chapter runner and the pytest plugin: chapters as checked sessions."""

import re
import subprocess
import sys

import pytest

from tools.book import ROOT, BookError, chapters, count_python_fences, read_blocks
from tools.runner import (
    BlockFailure,
    BlockSkipped,
    ChapterRun,
    Session,
    chapter_session,
    run_chapter,
)
from tools.tangle import prelude

FENCE = "```"
OUTPUT = "<!--pytest-codeblocks:expected-output-->"


def block(code, output=None, before=""):
    text = f"{before}{FENCE}python\n{code}\n{FENCE}\n"
    if output is not None:
        text += f"\n{OUTPUT}\n{FENCE}text\n{output}{FENCE}\n"
    return text + "\n"


def run_all(chapter):
    session = chapter_session(chapter)
    return [session.run(b) for b in read_blocks(chapter)]


# --- probes: a broken chapter fails, naming file and line -------------------


def test_a_block_that_raises_names_the_chapter_file_and_line(make_book):
    text = "# Probe\n\n" + block("x = 1") + block("y = 2\nz = y + undefined_name")
    root = make_book({"ch.md": text})
    with pytest.raises(BlockFailure) as err:
        run_all(root / "docs" / "ch.md")
    message = str(err.value)
    assert message.startswith("docs/ch.md:7: the block raised NameError")
    # the traceback points into the Markdown file, at the line that raised
    assert re.search(r'File "docs/ch.md", line 9', message)


def test_a_changed_output_names_the_chapter_file_and_line(make_book):
    root = make_book({"ch.md": "# Probe\n\n" + block("print(6 * 7)", "43\n")})
    with pytest.raises(BlockFailure) as err:
        run_all(root / "docs" / "ch.md")
    message = str(err.value)
    assert message.startswith("docs/ch.md:3: the output differs")
    assert "-43" in message and "+42" in message


def test_pytest_fails_naming_file_and_line_when_a_block_raises(make_book, run_pytest):
    text = "# Probe\n\n" + block("print(1)", "1\n") + block("1 / 0") + block("print(2)")
    root = make_book({"ch.md": text})
    run = run_pytest(root)
    assert run.returncode == 1, run.stdout
    assert "docs/ch.md:12: the block raised ZeroDivisionError" in run.stdout
    assert "1 failed, 1 passed, 1 skipped" in run.stdout
    assert "not run: the earlier block docs/ch.md:12 failed" in run_pytest(root, "-rs").stdout


def test_with_pytest_xdist_each_chapter_runs_in_one_worker(make_book, run_pytest):
    """make test runs in parallel (-n auto --dist loadgroup); a chapter split
    between workers would replay its earlier blocks in each (and pytest-xdist
    3.8 under pytest 9.2 ignores the groups: pytest-xdist#1386)."""
    blocks = "".join(block(f"x{i} = {i}") for i in range(6))
    root = make_book({"a.md": "# A\n\n" + blocks, "b.md": "# B\n\n" + blocks})
    run = run_pytest(root, "-n", "2", "--dist", "loadgroup", "-v", "-v")  # after its -q
    assert run.returncode == 0, run.stdout[-3000:]
    workers = {}
    for worker, chapter in re.findall(r"\[(gw\d+)\][^\n]*?PASSED (docs/\w+\.md)::", run.stdout):
        workers.setdefault(chapter, set()).add(worker)
    assert sorted(workers) == ["docs/a.md", "docs/b.md"], run.stdout[-3000:]
    assert all(len(w) == 1 for w in workers.values()), f"a chapter split between workers: {workers}"


def test_pytest_fails_naming_file_and_line_when_an_output_differs(make_book, run_pytest):
    text = "# Probe\n\n" + block("print('a')", "a\n") + block("print(0.1 + 0.2)", "0.3\n")
    root = make_book({"ch.md": text})
    run = run_pytest(root)
    assert run.returncode == 1
    assert "docs/ch.md:12: the output differs" in run.stdout
    assert "+0.30000000000000004" in run.stdout


def test_pytest_collects_one_item_per_block_named_by_line(make_book, run_pytest):
    root = make_book({"ch.md": "# Probe\n\n" + block("x = 1") + block('print("ok")', "ok\n")})
    run = run_pytest(root, "--collect-only")
    assert run.stdout.splitlines()[:2] == ["docs/ch.md::line_3", "docs/ch.md::line_7"]
    assert run_pytest(root).returncode == 0


def test_selecting_one_block_runs_the_blocks_before_it(make_book, run_pytest):
    root = make_book({"ch.md": "# Probe\n\n" + block("x = 20") + block("print(x + 1)", "21\n")})
    run = run_pytest(root, "-k", "line_7")
    assert run.returncode == 0 and "1 passed" in run.stdout, run.stdout


def test_a_page_missing_from_the_nav_is_an_error(make_book, run_pytest):
    root = make_book({"ch.md": "# In the nav\n"})
    (root / "docs" / "stray.md").write_text("# Not in the nav\n")
    run = run_pytest(root)
    assert run.returncode != 0
    assert "docs/stray.md: this page is not in the nav" in run.stdout


# --- every Python fence runs ---------------------------------------------------


def test_every_python_fence_of_the_book_is_collected():
    fences = sum(count_python_fences(p.read_text()) for p in (ROOT / "docs").rglob("*.md"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "docs"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    items = [line for line in run.stdout.splitlines() if "::line_" in line]
    assert fences > 40
    assert len(items) == fences, run.stdout[-2000:]


def test_fences_with_attributes_are_kept(make_book):
    text = (
        f'{FENCE}python title="micrograd/engine.py"\nX = 1\n{FENCE}\n\n'
        f"{FENCE}py\nprint(X)\n{FENCE}\n\n"
        f'{FENCE}python hl_lines="1"\nprint(X + 1)\n{FENCE}\n\n'
        f"{FENCE}text\nnot code\n{FENCE}\n"
    )
    root = make_book({"ch.md": text})
    blocks = read_blocks(root / "docs" / "ch.md")
    # pytest-codeblocks on its own would collect none of these three
    assert [b.line for b in blocks] == [1, 5, 9]
    assert blocks[0].title == "micrograd/engine.py"
    assert count_python_fences(text) == 3


def test_a_fence_the_runner_cannot_run_is_an_error(make_book):
    root = make_book({"ch.md": f'# Probe\n\n{FENCE}python exec="on"\nprint(1)\n{FENCE}\n'})
    message = r"docs/ch.md:3: the runner cannot run a fence with attribute\(s\) exec"
    with pytest.raises(BookError, match=message):
        read_blocks(root / "docs" / "ch.md")


# --- sessions ------------------------------------------------------------------


def test_skip_markers_are_honoured_with_their_reason(make_book):
    root = make_book({"ch.md": (
        block("raise SystemExit", before='<!--pytest.mark.skipif(True, reason="not today")-->\n')
        + block("import not_a_module",
                before="<!--pytest-codeblocks:importorskip(not_a_module)-->\n")
        + block("print('ran')", "ran\n")
    )})
    session = Session()
    reasons = []
    for b in read_blocks(root / "docs" / "ch.md"):
        try:
            session.run(b)
        except BlockSkipped as skipped:
            reasons.append(skipped.reason)
    assert reasons == ["not today", "not_a_module is not installed"]


def test_the_last_expression_is_shown_like_a_notebook(make_book):
    text = block("x = 2\nx * 21", "42\n") + block("None") + block("y = 3\nprint(y)", "3\n")
    root = make_book({"ch.md": text})
    results = run_all(root / "docs" / "ch.md")
    assert [r.output for r in results] == ["42\n", "", "3\n"]


def test_graphs_and_plots_become_svg_figures(make_book):
    code_graph = "import graphviz\ng = graphviz.Digraph()\ng.edge('a', 'b')\ng"
    code_plot = ("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                 "fig, ax = plt.subplots()\nax.plot([1, 2])\nfig")
    root = make_book({"ch.md": block(code_graph) + block(code_plot)})
    graph, plot = run_all(root / "docs" / "ch.md")
    for result in (graph, plot):
        assert result.figure.startswith("<svg") and result.figure.rstrip().endswith("</svg>")
        assert result.output == ""
    # the same plot gives the same bytes
    assert plot.figure == run_all(root / "docs" / "ch.md")[1].figure


def test_each_chapter_starts_from_the_package_code_before_it(make_book):
    root = make_book({
        "a.md": f'{FENCE}python title="micrograd/engine.py"\nclass Value:\n    pass\n{FENCE}\n',
        "b.md": block("print(Value.__name__)", "Value\n"),
    })
    assert prelude(root / "docs" / "a.md") == ""
    assert "class Value" in prelude(root / "docs" / "b.md")
    assert [r.output for r in run_all(root / "docs" / "b.md")] == ["Value\n"]


def test_every_chapter_prelude_runs():
    for chapter in chapters():
        Session(prelude(chapter), str(chapter))


# The whole book as one session: tests/test_figures.py, which runs it in a fresh
# process and compares its figures with the build's too.


# --- a check that ran nothing is a failure -------------------------------------
# Each block below ends or hangs the process running it, a way Python offers.
# It must fail by its file and line, and the block after it must not pass.

ENDS = {  # code: words of the message
    "sys.exit()": ("import sys\nsys.exit()", "raised SystemExit"),
    "sys.exit(3)": ("import sys\nsys.exit(3)", "raised SystemExit: 3"),
    "exit()": ("exit()", "raised SystemExit"),
    "quit()": ("quit(1)", "raised SystemExit: 1"),
    "raise SystemExit": ("raise SystemExit('bye')", "raised SystemExit: bye"),
    "exit in the last expression": ("x = 1\nexit(x)", "raised SystemExit: 1"),
    "raise KeyboardInterrupt": ("raise KeyboardInterrupt", "raised KeyboardInterrupt"),
    "SIGINT raised": ("import signal\nsignal.raise_signal(signal.SIGINT)",
                      "raised KeyboardInterrupt"),
    "os._exit(0)": ("import os\nos._exit(0)", "ended (exit status 0)"),
    "os._exit(7)": ("import os\nos._exit(7)", "ended (exit status 7)"),
    "os.abort()": ("import os\nos.abort()", "killed by SIGABRT"),
    "SIGTERM to itself": ("import os, signal\nos.kill(os.getpid(), signal.SIGTERM)",
                          "killed by SIGTERM"),
    "SIGKILL to itself": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                          "killed by SIGKILL"),
    "SIGTERM raised": ("import signal\nsignal.raise_signal(signal.SIGTERM)",
                       "killed by SIGTERM"),
    "SIGKILL to its process group": ("import os, signal\nos.killpg(0, signal.SIGKILL)",
                                     "killed by SIGKILL"),
    "an alarm": ("import signal, time\nsignal.setitimer(signal.ITIMER_REAL, 0.05)\n"
                 "time.sleep(5)", "killed by SIGALRM"),
    "a segmentation fault": ("import ctypes\nctypes.string_at(0)", "killed by SIGSEGV"),
    "SIGSTOP": ("import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)",
                "stopped the process running the chapter"),
    "SIGKILL to the test process": ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
                                    "raised PermissionError: a block may not signal"),
    "SIGKILL to every process": ("import os, signal\nos.kill(-1, signal.SIGKILL)",
                                 "raised PermissionError: a block may not signal"),
    "sys.exit() in a thread": (
        "import sys, threading\nt = threading.Thread(target=sys.exit)\nt.start()\nt.join()",
        "a thread the block started (Thread-1 (exit)) raised SystemExit"),
    "an error in a thread": (
        "import threading\nt = threading.Thread(target=lambda: 1 / 0)\nt.start()\nt.join()",
        "raised ZeroDivisionError: division by zero"),
    "a daemon thread left running": (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True, name='sleeper').start()",
        "the block left thread(s) running: sleeper"),
    "input()": ("name = input('your name? ')", "raised EOFError"),
    "a loop": ("while True:\n    pass", "when stopped"),  # at line 14 or 15
    "a long sleep": ("import time\ntime.sleep(3600)", "it was at line 15 when stopped"),
    "signal.pause()": ("import signal\nsignal.pause()", "did not finish within"),
    "a lock never released": ("import threading\nlock = threading.Lock()\nlock.acquire()\n"
                              "lock.acquire()", "did not finish within"),
}
LIMIT = "<!--timeout: 1-->\n"


def ends_chapter(code):
    """A chapter: a good block, the block that ends things (at line 7), a good block."""
    return ("# Probe\n\n" + block("print('before')", "before\n") + block(code, before=LIMIT)
            + block("print('after')", "after\n"))


@pytest.mark.parametrize("name", ENDS)
def test_a_block_that_ends_or_hangs_the_process_fails_by_its_line(name, make_book):
    code, words = ENDS[name]
    root = make_book({"ch.md": ends_chapter(code)})
    blocks = read_blocks(root / "docs" / "ch.md")
    assert blocks[1].timeout == 1.0
    if "did not finish" in words:
        blocks[1].timeout = 0.5  # quicker than any marker may say
    with ChapterRun(root / "docs" / "ch.md", blocks) as run:
        assert run.next_result().output == "before\n"
        with pytest.raises(BlockFailure) as err:
            run.next_result()
        message = str(err.value)
        assert message.startswith("docs/ch.md:13: "), message
        assert words in message, message
        assert len(message) < 4000, message  # no framework traceback
        # the run stops there: the block after it neither ran nor passed
        with pytest.raises(BlockFailure, match="not run: the earlier block docs/ch.md:13"):
            run.next_result()


def test_pytest_reports_each_such_block_by_line_and_nothing_after_it_passes(make_book,
                                                                           run_pytest):
    picked = ["os._exit(0)", "os.abort()", "SIGKILL to itself", "raise KeyboardInterrupt",
              "a loop", "input()", "SIGKILL to the test process", "exit()"]
    root = make_book({f"c{i}.md": ends_chapter(ENDS[name][0]) for i, name in enumerate(picked)})
    run = run_pytest(root, "-rs")
    assert run.returncode == 1, run.stdout[-3000:]
    for i, name in enumerate(picked):
        assert f"docs/c{i}.md:13: " in run.stdout and ENDS[name][1] in run.stdout, name
    # each chapter: the first block passes, the second fails, the third is not run
    n = len(picked)
    assert f"{n} failed, {n} passed, {n} skipped" in run.stdout, run.stdout[-3000:]
    assert run.stdout.count("not run: the earlier block docs/c") == n
    # no framework traceback: only the blocks' own, in the chapters' lines
    assert "tools/runner.py" not in run.stdout and "_pytest" not in run.stdout


def test_a_block_signals_as_in_a_terminal_when_the_tests_run_in_the_background(make_book,
                                                                                run_pytest):
    """A shell's background job (``make test &``) or nohup starts with SIGINT,
    SIGQUIT and SIGHUP ignored, and its children inherit that: a block raising
    one would then pass, having checked nothing. The chapter's process starts
    from a terminal's signals instead."""
    import signal

    def ignore():  # in the pytest process, as the shell leaves it
        for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGHUP):
            signal.signal(number, signal.SIG_IGN)

    cases = {"c0.md": ENDS["SIGINT raised"],
             "c1.md": ("import signal\nsignal.raise_signal(signal.SIGQUIT)", "killed by SIGQUIT"),
             "c2.md": ("import os, signal\nos.kill(os.getpid(), signal.SIGHUP)",
                       "killed by SIGHUP")}
    root = make_book({name: ends_chapter(code) for name, (code, _) in cases.items()})
    run = run_pytest(root, preexec_fn=ignore)
    assert run.returncode == 1, run.stdout[-3000:]
    for name, (_, words) in cases.items():
        assert f"docs/{name}:13: " in run.stdout and words in run.stdout, (name, run.stdout)
    assert "3 failed, 3 passed, 3 skipped" in run.stdout, run.stdout[-3000:]


def test_the_strict_build_fails_naming_the_block_that_ended_the_process(make_book, tmp_path):
    from tests.conftest import mkdocs_build

    for code, words in (ENDS["os._exit(0)"], ENDS["a loop"]):
        root = make_book({"ch.md": ends_chapter(code)}, tmp_path / str(len(words)))
        config = root / "mkdocs.yml"
        config.write_text(config.read_text() + f"hooks:\n  - {ROOT / 'tools/mkdocs_hooks.py'}\n")
        run = mkdocs_build(root, tmp_path / "site")
        assert run.returncode != 0
        assert f"chapter failed: docs/ch.md:13: the {'process' if 'exit' in code else 'block'}" \
            in run.stderr and words in run.stderr, run.stderr[-3000:]
        assert "Traceback" not in run.stderr


def test_a_time_limit_marker_raises_the_limit_for_its_block_only(make_book):
    sleep = "import time\ntime.sleep(1.5)\nprint('woke')"
    text = block(sleep, "woke\n", before="<!--timeout: 3-->\n") + block(sleep, "woke\n")
    root = make_book({"ch.md": text})
    blocks = read_blocks(root / "docs" / "ch.md")
    assert [b.timeout for b in blocks] == [3.0, None]
    with ChapterRun(root / "docs" / "ch.md") as run, pytest.MonkeyPatch.context() as mp:
        mp.setattr("tools.runner.TIMEOUT", 1.0)
        assert run.next_result().output == "woke\n"
        with pytest.raises(BlockFailure, match=r"ch.md:13: the block did not finish within 1 s"):
            run.next_result()


@pytest.mark.parametrize("marker", ["<!--timeout: soon-->", "<!--timeout: 0-->",
                                    "<!--timeout: 99999-->", "<!--timeout: -->"])
def test_a_time_limit_marker_must_be_a_number_of_seconds(marker, make_book):
    root = make_book({"ch.md": f"# Probe\n\n{marker}\n{FENCE}python\nx = 1\n{FENCE}\n"})
    with pytest.raises(BookError, match=r"docs/ch.md:3: cannot read .*<!--timeout: SECONDS-->"):
        read_blocks(root / "docs" / "ch.md")


def test_every_block_of_a_chapter_gives_one_result(make_book):
    text = "".join(block(f"print({i})", f"{i}\n") for i in range(5)) + block(
        "x = 1", before="<!--pytest.mark.skip(reason='shown only')-->\n")
    root = make_book({"ch.md": text})
    results = run_chapter(root / "docs" / "ch.md")
    assert [r.output for r in results[:5]] == [f"{i}\n" for i in range(5)]
    assert isinstance(results[5], BlockSkipped) and len(results) == 6


def test_the_run_fails_when_the_chapter_has_more_blocks_than_its_run_reported(make_book):
    root = make_book({"ch.md": block("x = 1") + block("y = 2")})
    chapter = root / "docs" / "ch.md"
    blocks = read_blocks(chapter)
    # the run was set up for one block more than the chapter holds now
    with ChapterRun(chapter, blocks + [blocks[-1]]) as run:
        with pytest.raises(BookError, match="docs/ch.md: has 2 blocks now, 3 when"):
            run.next_result()


# --- output: threads, no final newline, huge --------------------------------------


def test_output_of_a_blocks_threads_is_that_blocks(make_book):
    late = ("import threading, time\n"
            "def later():\n    time.sleep(0.3)\n    print('from a thread')\n"
            "threading.Thread(target=later).start()\nprint('main')")
    root = make_book({"ch.md": block(late, "main\nfrom a thread\n") + block("print('next')",
                                                                               "next\n")})
    assert [r.output for r in run_chapter(root / "docs" / "ch.md")] == [
        "main\nfrom a thread\n", "next\n"]


def test_an_output_without_a_final_newline_is_reported_readably(make_book):
    root = make_book({"ch.md": block("print('x', end='')", "x\n")})
    with pytest.raises(BlockFailure) as err:
        run_chapter(root / "docs" / "ch.md")
    message = str(err.value)
    assert "does not end with a newline" in message
    assert "+x\n\\ no newline at the end\n" in message, message


def test_a_huge_output_gives_a_short_diff(make_book):
    code = "for i in range(100_000):\n    print(i, 'x' * 500)"
    root = make_book({"ch.md": block(code, "0\n1\n")})
    with pytest.raises(BlockFailure) as err:
        run_chapter(root / "docs" / "ch.md")
    message = str(err.value)
    assert message.startswith("docs/ch.md:1: the output differs from the expected-output "
                              "block (expected 2 lines, got 100000)")
    assert "more lines of diff" in message
    assert re.search(r"\+0 x{190}x*\.\.\. \(\d{3} characters\)", message), message[:3000]
    assert len(message) < 15_000


def test_pytest_refuses_to_run_the_blocks_a_second_time_with_codeblocks(make_book, run_pytest):
    root = make_book({"ch.md": block("x = 1")})
    run = run_pytest(root, "--codeblocks")
    assert run.returncode != 0 and "drop --codeblocks" in run.stderr, run.stderr


def test_a_block_reads_no_input_even_when_the_run_has_a_terminal_like_stdin(make_book):
    # the build run from a terminal: its stdin stays open and never sends a line
    text = (block("import os\nprint(os.read(0, 10), open(0).read() == '')", "b'' True\n")
            + block("input('? ')"))
    root = make_book({"ch.md": text})
    code = ("import sys\nfrom tools.runner import run_chapter, BlockFailure\n"
            "try:\n    run_chapter(sys.argv[1])\nexcept BlockFailure as exc:\n    print(exc)\n")
    run = subprocess.run([sys.executable, "-c", code, str(root / "docs" / "ch.md")],
                         stdin=subprocess.PIPE, cwd=ROOT, capture_output=True, text=True,
                         timeout=60)  # a pipe nobody writes to, never closed before the end
    assert run.stdout.startswith("docs/ch.md:11: the block raised EOFError"), run.stdout
    assert "a block gets no input" in run.stdout
