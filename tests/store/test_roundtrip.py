"""Round trips on both backends: credentials, registrations, the TTL cache."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from store_builders import MemoryKeyring, make_credential

from agentfetch.errors import UsageError
from agentfetch.store import CredentialKey, CredentialStore, open_store


def test_put_get_round_trip(store: CredentialStore) -> None:
    credential = make_credential()
    store.put(credential)

    loaded = store.get(credential.key)
    assert loaded is not None
    assert loaded.key == credential.key
    assert loaded.tokens.access_token == "at-secret-0001"
    assert loaded.tokens.refresh_token == "rt-secret-0001"
    assert loaded.tokens.expires_at == pytest.approx(credential.tokens.expires_at)
    assert loaded.tokens.scope == "read write"
    assert loaded.token_endpoint == "https://login.example/token"
    assert loaded.revocation_endpoint == "https://login.example/revoke"
    assert loaded.subject == "alice"
    assert store.get(CredentialKey("https://login.example", "https://app.example/docs", "other-client")) is None


def test_a_fresh_store_object_reads_what_another_wrote(store: CredentialStore, home: Path) -> None:
    store.put(make_credential(refresh_token=None))
    again = open_store(backend=store.backend_name, home=home)
    [loaded] = again.list()
    assert loaded.tokens.access_token == "at-secret-0001"
    assert loaded.tokens.refresh_token is None


def test_put_replaces_keeps_created_at_and_drops_old_secrets(store: CredentialStore, home: Path) -> None:
    first = make_credential(access_token="at-old", refresh_token="rt-old")
    store.put(first)
    created = store.get(first.key).created_at  # type: ignore[union-attr]
    store.put(make_credential(access_token="at-new", refresh_token="rt-new"))

    [loaded] = store.list()
    assert (loaded.tokens.access_token, loaded.tokens.refresh_token) == ("at-new", "rt-new")
    assert loaded.created_at == created
    assert loaded.updated_at >= created
    assert "at-old" not in _all_secret_text(store, home)
    assert "rt-old" not in _all_secret_text(store, home)


def test_delete_removes_index_entry_and_secrets(store: CredentialStore, home: Path) -> None:
    credential = make_credential()
    store.put(credential)
    store.put(make_credential("https://app.example/other", access_token="at-other"))
    store.delete(credential.key)
    store.delete(credential.key)  # deleting what is not there is fine

    assert store.get(credential.key) is None
    assert [c.key.resource for c in store.list()] == ["https://app.example/other"]
    assert "at-secret-0001" not in _all_secret_text(store, home)


def test_secrets_never_reach_the_index_file(store: CredentialStore, home: Path) -> None:
    store.put(make_credential())
    store.registration_put("https://login.example", {"client_id": "c", "client_secret": "cs-secret-9"})
    index = (home / "data" / "store.json").read_text()
    for secret in ("at-secret-0001", "rt-secret-0001", "cs-secret-9"):
        assert secret not in index


def test_keyring_backend_chunks_long_tokens(keyring_store: CredentialStore, memory_keyring: MemoryKeyring) -> None:
    long_token = "eyJ" + "x" * 5000  # a large JWT: above Windows' ~2.5 KB entry limit
    keyring_store.put(make_credential(access_token=long_token))

    assert keyring_store.backend_name == "keyring"
    assert keyring_store.describe() == "keyring (MemoryKeyring)"
    assert all(len(value) <= 1000 for value in memory_keyring.entries.values())
    assert len(memory_keyring.entries) == 7  # 6 chunks of the access token, 1 of the refresh token
    assert keyring_store.list()[0].tokens.access_token == long_token
    assert not (keyring_store.directory / "secrets.json").exists()


def test_file_backend_files_are_private(file_store: CredentialStore, home: Path) -> None:
    file_store.put(make_credential())
    file_store.cache_put("prm", "k", {"a": 1}, 60)
    data = home / "data"
    assert data.stat().st_mode & 0o777 == 0o700
    for name in ("store.json", "secrets.json", "cache.json"):
        assert (data / name).stat().st_mode & 0o777 == 0o600, name
    assert file_store.describe() == f"file ({data / 'secrets.json'})"
    assert [p.name for p in data.iterdir() if p.name.endswith(".tmp")] == []


def test_registrations_are_bound_to_their_issuer(store: CredentialStore) -> None:
    registration = {
        "client_id": "dyn-123",
        "client_secret": "cs-secret-9",
        "redirect_uris": ["http://127.0.0.1:8765/callback"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    store.registration_put("https://login.example", registration)
    store.registration_put("https://public.example", {"client_id": "pub", "token_endpoint_auth_method": "none"})

    assert store.registration_get("https://login.example") == registration
    assert store.registration_get("https://login.example/") is None  # issuers compare exactly (RFC 8414 §3.3)
    assert store.registration_get("https://other.example") is None
    assert store.registration_get("https://public.example") == {"client_id": "pub", "token_endpoint_auth_method": "none"}

    store.registration_put("https://login.example", {**registration, "client_id": "dyn-456", "client_secret": "cs-2"})
    assert store.registration_get("https://login.example")["client_secret"] == "cs-2"  # type: ignore[index]
    store.registration_delete("https://login.example")
    assert store.registration_get("https://login.example") is None
    assert store.registration_get("https://public.example") is not None


def test_registration_without_client_id_is_refused(store: CredentialStore) -> None:
    with pytest.raises(UsageError):
        store.registration_put("https://login.example", {"client_secret": "x"})


def test_cache_round_trip_and_ttl(store: CredentialStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # The store's clock, moved by hand: a real sleep against a 0.3 s TTL fails on a loaded machine.
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    store.cache_put("prm", "https://app.example/docs", {"resource": "https://app.example/docs"}, ttl=0.3)
    store.cache_put("as", "https://login.example", {"issuer": "https://login.example"}, ttl=3600)

    assert store.cache_get("prm", "https://app.example/docs") == {"resource": "https://app.example/docs"}
    assert store.cache_get("as", "https://app.example/docs") is None  # namespaces are separate
    clock[0] += 0.4
    assert store.cache_get("prm", "https://app.example/docs") is None
    assert store.cache_get("as", "https://login.example") == {"issuer": "https://login.example"}

    store.cache_put("as", "other", {"x": 1}, ttl=60)  # a write prunes what expired
    cached = json.loads((store.directory / "cache.json").read_text())
    assert "prm" not in cached["namespaces"]

    store.cache_put("as", "https://login.example", {}, ttl=0)  # ttl 0 forgets
    assert store.cache_get("as", "https://login.example") is None
    assert store.cache_get("as", "other") == {"x": 1}


def test_cache_rejects_what_it_cannot_keep(store: CredentialStore) -> None:
    with pytest.raises(UsageError):
        store.cache_put("prm", "k", ["not", "an", "object"], ttl=60)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        store.cache_put("prm", "k", {"a": 1}, ttl=float("nan"))
    with pytest.raises(UsageError):
        store.cache_put("prm", 5, {"a": 1}, ttl=60)  # type: ignore[arg-type]


def test_credential_without_access_token_is_refused(store: CredentialStore) -> None:
    with pytest.raises(UsageError):
        store.put(make_credential(access_token=""))
    assert store.list() == []


def test_backend_choice(home: Path, monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring) -> None:
    assert open_store(home=home).backend_name == "keyring"  # a usable keyring is the default
    monkeypatch.setenv("AGENTFETCH_STORE", "file")
    assert open_store(home=home).backend_name == "file"
    assert open_store(home=home, backend="keyring").backend_name == "keyring"  # the argument wins
    monkeypatch.setenv("AGENTFETCH_STORE", "vault")
    with pytest.raises(UsageError, match="vault"):
        open_store(home=home)


def test_entries_stay_readable_after_the_backend_changes(home: Path, memory_keyring: MemoryKeyring) -> None:
    open_store(backend="file", home=home).put(make_credential("https://a.example/", access_token="at-file"))
    open_store(backend="keyring", home=home).put(make_credential("https://b.example/", access_token="at-keyring"))
    for backend in ("file", "keyring"):
        tokens = {c.key.resource: c.tokens.access_token for c in open_store(backend=backend, home=home).list()}
        assert tokens == {"https://a.example/": "at-file", "https://b.example/": "at-keyring"}


def _all_secret_text(store: CredentialStore, home: Path) -> str:
    from keyring import get_keyring

    text = ""
    secrets = home / "data" / "secrets.json"
    if secrets.exists():
        text += secrets.read_text()
    backend = get_keyring()
    if isinstance(backend, MemoryKeyring):
        text += "".join(backend.entries.values())
    return text
