"""Where a token may go: RFC 6750 §5.3, RFC 9728 §7 and RFC 8252 §8.3.

A bearer token is sent only to URLs under the resource identifier it was
issued for, on the same origin, and never over plain HTTP except to a
loopback host (where nobody on the network can read it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .._urls import is_loopback_host, origin, path_is_under, shorten
from ..errors import InsecureTransport, UsageError

__all__ = ["is_secure_url", "may_send_token", "require_secure_endpoint"]


def is_secure_url(url: str) -> bool:
    scheme, host, _ = origin(url)
    return scheme == "https" or is_loopback_host(host)


def may_send_token(resource: str, url: str) -> bool:
    """May a token issued for ``resource`` be sent to ``url``?"""
    try:
        if origin(resource) != origin(url) or not is_secure_url(url):
            return False
    except UsageError:
        return False
    return path_is_under(urlsplit(url).path, urlsplit(resource).path)


def require_secure_endpoint(url: object, what: str) -> str:
    """An OAuth endpoint must be an absolute https URL, or http on loopback."""
    if not isinstance(url, str):
        raise InsecureTransport(f"{what} is not a URL")
    try:
        secure = is_secure_url(url)
    except UsageError as exc:
        raise InsecureTransport(f"{what} is not an http(s) URL: {shorten(url)}") from exc
    if not secure:
        raise InsecureTransport(f"refusing plain-HTTP {what} on a non-loopback host: {shorten(url)}")
    return url

