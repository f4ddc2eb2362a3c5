"""OAuth 2.0 Dynamic Client Registration: RFC 7591 (public native client)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from .._urls import shorten
from .._version import __version__
from ..errors import AuthorizationError, ClientIdentityError, SecurityError
from ..store import Registration
from ._http import json_body, json_post

__all__ = ["registration_request", "parse_registration", "scope_refused", "RegistrationRejected", "USABLE_AUTH_METHODS"]

#: RFC 7591 §2 ``token_endpoint_auth_method`` values this client can honour.
USABLE_AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")


class RegistrationRejected(ClientIdentityError):
    """RFC 7591 §3.2.2 error; ``error`` is e.g. ``invalid_redirect_uri``."""

    def __init__(self, message: str, error: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error = error


def scope_refused(response: httpx.Response) -> bool:
    """A refusal of the registered ``scope``: RFC 7591 §3.2.2 ``invalid_client_metadata``
    about it or ``invalid_scope`` (node oidc-provider registers only scopes it advertises),
    or a policy that names it (Keycloak's Allowed Client Scopes policy answers 403
    ``insufficient_scope``, "Not permitted to use specified clientScope", for ``openid``,
    which it advertises but has no client scope for)."""
    if response.status_code not in (400, 403):
        return False
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return False
    error, description = body["error"], str(body.get("error_description", "")).lower()
    if response.status_code == 400 and error == "invalid_scope":
        return True
    return error in ("invalid_client_metadata", "insufficient_scope") and "scope" in description


def registration_request(
    registration_endpoint: str,
    *,
    redirect_uri: str,
    client_name: str,
    scopes: tuple[str, ...],
    grant_types: tuple[str, ...] = ("authorization_code", "refresh_token"),
    initial_access_token: str | None = None,
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
    request = json_post(registration_endpoint, metadata)
    if initial_access_token:
        request.headers["Authorization"] = f"Bearer {initial_access_token}"  # RFC 7591 §3
    return request


def parse_registration(
    response: httpx.Response, *, issuer: str, redirect_uri: str, scopes: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The stored registration record, bound to ``issuer``.

    A refusal names what an administrator would have to allow: registration policies
    (Keycloak's Trusted Hosts and Allowed Client Scopes, an allow-list of redirect URIs)
    are theirs to change, and the server's description rarely says what was asked."""
    body = json_body(response)
    if response.status_code not in (200, 201):
        hint = _administrator_hint(issuer, redirect_uri, scopes)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            error = body["error"]
            description = body.get("error_description")
            message = f"client registration at {shorten(issuer)} refused: {shorten(error, 60)}"
            if isinstance(description, str) and description:
                message += f": {shorten(description)}"
            raise RegistrationRejected(message, error, hint=hint)
        raise ClientIdentityError(
            f"client registration at {shorten(issuer)} failed with HTTP {response.status_code}", hint=hint
        )
    if not isinstance(body, dict) or not isinstance(body.get("client_id"), str) or not body["client_id"]:
        raise AuthorizationError(f"client registration at {shorten(issuer)} returned no client_id")
    redirect_uris = body.get("redirect_uris")
    if redirect_uris is not None and not (
        isinstance(redirect_uris, list) and any(_same_uri(u, redirect_uri) for u in redirect_uris)
    ):
        # RFC 7591 §3.2.1 lets a server replace metadata, but a redirect URI other than
        # our listener's is one the code would be sent to instead: never use it.
        raise SecurityError(
            f"client registration at {shorten(issuer)} replaced the redirect URI {shorten(redirect_uri)}; "
            "refusing a registration whose callback goes elsewhere"
        )
    secret = body.get("client_secret")
    secret = secret if isinstance(secret, str) and secret else None
    method = body.get("token_endpoint_auth_method") or "none"
    if method not in USABLE_AUTH_METHODS or (method != "none" and secret is None):
        raise ClientIdentityError(
            f"client registration at {shorten(issuer)} demands token_endpoint_auth_method "
            f"{shorten(str(method), 60)!r}" + (" without a client_secret" if method in USABLE_AUTH_METHODS else "")
            + f"; agentfetch can use {', '.join(USABLE_AUTH_METHODS)}"
        )
    expires_at = body.get("client_secret_expires_at")
    if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
        expires_at = None
    return Registration({
        "issuer": issuer,
        "client_id": body["client_id"],
        "client_secret": secret,
        "token_endpoint_auth_method": method,
        # Only ours: the check above makes the server's list hold it.
        "redirect_uris": [redirect_uri],
        "client_secret_expires_at": expires_at,
    })


def _same_uri(stated: object, ours: str) -> bool:
    """The same redirect URI, allowing only what URL libraries change on their
    own: the case of the scheme and the host."""
    if not isinstance(stated, str):
        return False
    if stated == ours:
        return True
    try:
        a, b = urlsplit(stated), urlsplit(ours)
        return (a.scheme.lower(), a.hostname, a.port, a.path, a.query) == (
            b.scheme.lower(), b.hostname, b.port, b.path, b.query
        ) and not a.fragment and a.username is None
    except ValueError:
        return False


def _administrator_hint(issuer: str, redirect_uri: str, scopes: tuple[str, ...]) -> str:
    from ._config import HOW_TO_CONFIGURE, config_path

    asked = f"a public client with redirect URI {shorten(redirect_uri)} (loopback, RFC 8252: any port)"
    if scopes:
        asked += f" and the scopes {shorten(' '.join(scopes))}"
    return (
        f"an administrator of {shorten(issuer)} can allow anonymous dynamic registration of {asked}, "
        f'or hand out an initial access token (set initial_access_token under [issuers."{issuer}"]); '
        "or " + HOW_TO_CONFIGURE.format(issuer=issuer, path=config_path())
    )
