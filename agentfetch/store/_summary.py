"""What a person (``agentfetch auth status``) or an agent (MCP ``auth_status``)
may see of a stored credential: everything but the secrets."""

from __future__ import annotations

from typing import Any

from ._contract import CredentialStore
from ._model import Credential


def credential_summary(credential: Credential, store: CredentialStore) -> dict[str, Any]:
    tokens = credential.tokens
    return {
        "resource": credential.key.resource,
        "issuer": credential.key.issuer,
        "client_id": credential.key.client_id,
        # Only known when the access token was a JWT; opaque tokens are normal.
        "user": credential.subject,
        "scopes": (tokens.scope or "").split(),
        "expires_at": tokens.expires_at,
        "expired": tokens.expires_within(0),
        "refreshable": bool(tokens.refresh_token),
        "storage": store.describe(),
    }
