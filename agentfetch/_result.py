"""``FetchResult``: one fetched page (or one API answer), converted. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._urls import redact_url
from .errors import AgentFetchError, AuthorizationError, HTTPStatusError

__all__ = ["FetchResult", "status_error"]


def status_error(status: int, url: str, *, reason: str = "", challenge: str = "") -> AgentFetchError | None:
    """The error an HTTP status stands for, or None below 400: a 401, or a 403 that asks for more
    scope (RFC 6750 §3.1), is an authorization failure (exit 5); any other, an HTTP error (exit 4)."""
    if status < 400:
        return None
    shown = redact_url(url)
    if status == 401 or (status == 403 and "insufficient_scope" in challenge):
        return AuthorizationError(
            f"{shown} answered {status}: authorization required and not obtained",
            hint=f"run `agentfetch auth login {url}`" if challenge else None,
        )
    if not reason:
        from http import HTTPStatus

        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "error"
    return HTTPStatusError(f"{shown} answered {status} {reason}", status=status, url=url)


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
    #: "html", "markdown", "json", "text", "pdf", "binary", "raw", or "empty" (a ``request()`` answer without a body).
    kind: str = "html"
    #: True when the body was longer than ``max_bytes`` and was cut while reading.
    body_truncated: bool = False
    #: The body as received (after content-encoding), only kept with ``raw=True``.
    body: bytes | None = field(default=None, repr=False)
    #: The final response's header fields as (lower-cased name, value) pairs, repeated fields kept
    #: (``Link``, ``Content-Type``...); not part of ``to_dict()``.
    headers: list[tuple[str, str]] = field(default_factory=list, repr=False)

    #: The request method for an answer from ``request()``; ``None`` for a ``fetch()``.
    method: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the final status is below 400."""
        return self.status < 400

    def status_error(self) -> AgentFetchError | None:
        """The error the final status stands for (as ``fetch()`` would raise it), or None."""
        challenge = ", ".join(self.header_values("www-authenticate"))
        return status_error(self.status, self.final_url, challenge=challenge)

    def raise_for_status(self) -> FetchResult:
        """Raise :meth:`status_error` when there is one; else return this result."""
        error = self.status_error()
        if error is not None:
            raise error
        return self

    def header_values(self, name: str) -> list[str]:
        """Every value of one header field, in order (``Link`` may come on several lines)."""
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` object; an answer from ``request()`` adds ``method`` and ``headers``."""
        data: dict[str, Any] = {
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
        if self.method is not None:
            data["method"] = self.method
            data["headers"] = self.headers_dict()
        return data

    def headers_dict(self) -> dict[str, str | list[str]]:
        """The response headers by lower-cased name; a repeated field as a list of its values."""
        headers: dict[str, str | list[str]] = {}
        for name, value in self.headers:
            key = name.lower()
            previous = headers.get(key)
            if previous is None:
                headers[key] = value
            else:
                headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        return headers
