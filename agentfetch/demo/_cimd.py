"""OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document).

A client whose ``client_id`` is an HTTPS URL publishes its metadata there; the
authorization server fetches it instead of requiring registration. The demo
also accepts ``http`` URLs on loopback hosts, so tests can host the document.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._state import Client

_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_MAX_BYTES = 5 * 1024


class ClientMetadataError(Exception):
    """Why a client metadata document cannot be used (a one-line reason, safe to show)."""


def is_metadata_url(client_id: str) -> bool:
    parts = urlsplit(client_id)
    if parts.scheme == "https":
        return bool(parts.hostname) and parts.path not in ("", "/")
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK and parts.path not in ("", "/")


def fetch_client(client_id: str, *, timeout: float = 5.0) -> Client:
    """Fetch and validate the document at ``client_id``; the result acts like a registered public client."""
    import httpx

    try:
        response = httpx.get(client_id, headers={"Accept": "application/json"}, timeout=timeout,
                             follow_redirects=False)
    except httpx.HTTPError as exc:
        raise ClientMetadataError(f"could not fetch the client metadata document: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise ClientMetadataError(f"the client metadata document answered {response.status_code}")
    if len(response.content) > _MAX_BYTES:
        raise ClientMetadataError("the client metadata document is too large")
    try:
        document = response.json()
    except ValueError:
        raise ClientMetadataError("the client metadata document is not JSON") from None
    if not isinstance(document, dict):
        raise ClientMetadataError("the client metadata document is not a JSON object")
    if document.get("client_id") != client_id:
        raise ClientMetadataError("the document's client_id is not the URL it was fetched from")
    method = document.get("token_endpoint_auth_method", "none")
    if method != "none":
        # Shared secrets make no sense in a public document.
        raise ClientMetadataError(f"token_endpoint_auth_method {method} is not allowed for a metadata document")
    redirect_uris = document.get("redirect_uris")
    if not isinstance(redirect_uris, list) or not redirect_uris or not all(isinstance(u, str) for u in redirect_uris):
        raise ClientMetadataError("the client metadata document needs redirect_uris")
    grant_types = document.get("grant_types", ["authorization_code"])
    if not isinstance(grant_types, list):
        raise ClientMetadataError("grant_types must be an array")
    name = document.get("client_name")
    return Client(
        client_id=client_id,
        client_name=name if isinstance(name, str) and name else urlsplit(client_id).netloc,
        redirect_uris=tuple(redirect_uris),
        grant_types=tuple(str(g) for g in grant_types),
        response_types=("code",),
        token_endpoint_auth_method="none",
        dpop_bound=document.get("dpop_bound_access_tokens") is True,
    )
