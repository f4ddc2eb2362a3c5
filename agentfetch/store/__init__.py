"""Credential store: keyring-backed secrets, a JSON index, cross-process locks.

The contract is :class:`CredentialStore`, a ``typing.Protocol`` (``_contract.py``):
find / get / put / delete / list for credentials bound to (issuer, resource,
client id), registration_get / _put / _delete for dynamic registrations bound
to their issuer, cache_get / cache_put for the non-secret discovery cache with
a TTL, lock / alock for single flight across threads, coroutines and processes
(AuthorizationTimeout on timeout), and backend_name / describe for ``auth status``.
``agentfetch.oauth`` and the CLI depend on that Protocol only.

    open_store(*, backend: str | None = None, home: Path | None = None) -> LocalCredentialStore
        backend: "keyring" | "file" | None (None: AGENTFETCH_STORE, else auto-detect).
        home: like AGENTFETCH_HOME, the store lives in home/"data" (default: _paths.data_dir()).

Importing this package and finding a credential stored in the file vault load
only the standard library; keyring is imported when the keyring is first
needed (a write, a keyring-held secret, ``describe``), filelock when a lock
is taken (every write takes the store lock). Locks are not reentrant.
"""

from __future__ import annotations

from ._contract import CredentialStore
from ._model import Credential, CredentialKey, TokenSet
from ._store import LocalCredentialStore, Registration, open_store
from ._summary import credential_summary

__all__ = [
    "Credential",
    "CredentialKey",
    "CredentialStore",
    "LocalCredentialStore",
    "Registration",
    "TokenSet",
    "credential_summary",
    "open_store",
]
