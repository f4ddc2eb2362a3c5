"""The credential store: a JSON index of what is stored, secrets in a vault.

Layout under the data directory (0700):

    store.json     index: credentials and registrations, without secrets (0600)
    cache.json     discovery cache (PRM, AS metadata) with absolute expiry (0600)
    secrets.json   secrets, only when the file vault is in use (0600)
    locks/         one lock file per lock name

Every change runs under one store-wide lock (cross-process), as: write the
secrets under a fresh ref, replace the index, then drop the old ref. Reads
take no lock: files are replaced atomically, and a reader that finds an
index entry whose secrets were just replaced reads the index again.
"""

from __future__ import annotations

import builtins
import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, contextmanager
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal, TypeVar, overload
from urllib.parse import urlsplit

from .._urls import origin, path_is_under
from ..errors import AuthorizationTimeout, StoreError, UsageError
from . import _locks
from ._files import JsonDocument, display_path, ensure_private_dir, warn_once
from ._model import Credential, CredentialKey, TokenSet
from ._vaults import FileVault, KeyringVault, Layout, Vault, detect_keyring, new_ref

T = TypeVar("T")

BACKENDS = ("keyring", "file")
#: Token fields that are secrets; every other TokenSet field goes to the index.
TOKEN_SECRETS = ("access_token", "refresh_token")
#: Registration fields that are secrets (RFC 7591 §3.2.1, RFC 7592 §3).
REGISTRATION_SECRETS = ("client_secret", "registration_access_token")
#: How long a store change may wait for another process's change.
STORE_LOCK_TIMEOUT = 30.0
_FALLBACK_NOTICE = "keyring-fallback-noticed"


class Registration(dict[str, Any]):
    """A dynamic client registration (RFC 7591 §3.2.1) as a plain dict whose
    repr hides the client secret."""

    def __repr__(self) -> str:
        shown = {k: ("***" if k in REGISTRATION_SECRETS else v) for k, v in self.items()}
        return f"Registration({shown!r})"


class LocalCredentialStore:
    """The :class:`~agentfetch.store.CredentialStore` of this machine: a JSON index
    in a private directory, secrets in the OS keyring or a private file. Safe to
    share between threads; any number of processes may use the same directory at once."""

    def __init__(self, directory: Path, *, backend: str | None = None) -> None:
        if backend is not None and backend not in BACKENDS:
            raise UsageError(f"unknown credential store backend {backend!r}", hint="use 'keyring' or 'file'")
        self.directory = directory
        self._forced = backend
        self._index = JsonDocument(directory / "store.json", "credential index")
        self._cache = JsonDocument(directory / "cache.json", "discovery cache")
        self._file_vault = FileVault(directory / "secrets.json")
        self._keyring_vault: KeyringVault | None = None
        self._keyring_detected = False
        self._writer: Vault | None = None
        ensure_private_dir(directory)
        if backend == "keyring":
            self._writer = self._require_keyring()

    # -- which vault ---------------------------------------------------------------

    @property
    def backend_name(self) -> str:
        """"keyring" or "file": where new secrets go."""
        return self._writing_vault().name

    def describe(self) -> str:
        """For ``auth status``: "keyring (SecretService)" or "file (~/.local/share/agentfetch/secrets.json)"."""
        return self._writing_vault().describe()

    def __repr__(self) -> str:
        return f"LocalCredentialStore({display_path(self.directory)!r}, backend={self._forced or 'auto'!r})"

    def _writing_vault(self) -> Vault:
        if self._writer is None:
            keyring_vault = None if self._forced == "file" else self._keyring()
            if keyring_vault is None:
                self._notice_fallback()
            self._writer = keyring_vault or self._file_vault
        return self._writer

    def _keyring(self) -> KeyringVault | None:
        # Detected on first need: keyring's backend discovery is slow, and a
        # cached fetch whose secrets are in the file vault never needs it.
        if not self._keyring_detected:
            backend = detect_keyring()
            self._keyring_vault = KeyringVault(backend) if backend is not None else None
            self._keyring_detected = True
        return self._keyring_vault

    def _require_keyring(self) -> KeyringVault:
        keyring_vault = self._keyring()
        if keyring_vault is None:
            raise StoreError(
                "the keyring credential store was asked for, but this system has no usable OS keyring",
                hint="set AGENTFETCH_STORE=file to keep credentials in a private file",
            )
        return keyring_vault

    def _vault(self, name: str) -> Vault | None:
        """The vault an index entry names, or None when it is not available here."""
        if name == "file":
            return self._file_vault
        return self._keyring() if name == "keyring" else None

    def _notice_fallback(self) -> None:
        # Once per data directory, not once per process: agents run the CLI
        # hundreds of times and the line would drown their output. A forced
        # file store is a choice, not news.
        if self._forced == "file":
            return
        try:
            fd = os.open(self.directory / _FALLBACK_NOTICE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            return
        os.close(fd)
        sys.stderr.write(
            f"agentfetch: no OS keyring available; storing credentials in {display_path(self._file_vault.path)} "
            "(mode 0600, set AGENTFETCH_STORE to choose)\n"
        )

    # -- locks -------------------------------------------------------------------

    def _lock_path(self, name: str) -> Path:
        locks = self.directory / "locks"
        ensure_private_dir(locks)
        return locks / (sha256(name.encode()).hexdigest()[:32] + ".lock")

    def lock(self, name: str, timeout: float) -> AbstractContextManager[None]:
        """Hold ``name`` alone among all threads and processes using this store.
        Raises AuthorizationTimeout after ``timeout`` seconds (math.inf: wait forever)."""
        return _locks.hold(self._lock_path(name), timeout, _lock_timeout(name, timeout))

    def alock(self, name: str, timeout: float) -> AbstractAsyncContextManager[None]:
        """:meth:`lock` for coroutines: also single flight among the coroutines of
        one event loop, and never blocks the loop while waiting."""
        return _locks.ahold(self._lock_path(name), timeout, _lock_timeout(name, timeout))

    @contextmanager
    def _changing(self) -> Iterator[None]:
        def busy() -> StoreError:
            return StoreError(
                f"the credential store in {display_path(self.directory)} stayed locked for {STORE_LOCK_TIMEOUT:g}s",
                hint="another agentfetch process is stuck; retry, or end it",
            )

        with _locks.hold(self._lock_path("agentfetch:store"), STORE_LOCK_TIMEOUT, busy):
            yield

    # -- credentials ---------------------------------------------------------------

    def get(self, key: CredentialKey) -> Credential | None:
        entry = _find_entry(self._entries(self._index.read()), key)
        return self._load(entry) if entry is not None else None

    def find(self, url: str) -> Credential | None:
        """The credential whose resource is the longest prefix of ``url`` on the
        same origin (path prefixes on segment boundaries); the most recently
        updated one when several share that resource."""
        target = _origin_and_path(url)
        ranked: list[tuple[int, float, dict[str, Any]]] = []
        for entry in self._entries(self._index.read()):
            resource = _origin_and_path(entry["resource"], strict=False)
            if resource is None or resource[0] != target[0] or not path_is_under(target[1], resource[1]):
                continue
            ranked.append((len(resource[1].rstrip("/")), float(entry.get("updated_at") or 0), entry))
        for _length, _updated, entry in sorted(ranked, key=lambda r: (r[0], r[1]), reverse=True):
            credential = self._load(entry)
            if credential is not None:
                return credential
        return None

    def list(self) -> list[Credential]:
        found = (self._load(entry) for entry in self._entries(self._index.read()))
        present = (c for c in found if c is not None)
        return sorted(present, key=lambda c: (c.key.resource, c.key.issuer, c.key.client_id))

    def put(self, credential: Credential) -> None:
        """Store ``credential``, replacing the one with the same key. All or nothing."""
        _check_credential(credential)
        secrets = {name: getattr(credential.tokens, name) for name in TOKEN_SECRETS}
        secrets = {name: value for name, value in secrets.items() if value is not None}
        with self._changing():
            index = self._index.read_for_update()
            entries = self._entries(index)
            old = _find_entry(entries, credential.key)
            entry = _credential_to_entry(credential)
            entry["updated_at"] = time.time()
            if old is not None and isinstance(old.get("created_at"), (int, float)):
                entry["created_at"] = old["created_at"]
            self._swap(index, "credentials", [e for e in entries if e is not old] + [entry], entry, secrets, old)

    def delete(self, key: CredentialKey) -> None:
        with self._changing():
            index = self._index.read_for_update()
            entries = self._entries(index)
            old = _find_entry(entries, key)
            if old is None:
                return
            index["credentials"] = [e for e in entries if e is not old]
            self._save_index(index)
            self._drop_secrets(old)

    # -- dynamic registrations ----------------------------------------------------------

    def registration_get(self, issuer: str) -> Registration | None:
        entry = self._registrations(self._index.read()).get(issuer)
        if entry is None:
            return None
        return self._with_secrets(
            entry,
            lambda: self._registrations(self._index.read()).get(issuer),
            lambda entry, secrets: Registration({**entry["registration"], **secrets}),
            f"the stored client registration for {issuer} has lost its secret; treating it as absent",
        )

    def registration_put(self, issuer: str, registration: dict[str, Any]) -> None:
        """Store the registration for ``issuer``; its secrets go to the vault."""
        if not isinstance(issuer, str) or not issuer or not isinstance(registration, dict):
            raise UsageError("a registration needs an issuer and a registration object")
        if not isinstance(registration.get("client_id"), str) or not registration["client_id"]:
            raise UsageError(f"the registration for {issuer} has no client_id")
        secrets = {k: registration[k] for k in REGISTRATION_SECRETS if isinstance(registration.get(k), str)}
        public = {k: v for k, v in registration.items() if k not in REGISTRATION_SECRETS}
        with self._changing():
            index = self._index.read_for_update()
            registrations = self._registrations(index)
            old = registrations.get(issuer)
            entry: dict[str, Any] = {"registration": public, "stored_at": time.time()}
            self._swap(index, "registrations", {**registrations, issuer: entry}, entry, secrets, old)

    def registration_delete(self, issuer: str) -> None:
        with self._changing():
            index = self._index.read_for_update()
            registrations = self._registrations(index)
            old = registrations.pop(issuer, None)
            if old is None:
                return
            index["registrations"] = registrations
            self._save_index(index)
            self._drop_secrets(old)

    # -- short-lived secrets (a credential helper's output, by origin) ------------------

    def secret_get(self, namespace: str, key: str) -> str | None:
        """The secret kept under (``namespace``, ``key``), or None when absent or expired."""
        entry = self._secret_entries(self._index.read()).get(_secret_slot(namespace, key))
        if entry is None or not _cache_live(entry, time.time()):
            return None
        return self._with_secrets(
            entry,
            lambda: self._secret_entries(self._index.read()).get(_secret_slot(namespace, key)),
            lambda _entry, secrets: secrets["value"],
            f"a kept {namespace} secret is unreadable; treating it as absent",
        )

    def secret_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        """Keep ``value`` in the vault (keyring, else the private file) for ``ttl`` seconds;
        a ttl <= 0 forgets it. Expired ones are dropped on the way."""
        if not isinstance(namespace, str) or not isinstance(key, str) or not isinstance(value, str):
            raise UsageError("secret namespaces, keys and values are strings")
        if not isinstance(ttl, (int, float)) or math.isnan(ttl):
            raise UsageError(f"secret ttl must be a number of seconds, not {ttl!r}")
        now = time.time()
        with self._changing():
            index = self._index.read_for_update()
            entries = self._secret_entries(index)
            slot = _secret_slot(namespace, key)
            dropped = [entries.pop(k) for k in [k for k, e in entries.items() if k == slot or not _cache_live(e, now)]]
            if ttl > 0:
                entry: dict[str, Any] = {"expires_at": now + min(ttl, 10 * 365 * 86400)}
                self._swap(index, "secrets", {**entries, slot: entry}, entry, {"value": value}, None)
            else:
                index["secrets"] = entries
                self._save_index(index)
            for old in dropped:
                self._drop_secrets(old)

    def _secret_entries(self, index: dict[str, Any]) -> dict[str, dict[str, Any]]:
        raw = index.get("secrets")
        if not isinstance(raw, dict):
            return {}
        return {k: v for k, v in raw.items() if isinstance(v, dict)}

    # -- discovery cache -----------------------------------------------------------

    def cache_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        entry = _cache_slot(self._cache.read(), namespace).get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or not isinstance(value, dict):
            return None
        expires_at = entry.get("expires_at")
        if not isinstance(expires_at, (int, float)) or expires_at <= time.time():
            return None
        return value

    def cache_put(self, namespace: str, key: str, value: dict[str, Any], ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds; a ttl <= 0 forgets the entry."""
        if not isinstance(namespace, str) or not isinstance(key, str):
            raise UsageError("cache namespaces and keys are strings")
        if not isinstance(value, dict):
            raise UsageError("only JSON objects can be cached")
        if not isinstance(ttl, (int, float)) or math.isnan(ttl):
            raise UsageError(f"cache ttl must be a number of seconds, not {ttl!r}")
        now = time.time()
        with self._changing():
            data = self._cache.read_for_update()
            namespaces = data.get("namespaces")
            if not isinstance(namespaces, dict):
                namespaces = {}
            for slot in namespaces.values():  # drop what expired, so the file stays small
                if isinstance(slot, dict):
                    for stale in [k for k, e in slot.items() if not _cache_live(e, now)]:
                        del slot[stale]
            slot = _cache_slot(data, namespace)
            if ttl > 0:
                slot[key] = {"expires_at": now + min(ttl, 10 * 365 * 86400), "value": value}
            else:
                slot.pop(key, None)
            namespaces[namespace] = slot
            self._cache.write({"version": 1, "namespaces": {n: s for n, s in namespaces.items() if s}})

    # -- internals -----------------------------------------------------------------

    def _swap(
        self,
        index: dict[str, Any],
        section: str,
        content: Any,
        entry: dict[str, Any],
        secrets: dict[str, str],
        old: dict[str, Any] | None,
    ) -> None:
        """Point ``entry`` at freshly written ``secrets``, save ``index`` with
        ``section`` = ``content``, then drop ``old``'s secrets. On failure the
        previous state is intact."""
        vault = self._writing_vault() if secrets else self._file_vault
        ref = new_ref()
        layout = vault.write(ref, secrets) if secrets else {}
        entry.update({"vault": vault.name, "ref": ref, "layout": layout})
        index[section] = content
        try:
            self._save_index(index)
        except BaseException:
            vault.remove(ref, layout)
            raise
        if old is not None:
            self._drop_secrets(old)

    def _save_index(self, index: dict[str, Any]) -> None:
        index["version"] = 1
        self._index.write(index)

    def _read_secrets(self, entry: dict[str, Any]) -> dict[str, str] | None:
        layout = entry.get("layout")
        if not isinstance(layout, dict) or not layout:
            return {} if layout == {} else None
        vault = self._vault(str(entry.get("vault")))
        ref = entry.get("ref")
        if vault is None or not isinstance(ref, str):
            return None
        return vault.read(ref, layout)

    def _drop_secrets(self, entry: dict[str, Any]) -> None:
        vault = self._vault(str(entry.get("vault")))
        layout: Layout | Any = entry.get("layout")
        if vault is not None and isinstance(entry.get("ref"), str) and isinstance(layout, dict):
            vault.remove(entry["ref"], layout)

    def _load(self, entry: dict[str, Any]) -> Credential | None:
        key = _entry_key(entry)
        return self._with_secrets(
            entry,
            lambda: _find_entry(self._entries(self._index.read()), key),
            _entry_to_credential,
            f"the stored credential for {key.resource} (issuer {key.issuer}) is unreadable; treating it as absent",
        )

    def _with_secrets(
        self,
        entry: dict[str, Any],
        reread: Callable[[], dict[str, Any] | None],
        build: Callable[[dict[str, Any], dict[str, str]], T],
        unreadable: str,
    ) -> T | None:
        """``build(entry, secrets)``, or None (reported once) when the secrets are
        missing or unusable. Reads take no lock, so a concurrent change may have
        replaced the secrets between our read of the index and of the secrets:
        then the index names a new ref, and we follow it."""
        for _attempt in range(3):
            secrets = self._read_secrets(entry)
            if secrets is not None:
                try:
                    return build(entry, secrets)
                except (KeyError, TypeError, ValueError):
                    break
            fresh = reread()
            if fresh is None:
                return None
            if fresh.get("ref") == entry.get("ref"):
                break
            entry = fresh
        warn_once(("unreadable", entry.get("ref"), unreadable), unreadable)
        return None

    def _entries(self, index: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        raw = index.get("credentials")
        if not isinstance(raw, list):
            return []
        valid = [e for e in raw if isinstance(e, dict) and _entry_key(e, strict=False) is not None]
        if len(valid) != len(raw):
            skipped = len(raw) - len(valid)
            warn_once(
                ("malformed", str(self._index.path), skipped),
                f"ignoring {skipped} malformed entries in the credential index",
            )
        return valid

    def _registrations(self, index: dict[str, Any]) -> dict[str, dict[str, Any]]:
        raw = index.get("registrations")
        if not isinstance(raw, dict):
            return {}
        return {k: v for k, v in raw.items() if isinstance(v, dict) and isinstance(v.get("registration"), dict)}


def open_store(*, backend: str | None = None, home: Path | None = None) -> LocalCredentialStore:
    """Open the credential store.

    ``backend``: "keyring", "file", or None for ``AGENTFETCH_STORE``, else the
    OS keyring when there is a usable one and the file store otherwise.
    ``home``: like ``AGENTFETCH_HOME`` (the store goes in ``home/data``);
    default :func:`agentfetch._paths.data_dir`.
    """
    choice = backend if backend is not None else (os.environ.get("AGENTFETCH_STORE") or None)
    if choice is not None:
        choice = choice.strip().lower()
        if choice == "auto":
            choice = None
        elif choice not in BACKENDS:
            raise UsageError(f"unknown credential store {choice!r} (AGENTFETCH_STORE)", hint="use 'keyring' or 'file'")
    if home is not None:
        directory = Path(home).expanduser() / "data"
    else:
        from .._paths import data_dir

        directory = data_dir()
    return LocalCredentialStore(directory, backend=choice)


# -- entries -----------------------------------------------------------------------


def _lock_timeout(name: str, timeout: float) -> _locks.TimeoutFactory:
    def error() -> AuthorizationTimeout:
        return AuthorizationTimeout(
            f"gave up after {timeout:g}s waiting for another agentfetch to finish with {name}",
            hint="it may be waiting for a browser sign-in; complete or cancel that, then retry",
        )

    return error


def _check_credential(credential: Credential) -> None:
    key = credential.key
    if not all(isinstance(part, str) and part for part in (key.issuer, key.resource, key.client_id)):
        raise UsageError("a credential needs an issuer, a resource and a client id")
    if not isinstance(credential.tokens.access_token, str) or not credential.tokens.access_token:
        raise UsageError(f"refusing to store a credential for {key.resource} without an access token")


def _credential_to_entry(credential: Credential) -> dict[str, Any]:
    entry = {
        f.name: getattr(credential, f.name) for f in dataclasses.fields(Credential) if f.name not in ("key", "tokens")
    }
    entry.update(dataclasses.asdict(credential.key))
    entry["tokens"] = {
        f.name: getattr(credential.tokens, f.name) for f in dataclasses.fields(TokenSet) if f.name not in TOKEN_SECRETS
    }
    return entry


def _entry_to_credential(entry: dict[str, Any], secrets: dict[str, str]) -> Credential:
    if not secrets.get("access_token"):
        raise ValueError("no access token")
    known_tokens = {f.name for f in dataclasses.fields(TokenSet)} - set(TOKEN_SECRETS)
    secret_fields: dict[str, Any] = secrets  # access_token, refresh_token: TokenSet's secret fields
    tokens = TokenSet(**{k: v for k, v in entry.get("tokens", {}).items() if k in known_tokens}, **secret_fields)
    known = {f.name for f in dataclasses.fields(Credential)} - {"key", "tokens"}
    return Credential(key=_entry_key(entry), tokens=tokens, **{k: v for k, v in entry.items() if k in known})


def _entry_key(entry: dict[str, Any], *, strict: bool = True) -> CredentialKey:
    parts = [entry.get(name) for name in ("issuer", "resource", "client_id")]
    if not all(isinstance(part, str) and part for part in parts):
        if strict:
            raise ValueError("incomplete credential key")
        return None  # type: ignore[return-value]
    return CredentialKey(*parts)  # type: ignore[arg-type]


def _find_entry(entries: list[dict[str, Any]], key: CredentialKey) -> dict[str, Any] | None:
    for entry in entries:
        if _entry_key(entry, strict=False) == key:
            return entry
    return None


def _secret_slot(namespace: str, key: str) -> str:
    return f"{namespace} {key}"


def _cache_slot(data: dict[str, Any], namespace: str) -> dict[str, Any]:
    namespaces = data.get("namespaces")
    slot = namespaces.get(namespace) if isinstance(namespaces, dict) else None
    return slot if isinstance(slot, dict) else {}


def _cache_live(entry: Any, now: float) -> bool:
    return isinstance(entry, dict) and isinstance(entry.get("expires_at"), (int, float)) and entry["expires_at"] > now


# -- URLs --------------------------------------------------------------------------


@overload
def _origin_and_path(url: str) -> tuple[tuple[str, str, int], str]: ...


@overload
def _origin_and_path(url: str, *, strict: Literal[False]) -> tuple[tuple[str, str, int], str] | None: ...


def _origin_and_path(url: str, *, strict: bool = True) -> tuple[tuple[str, str, int], str] | None:
    try:
        return origin(url), urlsplit(url).path or "/"
    except UsageError:
        if strict:
            raise
        return None