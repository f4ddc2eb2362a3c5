"""OAuth 2.0 Device Authorization Grant: RFC 8628, for machines without a browser."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from .._terminal import has_unsafe_characters
from .._urls import shorten
from ..errors import AuthorizationError
from ._http import form_request, json_body
from .binding import require_secure_endpoint
from .tokens import ClientIdentity, client_auth

__all__ = ["DEVICE_GRANT", "DeviceAuthorization", "device_authorization_request", "parse_device_authorization",
           "device_token_request"]

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class DeviceAuthorization:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


def device_authorization_request(
    endpoint: str, *, client: ClientIdentity, scopes: tuple[str, ...], resource: str
) -> httpx.Request:
    form = {"resource": resource}
    if scopes:
        form["scope"] = " ".join(scopes)
    return form_request(endpoint, form, client_auth(client, form))


def device_token_request(
    token_endpoint: str, *, client: ClientIdentity, device_code: str, resource: str
) -> httpx.Request:
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "resource": resource}
    return form_request(token_endpoint, form, client_auth(client, form))


def parse_device_authorization(response: httpx.Response) -> DeviceAuthorization:
    """RFC 8628 §3.2; ``interval`` defaults to 5 seconds."""
    body = json_body(response)
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise AuthorizationError(
            f"device authorization refused: HTTP {response.status_code}"
            + (f" {shorten(str(error), 60)}" if error else "")
        )
    device_code, user_code, uri = body.get("device_code"), body.get("user_code"), body.get("verification_uri")
    if not all(isinstance(v, str) and v for v in (device_code, user_code, uri)):
        raise AuthorizationError("device authorization response lacks device_code, user_code or verification_uri")
    if has_unsafe_characters(user_code):  # type: ignore[arg-type]
        # The code is shown to the human to type elsewhere: nothing in it may act on the terminal.
        raise AuthorizationError("device authorization response has control characters in its user_code")
    require_secure_endpoint(uri, "verification_uri")
    complete = body.get("verification_uri_complete")
    if isinstance(complete, str):
        require_secure_endpoint(complete, "verification_uri_complete")
    else:
        complete = None
    return DeviceAuthorization(
        device_code=device_code,  # type: ignore[arg-type]
        user_code=user_code,  # type: ignore[arg-type]
        verification_uri=uri,  # type: ignore[arg-type]
        verification_uri_complete=complete,
        expires_in=_seconds(body.get("expires_in"), 600.0, MAX_DEVICE_WAIT),
        interval=_seconds(body.get("interval"), 5.0, MAX_INTERVAL),
    )


#: Caps on what the server states: the wait is bounded by --auth-timeout anyway.
MAX_DEVICE_WAIT = 24 * 3600.0
MAX_INTERVAL = 300.0


def _seconds(value: object, default: float, cap: float) -> float:
    """A positive number of seconds, ``default`` when absent or not one, at most ``cap``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return default
    return float(min(value, cap))
