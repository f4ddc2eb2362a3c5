"""OAuth 2.0 Dynamic Client Registration: RFC 7591 (public native client)."""

from __future__ import annotations

from typing import Any

import httpx

from .._version import __version__
from ..errors import AuthorizationError, ClientIdentityError
from ..store import Registration
from ._http import json_body, json_post
from .binding import _shorten

__all__ = ["registration_request", "parse_registration", "RegistrationRejected"]


class RegistrationRejected(ClientIdentityError):
    """RFC 7591 §3.2.2 error; ``error`` is e.g. ``invalid_redirect_uri``."""

    def __init__(self, message: str, error: str) -> None:
        super().__init__(message)
        self.error = error


def registration_request(
    registration_endpoint: str,
    *,
    redirect_uri: str,
    client_name: str,
    scopes: tuple[str, ...],
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
) -> httpx.Request:
    metadata: dict[str, Any] = {
        "client_name": client_name,
        "software_id": "agentfetch",
        "software_version": __version__,
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "none",
        "grant_types": list(grant_types),
        "response_types": ["code"],
        # OIDC Dynamic Registration: http loopback redirects are allowed only
        # for native clients (node oidc-provider refuses them for "web").
        "application_type": "native",
    }
    if scopes:
        # Some servers (MCP Python SDK) refuse later requests for scopes the
        # client did not register.
        metadata["scope"] = " ".join(scopes)
    return json_post(registration_endpoint, metadata)


def parse_registration(response: httpx.Response, *, issuer: str, redirect_uri: str) -> dict[str, Any]:
    """The stored registration record, bound to ``issuer``."""
    body = json_body(response)
    if response.status_code not in (200, 201):
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            error = body["error"]
            description = body.get("error_description")
            message = f"client registration at {_shorten(issuer)} refused: {_shorten(error, 60)}"
            if isinstance(description, str) and description:
                message += f": {_shorten(description)}"
            raise RegistrationRejected(message, error)
        raise ClientIdentityError(
            f"client registration at {_shorten(issuer)} failed with HTTP {response.status_code}"
        )
    if not isinstance(body, dict) or not isinstance(body.get("client_id"), str) or not body["client_id"]:
        raise AuthorizationError(f"client registration at {_shorten(issuer)} returned no client_id")
    redirect_uris = body.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris:
        redirect_uris = [redirect_uri]
    secret = body.get("client_secret")
    return Registration({
        "issuer": issuer,
        "client_id": body["client_id"],
        "client_secret": secret if isinstance(secret, str) and secret else None,
        "token_endpoint_auth_method": body.get("token_endpoint_auth_method") or "none",
        "redirect_uris": [u for u in redirect_uris if isinstance(u, str)],
        "client_secret_expires_at": body.get("client_secret_expires_at"),
    })
