"""Builders shared by the store tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

from agentfetch.store import Credential, CredentialKey, TokenSet


def make_credential(
    resource: str = "https://app.example/docs",
    *,
    issuer: str = "https://login.example",
    client_id: str = "client-1",
    access_token: str = "at-secret-0001",
    refresh_token: str | None = "rt-secret-0001",
    expires_in: float = 600,
) -> Credential:
    return Credential(
        key=CredentialKey(issuer=issuer, resource=resource, client_id=client_id),
        tokens=TokenSet(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_at=time.time() + expires_in,
            scope="read write",
        ),
        token_endpoint=f"{issuer}/token",
        revocation_endpoint=f"{issuer}/revoke",
        resource_metadata_url=f"{resource}/.well-known/oauth-protected-resource",
        subject="alice",
    )


REPO = Path(__file__).resolve().parents[2]


class MemoryKeyring(KeyringBackend):
    """A complete keyring backend that keeps entries in a dict."""

    priority = 1  # type: ignore[assignment]
    # Only where a test installs it: keyring would otherwise discover this
    # subclass and make it every test's default keyring.
    viable = False  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(username) from None


def spawn(
    code: str,
    *args: str,
    home: Path,
    backend: str | None = "file",
    env_extra: dict[str, str] | None = None,
    **kwargs: object,
) -> subprocess.Popen[str]:
    """Run ``code`` in a fresh interpreter that imports agentfetch from this tree."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "AGENTFETCH_HOME": str(home), **(env_extra or {})}
    env.pop("AGENTFETCH_STORE", None)
    if backend is not None:
        env["AGENTFETCH_STORE"] = backend
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )
