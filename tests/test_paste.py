"""The code so far runs wherever a reader pastes it: a plain ``python``
prompt (``code.InteractiveConsole``), a file run with ``python file.py``
(the site's download), IPython and Jupyter (the notebooks' first cell)."""

from __future__ import annotations

import code
import subprocess
import sys

import pytest

from tools.book import chapters, read_blocks
from tools.paste import pasteable
from tools.tangle import prelude

WITH_PRELUDE = [c for c in chapters() if prelude(c)]
PAGES = [c for c in WITH_PRELUDE if read_blocks(c)]  # pages that show the code so far


def paste_into_prompt(text: str) -> tuple[list[str], dict]:
    """Feed ``text`` line by line to an interactive console, as a paste does."""
    problems: list[str] = []

    class Prompt(code.InteractiveConsole):
        def showsyntaxerror(self, filename=None, **kwargs):
            problems.append(f"SyntaxError: {sys.exc_info()[1]}")

        def showtraceback(self):
            problems.append(f"{type(sys.exc_info()[1]).__name__}: {sys.exc_info()[1]}")

    prompt = Prompt({"__name__": "__main__"})
    more = False
    for line in text.split("\n"):
        more = prompt.push(line)
    if more:
        prompt.push("")
    return problems, prompt.locals


@pytest.mark.parametrize("chapter", WITH_PRELUDE, ids=[c.stem for c in WITH_PRELUDE])
def test_the_code_so_far_pastes_into_a_plain_prompt(chapter):
    source = prelude(chapter)
    problems, names = paste_into_prompt(pasteable(source))
    assert problems == [], f"{chapter.name}: pasting the code so far gives {problems[:3]}"
    expected: dict = {"__name__": "__main__"}
    exec(compile(source, chapter.name, "exec"), expected)
    assert set(expected) - {"__builtins__"} <= set(names), "the paste defines less than the file"


def test_pasteable_is_needed_and_keeps_strings():
    assert paste_into_prompt("class A:\n    x = 1\n\n    y = 2\nz = A.y\n")[0], (
        "the raw text should fail in a prompt, or this test proves nothing")
    text = pasteable('class A:\n    """Doc.\n\n    More."""\n\n    y = 2\nz = A.y   \n')
    assert text == 'class A:\n    """Doc.\n\n    More."""\n    y = 2\n\nz = A.y\n'
    problems, names = paste_into_prompt(text)
    assert problems == [] and names["z"] == 2 and names["A"].__doc__ == "Doc.\n\n    More."


def test_the_code_so_far_download_runs_with_python(site, tmp_path):
    for chapter in PAGES:
        script = site / chapter.stem / f"{chapter.stem}-code-so-far.py"
        text = script.read_text()
        assert text.endswith(pasteable(prelude(chapter)))
        assert not [line for line in text.split("\n") if line != line.rstrip()], "trailing spaces"
        run = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, f"{script.name}: {run.stderr[-2000:]}"
        html = (site / chapter.stem / "index.html").read_text()
        assert f'href="{script.name}" download' in html, f"{chapter.name}: no download link"
