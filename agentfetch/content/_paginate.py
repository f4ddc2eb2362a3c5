"""Cutting long Markdown into pages an agent can ask for one at a time.

A page ends where the Markdown can be cut without damage. In order of
preference: between blocks (after a blank line outside code fences), between
lines that start a list item or a table row or a new paragraph line, between
lines of a code fence (the fence is closed on this page and reopened on the
next so both halves stay valid Markdown), and last, for a single line longer
than a page, at a space or at the limit itself. No page ends inside a table
row or list item while a cleaner cut exists; a cleaner cut is preferred only
when it still fills at least half the page.
"""

from __future__ import annotations

import re

from agentfetch.errors import UsageError

from ._model import Page

__all__ = ["paginate", "estimate_tokens", "continuation_note", "note_separator"]

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+")
_ITEM_START = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")

# Preference ranks of a cut point; lower is cleaner.
_BETWEEN_BLOCKS, _BETWEEN_LINES, _INSIDE_FENCE = 0, 1, 2


def note_separator(text: str) -> str:
    """Newlines that put exactly one blank line between ``text`` and the note."""
    trailing = len(text) - len(text.rstrip("\n"))
    return "\n" * max(0, 2 - trailing) if text else ""


def continuation_note(next_start_index: int, total_length: int) -> str:
    """The line that ends a truncated page and tells the agent how to go on."""
    return (
        f"<!-- agentfetch: content truncated at character {next_start_index} of "
        f"{total_length}; call again with start_index={next_start_index} "
        f"(CLI: --start-index {next_start_index}) to continue -->"
    )


def paginate(markdown: str, start_index: int = 0, max_length: int | None = None) -> Page:
    """Return the part of ``markdown`` from ``start_index`` that fits ``max_length``.

    ``max_length`` counts the characters taken from ``markdown``; the
    continuation note and a repaired code fence are added on top of it.
    Concatenating the slices of all pages reproduces ``markdown`` exactly.
    """
    total = len(markdown)
    if start_index < 0:
        raise UsageError(f"start index must be 0 or more, not {start_index}")
    if max_length is not None and max_length <= 0:
        raise UsageError(f"max length must be a positive number of characters, not {max_length}")
    if start_index > total:
        raise UsageError(
            f"start index {start_index} is past the end of the content ({total} characters)"
        )
    if max_length is None or total - start_index <= max_length:
        prefix = _reopen_fence(markdown, start_index) if start_index else ""
        return Page(prefix + markdown[start_index:], False, None, total)

    cut, fence_open = _choose_cut(markdown, start_index, start_index + max_length)
    text = markdown[start_index:cut]
    prefix = _reopen_fence(markdown, start_index) if start_index else ""
    suffix = ""
    if fence_open is not None:
        suffix = ("" if text.endswith("\n") else "\n") + fence_open
    body = prefix + text + suffix
    return Page(body + note_separator(body) + continuation_note(cut, total), True, cut, total)


def estimate_tokens(text: str) -> int:
    """A cheap token count: about 4 characters a token for ASCII text.

    CJK characters are about one token each and other non-ASCII letters
    (accented Latin, Cyrillic...) split into more tokens than ASCII does, so
    they count more. Within a few percent of real BPE tokenizers on prose.
    """
    if not text:
        return 0
    ascii_chars = len(text.encode("ascii", "ignore"))
    other = len(text) - ascii_chars
    if not other:
        return max(1, round(ascii_chars / 4))
    cjk = len(text) - len(_CJK.sub("", text))  # no list of millions of matches
    return max(1, round(ascii_chars / 4 + cjk + (other - cjk) / 2))


def _scan_lines(markdown: str):
    """Yield ``(line_start, line, fence)`` where fence is the open fence before this line."""
    fence: tuple[str, int, str] | None = None  # (char, length, opening line)
    pos = 0
    for line in markdown.splitlines(keepends=True):
        yield pos, line, fence
        match = _FENCE.match(line)
        if match:
            marker = match.group(1)
            if fence is None:
                fence = (marker[0], len(marker), line.rstrip("\r\n"))
            elif marker[0] == fence[0] and len(marker) >= fence[1] and not match.group(2).strip():
                fence = None
        pos += len(line)


def _fence_at(markdown: str, index: int) -> tuple[str, int, str] | None:
    """The code fence that is open on the line holding ``index``, if any."""
    current = None
    for pos, _line, fence in _scan_lines(markdown):
        if pos > index:
            break
        current = fence
    return current


def _reopen_fence(markdown: str, start_index: int) -> str:
    fence = _fence_at(markdown, start_index)
    return fence[2].lstrip() + "\n" if fence else ""


def _choose_cut(markdown: str, start: int, limit: int) -> tuple[int, str | None]:
    """Best cut in ``(start, limit]``; returns it and the fence marker to close, if any."""
    best: dict[int, tuple[int, str | None]] = {}
    previous_blank = False
    previous_fence = None
    for pos, line, fence in _scan_lines(markdown):
        if pos > limit:
            break
        if pos > start:
            if fence is not None:
                best[_INSIDE_FENCE] = (pos, fence[0] * fence[1])
            elif previous_fence is None and previous_blank:
                best[_BETWEEN_BLOCKS] = (pos, None)
            elif line.strip() and (
                _ITEM_START.match(line) or line.lstrip().startswith("|") or not line[0].isspace()
            ):
                best[_BETWEEN_LINES] = (pos, None)
        previous_blank = not line.strip()
        previous_fence = fence
    # The cleanest cut that still fills at least half the page; a clean cut
    # near the start would make many tiny pages out of one long table.
    half = start + (limit - start) // 2
    if _BETWEEN_BLOCKS in best and best[_BETWEEN_BLOCKS][0] >= half:
        return best[_BETWEEN_BLOCKS]
    outside = [best[r] for r in (_BETWEEN_BLOCKS, _BETWEEN_LINES) if r in best]
    if outside and max(outside)[0] >= half:
        return max(outside)
    if _INSIDE_FENCE in best and best[_INSIDE_FENCE][0] >= half:
        return best[_INSIDE_FENCE]
    if best:
        return max(best.values(), key=lambda cut: cut[0])
    # One line longer than a page: cut after a space, else at the limit.
    space = markdown.rfind(" ", start + 1, limit)
    cut = space + 1 if space > start else limit
    fence = _fence_at(markdown, cut)
    return cut, (fence[0] * fence[1] if fence else None)
