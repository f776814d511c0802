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
import hashlib, json
from tools.book import chapters
from tools.runner import run_chapter

figures = {}
for chapter in chapters():
    for result in run_chapter(chapter):
        if getattr(result, "figure", None):
            figures[result.block.where] = hashlib.sha256(result.figure.encode()).hexdigest()
print(json.dumps(figures))
"""


def draw_all() -> dict[str, str]:
    env = dict(os.environ, PYTHONHASHSEED="random")
    run = subprocess.run(
        [sys.executable, "-c", DRAW_ALL],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_two_runs_draw_the_same_svg_bytes():
    first, second = draw_all(), draw_all()
    assert first, f"no figure in any of {len(chapters())} chapters"
    assert all((ROOT / chapter).exists() for chapter in MEASURED), "MEASURED names a lost chapter"
    changed = [
        where
        for where in first
        if first[where] != second.get(where) and where.split(":")[0] not in MEASURED
    ]
    assert not changed, f"figures that differ between two runs: {changed}"
    assert first.keys() == second.keys()
