"""The ``agentfetch auth`` commands as flows: login, a token for a URL, logout with revocation."""

from __future__ import annotations

import httpx

from .._urls import redact_url
from .._version import USER_AGENT
from ..errors import AuthorizationError, NetworkError, SecurityError
from ..store import Credential, CredentialKey
from ._authorization import authorize
from ._client_identity import client_identity_for
from ._refresh import refresh
from ._steps import Flow, Settings, expiring, union
from .binding import require_secure_endpoint
from .challenge import find_bearer

__all__ = ["login", "access_token", "logout"]


def login(s: Settings, url: str, scopes: tuple[str, ...]) -> Flow[Credential]:
    """Authorize ``url`` now: GET it to see its challenge; without one, probe
    the well-known PRM (a resource may serve public pages too)."""
    probe = httpx.Request("GET", url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    response = yield from s.send("probe", probe, None)
    bearer = None
    if response.status_code in (401, 403):
        bearer = find_bearer(response.headers.get_list("www-authenticate"))
    wanted = union(scopes, bearer.scopes if bearer else ())
    current = s.bound_credential(url)
    credential = yield from authorize(s, None, bearer, scopes=wanted, stale=current, force=True, url=url)
    return credential


def access_token(s: Settings, url: str) -> Flow[str]:
    """A valid access token for ``url``, refreshed when it is due; never a new sign-in."""
    credential = s.bound_credential(url)
    if credential is None:
        raise AuthorizationError(f"no stored authorization for {redact_url(url)}", hint=_login_hint(url))
    if expiring(credential):
        refreshed = (yield from refresh(s, credential, None)) if credential.tokens.refresh_token else None
        if refreshed is None:
            raise AuthorizationError(
                f"the stored authorization for {redact_url(url)} has expired", hint=_login_hint(url)
            )
        credential = refreshed
    return credential.tokens.access_token


def logout(s: Settings, url: str | None, everything: bool) -> Flow[list[CredentialKey]]:
    """RFC 7009 revocation where offered, then local deletion, which happens
    even when revocation fails. Returns the keys removed."""
    if everything:
        credentials = s.store.list()
    else:
        assert url is not None, "logout needs a URL unless everything goes"
        found = s.store.find(url)
        credentials = [found] if found is not None else []
    removed: list[CredentialKey] = []
    for credential in credentials:
        yield from _revoke(s, credential)
        s.store.delete(credential.key)
        s.log(f"logout: removed {redact_url(credential.key.resource)} ({redact_url(credential.key.issuer)})")
        removed.append(credential.key)
    return removed


def _revoke(s: Settings, credential: Credential) -> Flow[None]:
    """RFC 7009 §2.1, refresh token first: revoking it ends the grant (§2.1 lets the
    server revoke its access tokens with it). A network or security failure skips
    the rest: local deletion must not wait for a server that is gone."""
    from .tokens import revocation_request, revocation_wants_secret_field

    endpoint = credential.revocation_endpoint
    if not endpoint:
        return
    client = client_identity_for(s, credential.key)
    for token, hint in (
        (credential.tokens.refresh_token, "refresh_token"),
        (credential.tokens.access_token, "access_token"),
    ):
        if not token:
            continue
        try:
            require_secure_endpoint(endpoint, "revocation_endpoint")
            response = yield from s.send(
                f"revoke ({hint})", revocation_request(endpoint, client=client, token=token, token_type_hint=hint), None
            )
            if revocation_wants_secret_field(response, client):
                yield from s.send(
                    f"revoke ({hint}, empty client_secret)",
                    revocation_request(endpoint, client=client, token=token, token_type_hint=hint, empty_secret=True),
                    None,
                )
        except (NetworkError, SecurityError) as exc:
            s.log(f"revoke: skipped for {redact_url(credential.key.resource)}: {exc.message}")
            return


def _login_hint(url: str) -> str:
    return f"run `agentfetch auth login {url}`"
