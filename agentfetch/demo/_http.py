"""A tiny request/response pair so endpoint code never touches the socket handler."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from email.message import Message
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit


@dataclass
class Request:
    #: The method endpoints see: ``HEAD`` is answered as ``GET`` (the socket layer drops the body).
    method: str
    target: str
    # Headers and bodies carry tokens, codes and verifiers: never in a repr.
    headers: Message = field(repr=False)
    body: bytes = field(default=b"", repr=False)
    #: The method as sent, for the request log.
    sent_method: str = ""

    def __post_init__(self) -> None:
        self.sent_method = self.sent_method or self.method
        if self.method == "HEAD":
            self.method = "GET"

    @property
    def path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default) or default

    @property
    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.header("Cookie"))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in jar.items()}

    def is_form(self) -> bool:
        return self.header("Content-Type").split(";")[0].strip().lower() == "application/x-www-form-urlencoded"

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)


@dataclass
class Response:
    status: int
    body: bytes = field(default=b"", repr=False)
    headers: list[tuple[str, str]] = field(default_factory=list, repr=False)
    #: Who acted, for the request log and the audit trail.
    user: str | None = None
    client_id: str | None = None
    #: A notable action (``token.issued``, ``consent.denied``...) for the audit trail.
    event: str | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, data: object, *, content_type: str = "application/json", **extra: str) -> Response:
    headers = [("Content-Type", content_type)]
    headers += [(key.replace("_", "-"), value) for key, value in extra.items()]
    return Response(status, json.dumps(data, indent=2).encode(), headers)


def html_response(status: int, markup: str) -> Response:
    return Response(status, markup.encode(), [("Content-Type", "text/html; charset=utf-8")])


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> Response:
    return Response(status, text.encode(), [("Content-Type", content_type)])


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", [("Location", location)])


def add_query(url: str, params: dict[str, str]) -> str:
    """Append ``params`` to ``url`` keeping any query it already has (RFC 6749 §3.1.2)."""
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def single(params: dict[str, list[str]], name: str) -> str | None:
    """The one value of ``name``; raises ``ValueError`` when it is repeated (RFC 6749 §3.1)."""
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"parameter {name} is included more than once")
    return values[0]


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)
