"""OAuth 2.0 Protected Resource Metadata: RFC 9728."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._urls import has_userinfo, origin, path_is_under, shorten
from ..errors import AuthorizationError, MetadataMismatch, UsageError

__all__ = ["WELL_KNOWN", "ProtectedResource", "well_known_urls", "parse_protected_resource"]

WELL_KNOWN = "/.well-known/oauth-protected-resource"


@dataclass(frozen=True)
class ProtectedResource:
    #: The resource identifier: the RFC 8707 ``resource`` parameter, and what tokens are bound to.
    resource: str
    authorization_servers: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    #: Where this document came from.
    metadata_url: str
    resource_name: str | None = None


def well_known_urls(url: str) -> list[str]:
    """RFC 9728 §3.1: path-inserted first, then the root form (when it differs).

    ``https://h/docs/x`` gives ``https://h/.well-known/oauth-protected-resource/docs/x``
    and then ``https://h/.well-known/oauth-protected-resource``.
    """
    origin(url)  # UsageError for what is not an http(s) URL
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    root = urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN, "", ""))
    if not path:
        return [root]
    return [urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", "")), root]


def resource_for_well_known(metadata_url: str) -> str:
    """The resource identifier a well-known URL was built from (RFC 9728 §3.1 inverted)."""
    parts = urlsplit(metadata_url)
    suffix = parts.path[len(WELL_KNOWN) :] if parts.path.startswith(WELL_KNOWN) else parts.path
    return urlunsplit((parts.scheme, parts.netloc, suffix, "", ""))


def _same_identifier(a: str, b: str) -> bool:
    # "https://h" and "https://h/" name the same resource; nothing else is folded.
    if origin(a) != origin(b):  # UsageError first on what is not a URL at all
        return False
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.path or "/") == (pb.path or "/") and pa.query == pb.query


def parse_protected_resource(
    document: Any, *, metadata_url: str, request_url: str, from_challenge: bool
) -> ProtectedResource:
    """Validate a PRM document (RFC 9728 §2, §3.3, §5.1).

    From a well-known probe, ``resource`` MUST be identical to the identifier
    the URL was built from. From a challenge's ``resource_metadata``, it must
    identify the requested URL: same origin and a path prefix of it.
    """
    if not isinstance(document, dict):
        raise AuthorizationError(f"protected resource metadata at {shorten(metadata_url)} is not a JSON object")
    resource = document.get("resource")
    if not isinstance(resource, str) or not resource:
        raise MetadataMismatch(f"protected resource metadata at {shorten(metadata_url)} has no 'resource'")
    if has_userinfo(resource):
        # "https://accounts.example.com@127.0.0.1/" would read as another host in the consent prompt.
        raise MetadataMismatch(
            f"protected resource metadata at {shorten(metadata_url)} names a resource with userinfo "
            f"({shorten(resource)}); refusing it (RFC 9110 §4.2.4 deprecates userinfo in http(s) URIs)"
        )
    try:
        if from_challenge:
            matches = origin(resource) == origin(request_url) and path_is_under(
                urlsplit(request_url).path, urlsplit(resource).path
            )
        else:
            matches = _same_identifier(resource, resource_for_well_known(metadata_url))
    except (UsageError, ValueError):
        matches = False
    if not matches:
        raise MetadataMismatch(
            f"protected resource metadata names resource {shorten(resource)}, "
            f"which does not identify {shorten(request_url)} (RFC 9728 §3.3); refusing to use it"
        )
    servers = document.get("authorization_servers")
    if not isinstance(servers, list) or not servers or not all(isinstance(s, str) and s for s in servers):
        raise AuthorizationError(
            f"protected resource metadata at {shorten(metadata_url)} lists no authorization_servers"
        )
    scopes = document.get("scopes_supported") or []
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise AuthorizationError(f"protected resource metadata at {shorten(metadata_url)} has bad scopes_supported")
    name = document.get("resource_name")
    return ProtectedResource(
        resource=resource,
        authorization_servers=tuple(servers),
        scopes_supported=tuple(scopes),
        metadata_url=metadata_url,
        resource_name=name if isinstance(name, str) else None,
    )
