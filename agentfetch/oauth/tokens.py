"""Token endpoint and revocation: RFC 6749 §4.1.3, §5, §6; RFC 7009; RFC 8707."""

from __future__ import annotations

import base64
import math
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from .._urls import shorten
from ..errors import AuthorizationError
from ..store import TokenSet
from ._http import form_request, json_body

__all__ = [
    "ClientIdentity",
    "client_auth",
    "TokenEndpointError",
    "authorization_code_request",
    "refresh_request",
    "revocation_request",
    "revocation_wants_secret_field",
    "resource_refused",
    "parse_token_response",
]


#: What a token may hold: RFC 6750 §2.1 ``b64token`` (RFC 9110 §11.2 ``token68``) widened to all
#: visible ASCII (``VCHAR``), because real servers issue tokens outside b64token: access proxies
#: ``oauth:…`` (the demo's opaque_tokens), Salesforce ``00D…!…``. What is refused is what cannot be
#: a header value safely: white space, CR/LF and other controls, and anything not ASCII.
_TOKEN_CHARACTERS = re.compile(r"[\x21-\x7e]+")
#: Longest lifetime taken as stated (about 317 years, more than any "never" a server
#: writes as 2**31-1 or 2**32); beyond it the expiry would not fit a date.
MAX_EXPIRES_IN = 10**10
_DECIMAL = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class ClientIdentity:
    client_id: str
    client_secret: str | None = None
    #: RFC 7591 ``token_endpoint_auth_method``: none, client_secret_basic or client_secret_post.
    auth_method: str = "none"

    def __repr__(self) -> str:
        return f"ClientIdentity(client_id={self.client_id!r}, auth_method={self.auth_method!r})"


class TokenEndpointError(AuthorizationError):
    """An RFC 6749 §5.2 error from the token endpoint; ``error`` is the code."""

    def __init__(self, error: str, description: str | None, status: int) -> None:
        message = f"token endpoint answered {status} {shorten(error, 60)}"
        if description:
            message += f": {shorten(description)}"
        super().__init__(message)
        self.error = error
        self.description = description or ""
        self.status = status


def client_auth(client: ClientIdentity, form: dict[str, str]) -> dict[str, str]:
    """RFC 6749 §2.3: a public client sends client_id; a confidential one authenticates."""
    headers: dict[str, str] = {}
    if client.client_secret and client.auth_method == "client_secret_basic":
        # §2.3.1: both parts are form-urlencoded before the Basic encoding.
        pair = f"{quote(client.client_id, safe='')}:{quote(client.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    else:
        form["client_id"] = client.client_id
        if client.client_secret:
            form["client_secret"] = client.client_secret
    return headers


def authorization_code_request(
    token_endpoint: str,
    *,
    client: ClientIdentity,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    resource: str | None,
) -> httpx.Request:
    """``resource`` None: the server refused it (see :func:`resource_refused`)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    if resource is not None:
        form["resource"] = resource
    return form_request(token_endpoint, form, client_auth(client, form))


def refresh_request(
    token_endpoint: str, *, client: ClientIdentity, refresh_token: str, resource: str | None
) -> httpx.Request:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if resource is not None:
        form["resource"] = resource
    return form_request(token_endpoint, form, client_auth(client, form))


def resource_refused(error: AuthorizationError) -> bool:
    """RFC 8707 §2 ``invalid_target``: the server will not issue a token for this ``resource``.
    Keycloak's preview resource-indicators feature answers so for a resource that is no
    client's ``resource_url``, and for a refresh that names a resource its grant did not."""
    return isinstance(error, TokenEndpointError) and error.error == "invalid_target"


def revocation_request(
    revocation_endpoint: str, *, client: ClientIdentity, token: str, token_type_hint: str, empty_secret: bool = False
) -> httpx.Request:
    form = {"token": token, "token_type_hint": token_type_hint}
    headers = client_auth(client, form)
    if empty_secret and not client.client_secret:
        # RFC 6749 §2.3.1: a client whose secret is the empty string MAY omit the parameter,
        # so sending it empty says the same thing. See revocation_wants_secret_field.
        form["client_secret"] = ""
    return form_request(revocation_endpoint, form, headers)


def revocation_wants_secret_field(response: httpx.Response, client: ClientIdentity) -> bool:
    """The MCP Python SDK's revocation endpoint (``mcp`` 2.3) requires a ``client_secret``
    form field even from a public client, and answers ``400 invalid_request``
    ``client_secret: Field required`` to one that sends only ``client_id`` (RFC 7009 §2.1).
    True for exactly that answer to a public client: revoke again with an empty secret."""
    if client.client_secret or response.status_code != 400:
        return False
    body = json_body(response)
    return (
        isinstance(body, dict)
        and body.get("error") == "invalid_request"
        and "client_secret" in str(body.get("error_description", ""))
    )


def parse_token_response(
    response: httpx.Response, *, requested_scopes: tuple[str, ...] = (), previous: TokenSet | None = None,
    now: float | None = None,
) -> TokenSet:
    """RFC 6749 §5.1 success or §5.2 error. ``previous`` keeps a refresh token
    the server did not rotate (§6) and the scope when the server omits it."""
    body = json_body(response)
    body = body if isinstance(body, dict) else None
    if response.status_code != 200:
        if body and isinstance(body.get("error"), str):
            description = body.get("error_description")
            raise TokenEndpointError(
                body["error"], description if isinstance(description, str) else None, response.status_code
            )
        raise AuthorizationError(f"token endpoint {shorten(str(response.url))} answered HTTP {response.status_code}")
    if body is None:
        raise AuthorizationError("token endpoint returned something other than a JSON object")
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise AuthorizationError("token endpoint returned no access_token")
    token_type = body.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise AuthorizationError(
            f"token endpoint returned token_type {shorten(str(token_type), 40)!r}; only Bearer is supported"
        )
    # Checked on arrival, before anything can put the token into a header: a CR/LF
    # or a non-ASCII character would make the HTTP library fail with the header
    # (token included) in its message. The token itself is never quoted.
    _require_token_string(access_token, "access_token")
    refresh_token = body.get("refresh_token")
    if isinstance(refresh_token, str) and refresh_token:
        _require_token_string(refresh_token, "refresh_token")
    else:
        refresh_token = previous.refresh_token if previous else None
    lifetime = _lifetime(body.get("expires_in"))
    expires_at = None if lifetime is None else (now if now is not None else time.time()) + lifetime
    scope = body.get("scope")
    if not isinstance(scope, str):
        # RFC 6749 §5.1: scope omitted means "as requested".
        scope = (previous.scope if previous else None) or (" ".join(requested_scopes) or None)
    return TokenSet(
        access_token=access_token,
        token_type="Bearer",
        refresh_token=refresh_token,
        expires_at=expires_at,
        scope=scope,
    )


def is_token_string(value: str) -> bool:
    """Visible ASCII only (see ``_TOKEN_CHARACTERS``): safe after ``Bearer `` in a header."""
    return _TOKEN_CHARACTERS.fullmatch(value) is not None


def _require_token_string(value: str, what: str) -> None:
    if not is_token_string(value):
        # Neither the token nor a piece of it goes into the message.
        raise AuthorizationError(
            f"token endpoint returned an {what} with white space, control or non-ASCII characters, "
            f"which no HTTP header can carry (RFC 6750 §2.1 b64token); refusing it"
        )


def _lifetime(expires_in: object) -> float | None:
    """RFC 6749 §5.1 ``expires_in`` in seconds; None when absent or unusable as
    a number. Negative means already expired (never "forever"); a string of
    digits is taken (seen in the wild); absurdly large is refused."""
    if isinstance(expires_in, str) and _DECIMAL.fullmatch(expires_in.strip()):
        digits = expires_in.strip()
        # int() of thousands of digits is slow or refused (sys.int_info): no need to convert these.
        expires_in = int(digits) if len(digits) <= 20 else (-1 if digits.startswith("-") else MAX_EXPIRES_IN + 1)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        return None
    if isinstance(expires_in, float) and not math.isfinite(expires_in):
        raise AuthorizationError("token endpoint returned a non-finite expires_in; refusing the token")
    if expires_in > MAX_EXPIRES_IN:
        raise AuthorizationError(
            f"token endpoint returned expires_in beyond {MAX_EXPIRES_IN} s; refusing the token"
        )
    return float(max(expires_in, 0))
