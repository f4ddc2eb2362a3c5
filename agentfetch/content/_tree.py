"""The lxml tree the converter works on, and the two operations lxml.etree lacks.

Plain ``lxml.etree`` elements, not ``lxml.html``'s: the HTML element classes
cost a Python-level class lookup for every element the walk touches (about a
third more time per pass over the corpus), and the converter needs none of
their extras beyond text content and dropping a subtree, defined here.
"""

from __future__ import annotations

from lxml import etree

__all__ = ["parse", "text_of", "folded_length", "drop", "to_html"]

_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
# C0 controls other than tab, newline and carriage return (and U+FFFE, U+FFFF):
# lxml's HTML parser keeps them in text, but its tree refuses them when a string
# is set (ValueError on ``a\x02``). Form feed is HTML white space (a space); the
# others carry nothing.
_XML_INCOMPATIBLE = bytes(range(0x20)).translate(None, b"\t\n\r\x0c")
_FORM_FEED = bytes.maketrans(b"\x0c", b" ")

#: All text under an element, as the DOM's ``textContent``.
text_of = etree.XPath("string()")

_FOLDED_LENGTH = etree.XPath("string-length(normalize-space())")


def folded_length(el) -> int:
    """Length of the element's text with white space trimmed and folded, computed in C.

    XPath folds only ASCII white space (a run of no-break spaces still counts
    in full); good enough for the link-density ratios that use it.
    """
    return int(_FOLDED_LENGTH(el))


def parse(data: bytes):
    """The ``<html>`` root of UTF-8 HTML bytes, or ``None`` when there is no document."""
    data = data.translate(_FORM_FEED, _XML_INCOMPATIBLE)
    if b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:  # U+FFFE, U+FFFF: not XML characters either
        data = data.replace(b"\xef\xbf\xbe", b"").replace(b"\xef\xbf\xbf", b"")
    try:
        return etree.fromstring(data, parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None


def drop(el) -> None:
    """Remove ``el`` and its subtree, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        previous = el.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + el.tail
        else:
            previous.tail = (previous.tail or "") + el.tail
    parent.remove(el)


def to_html(el) -> str:
    return etree.tostring(el, encoding="unicode", with_tail=False)
