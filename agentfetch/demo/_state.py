"""What the authorization server remembers: clients, pending authorizations, codes, grants, sessions.

All of it sits behind one lock: the server answers many clients at once and
refresh-token rotation must be atomic (two refreshes with one token: one wins).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from ._dpop import DPoPVerifier

#: The header pair of a service token, and the header of the short-lived token a helper obtains with it.
SERVICE_ID_HEADER = "CF-Access-Client-Id"
SERVICE_SECRET_HEADER = "CF-Access-Client-Secret"
APP_TOKEN_HEADER = "cf-access-token"


def new_secret(prefix: str = "", nbytes: int = 24) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


@dataclass
class Client:
    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    scope: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    issued_at: int = field(default_factory=lambda: int(time.time()))
    #: The pre-registered client accepts any loopback redirect URI.
    any_loopback: bool = False
    #: RFC 9449 §5.2 ``dpop_bound_access_tokens``: this client's tokens must be DPoP-bound.
    dpop_bound: bool = False

    def metadata(self) -> dict[str, object]:
        """The RFC 7591 §3.2.1 registration response body."""
        data: dict[str, object] = {
            "client_id": self.client_id,
            "client_id_issued_at": self.issued_at,
            "client_name": self.client_name,
            "redirect_uris": list(self.redirect_uris),
            "grant_types": list(self.grant_types),
            "response_types": list(self.response_types),
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
        }
        if self.scope:
            data["scope"] = self.scope
        if self.dpop_bound:
            data["dpop_bound_access_tokens"] = True
        if self.client_secret:
            data["client_secret"] = self.client_secret
            data["client_secret_expires_at"] = 0
        return data


@dataclass(frozen=True)
class ServiceToken:
    """A machine credential sent as a header pair, as access proxies issue to CI jobs and scripts.

    It identifies a program, not a person: no OAuth, no consent, no user in the audit trail."""

    name: str
    client_id: str
    client_secret: str = field(repr=False)

    @classmethod
    def generate(cls, name: str) -> ServiceToken:
        return cls(name, secrets.token_hex(16) + ".access", secrets.token_hex(32))

    def headers(self) -> dict[str, str]:
        return {SERVICE_ID_HEADER: self.client_id, SERVICE_SECRET_HEADER: self.client_secret}


@dataclass
class PendingAuthorization:
    """An authorization request (or an RFC 8628 device request) waiting for login and consent."""

    txn: str
    client_id: str
    scopes: tuple[str, ...]
    resource: str
    redirect_uri: str = ""
    #: RFC 6749 §4.1.3: the token request must repeat redirect_uri only if the client sent it here.
    redirect_uri_sent: bool = True
    state: str | None = None
    code_challenge: str = field(default="", repr=False)
    code_challenge_method: str = "S256"
    device_code: str | None = field(default=None, repr=False)
    created: float = field(default_factory=time.time)
    #: RFC 9470 / OIDC: what the sign-in must satisfy. ``acr`` is the class the user must reach.
    acr: str | None = None
    max_age: int | None = None
    #: RFC 9449 §10: the key the code will be bound to (``dpop_jkt`` or the PAR request's proof).
    dpop_jkt: str | None = None


@dataclass
class PushedRequest:
    """An RFC 9126 pushed authorization request, waiting for its ``request_uri`` at the authorization endpoint."""

    client_id: str
    params: dict[str, list[str]] = field(repr=False)
    expires_at: float
    dpop_jkt: str | None = None


@dataclass
class SignIn:
    """How and when a browser session's user last authenticated (RFC 9470 ``acr``, ``auth_time``)."""

    user: str
    acr: str
    auth_time: float


@dataclass
class AuthorizationCode:
    client_id: str
    redirect_uri: str
    redirect_uri_sent: bool
    user: str
    scopes: tuple[str, ...]
    resource: str
    code_challenge: str
    code_challenge_method: str
    expires_at: float
    used: bool = False
    grant_id: str | None = None
    acr: str | None = None
    auth_time: float | None = None
    dpop_jkt: str | None = None


@dataclass
class Grant:
    """What a user approved for a client: the refresh token and the access tokens hang off it."""

    grant_id: str
    user: str
    client_id: str
    scopes: tuple[str, ...]
    resource: str
    refresh_token: str | None = field(default=None, repr=False)
    refresh_expires_at: float = 0.0
    revoked: bool = False
    access_ids: set[str] = field(default_factory=set)
    acr: str | None = None
    auth_time: float | None = None
    #: RFC 9449 §5: the key the refresh token (of a public client) and the access tokens are bound to.
    jkt: str | None = None


@dataclass
class DeviceAuthorization:
    device_code: str = field(repr=False)
    user_code: str
    client_id: str
    scopes: tuple[str, ...]
    resource: str
    expires_at: float
    interval: float
    #: pending, approved, denied, used
    status: str = "pending"
    user: str | None = None
    granted_scopes: tuple[str, ...] = ()
    last_poll: float = 0.0


@dataclass
class AccessToken:
    jti: str
    grant_id: str
    user: str
    client_id: str
    scopes: tuple[str, ...]
    audience: str
    issued_at: float
    expires_at: float
    acr: str | None = None
    auth_time: float | None = None
    #: RFC 9449 §6: ``cnf.jkt``; None for a bearer token.
    jkt: str | None = None


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clients: dict[str, Client] = {}
        self.pending: dict[str, PendingAuthorization] = {}
        self.codes: dict[str, AuthorizationCode] = {}
        self.grants: dict[str, Grant] = {}
        #: refresh token -> grant id; rotated tokens stay here mapped to None so reuse is recognised.
        self.refresh_tokens: dict[str, str | None] = {}
        self.devices: dict[str, DeviceAuthorization] = {}
        self.user_codes: dict[str, str] = {}
        #: Every access token by jti (JWTs) and opaque tokens by value -> jti.
        self.access: dict[str, AccessToken] = {}
        self.opaque: dict[str, str] = {}
        self.revoked_access: set[str] = set()
        #: session cookie value -> user
        self.sessions: dict[str, str] = {}
        #: session cookie value -> how the user signed in (RFC 9470)
        self.sign_ins: dict[str, SignIn] = {}
        #: RFC 9126 request_uri -> the pushed request
        self.pushed: dict[str, PushedRequest] = {}
        #: RFC 9449: proof checks (seen jti, nonce) of the authorization server and of the resource.
        self.dpop_as = DPoPVerifier()
        self.dpop_rs = DPoPVerifier()
        #: Access tokens issued before this instant count as expired (``DemoServer.expire_tokens``).
        self.not_before: float = 0.0

    def revoke_grant(self, grant_id: str | None) -> None:
        with self.lock:
            grant = self.grants.get(grant_id or "")
            if grant is None:
                return
            grant.revoked = True
            if grant.refresh_token:
                self.refresh_tokens[grant.refresh_token] = None
            self.revoked_access.update(grant.access_ids)
