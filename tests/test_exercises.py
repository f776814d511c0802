"""Exercises: every solution passes its check, and every check rejects the
unchanged starting block and each wrong answer, with a message.

Each chapter runs as its session; at each exercise's start block the state is
copied, and the start block, the wrong answers and the solution are each run
on a copy, followed by the check block and ``check_NAME()``.
"""

from __future__ import annotations

import pytest

from tools import cell
from tools.book import ROOT, BookError, chapters, read_blocks, rel
from tools.runner import BlockSkipped, chapter_session

# The chapters that end with exercises: Derivatives to Training, Making it fast
# and the closing chapter
WITH_EXERCISES = ["derivatives", "value", "backprop-by-hand", "backward", "accumulate",
                  "more-ops", "pytorch", "nn", "training", "fast", "next-steps"]


def exercises(blocks):
    """{name: {kind: [blocks]}} in the order of the chapter."""
    found: dict[str, dict[str, list]] = {}
    for block in blocks:
        if block.exercise:
            kind, name = block.exercise
            found.setdefault(name, {}).setdefault(kind, []).append(block)
    return found


def attempt(namespace: dict, answer, check, name: str) -> str | None:
    """Run ``answer``, the check block and check_NAME() on a copy of the
    session: None when the check passes, else its message."""
    ns = dict(namespace)
    cell.run(check.code, ns, rel(check.chapter), check.line)  # it only defines check_NAME
    cell.run(answer.code, ns, rel(answer.chapter), answer.line)
    try:
        cell.run(f"check_{name}()\n", ns)
    except cell.CellError as err:
        assert isinstance(err.exc, AssertionError), (
            f"{answer.where}: check_{name}() failed with {type(err.exc).__name__}, not an "
            f"AssertionError with a message for the reader:\n{err.text}")
        message = str(err.exc)
        assert message, f"{answer.where}: check_{name}() rejects it without a message"
        return message
    return None


@pytest.mark.parametrize("stem", WITH_EXERCISES)
def test_every_check_passes_its_solution_and_rejects_the_start_and_wrong_answers(stem):
    chapter = ROOT / "docs" / f"{stem}.md"
    blocks = read_blocks(chapter)
    found = exercises(blocks)
    assert 2 <= len(found) <= 5, f"{stem}: {len(found)} exercises, the book promises 2 to 5"
    starts = {parts["start"][0].line: name for name, parts in found.items()}
    session = chapter_session(chapter)
    checked = []
    for block in blocks:
        if block.line in starts:
            name = starts[block.line]
            parts = found[name]
            check = parts["check"][0]
            message = attempt(session.namespace, block, check, name)
            assert message is not None, f"{block.where}: the check accepts the unchanged start"
            for wrong in parts["wrong"]:
                assert attempt(session.namespace, wrong, check, name) is not None, (
                    f"{wrong.where}: the check accepts this wrong answer")
            solution = parts["solution"][0]
            assert attempt(session.namespace, solution, check, name) is None, (
                f"{solution.where}: the solution fails its check")
            checked.append(name)
        try:
            session.run(block)  # the chapter goes on as at build
        except BlockSkipped:
            pass
    assert checked == list(found), f"{stem}: not every exercise was tried"


def test_the_exercises_are_at_the_end_of_their_chapters():
    for chapter in chapters(ROOT):
        blocks = read_blocks(chapter)
        found = exercises(blocks)
        if chapter.stem not in WITH_EXERCISES:
            assert not found, f"{chapter.name} has exercises but is not in WITH_EXERCISES"
            continue
        text = chapter.read_text(encoding="utf-8")
        first = min(parts["start"][0].line for parts in found.values())
        heading = text.split("\n").index("## Exercises") + 1
        assert heading < first, f"{chapter.name}: exercises start before ## Exercises"
        assert "\n## " not in "\n".join(text.split("\n")[heading:]), (
            f"{chapter.name}: a section follows the exercises")


@pytest.mark.parametrize("text, words", [
    ("<!--exercise: start sq-->\n```python\nx = 1\n```\n"
     "<!--exercise: check sq-->\n```python\ndef check_sq():\n    pass\n```\n"
     "<!--exercise: wrong sq-->\n```python\nx = 2\n```\n", "has 0 <!--exercise: solution"),
    ("<!--exercise: start sq-->\n```python\nx = 1\n```\n"
     "<!--exercise: check sq-->\n```python\ndef check_sq():\n    pass\n```\n"
     "<!--exercise: solution sq-->\n```python\nx = 3\n```\n", "no <!--exercise: wrong"),
    ("<!--exercise: start sq-->\n```python\nx = 1\n```\n"
     "<!--exercise: check sq-->\n```python\ndef check_other():\n    pass\n```\n"
     "<!--exercise: wrong sq-->\n```python\nx = 2\n```\n"
     "<!--exercise: solution sq-->\n```python\nx = 3\n```\n", "must define def check_sq()"),
    ("<!--exercise: check sq-->\n```python\ndef check_sq():\n    pass\n```\n"
     "<!--exercise: start sq-->\n```python\nx = 1\n```\n"
     "<!--exercise: wrong sq-->\n```python\nx = 2\n```\n"
     "<!--exercise: solution sq-->\n```python\nx = 3\n```\n", "start block first"),
    ("<!--exercise: begin sq-->\n```python\nx = 1\n```\n", "cannot read"),
    ("<!--exercise: start Not-A-Name-->\n```python\nx = 1\n```\n", "cannot read"),
])
def test_an_exercise_missing_a_part_is_an_error_with_its_line(make_book, text, words):
    root = make_book({"ch.md": text})
    with pytest.raises(BookError) as err:
        read_blocks(root / "docs" / "ch.md")
    assert words in err.value.message and err.value.line, str(err.value)


def test_notebooks_hold_the_exercises_with_solutions_collapsed():
    from tools.notebooks import chapter_notebook

    for stem in WITH_EXERCISES:
        chapter = ROOT / "docs" / f"{stem}.md"
        cells = chapter_notebook(chapter).cells
        for block in read_blocks(chapter):
            if not block.exercise:
                continue
            kind, name = block.exercise
            cell_ = next(c for c in cells if c.cell_type == "code"
                         and block.code.strip() in c.source)
            hidden = cell_.metadata.get("jupyter", {}).get("source_hidden", False)
            assert hidden == (kind in ("wrong", "solution")), f"{block.where}: {kind} cell"
        assert not any("<!--exercise" in c.source for c in cells), f"{stem}: a marker left"
