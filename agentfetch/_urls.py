"""URL facts shared by the fetcher, the OAuth client and the credential store.

Standard library only: the store and the fetch path import it, and neither
may pay for the OAuth machinery.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ._terminal import has_unsafe_characters
from .errors import UsageError

__all__ = [
    "is_loopback_host", "origin", "has_userinfo", "path_is_under", "normalised_path", "redact_url", "shorten",
    "TRACED_EXTENSION",
]

#: Request extension naming the OAuth flow step that sent (and traced) a request,
#: so that a client's own request trace can skip it instead of logging it twice.
TRACED_EXTENSION = "agentfetch_oauth_step"

# Query parameters whose values are secrets or one-time credentials.
_SECRET_QUERY_KEYS = frozenset(
    {"code", "access_token", "token", "id_token", "refresh_token", "client_secret", "code_verifier", "state"}
)
# The same keys found by text, for a URL too malformed to split.
_SECRET_PARAM = re.compile(r"([?&#;](?:{}))=[^&#;]*".format("|".join(sorted(_SECRET_QUERY_KEYS))), re.IGNORECASE)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    # The exact name only: "*.localhost" (RFC 6761 §6.3) is left to resolvers,
    # and one that maps evil.localhost elsewhere must not get plain-HTTP secrets.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in; UsageError if not an http(s) URL.

    A URL holding control or bidi characters is not one (RFC 3986 §2 has no
    place for them) and httpx would refuse to send it: refused here first."""
    if not isinstance(url, str):
        raise UsageError(f"not a URL: {type(url).__name__}")
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"not a valid URL: {shorten(url)}") from exc
    if has_unsafe_characters(url):
        raise UsageError(f"not a valid URL (control characters): {shorten(url)}")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {shorten(url)}")
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, parts.hostname.lower(), port


def has_userinfo(url: str) -> bool:
    """True for ``https://user@host/``: an identifier that reads as one host
    (``accounts.example.com@127.0.0.1``) while naming another."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return "@" in url


def path_is_under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or below it, on segment boundaries:
    ``/docs`` covers ``/docs/x`` but not ``/docsevil``.

    Servers resolve dot segments after decoding, so ``/docs/%2e%2e/admin`` is
    ``/admin`` to them: the path must be under ``prefix`` both as written and
    once normalised (:func:`normalised_path`)."""
    return _is_under(path or "/", prefix or "/") and _is_under(normalised_path(path), normalised_path(prefix))


def _is_under(path: str, prefix: str) -> bool:
    if prefix.endswith("/"):
        return path.startswith(prefix) or path == prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


_DOT = re.compile("%2e", re.IGNORECASE)
_SEPARATOR = re.compile(r"%2f|%5c|\\", re.IGNORECASE)


def normalised_path(path: str) -> str:
    """The path as a lenient server may resolve it: ``%2e`` is a dot, ``%2f``,
    ``%5c`` and ``\\`` separate segments, ``..;x`` is ``..`` (servlet path
    parameters), and dot segments are removed (RFC 3986 §5.2.4)."""
    path = _SEPARATOR.sub("/", _DOT.sub(".", path or "/"))
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        name = segment.split(";", 1)[0]
        last = index == len(segments) - 1
        if name == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        elif name == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def redact_url(url: object) -> str:
    """The URL with secret-bearing query parameters masked, for traces and errors."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[::1?code=x": never let a trace or an error message fail
        return _SECRET_PARAM.sub(r"\1=redacted", text)
    if not parts.query:
        return text
    params = [(k, "redacted" if k.lower() in _SECRET_QUERY_KEYS else v)
              for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    try:
        return urlunsplit(parts._replace(query=urlencode(params)))
    except UnicodeEncodeError:  # a lone surrogate (JSON can carry "\udfff") has no UTF-8 form
        return _SECRET_PARAM.sub(r"\1=redacted", text)


def shorten(text: object, limit: int = 200) -> str:
    """``text`` made printable and cut to ``limit`` characters, for quoting server input in errors."""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= limit else text[:limit] + "..."
