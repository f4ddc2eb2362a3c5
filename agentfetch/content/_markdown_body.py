"""Markdown that a server sent (``text/markdown``, "Markdown for Agents"): links made absolute.

A server's Markdown is written for its own site: ``[docs](/docs)`` means
something only next to the URL it came from. An agent that gets it out of
context must be able to follow the link, so relative link and image targets
are resolved against the final URL, as they are for HTML (a relative
target also loses its tracking parameters). Absolute targets, code blocks,
code spans and autolinks are left as the server wrote them, and so is every
byte of text.
"""

from __future__ import annotations

import re

from ._links import LinkResolver

__all__ = ["absolute_links", "main_content"]

# Inline links and images: "](target)" or "](target "title")", the target optionally in <...>.
_INLINE = re.compile(
    r"(\]\(\s*)(<[^<>\n]*>|(?:[^()\s]|\([^()\s]*\))+)((?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^()\n]*\)))?\s*\))"
)
# Link reference definitions: "[label]: target" at the start of a line (CommonMark §4.7).
_DEFINITION = re.compile(r"^( {0,3}\[[^\]\n]+\]:[ \t]*)(<[^<>\n]*>|\S+)", re.M)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def absolute_links(markdown: str, url: str | None) -> str:
    """``markdown`` with every relative link and image target resolved against ``url``."""
    if not url or ("](" not in markdown and "]:" not in markdown):
        return markdown
    resolver = LinkResolver(url)

    def target(raw: str) -> str:
        bracketed = raw.startswith("<") and raw.endswith(">")
        href = raw[1:-1] if bracketed else raw
        if not href or href[0] == "#" or _ABSOLUTE.match(href):
            return raw  # a fragment of this document, or already absolute
        return resolver.image(href)

    def inline(match: re.Match[str]) -> str:
        return match.group(1) + target(match.group(2)) + match.group(3)

    def definition(match: re.Match[str]) -> str:
        return match.group(1) + target(match.group(2))

    out: list[str] = []
    fence = ""
    for line in markdown.split("\n"):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            out.append(line)
            continue
        if opening:
            fence = opening.group(1)
            out.append(line)
            continue
        if "](" in line or "]:" in line:
            line = _rewrite_outside_code(line, inline, definition)
        out.append(line)
    return "\n".join(out)


def _rewrite_outside_code(line: str, inline, definition) -> str:
    """Rewrite the link targets of one line, leaving its code spans alone."""
    line = _DEFINITION.sub(definition, line)  # anchored: only a definition that starts the line
    if "](" not in line:
        return line
    pieces: list[str] = []
    position = 0
    for span in _CODE_SPAN.finditer(line):
        pieces.append(_INLINE.sub(inline, line[position : span.start()]))
        pieces.append(span.group(0))
        position = span.end()
    pieces.append(_INLINE.sub(inline, line[position:]))
    return "".join(pieces)


_LINK_TEXT = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_WORD = re.compile(r"\w+")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")
_CHROME_LINK_SHARE = 0.6  # a block whose words are mostly link text is navigation
_CHROME_WORDS = 12  # ... when it is short or a list of short items


def main_content(markdown: str) -> str:
    """``markdown`` without the navigation and footer blocks of a whole-page dump.

    Only the runs of chrome at the start and at the end go (a menu before the
    first heading or paragraph of prose, link lists and one-line notices after
    the last one); a block in between stays whatever it holds, so the pass can
    cut no part of the article itself. A ``# Title`` first line stays, and a
    document that is mostly such blocks (an index, a link list) is returned whole.
    A block is chrome when most of its text
    is link text and its lines are short (a menu, a list of links, a
    breadcrumb), never when it is a heading, code, a quote or a table.
    """
    blocks = _blocks(markdown)
    title = 1 if blocks and blocks[0].startswith("# ") and "\n" not in blocks[0] else 0
    first, last = title, len(blocks)
    while first < last and _is_chrome(blocks[first]):
        first += 1
    while last > first and _is_chrome(blocks[last - 1]):
        last -= 1
    if first == title and last == len(blocks):
        return markdown
    body = blocks[first:last]
    if sum(map(_words, body)) < 0.5 * sum(map(_words, blocks[title:])):
        return markdown  # mostly links (an index page, a link list): that is the content
    kept = "\n\n".join(blocks[:title] + body).strip("\n")
    return kept + "\n"


def _blocks(markdown: str) -> list[str]:
    """Blank-line separated blocks, a fenced code block always whole."""
    blocks: list[str] = []
    current: list[str] = []
    fence = ""
    for line in markdown.split("\n"):
        opening = _FENCE.match(line)
        if fence:
            current.append(line)
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
        if not line.strip() and not fence:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _words(block: str) -> int:
    """Words a reader sees in a block: link text counts, link targets do not."""
    return len(_WORD.findall(_LINK_TEXT.sub(r"\1", block)))


def _is_chrome(block: str) -> bool:
    head = block.lstrip()
    if head.startswith(("#", "```", "~~~", ">", "|", "    ")):
        return False
    lines = [line for line in block.split("\n") if line.strip()]
    text = _LINK_TEXT.sub(r"\1", "\n".join(_LIST_MARKER.sub("", line) for line in lines))
    words = len(_WORD.findall(text))
    if not words:
        return True  # only images, rules or link syntax without text
    link_words = sum(len(_WORD.findall(m.group(1))) for m in _LINK_TEXT.finditer(block))
    if link_words / words < _CHROME_LINK_SHARE:
        return False
    is_list = all(_LIST_MARKER.match(line) for line in lines)
    return words <= _CHROME_WORDS or (is_list and words / len(lines) <= _CHROME_WORDS)
