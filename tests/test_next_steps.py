"""The closing chapter (docs/next-steps.md): where it sits in the book, that
the home page lists it, and that what it says about PyTorch can be run
without PyTorch (its torch blocks are skipped, in pytest and in the page)."""

import re

from tools.book import ROOT, chapters, read_blocks

CHAPTER = ROOT / "docs" / "next-steps.md"


def test_it_closes_the_book_after_the_playground():
    names = [p.name for p in chapters()]
    at = names.index("next-steps.md")
    assert names[at - 1] == "playground.md", names
    assert names[at + 1:] == ["contributing.md"], names


def test_the_home_page_lists_it_with_a_number_of_its_own():
    rows = re.findall(r"^\| ([\d–-]+) \| \[([^\]]+)\]\(([^)]+)\)",
                      (ROOT / "docs" / "index.md").read_text(), re.M)
    row = next(r for r in rows if r[2] == "next-steps.md")
    assert row[1] == CHAPTER.read_text().splitlines()[0].removeprefix("# ")
    assert row[0].isdigit() and [r[0] for r in rows].count(row[0]) == 1


def test_every_torch_block_is_skipped_without_torch_and_in_the_page():
    blocks = read_blocks(CHAPTER)
    torch = [b for b in blocks if re.search(r"\btorch\b", b.code)]
    assert len(torch) >= 3, "the PyTorch comparison lost its blocks"
    for block in torch:
        assert block.importorskip == "torch", f"{block.where} needs importorskip(torch)"
        assert block.page_reason, f"{block.where} would get a Run button"
    # and the rest of the chapter runs without it: no other block uses torch
    assert all(b.importorskip is None for b in blocks if b not in torch)


def test_the_training_run_prints_checked_accuracies_on_both_sets():
    block = next(b for b in read_blocks(CHAPTER) if "X_test" in b.code and "for k in" in b.code)
    rows = re.findall(r"train (\d+)%, test (\d+)%", block.expected_output or "")
    assert len(rows) >= 2, block.expected_output
    train, test = map(int, rows[-1])
    assert train >= 90 and test >= 90, rows
