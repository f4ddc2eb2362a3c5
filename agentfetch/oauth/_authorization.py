"""A new grant for a protected resource: discovery, then under the resource's lock
one sign-in for every agent waiting on it, trying each authorization server in turn.

Single flight: agents queued on the lock use the credential the first one
obtained, or learn how its sign-in failed, instead of each asking the human again.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import httpx

from .._urls import redact_url
from ..errors import AgentFetchError, AuthorizationError, NetworkError, SecurityError
from ..store import Credential
from ._client_identity import plan_client
from ._discovery import authorization_server, protected_resource
from ._grants import browser_flow
from ._steps import AcquireLock, Attempt, Flow, ReleaseLock, Settings, expiring, resource_lock, scope_tuple

if TYPE_CHECKING:
    from .challenge import BearerChallenge

__all__ = ["FAILURE_TTL", "authorize"]

#: How long agents queued behind a failed sign-in learn of its failure instead of retrying it.
FAILURE_TTL = 60.0


def authorize(
    s: Settings,
    request: httpx.Request | None,
    bearer: BearerChallenge | None,
    *,
    scopes: tuple[str, ...],
    stale: Credential | None,
    force: bool = False,
    url: str | None = None,
) -> Flow[Credential]:
    """Discovery, then (under the resource's lock) consent, browser, callback and token.

    Every server in ``authorization_servers`` is tried in order until one
    gets as far as the human (RFC 9728 §2); errors from the human's side end the flow.
    ``force``: a sign-in even when a stored grant is fresh, unless it already covers ``scopes``."""
    if not url:
        assert request is not None, "authorize needs the request or its URL"
        url = str(request.url)
    resource = yield from protected_resource(s, url, bearer, request)
    requested = scopes or resource.scopes_supported
    lock = resource_lock(resource.resource)
    waiting_since = time.time()
    yield AcquireLock(lock, s.auth_timeout + 60)
    existing = _fresh_credential(s, url, resource.resource, stale, requested, force)
    if existing is not None:
        s.log(f"token: reusing the token another process obtained for {redact_url(resource.resource)}")
        yield ReleaseLock(lock)
        return existing
    _raise_failure_seen_while_waiting(s, resource.resource, waiting_since)
    failures: list[AgentFetchError] = []
    for issuer in resource.authorization_servers:
        try:
            server = yield from authorization_server(s, issuer, request)
            client_plan = plan_client(s, server)
        except (AuthorizationError, SecurityError, NetworkError) as exc:
            s.log(f"AS: {redact_url(issuer)} unusable: {exc.message}")
            failures.append(exc)
            continue
        attempt = Attempt(resource, server, requested, request)
        try:
            credential = yield from browser_flow(s, attempt, client_plan)
        except AgentFetchError as exc:
            _remember_failure(s, resource.resource, exc)
            raise
        yield ReleaseLock(lock)
        return credential
    # Prefer a security refusal: it is what the human must hear about.
    raise next((f for f in failures if isinstance(f, SecurityError)), failures[0])


def _fresh_credential(
    s: Settings, url: str, resource: str, stale: Credential | None, scopes: tuple[str, ...], force: bool
) -> Credential | None:
    """A credential another process stored while we waited for the lock."""
    current = s.bound_credential(url)
    if current is None or current.key.resource != resource:
        return None
    if stale is not None and current.tokens.access_token == stale.tokens.access_token:
        return None
    if expiring(current):
        return None
    if force and not set(scopes) <= set(scope_tuple(current.tokens.scope)):
        return None
    return current


def _remember_failure(s: Settings, resource: str, error: AgentFetchError) -> None:
    """Tell the agents queued on this resource's lock how the flow ended, so
    they do not each ask the human again (one consent, one browser, N agents)."""
    note = {"at": time.time(), "kind": error.kind, "message": error.message, "hint": error.hint}
    s.store.cache_put("oauth-failure", resource, note, FAILURE_TTL)


def _raise_failure_seen_while_waiting(s: Settings, resource: str, since: float) -> None:
    note = s.store.cache_get("oauth-failure", resource)
    if not note or not isinstance(note.get("at"), (int, float)) or note["at"] < since:
        return
    cls = _error_class(str(note.get("kind")))
    message = str(note.get("message") or "authorization failed")
    hint = note.get("hint")
    s.log(f"consent: another agentfetch process just tried for {redact_url(resource)} and failed")
    raise cls(f"{message} (in another agentfetch process, moments ago)", hint=hint if isinstance(hint, str) else None)


def _error_class(kind: str) -> type[AgentFetchError]:
    """The AuthorizationError or SecurityError subclass with this ``kind``."""
    from .. import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, (AuthorizationError, SecurityError)) and cls.kind == kind:
            return cls
    return AuthorizationError
