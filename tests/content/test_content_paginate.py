"""paginate() and estimate_tokens(): cuts on block boundaries, exact reassembly."""

from __future__ import annotations

import re

import pytest

from agentfetch.content import Page, estimate_tokens, paginate
from agentfetch.content._paginate import note_separator
from agentfetch.errors import UsageError

NOTE = re.compile(r"<!-- agentfetch: content truncated at character (\d+) of (\d+); call again with start_index=\1 \(CLI: --start-index \1\) to continue -->$")

DOC = "\n".join(
    [
        "# Title",
        "",
        "Intro paragraph with some words in it. " * 5,
        "",
        "| a | b |",
        "| --- | --- |",
        *[f"| row {i} cell | value {i} |" for i in range(12)],
        "",
        "- item one",
        "  continued line of item one",
        "- item two",
        "  - nested item",
        "    nested continuation",
        "- item three",
        "",
        "```python",
        *[f"line_{i} = {i}  # code line number {i}" for i in range(30)],
        "```",
        "",
        "Closing paragraph. " * 10,
        "",
    ]
)


def pages_of(text: str, size: int) -> list[Page]:
    pages, start = [], 0
    while True:
        page = paginate(text, start, size)
        pages.append(page)
        if not page.truncated:
            return pages
        assert page.next_start_index > start
        start = page.next_start_index


def page_forms(slice_: str, truncated: bool, note: str) -> set[str]:
    """What a page holding ``slice_`` may look like: fence repairs optional, note last."""
    close = ("" if slice_.endswith("\n") else "\n") + "```"
    forms = {slice_, "```python\n" + slice_, slice_ + close, "```python\n" + slice_ + close}
    if not truncated:
        return forms
    return {form + note_separator(form) + note for form in forms}


def check_page(page: Page, text: str, start: int) -> str:
    """Assert the page is the original slice (plus note/fence repair); return the slice."""
    end = page.next_start_index if page.truncated else len(text)
    slice_ = text[start:end]
    note = ""
    if page.truncated:
        match = NOTE.search(page.text)
        assert match, page.text[-200:]
        assert int(match.group(1)) == page.next_start_index
        assert int(match.group(2)) == len(text)
        note = match.group(0)
        before = page.text[: match.start()]
        assert before.endswith("\n\n"), "one blank line before the note"
    assert page.text in page_forms(slice_, page.truncated, note)
    return slice_


@pytest.mark.parametrize("size", [40, 60, 97, 150, 233, 400, 1000])
def test_pages_reassemble_the_document_exactly(size):
    pages = pages_of(DOC, size)
    start, pieces = 0, []
    for page in pages:
        pieces.append(check_page(page, DOC, start))
        assert page.total_length == len(DOC)
        start = page.next_start_index or len(DOC)
    assert "".join(pieces) == DOC


@pytest.mark.parametrize("size", [60, 97, 150, 233, 400])
def test_no_page_splits_a_row_or_item_and_fences_stay_balanced(size):
    lines = DOC.split("\n")
    starts = {sum(len(line) + 1 for line in lines[:i]) for i in range(len(lines))}
    for page in pages_of(DOC, size):
        body = NOTE.sub("", page.text)
        assert body.count("```") % 2 == 0, body
        if page.truncated:
            cut = page.next_start_index
            if cut not in starts:
                # Only a line longer than a whole page may be cut inside.
                line_start = DOC.rfind("\n", 0, cut) + 1
                assert DOC.find("\n", cut) - line_start > size
                continue
            line = DOC[cut:].split("\n", 1)[0]
            assert not line.startswith("  continued") and not line.startswith("    nested continuation")


def test_prefers_block_boundaries():
    text = "para one is here.\n\npara two is here.\n\npara three."
    page = paginate(text, 0, 30)
    assert page.truncated and page.next_start_index == len("para one is here.\n\n")
    assert page.text.startswith("para one is here.\n\n<!--")
    assert paginate("para one is here. and more words", 0, 20).text.startswith("para one is here. \n\n<!--")


def test_table_longer_than_a_page_is_cut_between_rows():
    table = "\n".join(["| h |", "| --- |", *[f"| row {i} |" for i in range(50)]]) + "\n"
    page = paginate(table, 0, 100)
    assert page.truncated
    assert table[page.next_start_index - 1] == "\n"
    assert table[page.next_start_index :].startswith("| row")


def test_a_single_huge_line_is_cut_at_a_space():
    text = "word " * 100
    page = paginate(text, 0, 52)
    assert page.next_start_index == 50
    assert page.text.startswith("word " * 10)
    rest = paginate(text, page.next_start_index, None)
    assert check_page(page, text, 0) + rest.text == text


def test_whole_text_when_it_fits_or_no_limit():
    assert paginate("short", 0, 100) == Page("short", False, None, 5)
    assert paginate("short", 0) == Page("short", False, None, 5)
    assert paginate("short", 2) == Page("ort", False, None, 5)
    assert paginate("short", 5, 10) == Page("", False, None, 5)
    assert paginate("", 0, 10) == Page("", False, None, 0)


@pytest.mark.parametrize(("start", "length"), [(-1, None), (0, 0), (0, -5), (99, 10)])
def test_bad_arguments_are_usage_errors(start, length):
    with pytest.raises(UsageError):
        paginate("some text", start, length)


def test_the_note_names_the_next_start_index_for_agents():
    page = paginate("a\n\n" * 100, 0, 50)
    assert f"start_index={page.next_start_index}" in page.text
    assert f"--start-index {page.next_start_index}" in page.text


def test_estimate_tokens():
    assert estimate_tokens("") == 0
    english = "The quick brown fox jumps over the lazy dog. " * 100
    assert 900 <= estimate_tokens(english) <= 1300
    japanese = "日本語のテキストです。" * 100
    assert estimate_tokens(japanese) >= 1000
    assert estimate_tokens("x") == 1


def test_a_clean_cut_near_the_start_does_not_make_tiny_pages():
    text = "Intro.\n\n" + "\n".join(["| h |", "| --- |", *[f"| row {i} |" for i in range(200)]]) + "\n"
    page = paginate(text, 0, 500)
    assert page.next_start_index > 250
    assert text[page.next_start_index :].startswith("| row")
