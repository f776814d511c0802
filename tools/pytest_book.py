"""pytest plugin: every Python block of every chapter is one test item.

Loaded by ``-p tools.pytest_book`` (pyproject.toml). It collects the chapters
of the nav (``docs/*.md``), one item per Python block, named
``docs/<chapter>.md::line_<N>``. Items of a chapter share one session that
starts from the chapter's prelude, so ``pytest docs/nn.md`` runs that chapter
alone and ``pytest docs/nn.md -k line_120`` runs the blocks up to line 120.
The session runs in a child process (``tools.runner.ChapterRun``), so a block
that ends the interpreter, or never ends, fails by its file and line and
takes no other test with it.

A Markdown file under docs/ that is missing from the nav is an error, not a
silent skip.
"""

from __future__ import annotations

import pytest

from tools.book import BookError, chapters, find_root, load_config, not_in_nav, read_blocks, rel
from tools.runner import BlockFailure, BlockSkipped, ChapterRun


def pytest_collect_file(file_path, parent):
    """Collect the Markdown files under a book's docs/ (a book: a mkdocs.yml)."""
    root = find_root(file_path) if file_path.suffix == ".md" else None
    if root is None:
        return None
    docs = root / load_config(root).get("docs_dir", "docs")
    if docs.resolve() not in file_path.resolve().parents:
        return None
    return ChapterFile.from_parent(parent, path=file_path)


class ChapterFile(pytest.File):
    def collect(self):
        root = find_root(self.path)
        if self.path.resolve() not in [c.resolve() for c in chapters(root)]:
            raise not_in_nav(root, self.path)
        self.blocks = read_blocks(self.path)
        self.run_ = None  # the chapter's run, started by its first test
        for index, block in enumerate(self.blocks):
            item = BlockItem.from_parent(self, name=f"line_{block.line}", index=index)
            # with pytest-xdist (make test), a chapter's blocks stay in one worker: one session
            item.add_marker(pytest.mark.xdist_group(rel(self.path)))
            yield item

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, BookError):  # file:line: message, no traceback
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def run_upto(self, index):
        """Run blocks in order up to and including ``index`` (earlier ones too,
        when only a later item was selected)."""
        if self.run_ is None:
            self.run_ = ChapterRun(self.path, self.blocks)
        while self.run_.next <= index:
            if self.run_.failed is not None:
                pytest.skip(f"not run: the earlier block {self.run_.failed} failed")
            try:
                self.run_.next_result()
            except BlockSkipped as exc:
                if self.run_.next > index:
                    pytest.skip(exc.reason)
            except BlockFailure as exc:
                if self.run_.next > index:
                    raise
                pytest.fail(f"not run: the earlier block {exc}", pytrace=False)

    def teardown(self):
        if self.run_ is not None:
            self.run_.close()


class BlockItem(pytest.Item):
    def __init__(self, *, index, **kwargs):
        super().__init__(**kwargs)
        self.index = index
        self.block = self.parent.blocks[index]
        self.add_marker(pytest.mark.chapter)

    def runtest(self):
        self.parent.run_upto(self.index)

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (BlockFailure, BookError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, self.block.line - 1, f"{rel(self.path)}:{self.block.line}"


def pytest_configure(config):
    config.addinivalue_line("markers", "chapter: a code block of a chapter")
    config.addinivalue_line("markers", "xdist_group(name): run together in one xdist worker")
    if getattr(config.option, "codeblocks", False):
        raise pytest.UsageError(
            "--codeblocks would run the chapters' blocks a second time, each on its own and "
            "without its prelude (pytest-codeblocks' own runner); the book's plugin already "
            "runs every block: drop --codeblocks")
