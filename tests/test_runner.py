"""The chapter runner and the pytest plugin: chapters as checked sessions."""

import re
import subprocess
import sys

import pytest

from tools.book import ROOT, BookError, chapters, count_python_fences, read_blocks
from tools.runner import BlockFailure, BlockSkipped, Session, chapter_session
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


def test_whole_book_runs_as_one_session():
    session = Session()
    ran = skipped = 0
    for chapter in chapters():
        for b in read_blocks(chapter):
            try:
                session.run(b)  # raises BlockFailure on an error or a changed output
                ran += 1
            except BlockSkipped:
                skipped += 1
    assert ran > 40
    assert {"Value", "MLP", "draw_dot"} <= set(session.namespace)
