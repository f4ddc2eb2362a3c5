"""Where secrets live: the OS keyring, or a private file when there is none.

Both vaults store a set of named secrets under a *ref*, a random name that is
fresh for every write. The index only ever points at a ref whose secrets are
complete, and an old ref is removed only after the index stopped pointing at
it; so a keyring that fails half way, or a crash, never loses what was stored.

Keyring entries are split into chunks: some platforms cap an entry at about
2.5 KB (Windows Credential Manager) and JWT access tokens can exceed that.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Protocol

from ..errors import StoreError
from ._files import JsonDocument, display_path, warn_once

log = logging.getLogger("agentfetch.store")

SERVICE = "agentfetch"
#: Characters per keyring entry: below the Windows cap even as UTF-16.
CHUNK = 1000

#: How many entries each secret was split into, by secret name.
Layout = dict[str, int]


class Vault(Protocol):
    name: str

    def describe(self) -> str: ...

    def write(self, ref: str, secrets: dict[str, str]) -> Layout:
        """Store all of ``secrets`` or, on failure, none of them (StoreError)."""

    def read(self, ref: str, layout: Layout) -> dict[str, str] | None:
        """All secrets of ``ref``, or None when any is missing or unreadable."""

    def remove(self, ref: str, layout: Layout) -> None:
        """Best effort: a leftover entry is garbage, never a wrong answer."""


def new_ref() -> str:
    return os.urandom(8).hex()


def _safe_reason(exc: BaseException, secrets: dict[str, str] | None = None) -> str:
    # Backend messages are not ours and may echo the value they were given
    # (or one chunk of it): keep a message only when it is short and shares
    # no run of 12 characters with any secret.
    text = str(exc)
    values = [value for value in (secrets or {}).values() if value]
    echoes = any(value in text for value in values) or any(
        text[i : i + 12] in value for value in values for i in range(len(text) - 11)
    )
    if not text or len(text) > 200 or echoes:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class KeyringVault:
    name = "keyring"

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def describe(self) -> str:
        return f"keyring ({keyring_label(self._backend)})"

    def write(self, ref: str, secrets: dict[str, str]) -> Layout:
        layout: Layout = {}
        try:
            for field, value in secrets.items():
                chunks = [value[i : i + CHUNK] for i in range(0, len(value), CHUNK)] or [""]
                layout[field] = 0
                for index, chunk in enumerate(chunks):
                    self._backend.set_password(SERVICE, _entry(ref, field, index), chunk)
                    layout[field] = index + 1
        except Exception as exc:
            self.remove(ref, layout)
            raise _refused(_safe_reason(exc, secrets)) from None
        # Some backends accept a write and keep nothing (a chainer whose
        # backends all decline): find out now, not at the next fetch.
        if self.read(ref, layout) != secrets:
            self.remove(ref, layout)
            raise _refused("it did not keep what was written")
        return layout

    def read(self, ref: str, layout: Layout) -> dict[str, str] | None:
        found: dict[str, str] = {}
        try:
            for field, count in layout.items():
                parts = [self._backend.get_password(SERVICE, _entry(ref, field, i)) for i in range(count)]
                if count < 1 or any(part is None for part in parts):
                    return None
                found[field] = "".join(parts)
        except Exception as exc:
            reason = _safe_reason(exc)
            warn_once(("keyring-read", reason), f"cannot read a secret from the OS keyring ({reason})")
            return None
        return found

    def remove(self, ref: str, layout: Layout) -> None:
        for field, count in layout.items():
            for index in range(count):
                try:
                    self._backend.delete_password(SERVICE, _entry(ref, field, index))
                except Exception as exc:  # PasswordDeleteError, or a keyring gone away
                    log.debug("could not delete keyring entry %s (%s)", _entry(ref, field, index), type(exc).__name__)


def _refused(reason: str) -> StoreError:
    return StoreError(
        f"the OS keyring refused to store a secret ({reason}); nothing was changed",
        hint="unlock the keyring, or set AGENTFETCH_STORE=file to keep credentials in a private file",
    )


def _entry(ref: str, field: str, index: int) -> str:
    return f"{ref}/{field}/{index}"


class FileVault:
    """Secrets in one JSON file, mode 0600 in a 0700 directory. The caller holds
    the store lock around ``write`` and ``remove`` (read-modify-write)."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self._doc = JsonDocument(path, "secrets file")
        self.path = path

    def describe(self) -> str:
        return f"file ({display_path(self.path)})"

    def write(self, ref: str, secrets: dict[str, str]) -> Layout:
        data = self._doc.read_for_update()
        stored = data.setdefault("secrets", {})
        if not isinstance(stored, dict):
            data["secrets"] = stored = {}
        stored[ref] = dict(secrets)
        data["version"] = 1
        self._doc.write(data)
        return {field: 1 for field in secrets}

    def read(self, ref: str, layout: Layout) -> dict[str, str] | None:
        stored = self._doc.read().get("secrets")
        entry = stored.get(ref) if isinstance(stored, dict) else None
        if not isinstance(entry, dict):
            return None
        found = {field: entry.get(field) for field in layout}
        if not all(isinstance(value, str) for value in found.values()):
            return None
        return found  # type: ignore[return-value]

    def remove(self, ref: str, layout: Layout) -> None:
        data = self._doc.read()
        stored = data.get("secrets")
        if isinstance(stored, dict) and stored.pop(ref, None) is not None:
            try:
                self._doc.write(data)
            except StoreError as exc:
                log.debug("could not prune secrets file (%s)", exc)


def detect_keyring() -> Any | None:
    """The keyring backend to use, or None when there is none that can keep a
    secret (keyring's ``fail`` or ``null`` backends, or a chainer with nothing
    behind it: the usual state of headless Linux, CI and containers)."""
    try:
        import keyring
        from keyring.backends import chainer, fail

        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring config must not break fetching
        log.debug("no keyring (%s)", type(exc).__name__)
        return None
    if isinstance(backend, fail.Keyring) or type(backend).__module__ == "keyring.backends.null":
        return None
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None
    return backend


def keyring_label(backend: Any) -> str:
    """"SecretService", "macOS", "Windows"... for ``auth status``."""
    from keyring.backends import chainer

    if isinstance(backend, chainer.ChainerBackend):
        return ", ".join(keyring_label(inner) for inner in backend.backends)
    cls = type(backend)
    if cls.__name__ == "Keyring":  # keyring's own backends are all called Keyring
        return cls.__module__.rsplit(".", 1)[-1]
    return cls.__name__
