"""What the OAuth client and the CLI need of a credential store, as a ``typing.Protocol``.

:func:`agentfetch.store.open_store` returns the one implementation
(:class:`~agentfetch.store.LocalCredentialStore`); ``OAuth(store=...)`` accepts
anything with this shape, and the type checker says when something does not have it.
"""

from __future__ import annotations

import builtins
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Protocol

from ._model import Credential, CredentialKey

__all__ = ["CredentialStore"]


class CredentialStore(Protocol):
    """Credentials bound to (issuer, resource, client id), dynamic registrations
    bound to their issuer, a small discovery cache, and named locks.

    Secrets (tokens, client secrets) never appear in an implementation's
    reprs, logs or errors. Every method may raise :class:`~agentfetch.errors.StoreError`
    when the store cannot be read or written.
    """

    @property
    def backend_name(self) -> str:
        """Where new secrets go ("keyring" or "file"), for ``auth status``."""
        ...

    def describe(self) -> str:
        """One line for people: "keyring (SecretService)" or "file (~/.../secrets.json)"."""
        ...

    # -- credentials ---------------------------------------------------------------

    def find(self, url: str) -> Credential | None:
        """The credential whose resource is the longest path prefix of ``url``
        on the same origin (on segment boundaries); the most recently updated
        one when several share that resource. UsageError for a non-http(s) URL."""
        ...

    def get(self, key: CredentialKey) -> Credential | None: ...

    def put(self, credential: Credential) -> None:
        """Store ``credential``, replacing the one with the same key: all or nothing."""
        ...

    def delete(self, key: CredentialKey) -> None:
        """Forget the credential and its secrets; nothing happens when there is none."""
        ...

    def list(self) -> builtins.list[Credential]:
        """Every readable credential, sorted by resource, issuer and client id."""
        ...

    # -- dynamic registrations (RFC 7591 §3.2.1), bound to their issuer --------------

    def registration_get(self, issuer: str) -> dict[str, Any] | None: ...

    def registration_put(self, issuer: str, registration: dict[str, Any]) -> None:
        """UsageError when ``registration`` has no ``client_id``; secrets go to the vault."""
        ...

    def registration_delete(self, issuer: str) -> None: ...

    # -- short-lived secrets kept in the vault (credential helpers' output) --------------

    def secret_get(self, namespace: str, key: str) -> str | None:
        """The secret kept under (``namespace``, ``key``), or None when absent or expired."""
        ...

    def secret_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` in the vault for ``ttl`` seconds; a ttl <= 0 forgets it."""
        ...

    # -- non-secret discovery cache (PRM, AS metadata, failure notes) ------------------

    def cache_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        """The cached JSON object, or None when absent or expired."""
        ...

    def cache_put(self, namespace: str, key: str, value: dict[str, Any], ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds; a ttl <= 0 forgets the entry."""
        ...

    # -- single flight across threads, coroutines and processes; not reentrant ---------

    def lock(self, name: str, timeout: float) -> AbstractContextManager[None]:
        """Hold ``name`` alone; AuthorizationTimeout after ``timeout`` seconds (math.inf: forever)."""
        ...

    def alock(self, name: str, timeout: float) -> AbstractAsyncContextManager[None]:
        """:meth:`lock` for coroutines: never blocks the event loop while waiting."""
        ...
