"""Text from a server, made safe for a terminal.

Whatever a server chooses (a PRM ``resource_name``, an issuer, an error
description, a page title) may hold ESC sequences that a terminal obeys
(``ESC[2J`` clears the screen, OSC 8 forges a hyperlink, OSC 52 writes the
clipboard) or bidirectional controls that reorder what the human reads
(U+202E makes ``moc.live`` read ``evil.com``). Two functions, one character
class:

- :func:`escape_controls` for messages, prompts and traces: every such
  character becomes a visible ``\\xNN`` or ``\\uNNNN``, so nothing is hidden
  and nothing is obeyed;
- :func:`strip_controls` for a page's Markdown: content stays, the C0 and C1
  controls other than newline and tab are dropped (the bidi marks real
  right-to-left text needs stay too: a page is not a prompt).

Standard library only, and cheap to import: :mod:`agentfetch.errors` uses it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["UNSAFE_CHARACTERS", "escape_controls", "escaping", "has_unsafe_characters", "strip_controls"]

#: C0 (newline and tab included: a message or a prompt line is one line), DEL,
#: C1, and the invisible formatting characters that change how text reads:
#: soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width
#: spaces and joiners, LRM/RLM, line and paragraph separators, the bidi
#: embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), word
#: joiner and invisible operators, the deprecated format controls, BOM,
#: interlinear annotations, surrogates (never valid text) and the tag block
#: (U+E0000-U+E007F, invisible "ASCII smuggling" in prompts).
UNSAFE_CHARACTERS = (
    "\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f"
)
_UNSAFE = re.compile(f"[{UNSAFE_CHARACTERS}]")
# Page text: only what a terminal obeys (C0 but newline and tab, DEL, C1).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_controls(text: object) -> str:
    """``text`` with every control, bidi or invisible formatting character
    written out as an escape (``\\x1b``, ``\\u202e``): one visible line."""
    text = str(text)
    return _UNSAFE.sub(_visible, text) if _UNSAFE.search(text) else text


def escaping(sink: Callable[[str], None]) -> Callable[[str], None]:
    """A log sink that passes every message through :func:`escape_controls` first."""
    if getattr(sink, "escapes_controls", False):
        return sink

    def log(message: str) -> None:
        sink(escape_controls(message))

    log.escapes_controls = True  # type: ignore[attr-defined]
    return log


def strip_controls(text: str) -> str:
    """``text`` without C0 and C1 controls, newline and tab excepted."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def has_unsafe_characters(text: str) -> bool:
    """True when :func:`escape_controls` would change ``text``."""
    return _UNSAFE.search(text) is not None
