"""The size budget: fast, and still small enough to read in one sitting.

The generated engine must stay within about 120 lines of code and the
network library within about 70, counting neither docstrings, comments nor
blank lines (as tinygrad counts its own core).
"""

import ast
import io
import textwrap
import tokenize

import pytest

from tools.book import ROOT

BUDGET = {"micrograd/engine.py": 120, "micrograd/nn.py": 70}
LAYOUT = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
          tokenize.DEDENT, tokenize.ENCODING, tokenize.ENDMARKER}


def docstring_lines(tree: ast.AST) -> set[int]:
    """Line numbers taken by the docstrings of the module, classes and functions."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, first.end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines holding code: no blank line, comment or docstring counts."""
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in LAYOUT:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docstring_lines(ast.parse(source)))


def test_code_lines_skip_docstrings_comments_and_blank_lines():
    source = '''\
    """A module docstring,
    over two lines."""
    import math  # a comment


    def f(x):
        """One line."""
        # a comment line
        return math.sqrt(
            x
        )
    '''
    assert code_lines(textwrap.dedent(source)) == 5  # import, def, the 3 lines of return


@pytest.mark.parametrize("path", BUDGET)
def test_generated_file_is_within_its_budget(path):
    lines = code_lines((ROOT / path).read_text())
    assert lines <= BUDGET[path], f"{path}: {lines} lines of code, over its budget {BUDGET[path]}"
