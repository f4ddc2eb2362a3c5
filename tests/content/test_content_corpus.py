"""Conversion quality on real pages from ../shared/corpus (skipped when absent)."""

from __future__ import annotations

import json
import re

import lxml.html
import pytest

from agentfetch.content import convert

from content_support import CORPUS_PAGES, PAGE_URL

ALL_PAGES = sorted(p.name for p in CORPUS_PAGES.iterdir()) if CORPUS_PAGES.is_dir() else ["(corpus absent)"]


def to_doc(corpus_page, name: str, **kw):
    return convert(corpus_page(name), "text/html", PAGE_URL, **kw)


def tables(markdown: str) -> list[list[str]]:
    found, current = [], []
    for line in markdown.split("\n"):
        if line.startswith("| "):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found + ([current] if current else [])


def outside_fences(markdown: str) -> str:
    return re.sub(r"^```.*?^```", "(code)", markdown, flags=re.S | re.M)


@pytest.mark.parametrize("name", ALL_PAGES)
def test_every_page_converts_cleanly(corpus_page, name):
    doc = to_doc(corpus_page, name)
    assert doc.kind == "html" and doc.markdown.strip()
    assert "\n\n\n" not in outside_fences(doc.markdown)
    assert "<script" not in outside_fences(doc.markdown).lower()
    assert "](data:" not in doc.markdown
    for table in tables(outside_fences(doc.markdown)):
        widths = {len(re.split(r"(?<!\\)\|", row)) for row in table}
        assert len(widths) == 1, table[:3]
        assert set(table[1].replace("|", "").split()) == {"---"}, table[:2]
    if doc.title:
        assert doc.markdown.startswith(f"# {' '.join(doc.title.split())}\n")


@pytest.mark.parametrize("name", ALL_PAGES)
def test_title_and_byline_match_reader_view(corpus_page, name):
    doc = to_doc(corpus_page, name)
    expected = json.loads((CORPUS_PAGES / name / "expected-metadata.json").read_text(encoding="utf-8"))
    if expected.get("title"):
        assert " ".join(doc.title.split()) == " ".join(expected["title"].split())
    if expected.get("lang"):
        assert doc.metadata.get("lang") == expected["lang"]


def test_data_table_with_header_row(corpus_page):
    md = to_doc(corpus_page, "links-in-tables").markdown
    assert (
        "| Application | Original Size | Previous (BSDiff) Patch Size (% vs original) | File-by-File Patch Size (% vs original) |\n"
        "| --- | --- | --- | --- |\n"
        "| [Farm Heroes Super Saga](https://play.google.com/store/apps/details?id=com.king.farmheroessupersaga&hl=en) | 71.1 MB | 13.4 MB (-81%) | 8.0 MB (-89%) |"
    ) in md


def test_table_with_colspan_keeps_columns_aligned(corpus_page):
    md = to_doc(corpus_page, "wikipedia").markdown
    infobox = next(t for t in tables(md) if "| Founded |" in "\n".join(t))
    assert infobox[0].startswith("| [![Mozilla dinosaur head logo.png]")
    assert infobox[0].endswith(" |  |")  # the colspan=2 cell and its filler
    assert "| Founded | February 28, 1998; 18 years ago |" in infobox


def test_layout_table_is_unwrapped(corpus_page):
    doc = to_doc(corpus_page, "table-style-attributes")
    assert not tables(doc.markdown)
    assert "linux" in doc.markdown.lower()


def test_code_fence_language_from_data_lang(corpus_page):
    md = to_doc(corpus_page, "ars-1").markdown
    assert "> ```javascript\n> rekt: {\n>     list: [\n" in md  # the code sits in a quote


def test_pre_whitespace_kept_exactly(corpus_page):
    source = lxml.html.document_fromstring(corpus_page("001"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    md = to_doc(corpus_page, "001").markdown
    for pre in source.iter("pre"):
        code = pre.text_content().strip("\n")
        assert f"```\n{code}\n```" in md


def test_blockquote_with_line_breaks(corpus_page):
    md = to_doc(corpus_page, "001").markdown
    assert "> Drinking game for web devs:  \n> (1) Think of a noun  \n> (2) Google \"\\<noun>.js\"" in md


def test_inline_code(corpus_page):
    md = to_doc(corpus_page, "ars-1").markdown
    assert "The root of the object, `rekt`" in md
    assert "maximum payload size to `2^15 - 1`" in md


def test_headings_and_definition_lists(corpus_page):
    md = to_doc(corpus_page, "google-sre-book-1").markdown
    assert re.search(r"^## Black-Box Versus White-Box$", md, re.M)
    assert re.search(r"^\*\*[^*\n]+\*\*\n: \S", md, re.M)


def test_nested_lists(corpus_page):
    md = to_doc(corpus_page, "wikipedia").markdown
    assert re.search(r"^- .+\n  - .+", md, re.M)


def test_links_absolute_against_base_element(corpus_page):
    md = to_doc(corpus_page, "base-url-base-element-relative").markdown
    links = re.findall(r"\]\(([^)\s]+)\)", md)
    assert links and all(link.startswith("http") for link in links)


def test_data_uri_images_dropped_and_real_ones_kept(corpus_page):
    source = corpus_page("data-url-image")
    assert b"data:image" in source
    md = to_doc(corpus_page, "data-url-image").markdown
    assert "data:" not in md
    kept = to_doc(corpus_page, "keep-images").markdown
    assert re.search(r"!\[[^\]]*\]\(https://[^)]+\)", kept)


def test_math_becomes_tex(corpus_page):
    md = to_doc(corpus_page, "mathjax").markdown
    assert "$a≠0$" in md
    assert "$$\nx=\\frac{−b±\\sqrt{b^2−4ac}}{2a}\\text{.}\n$$" in md


def test_metadata_front_fields(corpus_page):
    doc = to_doc(corpus_page, "keep-images")
    assert doc.metadata["byline"] == "Joseph Cox"
    assert doc.metadata["published"] == "2015-03-27T13:07:55.096Z"
    assert doc.metadata["canonical"] == "https://medium.com/backchannel/inside-the-deep-web-drug-lab-9718cd0fe504"
    assert to_doc(corpus_page, "rtl-1").metadata["dir"] == "rtl"


def test_article_only_unless_full_page(corpus_page):
    article = to_doc(corpus_page, "nytimes-1")
    full = to_doc(corpus_page, "nytimes-1", full_page=True)
    assert full.metadata["extraction"] == "full-page"
    assert len(full.markdown) > len(article.markdown) * 1.2
    assert article.metadata["extraction"] == "article"
