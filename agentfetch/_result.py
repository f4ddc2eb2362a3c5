"""``FetchResult``: one fetched page, converted. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FetchResult"]


@dataclass
class FetchResult:
    """One fetched page, converted. ``to_dict()`` is the CLI's ``--json`` object."""

    url: str
    final_url: str
    status: int
    content_type: str | None
    title: str | None
    markdown: str
    truncated: bool
    next_start_index: int | None
    total_length: int
    tokens: int
    #: Byline, published date, canonical URL, language... when the page says so.
    metadata: dict[str, str] = field(default_factory=dict)
    #: "html", "markdown", "json", "text", "pdf", "binary" or "raw".
    kind: str = "html"
    #: True when the body was longer than ``max_bytes`` and was cut while reading.
    body_truncated: bool = False
    #: The body as received (after content-encoding), only kept with ``raw=True``.
    body: bytes | None = field(default=None, repr=False)
    #: The final response's header fields as (lower-cased name, value) pairs, repeated fields kept
    #: (``Link``, ``Content-Type``...); not part of ``to_dict()``.
    headers: list[tuple[str, str]] = field(default_factory=list, repr=False)

    def header_values(self, name: str) -> list[str]:
        """Every value of one header field, in order (``Link`` may come on several lines)."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "content_type": self.content_type,
            "title": self.title,
            "markdown": self.markdown,
            "truncated": self.truncated,
            "next_start_index": self.next_start_index,
            "total_length": self.total_length,
            "tokens": self.tokens,
            "metadata": self.metadata,
            "kind": self.kind,
            "body_truncated": self.body_truncated,
        }
