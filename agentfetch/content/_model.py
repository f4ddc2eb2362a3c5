"""The two result types of the content layer, kept free of heavy imports."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Document", "Page"]


@dataclass(slots=True)
class Document:
    """A response body turned into text an agent can read.

    ``kind`` says which converter produced ``markdown``: ``"html"``,
    ``"markdown"``, ``"json"``, ``"text"``, ``"pdf"`` or ``"binary"``.
    ``metadata`` holds what the page declared about itself when found
    (``byline``, ``published``, ``canonical``, ``lang``, ``description``,
    ``site_name``, ``dir``, ``extraction``), all as plain strings.
    """

    title: str | None
    markdown: str
    kind: str
    metadata: dict[str, str] = field(default_factory=dict)
    charset: str | None = None


@dataclass(slots=True)
class Page:
    """One window of a longer Markdown text (see :func:`agentfetch.content.paginate`).

    ``next_start_index`` is the ``start_index`` that continues where this page
    stops, or ``None`` on the last page. ``total_length`` is the length of the
    whole text, in characters.
    """

    text: str
    truncated: bool
    next_start_index: int | None
    total_length: int
