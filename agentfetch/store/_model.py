"""The data the credential store keeps, independent of where it keeps it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CredentialKey:
    """Credentials are bound to (issuer, resource, client id): a token is never
    reused for another resource, another authorization server or another client."""

    issuer: str
    resource: str
    client_id: str


@dataclass
class TokenSet:
    """What the token endpoint returned (RFC 6749 §5.1), with the expiry made absolute."""

    access_token: str
    token_type: str = "Bearer"
    refresh_token: str | None = None
    #: Absolute expiry, seconds since the epoch; None when the server gave no ``expires_in``.
    expires_at: float | None = None
    #: Granted scopes, space separated (RFC 6749 §3.3).
    scope: str | None = None

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (now if now is not None else time.time()) + seconds >= self.expires_at

    def __repr__(self) -> str:  # never print secrets, even in a debugger or a traceback
        return (
            f"TokenSet(token_type={self.token_type!r}, expires_at={self.expires_at!r}, "
            f"scope={self.scope!r}, refresh_token={'set' if self.refresh_token else None})"
        )


@dataclass
class Credential:
    """A stored grant: the tokens plus the discovery state needed to refresh
    them after a restart without running discovery again."""

    key: CredentialKey
    tokens: TokenSet
    token_endpoint: str
    revocation_endpoint: str | None = None
    #: Where the Protected Resource Metadata came from (for ``auth status``).
    resource_metadata_url: str | None = None
    #: The user, from the access token's ``sub`` when it is a JWT; never required.
    subject: str | None = None
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
