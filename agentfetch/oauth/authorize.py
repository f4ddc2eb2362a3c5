"""The authorization request and its callback: RFC 6749 §4.1, RFC 7636,
RFC 8707 (``resource``), RFC 9207 (``iss``) and RFC 6749 §10.12 (``state``)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from .._urls import shorten
from ..errors import AccessDenied, AuthorizationError, CallbackMismatch
from .pkce import new_code_verifier, s256_challenge

__all__ = [
    "AuthorizationRequest",
    "new_authorization_request",
    "code_from_callback",
    "RedirectUriRejected",
    "ResourceRefused",
]


class RedirectUriRejected(AuthorizationError):
    """The server refused our redirect URI: a cue to register again (RFC 8252 §8.4; docs/protocol.md, redirect URIs)."""


class ResourceRefused(AuthorizationError):
    """RFC 8707 §2 ``invalid_target`` for the ``resource`` that was sent: a cue to ask again without it."""


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str = field(repr=False)
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str = field(repr=False)
    code_verifier: str = field(repr=False)


def new_authorization_request(
    *,
    authorization_endpoint: str,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    resource: str | None,
) -> AuthorizationRequest:
    """A fresh ``state`` and ``code_verifier`` every time.

    OIDC Core §11: ``offline_access`` with ``openid`` MUST come with
    ``prompt=consent``, or OpenID Providers (node oidc-provider) issue no
    refresh token."""
    from authlib.oauth2.rfc6749.parameters import prepare_grant_uri

    state = secrets.token_urlsafe(32)
    verifier = new_code_verifier()
    url = prepare_grant_uri(
        authorization_endpoint,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=" ".join(scopes) or None,
        state=state,
        code_challenge=s256_challenge(verifier),
        code_challenge_method="S256",
        resource=resource,
        prompt="consent" if {"openid", "offline_access"} <= set(scopes) else None,
    )
    return AuthorizationRequest(url, redirect_uri, scopes, state, verifier)


def code_from_callback(
    params: Mapping[str, str], *, request: AuthorizationRequest, issuer: str, iss_required: bool
) -> str:
    """Check a callback's ``state`` and ``iss`` and return the code.

    ``state`` is compared in constant time. RFC 9207: ``iss`` is required
    when the server advertises it, and compared whenever present, also on
    error responses (a mix-up attacker can forge those too).
    """
    state = params.get("state", "")
    # surrogatepass: a lone surrogate cannot be UTF-8, but it must fail the comparison, not the encoding.
    if not isinstance(state, str) or not hmac.compare_digest(
        state.encode("utf-8", "surrogatepass"), request.state.encode()
    ):
        raise CallbackMismatch("the authorization callback carried a wrong state; refusing it (RFC 6749 §10.12)")
    iss = params.get("iss")
    if iss is not None and iss != issuer:
        raise CallbackMismatch(
            f"the authorization callback came from issuer {shorten(iss)}, expected {shorten(issuer)} (RFC 9207)"
        )
    if iss is None and iss_required:
        raise CallbackMismatch("the authorization callback lacks the iss parameter the server promised (RFC 9207)")
    error = params.get("error")
    if error:
        description = params.get("error_description") or ""
        message = f"authorization server answered {shorten(error, 60)}"
        if description:
            message += f": {shorten(description)}"
        if error == "access_denied":
            raise AccessDenied(message)
        if error in ("invalid_redirect_uri",) or (error == "invalid_request" and "redirect" in description.lower()):
            raise RedirectUriRejected(message)
        if error == "invalid_target":
            raise ResourceRefused(message)
        raise AuthorizationError(message)
    code = params.get("code")
    if not code:
        raise AuthorizationError("the authorization callback carried neither a code nor an error")
    return code
