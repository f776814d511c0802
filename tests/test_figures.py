"""Figures are reproducible, and the whole book runs as one session.

The build's run of each chapter (remembered between builds by
tools.chapter_cache) is compared with a run in a fresh Python process, as a
second build would make, so nothing (ids, hash seeds, dates, figure counters)
can carry over between them. The site serves these SVGs inline; a diff in
them would mean a rebuild that changed no chapter still changed the site.

That fresh process runs every block of every chapter in order in a single
session, as a reader who pastes the whole book into one Python does, with
every output checked: a chapter must not break the ones after it, and its
figures must not depend on whether earlier chapters ran in the same session.
"""

import hashlib
import json
import os
import subprocess
import sys

from tools.book import ROOT, chapters, rel
from tools.chapter_cache import chapter_results
from tools.runner import BlockSkipped, Result

# Chapters whose figures show measurements taken while the page is built, not
# the book's numbers: they differ from run to run by design, and are left out.
MEASURED = {"docs/fast.md": "timings of the engines on this machine"}

WHOLE_BOOK = """
import hashlib, json, sys, warnings
from tools.book import chapters, read_blocks
from tools.runner import BlockFailure, BlockSkipped, Session

warnings.simplefilter("error")  # as under pytest and in the build's runs
session, figures, ran, skipped = Session(), {}, 0, []
for chapter in chapters():
    for block in read_blocks(chapter):
        print("running", block.where, file=sys.stderr, flush=True)  # names a block that hangs
        try:
            result = session.run(block)  # checks the block's output
        except BlockSkipped:
            skipped.append(block.where)
            continue
        except BlockFailure as failure:
            sys.exit(failure.message)
        ran += 1
        if result.figure:
            figures[block.where] = hashlib.sha256(result.figure.encode()).hexdigest()
print(json.dumps({"figures": figures, "ran": ran, "skipped": skipped,
                  "names": sorted(session.namespace)}))
"""


def test_the_whole_book_runs_in_one_fresh_session_and_draws_the_builds_svg_bytes():
    """One fresh process with its own hash seed runs the whole book as one
    session (every output checked); each figure must have the bytes of the
    build's run of its chapter (made per chapter, in the build's process)."""
    assert all((ROOT / chapter).exists() for chapter in MEASURED), "MEASURED names a lost chapter"
    env = dict(os.environ, PYTHONHASHSEED="random")
    command = [sys.executable, "-X", "utf8", "-c", WHOLE_BOOK]
    with subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as fresh:
        try:
            built, build_skipped, blocks = {}, [], 0
            for chapter in chapters():
                results = chapter_results(chapter)
                blocks += len(results)
                build_skipped += [r.block.where for r in results if isinstance(r, BlockSkipped)]
                if rel(chapter) in MEASURED:
                    continue
                for result in results:
                    if isinstance(result, Result) and result.figure:
                        built[result.block.where] = hashlib.sha256(
                            result.figure.encode()).hexdigest()
            stdout, stderr = fresh.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            fresh.kill()
            stdout, stderr = fresh.communicate()
            raise AssertionError(f"the session ran 15 minutes: {stderr.splitlines()[-1]}") from None
        finally:
            fresh.kill()  # a no-op once it has ended
    assert fresh.returncode == 0, stderr[-3000:]
    run = json.loads(stdout.strip().splitlines()[-1])
    assert run["ran"] + len(run["skipped"]) == blocks, "the session did not run every block"
    assert run["skipped"] == build_skipped, "the session skipped other blocks than the build"
    assert run["ran"] > 40
    assert {"Value", "MLP", "draw_dot"} <= set(run["names"])
    again = {where: digest for where, digest in run["figures"].items()
             if where.split(":")[0] not in MEASURED}
    assert built, f"no figure in any of {len(chapters())} chapters"
    changed = [where for where in built if built[where] != again.get(where)]
    assert not changed, f"figures that differ between two runs: {changed}"
    assert built.keys() == again.keys()
