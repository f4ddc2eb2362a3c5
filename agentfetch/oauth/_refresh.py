"""Refresh (RFC 6749 §6), single flight: one refresh per grant across threads,
coroutines and processes, so a rotating refresh token is spent once."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx

from .._urls import redact_url
from ..store import Credential
from ._client_identity import client_identity_for, forget_registration
from ._steps import (
    AcquireLock,
    Flow,
    ReleaseLock,
    Settings,
    expiring,
    remember_resource_refused,
    resource_lock,
    resource_to_send,
)

__all__ = ["refresh"]

#: Errors after which the grant is gone: drop the tokens and let the caller authorize afresh.
GRANT_GONE = ("invalid_grant", "invalid_client", "unauthorized_client")


def refresh(s: Settings, credential: Credential, template: httpx.Request | None) -> Flow[Credential | None]:
    """A refreshed credential, or None when the grant is gone (tokens dropped).

    Under the resource's lock, a token another process refreshed meanwhile
    is used as is."""
    from .tokens import TokenEndpointError, parse_token_response, refresh_request, resource_refused

    key = credential.key
    stale_token = credential.tokens.access_token
    lock = resource_lock(key.resource)
    yield AcquireLock(lock, s.auth_timeout + 60)
    current = s.store.get(key)
    if current is not None and current.tokens.access_token != stale_token and not expiring(current):
        s.log(f"token: reusing the token another process refreshed for {redact_url(key.resource)}")
        yield ReleaseLock(lock)
        return current
    if current is None or not current.tokens.refresh_token:
        yield ReleaseLock(lock)
        return None
    client = client_identity_for(s, key)
    sent_resource = resource_to_send(s, key.issuer, key.resource)
    request = refresh_request(
        current.token_endpoint, client=client, refresh_token=current.tokens.refresh_token, resource=sent_resource
    )
    response = yield from s.send("token (refresh)", request, template)
    try:
        try:
            tokens = parse_token_response(response, previous=current.tokens)
        except TokenEndpointError as exc:
            if sent_resource is None or not resource_refused(exc):
                raise
            # A grant obtained without resource cannot be refreshed with one (Keycloak).
            remember_resource_refused(s, key.issuer, key.resource, exc.message)
            request = refresh_request(
                current.token_endpoint, client=client, refresh_token=current.tokens.refresh_token, resource=None
            )
            response = yield from s.send("token (refresh, without resource)", request, template)
            tokens = parse_token_response(response, previous=current.tokens)
    except TokenEndpointError as exc:
        if exc.error not in GRANT_GONE:
            raise
        # Policy is re-evaluated at refresh (docs/protocol.md, refresh): the grant
        # is gone. Drop it and let the caller authorize afresh, once.
        s.store.delete(key)
        if exc.error != "invalid_grant":
            forget_registration(s, key)
        s.log(f"token: refresh refused ({exc.error}); stored tokens for {redact_url(key.resource)} dropped")
        yield ReleaseLock(lock)
        return None
    updated = replace(current, tokens=tokens, updated_at=time.time())
    s.store.put(updated)
    yield ReleaseLock(lock)
    return updated
