"""The site: a strict build runs the chapters, draws figures and renders math."""

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import mkdocs_build
from tools.book import ROOT, chapters, read_blocks
from tools.chapter_cache import chapter_results
from tools.runner import Result
from tools.tangle import prelude

FENCE = "```"
HOOKS = ROOT / "tools" / "mkdocs_hooks.py"
MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]


def page(site, chapter: Path) -> str:
    return (site / chapter.stem / "index.html").read_text()


def figure_count(chapter: Path) -> int:
    """The figures the build's run of the chapter drew."""
    return sum(isinstance(r, Result) and r.figure is not None for r in chapter_results(chapter))


def test_strict_build_passes(site):
    assert (site / "index.html").exists()
    for chapter in chapters():
        if chapter.name != "index.md":
            assert (site / chapter.stem / "index.html").exists(), chapter


@pytest.mark.parametrize("chapter", [c for c in chapters() if c.name != "index.md"],
                         ids=lambda c: c.name)
def test_each_figure_is_inline_svg_below_its_block(site, chapter):
    html = page(site, chapter)
    figures = re.findall(r'<figure class="mg-figure mg-(?:plot|graph)"[^>]*><svg', html)
    assert len(figures) == figure_count(chapter)
    assert "mg-figure-slot" not in html


def test_forward_pass_graph_of_the_nn_chapter_is_drawn(site):
    html = page(site, ROOT / "docs" / "nn.md")
    graphs = re.findall(r'<figure class="mg-figure mg-graph"[^>]*>(<svg.*?</svg>)</figure>',
                        html, re.S)
    assert graphs, "no graph on the nn page"
    # MLP(3, [4, 4, 1]): 41 parameters, each drawn as a record node
    assert max(g.count('class="node"') for g in graphs) > 100


@pytest.mark.parametrize("chapter", [c for c in chapters() if c.name != "index.md"],
                         ids=lambda c: c.name)
def test_each_checked_output_is_shown_as_output(site, chapter):
    outputs = sum(b.expected_output is not None for b in read_blocks(chapter))
    assert page(site, chapter).count('class="mg-output') == outputs


def test_math_is_mathml_with_no_tex_left(site):
    html = page(site, ROOT / "docs" / "nn.md")
    assert html.count("<math") >= 3
    assert 'display="block"' in html
    # the TeX stays only as each formula's annotation and alttext
    shown = re.sub(r'<annotation encoding="application/x-tex">.*?</annotation>|alttext="[^"]*"',
                   "", html, flags=re.S)
    assert "arithmatex" not in shown and "\\sum" not in shown and "\\sum" in html


def test_chapters_open_with_the_code_so_far(site):
    for chapter in chapters():
        code = prelude(chapter)
        html = page(site, chapter) if chapter.name != "index.md" else ""
        if code and read_blocks(chapter):
            assert "Code so far" in html, chapter
            # the last definition of the prelude is in the collapsed block
            last = re.findall(r"^(?:class|def) (\w+)", code, re.M)[-1]
            assert last in html


def test_every_block_has_a_copy_button_enabled():
    assert "content.code.copy" in (ROOT / "mkdocs.yml").read_text()


# --- probes: the build fails loudly and names the chapter and line ---------


def probe_book(make_book, text):
    root = make_book({"ch.md": text})
    config = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(
        config + f"strict: true\nhooks:\n  - {HOOKS}\nmarkdown_extensions:\n"
        "  - pymdownx.superfences\n  - pymdownx.arithmatex:\n      generic: true\n"
    )
    return root


def test_build_fails_naming_file_and_line_when_a_block_raises(make_book, tmp_path):
    text = f"# Probe\n\n{FENCE}python\nx = 1\n{FENCE}\n\n{FENCE}python\nx / 0\n{FENCE}\n"
    root = probe_book(make_book, text)
    run = mkdocs_build(root, tmp_path / "out")
    assert run.returncode != 0
    assert "docs/ch.md:7: the block raised ZeroDivisionError" in run.stderr + run.stdout


def test_build_fails_naming_file_and_line_when_an_output_differs(make_book, tmp_path):
    root = probe_book(make_book, (
        f"# Probe\n\n{FENCE}python\nprint(1 + 1)\n{FENCE}\n\n"
        f"<!--pytest-codeblocks:expected-output-->\n{FENCE}text\n3\n{FENCE}\n"
    ))
    run = mkdocs_build(root, tmp_path / "out")
    assert run.returncode != 0
    assert "docs/ch.md:3: the output differs" in run.stderr + run.stdout


def test_build_fails_when_a_page_is_missing_from_the_nav(make_book, tmp_path):
    root = probe_book(make_book, "# Probe\n")
    (root / "docs" / "stray.md").write_text("# Stray\n")
    run = mkdocs_build(root, tmp_path / "out")
    assert run.returncode != 0
    assert "docs/stray.md is not in the nav" in run.stderr + run.stdout


def test_probe_book_builds_with_a_figure_and_math(make_book, tmp_path):
    root = probe_book(make_book, (
        f"# Probe\n\nThe sum $a + b$.\n\n{FENCE}python\nimport graphviz\n"
        f"g = graphviz.Digraph()\ng.edge('a', 'b')\ng\n{FENCE}\n"
    ))
    run = mkdocs_build(root, tmp_path / "out")
    assert run.returncode == 0, run.stderr
    html = (tmp_path / "out" / "ch" / "index.html").read_text()
    assert re.search(r'<figure class="mg-figure mg-(plot|graph)"[^>]*><svg', html)
    assert "<math" in html


def test_math_keeps_its_tex_and_the_toc_shows_no_tex(site):
    for chapter in chapters():
        html = (site / "index.html").read_text() if chapter.stem == "index" else page(site, chapter)
        maths = html.count("<math ")
        assert html.count('<annotation encoding="application/x-tex">') == maths, chapter.name
        assert html.count(" alttext=") == maths, chapter.name
        nav = re.findall(r'class="md-nav__link">\s*<span class="md-ellipsis">\s*(.*?)\s*</span>',
                         html, re.S)
        assert not [title for title in nav if "\\(" in title or "\\tanh" in title], chapter.name


def test_a_minus_sign_is_a_prefix_not_a_subtraction(site):
    html = page(site, ROOT / "docs" / "value.md")
    # L = (2 * (-3) + 10) * (-2): the minus of -3 and -2 is a sign
    assert html.count('<mo form="prefix" lspace="0em" rspace="0em">&#x02212;</mo>') >= 2


def test_the_site_serves_its_math_font(site):
    from fontTools.ttLib import TTFont

    font = site / "fonts" / "stix-two-math.woff"
    assert "MATH" in TTFont(font), "the font has no OpenType MATH table"
    assert 'url("../fonts/stix-two-math.woff")' in (site / "css" / "book.css").read_text()


def test_every_figure_says_what_it_shows(site):
    for chapter in chapters():
        if chapter.stem == "index" or not read_blocks(chapter):
            continue
        html = page(site, chapter)
        figures = re.findall(r'<figure class="mg-figure mg-(plot|graph)" role="img" '
                             r'aria-label="([^"]+)">', html)
        assert len(figures) == html.count('<figure class="mg-figure'), chapter.name
        for kind, alt in figures:
            assert ("graph drawn by" in alt) if kind == "graph" else alt.startswith("A plot of")


def test_the_home_page_is_current():
    text = (ROOT / "docs" / "index.md").read_text()
    numbers = re.findall(r"^\| ([\d–-]+) \|", text, re.M)
    numbered = [n for n in numbers if n[0].isdigit()]
    assert len(numbered) == len(set(numbered)), f"a number is used twice: {numbers}"
    assert "still to be written" not in text


# --- no host guessed: links, sitemap, canonical addresses ----------------------


def test_no_page_names_this_machine_as_the_sites_address(site):
    """Without SITE_URL the build writes no sitemap and no canonical link (a
    local build used to put http://127.0.0.1:8000/ in both)."""
    assert not (site / "sitemap.xml").exists() and not (site / "sitemap.xml.gz").exists()
    for html in site.rglob("*.html"):
        text = html.read_text()
        assert '<link rel="canonical"' not in text, html
        assert not re.search(r'href="https?://(127\.0\.0\.1|localhost)', text), \
            f"{html} links to this machine"
    overview = page(site, ROOT / "docs" / "overview.md")
    assert "127.0.0.1:8000" in overview and 'href="http://127.0.0.1' not in overview


def test_the_sitemap_lists_the_sites_address_when_it_is_known(make_book, tmp_path, monkeypatch):
    root = probe_book(make_book, "# Probe\n\nText.\n")
    config = (root / "mkdocs.yml").read_text()
    (root / "mkdocs.yml").write_text(config + "site_url: !ENV SITE_URL\n")
    assert mkdocs_build(root, tmp_path / "plain").returncode == 0
    assert not (tmp_path / "plain" / "sitemap.xml").exists()
    monkeypatch.setenv("SITE_URL", "https://example.org/book/")
    assert mkdocs_build(root, tmp_path / "hosted").returncode == 0
    assert "<loc>https://example.org/book/ch/</loc>" in (
        tmp_path / "hosted" / "sitemap.xml").read_text()


def test_the_demo_pages_links_resolve_in_the_site(site):
    html = (site / "demo" / "index.html").read_text()
    article = html[html.index("<article"):html.index("</article>")]
    hrefs = re.findall(r'<a [^>]*href="([^"#]+)(?:#[^"]*)?"', article)
    relative = [h for h in hrefs if not re.match(r"[\w+.-]+:|/", h)]
    assert "../library/" in relative and "../notebooks/demo.ipynb" in relative
    for href in relative:
        target = (site / "demo" / href).resolve()
        assert target.is_file() or (target / "index.html").is_file(), href


def test_the_demos_plots_say_what_they_show(site):
    html = (site / "demo" / "index.html").read_text()
    alts = re.findall(r'<img alt="([^"]*)"', html)
    assert len(alts) == 3, alts  # the data, the loss curve, the decision boundary
    assert all(a.startswith("A plot") and "drawn by the cell above" in a for a in alts), alts
    assert "A plot of loss against step, in “The loss curve”" in alts[1]


def test_all_the_notebooks_come_in_one_zip_whose_links_work_unzipped(site, tmp_path):
    import zipfile

    html = page(site, ROOT / "docs" / "nn.md")
    links = re.findall(r'<a href="([^"]+)" download>', html)
    assert "../notebooks/nn.ipynb" in links
    zipped = next(link for link in links if link.endswith(".zip"))
    archive = (site / "nn" / zipped).resolve()
    with zipfile.ZipFile(archive) as z:
        names = sorted(Path(n).name for n in z.namelist())
        z.extractall(tmp_path)
    assert names == sorted(p.name for p in (site / "notebooks").glob("*.ipynb"))
    folder = next(tmp_path.iterdir())
    for nb in folder.glob("*.ipynb"):
        for href in re.findall(r"\]\(([^)\s#:]+\.ipynb)", nb.read_text()):
            assert (folder / href).is_file(), f"{nb.name}: {href}"
