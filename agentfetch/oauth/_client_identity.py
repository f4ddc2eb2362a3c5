"""Who agentfetch is to an authorization server: a configured client, a Client ID
Metadata Document, or an RFC 7591 dynamic registration (docs/protocol.md, client identity).

A new registration is kept in the :class:`ClientPlan`, in memory, until the
grant it serves succeeds: a failed flow stores nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from .._urls import redact_url
from ..errors import ClientIdentityError
from ..store import CredentialKey
from ._steps import Attempt, Flow, Settings, union

if TYPE_CHECKING:
    from ._config import ConfiguredClient
    from .loopback import LoopbackListener
    from .rfc8414 import AuthorizationServer
    from .tokens import ClientIdentity

__all__ = [
    "ClientPlan",
    "plan_client",
    "client_identity_for",
    "forget_registration",
    "register",
    "check_stored_registration",
    "identity_from_registration",
    "identity_from_configured",
]


@dataclass
class ClientPlan:
    """Who we are to one authorization server, and where the callback goes."""

    identity: ClientIdentity | None  # None: register first
    redirect_uri: str | None = None
    redirect_host: str = "127.0.0.1"
    registered: bool = False
    stale_port: bool = False
    new_registration: dict[str, Any] | None = field(default=None, repr=False)  # may hold a client secret


def plan_client(s: Settings, server: AuthorizationServer) -> ClientPlan:
    """In the order of docs/protocol.md (client identity): configured, CIMD, registration."""
    from ._config import HOW_TO_CONFIGURE, client_metadata_url, config_path, configured_client
    from .tokens import ClientIdentity

    configured = configured_client(server.issuer)
    if configured is not None:
        return ClientPlan(identity=identity_from_configured(configured), redirect_uri=configured.redirect_uri)
    cimd = client_metadata_url()
    if cimd and server.client_id_metadata_document_supported:
        return ClientPlan(identity=ClientIdentity(cimd))
    if server.registration_endpoint:
        registration = s.store.registration_get(server.issuer)
        if registration and _registration_usable(registration, server.issuer):
            uris = registration.get("redirect_uris") or []
            return ClientPlan(
                identity=identity_from_registration(registration),
                redirect_uri=uris[0] if uris else None,
                registered=True,
            )
        return ClientPlan(identity=None)
    raise ClientIdentityError(
        f"authorization server {redact_url(server.issuer)} offers no dynamic registration and no client id "
        "is configured for it",
        hint=HOW_TO_CONFIGURE.format(issuer=server.issuer, path=config_path()),
    )


def client_identity_for(s: Settings, key: CredentialKey) -> ClientIdentity:
    """The identity a stored credential was issued to, for refresh and revocation."""
    from ._config import configured_client
    from .tokens import ClientIdentity

    registration = s.store.registration_get(key.issuer)
    if registration and registration.get("client_id") == key.client_id:
        return identity_from_registration(registration)
    configured = configured_client(key.issuer)
    if configured and configured.client_id == key.client_id:
        return identity_from_configured(configured)
    return ClientIdentity(key.client_id)


def forget_registration(s: Settings, key: CredentialKey) -> None:
    """A client the server no longer knows (``invalid_client``) takes its registration with it."""
    registration = s.store.registration_get(key.issuer)
    if registration and registration.get("client_id") == key.client_id:
        s.store.registration_delete(key.issuer)


def register(s: Settings, attempt: Attempt, listener: LoopbackListener) -> Flow[ClientPlan]:
    """RFC 7591 §3.1 for a native public client with this listener's redirect URI.
    The record is kept in memory until the flow succeeds, so a failed flow stores nothing."""
    from ._config import initial_access_token
    from .rfc7591 import parse_registration, registration_request, scope_refused
    from .rfc8628 import DEVICE_GRANT

    server, scopes = attempt.server, attempt.scopes
    assert server.registration_endpoint is not None  # plan_client registers only where there is an endpoint
    endpoint = server.registration_endpoint
    grants: tuple[str, ...] = ("authorization_code", "refresh_token")
    if server.device_authorization_endpoint and DEVICE_GRANT in server.grant_types_supported:
        grants += (DEVICE_GRANT,)
    registered = union(server.scopes_supported, scopes) if server.scopes_supported else scopes

    def request_for(registered: tuple[str, ...]) -> httpx.Request:
        return registration_request(
            endpoint,
            redirect_uri=listener.redirect_uri,
            client_name=s.client_name,
            scopes=registered,
            grant_types=grants,
            initial_access_token=initial_access_token(server.issuer),
        )

    response = yield from s.send("registration", request_for(registered), attempt.template)
    if server.scopes_supported and set(registered) - set(server.scopes_supported) and scope_refused(response):
        # node oidc-provider registers only scopes it advertises; a resource's own scopes
        # (RFC 8707) are not among them, yet may be requested. Register the advertised ones.
        s.log("registration: the server refused scopes it does not advertise; registering its own")
        registered = server.scopes_supported
        response = yield from s.send("registration", request_for(registered), attempt.template)
    if registered and scope_refused(response):
        # Keycloak advertises scopes it will not register (openid) and says not which one:
        # RFC 7591 §2 lets a server pick the scopes of a client registered without any.
        s.log("registration: the server refused the scopes; registering without, so it assigns its defaults")
        registered = ()
        response = yield from s.send("registration", request_for(registered), attempt.template)
    record = parse_registration(response, issuer=server.issuer, redirect_uri=listener.redirect_uri, scopes=scopes)
    s.log(f"registration: client_id={record['client_id']} redirect_uri={listener.redirect_uri}")
    return ClientPlan(
        identity=identity_from_registration(record),
        redirect_uri=listener.redirect_uri,
        redirect_host=listener.redirect_host,
        registered=True,
        new_registration=record,
    )


def check_stored_registration(s: Settings, authorization_url: str, template: httpx.Request | None) -> Flow[None]:
    """Servers may forget a registration (a restart of an in-memory store),
    and for an unknown client_id RFC 6749 §4.1.2.1 forbids redirecting back:
    the human would face the server's error page while the listener waits
    out the timeout. So before a stored registration goes to the browser,
    the authorization URL is asked once; an error status means register again."""
    from .authorize import RedirectUriRejected

    check = httpx.Request("GET", authorization_url, headers={"Accept": "text/html"})
    response = yield from s.send("authorize check", check, template)
    if response.status_code >= 400:
        raise RedirectUriRejected(f"the authorization server refused the stored registration ({response.status_code})")


def identity_from_registration(registration: dict[str, Any]) -> ClientIdentity:
    from .tokens import ClientIdentity

    secret = registration.get("client_secret")
    method = registration.get("token_endpoint_auth_method") or ("client_secret_basic" if secret else "none")
    return ClientIdentity(registration["client_id"], secret if isinstance(secret, str) else None, method)


def identity_from_configured(configured: ConfiguredClient) -> ClientIdentity:
    from .tokens import ClientIdentity

    method = "client_secret_basic" if configured.client_secret else "none"
    return ClientIdentity(configured.client_id, configured.client_secret, method)


def _registration_usable(registration: dict[str, Any], issuer: str) -> bool:
    """Bound to this issuer, and its client secret (if any) not expired (RFC 7591 §3.2.1)."""
    expires = registration.get("client_secret_expires_at")
    if isinstance(expires, (int, float)) and not isinstance(expires, bool) and 0 < expires <= time.time():
        return False
    return bool(registration.get("issuer", issuer) == issuer)

