"""Credential store: keyring-backed secrets, a JSON index, cross-process locks.

CONTRACT (implemented by ``agentfetch.store`` modules, used by ``agentfetch.oauth``
and the CLI). Keep these names and signatures stable:

    open_store(*, backend: str | None = None, home: Path | None = None) -> CredentialStore
        backend: "keyring" | "file" | None (None: AGENTFETCH_STORE, else auto-detect).
        home: like AGENTFETCH_HOME, the store lives in home/"data" (default: _paths.data_dir()).

    class CredentialStore:
        backend_name: str                      # "keyring" or "file", for `auth status`
        def find(self, url: str) -> Credential | None
            # the credential whose resource is the longest prefix of url, same origin
        def get(self, key: CredentialKey) -> Credential | None
        def put(self, credential: Credential) -> None      # atomic; secrets to keyring
        def delete(self, key: CredentialKey) -> None
        def list(self) -> list[Credential]
        # non-secret discovery cache (PRM, AS metadata), with a TTL in seconds
        def cache_get(self, namespace: str, key: str) -> dict | None
        def cache_put(self, namespace: str, key: str, value: dict, ttl: float) -> None
        # dynamic registrations, bound to their issuer (client_secret goes to the keyring)
        def registration_get(self, issuer: str) -> dict | None
        def registration_put(self, issuer: str, registration: dict) -> None
        def registration_delete(self, issuer: str) -> None
        # single flight across threads and processes; raises AuthorizationTimeout on timeout
        def lock(self, name: str, timeout: float) -> ContextManager[None]
        def alock(self, name: str, timeout: float) -> AsyncContextManager[None]
        def describe(self) -> str             # "keyring (SecretService)" / "file (~/.../secrets.json)"

Importing this package and finding a credential stored in the file vault load
only the standard library; keyring is imported when the keyring is first
needed (a write, a keyring-held secret, ``describe``), filelock when a lock
is taken (every write takes the store lock). Locks are not reentrant.
"""

from __future__ import annotations

from ._model import Credential, CredentialKey, TokenSet
from ._store import CredentialStore, Registration, open_store
from ._summary import credential_summary

__all__ = ["Credential", "CredentialKey", "CredentialStore", "Registration", "TokenSet", "credential_summary", "open_store"]
