"""Fixtures for the credential store: an isolated home, both backends, and a
real in-memory keyring backend (keyring's own plug-in interface, installed
with ``keyring.set_keyring``) because this machine and CI have no OS keyring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from store_builders import MemoryKeyring

from agentfetch.store import CredentialStore, open_store


@pytest.fixture(autouse=True)
def fresh_warnings() -> None:
    """Warnings are once per process; each test starts with none given."""
    from agentfetch.store import _files

    _files._reported.clear()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("AGENTFETCH_HOME", str(home))
    monkeypatch.delenv("AGENTFETCH_STORE", raising=False)
    return home


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """The state of a headless machine: keyring has nothing to offer."""
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def file_store(home: Path) -> CredentialStore:
    return open_store(backend="file", home=home)


@pytest.fixture
def keyring_store(home: Path, memory_keyring: MemoryKeyring) -> CredentialStore:
    return open_store(backend="keyring", home=home)


@pytest.fixture(params=["file", "keyring"])
def store(request: pytest.FixtureRequest, home: Path) -> CredentialStore:
    if request.param == "keyring":
        request.getfixturevalue("memory_keyring")
    return open_store(backend=request.param, home=home)
