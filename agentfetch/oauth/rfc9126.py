"""OAuth 2.0 Pushed Authorization Requests (PAR): RFC 9126, the client side.

The client POSTs every authorization parameter (PKCE, ``resource``, ``state``,
scopes, redirect URI) to the PAR endpoint over the back channel, with its
client authentication, and gets a short-lived ``request_uri``. The browser is
then sent to the authorization endpoint with only ``client_id`` and
``request_uri`` (§4), so nothing of the request can be read or altered in the
front channel. A server that sets ``require_pushed_authorization_requests``
accepts nothing else, so a failing PAR endpoint ends the flow (no fallback).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from .._urls import shorten
from ..errors import AuthorizationError
from ._http import form_request, json_body

__all__ = [
    "PushedAuthorization",
    "PushedAuthorizationError",
    "authorization_url",
    "par_request",
    "parse_par_response",
]

class PushedAuthorizationError(AuthorizationError):
    """The PAR endpoint refused or failed (§2.3); ``error`` is the OAuth error code or ``""``."""

    kind = "pushed_authorization"

    def __init__(self, message: str, *, error: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.error = error
        self.status = status


@dataclass(frozen=True)
class PushedAuthorization:
    """A pushed request's handle (§2.2)."""

    request_uri: str = field(repr=False)
    expires_in: int
    #: Absolute expiry, seconds since the epoch.
    expires_at: float


def par_request(endpoint: str, params: Mapping[str, str], headers: Mapping[str, str] | None = None) -> httpx.Request:
    """The push (§2.1): the authorization request's parameters as a form, with client
    authentication in ``headers`` or ``params`` as at the token endpoint. A ``request_uri``
    parameter is not allowed in a push."""
    if "request_uri" in params:
        raise ValueError("a pushed authorization request must not carry request_uri (RFC 9126 §2.1)")
    return form_request(endpoint, dict(params), dict(headers or {}))


def parse_par_response(response: httpx.Response, *, endpoint: str, now: float | None = None) -> PushedAuthorization:
    """§2.2 success (``201`` with ``request_uri`` and ``expires_in``) or §2.3 error."""
    where = shorten(endpoint)
    body = json_body(response)
    body = body if isinstance(body, dict) else None
    if response.status_code not in (200, 201):
        if body and isinstance(body.get("error"), str):
            error = body["error"]
            description = body.get("error_description")
            message = f"the pushed authorization request to {where} was refused: {shorten(error, 60)}"
            if isinstance(description, str) and description:
                message += f": {shorten(description)}"
            raise PushedAuthorizationError(message, error=error, status=response.status_code)
        raise PushedAuthorizationError(
            f"the pushed authorization request endpoint {where} answered HTTP {response.status_code}",
            status=response.status_code,
        )
    if body is None:
        raise PushedAuthorizationError(f"the pushed authorization request endpoint {where} did not answer JSON")
    request_uri = body.get("request_uri")
    expires_in = body.get("expires_in")
    if not isinstance(request_uri, str) or not request_uri or len(request_uri) > 2048:
        raise PushedAuthorizationError(f"the pushed authorization request endpoint {where} returned no request_uri")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        raise PushedAuthorizationError(
            f"the pushed authorization request endpoint {where} returned no positive expires_in"
        )
    issued = now if now is not None else time.time()
    return PushedAuthorization(request_uri, expires_in, issued + expires_in)


def authorization_url(authorization_endpoint: str, *, client_id: str, request_uri: str) -> str:
    """§4: the front-channel URL carries only ``client_id`` and ``request_uri`` (any query the
    endpoint URL already has is kept, RFC 6749 §3.1)."""
    parts = urlsplit(authorization_endpoint)
    query = urlencode({"client_id": client_id, "request_uri": request_uri})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"{parts.query}&{query}" if parts.query else query, ""))
