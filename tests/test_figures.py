"""Figures are reproducible: the same chapters give the same SVG bytes.

Each run happens in a fresh Python process, as two site builds would, so
nothing (ids, hash seeds, dates, figure counters) can carry over between
them. The site serves these SVGs inline; a diff in them would mean a rebuild
that changed no chapter still changed the site.
"""

import json
import os
import subprocess
import sys

from tools.book import ROOT, chapters

# Chapters whose figures show measurements taken while the page is built, not
# the book's numbers: they differ from run to run by design, and are left out.
MEASURED = {"docs/fast.md": "timings of the engines on this machine"}

DRAW_ALL = """
import hashlib, json, sys
from tools.book import chapters, rel
from tools.runner import run_chapter

skip = set(sys.argv[1:])
figures = {}
for chapter in chapters():
    if rel(chapter) in skip:
        continue
    for result in run_chapter(chapter):
        if getattr(result, "figure", None):
            figures[result.block.where] = hashlib.sha256(result.figure.encode()).hexdigest()
print(json.dumps(figures))
"""


def draw_all_twice() -> tuple[dict[str, str], dict[str, str]]:
    """Two runs of every chapter but the MEASURED ones, side by side, each in a
    fresh process with its own hash seed: {block: hash of its SVG} for each."""
    env = dict(os.environ, PYTHONHASHSEED="random")
    runs = [subprocess.Popen([sys.executable, "-c", DRAW_ALL, *MEASURED], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    out = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=600)
        assert run.returncode == 0, stderr[-3000:]
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def test_two_runs_draw_the_same_svg_bytes():
    assert all((ROOT / chapter).exists() for chapter in MEASURED), "MEASURED names a lost chapter"
    first, second = draw_all_twice()
    assert first, f"no figure in any of {len(chapters())} chapters"
    assert not any(where.split(":")[0] in MEASURED for where in first)
    changed = [where for where in first if first[where] != second.get(where)]
    assert not changed, f"figures that differ between two runs: {changed}"
    assert first.keys() == second.keys()
