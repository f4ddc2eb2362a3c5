"""URL facts shared by the fetcher, the OAuth client and the credential store.

Standard library only: the store and the fetch path import it, and neither
may pay for the OAuth machinery.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import UsageError

__all__ = ["is_loopback_host", "origin", "path_is_under", "redact_url", "TRACED_EXTENSION"]

#: Request extension naming the OAuth flow step that sent (and traced) a request,
#: so that a client's own request trace can skip it instead of logging it twice.
TRACED_EXTENSION = "agentfetch_oauth_step"

# Query parameters whose values are secrets or one-time credentials.
_SECRET_QUERY_KEYS = frozenset(
    {"code", "access_token", "token", "id_token", "refresh_token", "client_secret", "code_verifier", "state"}
)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the default port filled in; UsageError if not an http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(f"not a valid URL: {_shorten(url)}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"not an http(s) URL: {_shorten(url)}")
    if port is None:
        port = 443 if scheme == "https" else 80
    return scheme, parts.hostname.lower(), port


def path_is_under(path: str, prefix: str) -> bool:
    """True when ``path`` is ``prefix`` or below it, on segment boundaries:
    ``/docs`` covers ``/docs/x`` but not ``/docsevil``."""
    path = path or "/"
    prefix = prefix or "/"
    if prefix.endswith("/"):
        return path.startswith(prefix) or path == prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def redact_url(url: object) -> str:
    """The URL with secret-bearing query parameters masked, for traces and errors."""
    text = str(url)
    parts = urlsplit(text)
    if not parts.query:
        return text
    params = [(k, "redacted" if k.lower() in _SECRET_QUERY_KEYS else v)
              for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(params)))


def _shorten(text: object, limit: int = 200) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return text if len(text) <= limit else text[:limit] + "..."
