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
    #: How the caller authenticated (``bearer``, ``session``, ``service``, ``app_token``), for the audit trail.
    auth: str | None = None
    #: A notable action (``token.issued``, ``page.created``...) for the audit trail.
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


def accept_weights(accept: str) -> dict[str, float]:
    """Media ranges of an ``Accept`` header by q-value (RFC 9110 §12.5.1), lower-cased."""
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if not media:
            continue
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        weights[media.lower()] = q
    return weights


def negotiate(accept: str, offered: tuple[str, ...]) -> str:
    """The offered media type the client prefers; ties and an absent ``Accept`` go to the first offered."""
    weights = accept_weights(accept)
    if not weights:
        return offered[0]

    def weight(media: str) -> float:
        kind = media.split("/")[0]
        return weights.get(media, weights.get(f"{kind}/*", weights.get("*/*", 0.0)))

    best = max(offered, key=lambda media: (weight(media), -offered.index(media)))
    return best if weight(best) > 0 else offered[0]


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)
