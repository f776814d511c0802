"""Figures are reproducible: the same chapters give the same SVG bytes.

The build's run (remembered between builds by tools.chapter_cache) is
compared with a run in a fresh Python process, as a second build would make,
so nothing (ids, hash seeds, dates, figure counters) can carry over between
them. The site serves these SVGs inline; a diff in them would mean a rebuild
that changed no chapter still changed the site.
"""

import hashlib
import json
import os
import subprocess
import sys

from tools.book import ROOT, chapters, rel
from tools.chapter_cache import chapter_results
from tools.runner import Result

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


def test_a_fresh_run_draws_the_svg_bytes_of_the_builds_run():
    """The build's run of each chapter (the one the site shows, remembered in
    .cache/ by tools.chapter_cache, or made now) against a run in a fresh
    process with its own hash seed: every figure must have the same bytes."""
    assert all((ROOT / chapter).exists() for chapter in MEASURED), "MEASURED names a lost chapter"
    env = dict(os.environ, PYTHONHASHSEED="random")
    fresh = subprocess.Popen([sys.executable, "-c", DRAW_ALL, *MEASURED], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    built = {}
    for chapter in chapters():
        if rel(chapter) in MEASURED:
            continue
        for result in chapter_results(chapter):
            if isinstance(result, Result) and result.figure:
                built[result.block.where] = hashlib.sha256(result.figure.encode()).hexdigest()
    stdout, stderr = fresh.communicate(timeout=600)
    assert fresh.returncode == 0, stderr[-3000:]
    again = json.loads(stdout.strip().splitlines()[-1])
    assert built, f"no figure in any of {len(chapters())} chapters"
    assert not any(where.split(":")[0] in MEASURED for where in built)
    changed = [where for where in built if built[where] != again.get(where)]
    assert not changed, f"figures that differ between two runs: {changed}"
    assert built.keys() == again.keys()
