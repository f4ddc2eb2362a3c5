"""User configuration for client identity (docs/protocol.md, client identity).

``config_dir()/config.toml``::

    [client]                       # Client ID Metadata Document, for servers that support it
    metadata_url = "https://agent.example/agentfetch.json"

    [issuers."https://login.example.com"]
    client_id = "my-registered-client"
    client_secret = "..."          # only for confidential clients; optional
    redirect_uri = "http://127.0.0.1:8765/callback"   # optional: the one registered

    [issuers."https://as.example.com"]
    initial_access_token = "..."   # RFC 7591 §3: for a registration endpoint that requires one

``AGENTFETCH_CLIENT_ID`` (any issuer) and ``AGENTFETCH_CLIENT_METADATA_URL`` override.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from .._config import config_file, load_config

__all__ = ["ConfiguredClient", "configured_client", "client_metadata_url", "initial_access_token", "HOW_TO_CONFIGURE"]

HOW_TO_CONFIGURE = (
    'register a client for it and set client_id under [issuers."{issuer}"] in {path}, '
    "or set AGENTFETCH_CLIENT_ID"
)


@dataclass(frozen=True)
class ConfiguredClient:
    client_id: str
    client_secret: str | None = None
    redirect_uri: str | None = None

    def __repr__(self) -> str:
        return f"ConfiguredClient(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"


def config_path() -> str:
    return str(config_file())


def _load() -> dict[str, Any]:
    # One loader for the whole file (agentfetch._config): its errors name the file and the line.
    return load_config()


def configured_client(issuer: str) -> ConfiguredClient | None:
    env = os.environ.get("AGENTFETCH_CLIENT_ID")
    if env:
        return ConfiguredClient(client_id=env, client_secret=os.environ.get("AGENTFETCH_CLIENT_SECRET") or None)
    entry = (_load().get("issuers") or {}).get(issuer) or (_load().get("issuers") or {}).get(issuer.rstrip("/"))
    if not isinstance(entry, dict) or not isinstance(entry.get("client_id"), str):
        return None
    secret = entry.get("client_secret")
    redirect = entry.get("redirect_uri")
    return ConfiguredClient(
        client_id=entry["client_id"],
        client_secret=secret if isinstance(secret, str) else None,
        redirect_uri=redirect if isinstance(redirect, str) else None,
    )


def initial_access_token(issuer: str) -> str | None:
    """RFC 7591 §3: the token an administrator handed out for registering at ``issuer``
    (Spring Authorization Server's registration endpoint takes nothing else)."""
    entry = (_load().get("issuers") or {}).get(issuer) or (_load().get("issuers") or {}).get(issuer.rstrip("/"))
    value = entry.get("initial_access_token") if isinstance(entry, dict) else None
    return value if isinstance(value, str) and value else None


def client_metadata_url() -> str | None:
    env = os.environ.get("AGENTFETCH_CLIENT_METADATA_URL")
    if env:
        return env
    value = (_load().get("client") or {}).get("metadata_url")
    return value if isinstance(value, str) and value else None
