"""The book keeps what pyproject.toml claims: it works on every CPython from
``requires-python`` on that this machine has (pyenv's or on PATH).

For each such version other than the one running this suite, a venv in
.cache/pythons/ gets the few packages the chapters need, and runs every
chapter's blocks (outputs checked) and the package's own tests. The outputs
in the chapters are those of CPython 3.11 (``tools.book.OUTPUTS_FROM``); a
block whose output depends on the interpreter says so with
``<!--page: output-differs REASON-->`` and runs unchecked elsewhere.
A version this machine does not have is skipped, with the reason.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.book import OUTPUTS_FROM, ROOT

# What the chapters and the package's tests import, pinned as in pyproject.toml,
# except where a release needs a newer Python
NEEDS = {"pytest": "9.1.1", "pytest-codeblocks": "0.18.0", "PyYAML": "6.0.4",
         "graphviz": "0.21", "hypothesis": "6.170.15", "matplotlib": "3.11.2"}
OLDER = {10: {"hypothesis": "6.168.5", "matplotlib": "3.10.9"}}
# The package's own tests, which need nothing but the above
UNIT_TESTS = ["tests/test_gradients.py", "tests/test_edge_cases.py", "tests/test_extremes.py",
              "tests/test_lecture.py", "tests/test_tangle.py", "tests/test_equivalence.py"]


def claimed() -> list[int]:
    """The minor versions of Python 3 that requires-python admits, up to 3.14."""
    spec = re.search(r'^requires-python = "(.*)"$', (ROOT / "pyproject.toml").read_text(),
                     re.MULTILINE)[1]
    low = re.fullmatch(r">=\s*3\.(\d+)", spec.strip())
    assert low, f"requires-python = {spec!r}: this test reads only '>=3.N'"
    return list(range(int(low[1]), 15))


def interpreter(minor: int) -> str | None:
    """A CPython 3.<minor> on this machine: on PATH, or one of pyenv's."""
    found = shutil.which(f"python3.{minor}")
    if found and "/shims/" not in found:  # a pyenv shim may point nowhere: look behind it
        return found
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    return next(iter(sorted(glob.glob(f"{root}/versions/3.{minor}.*/bin/python3.{minor}"),
                            reverse=True)), None)


def venv_for(python: str, minor: int) -> Path:
    """A venv with the chapters' packages, kept in .cache/ while the pins stay."""
    venv = ROOT / ".cache" / "pythons" / f"3.{minor}"
    wanted = [f"{name}=={version}" for name, version in {**NEEDS, **OLDER.get(minor, {})}.items()]
    stamp = venv / "needs.txt"
    if stamp.is_file() and stamp.read_text() == "\n".join(wanted):
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                          "--disable-pip-version-check", "--no-compile", *wanted],
                         timeout=900, capture_output=True, text=True)
    assert pip.returncode == 0, f"pip on CPython 3.{minor}: {pip.stderr[-1500:]}"
    stamp.write_text("\n".join(wanted))
    return venv


@pytest.mark.parametrize("minor", [m for m in claimed() if (3, m) != sys.version_info[:2]],
                         ids=lambda m: f"3.{m}")
def test_the_chapters_and_the_package_tests_pass_on(minor):
    python = interpreter(minor)
    if python is None:
        pytest.skip(f"this machine has no CPython 3.{minor} (neither on PATH nor in pyenv)")
    venv = venv_for(python, minor)
    tests = [t for t in UNIT_TESTS if (ROOT / t).is_file()]
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-o", "addopts=-p tools.pytest_book", "docs/", *tests],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    tail = "\n".join(run.stdout.splitlines()[-30:])
    assert run.returncode == 0, f"CPython 3.{minor}:\n{tail}\n{run.stderr[-2000:]}"
    summary = run.stdout.splitlines()[-1]
    assert "failed" not in summary and " passed" in summary, summary


def test_the_outputs_in_the_chapters_are_from_the_python_that_builds_them():
    """The build and the suite run on OUTPUTS_FROM: that is where outputs are checked."""
    assert sys.version_info[:2] == OUTPUTS_FROM
