"""Discovery, fetched and cached: RFC 9728 resource metadata, then RFC 8414 / OIDC server metadata.

The parsers (:mod:`.rfc9728`, :mod:`.rfc8414`) validate; this module decides
which URLs to ask, in which order, and what the store's discovery cache keeps:
validated documents, and "nothing here" answers, for :data:`METADATA_TTL`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from .._urls import redact_url
from ..errors import AuthorizationError
from ._http import json_body, json_get
from ._steps import Flow, Settings
from .binding import require_secure_endpoint

if TYPE_CHECKING:
    from .challenge import BearerChallenge
    from .rfc8414 import AuthorizationServer
    from .rfc9728 import ProtectedResource

__all__ = ["METADATA_TTL", "protected_resource", "authorization_server"]

#: Discovery documents and the "this host has no PRM" answer are cached this long.
METADATA_TTL = 3600.0


def protected_resource(
    s: Settings, url: str, bearer: BearerChallenge | None, template: httpx.Request | None
) -> Flow[ProtectedResource]:
    """RFC 9728: from the challenge's ``resource_metadata`` (§5.1), else the well-known probes (§3.1)."""
    from .rfc9728 import parse_protected_resource, well_known_urls

    if bearer is not None and bearer.resource_metadata:
        metadata_url = require_secure_endpoint(bearer.resource_metadata, "resource_metadata URL")
        document, cached = yield from _cached_json(s, "prm", "PRM", metadata_url, template)
        if document is None:
            raise AuthorizationError(f"protected resource metadata at {redact_url(metadata_url)} is unavailable")
        resource = parse_protected_resource(document, metadata_url=metadata_url, request_url=url, from_challenge=True)
        _remember(s, "prm", metadata_url, document, cached)
        return resource
    for metadata_url in well_known_urls(url):
        document, cached = yield from _cached_json(s, "prm", "PRM", metadata_url, template, probe=True)
        if document is not None:
            resource = parse_protected_resource(
                document, metadata_url=metadata_url, request_url=url, from_challenge=False
            )
            _remember(s, "prm", metadata_url, document, cached)
            return resource
    raise AuthorizationError(
        f"{redact_url(url)} asks for a Bearer token but publishes no protected resource metadata (RFC 9728)"
    )


def authorization_server(s: Settings, issuer: str, template: httpx.Request | None) -> Flow[AuthorizationServer]:
    """RFC 8414 §3.1 then OpenID Connect Discovery 1.0 §4 (docs/protocol.md,
    authorization server metadata); validated, issuer included (RFC 8414 §3.3)."""
    from .rfc8414 import metadata_urls, parse_authorization_server

    require_secure_endpoint(issuer, "issuer")
    found: AuthorizationServer | None = None
    for metadata_url in metadata_urls(issuer):
        document, cached = yield from _cached_json(s, "as", "AS metadata", metadata_url, template)
        if document is None:
            continue
        server = parse_authorization_server(document, issuer=issuer, metadata_url=metadata_url)
        _remember(s, "as", metadata_url, document, cached)
        if found is None and server.registration_endpoint:
            return server
        if found is None:
            # Spring Authorization Server publishes its OIDC Dynamic Client Registration
            # endpoint only in OIDC discovery, not in its RFC 8414 document: look there too.
            found = server
        elif server.registration_endpoint:
            return replace(found, registration_endpoint=server.registration_endpoint)
    if found is not None:
        return found
    raise AuthorizationError(f"no authorization server metadata found for issuer {redact_url(issuer)}")


def _cached_json(
    s: Settings, namespace: str, label: str, url: str, template: httpx.Request | None, *, probe: bool = False
) -> Flow[tuple[dict[str, Any] | None, bool]]:
    """(JSON object or None on 404/410, whether it came from the cache).
    A 404 is cached too, so probes are not repeated within the TTL. A probe
    also takes any other non-JSON answer as "nothing here": single-page
    apps serve their HTML for every path, /.well-known/ included."""
    cached = s.store.cache_get(namespace, url)
    if cached is not None:
        s.log(f"{label}: {redact_url(url)} (cached)")
        document = cached.get("document")
        return (document if isinstance(document, dict) else None), True
    response = yield from s.send(label, json_get(url), template)
    body = json_body(response) if response.status_code == 200 else None
    if response.status_code in (404, 410) or (probe and not isinstance(body, dict)):
        s.store.cache_put(namespace, url, {"document": None}, METADATA_TTL)
        return None, False
    if response.status_code != 200:
        raise AuthorizationError(f"{label} request to {redact_url(url)} answered HTTP {response.status_code}")
    if not isinstance(body, dict):
        raise AuthorizationError(f"{label} at {redact_url(url)} is not a JSON object")
    return body, False


def _remember(s: Settings, namespace: str, url: str, document: dict[str, Any], cached: bool) -> None:
    # Only validated documents are cached, so a bad one is fetched again next time.
    if cached:
        return
    s.store.cache_put(namespace, url, {"document": document}, METADATA_TTL)
