"""Tokens and client secrets never show in a repr, a str, an error or a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from store_builders import make_credential

from agentfetch.errors import StoreError
from agentfetch.store import CredentialStore, open_store

SECRETS = ("at-secret-0001", "rt-secret-0001", "cs-secret-9", "rat-secret-3")


def test_reprs_hide_secrets(store: CredentialStore) -> None:
    store.put(make_credential())
    store.registration_put(
        "https://login.example",
        {"client_id": "c", "client_secret": "cs-secret-9", "registration_access_token": "rat-secret-3"},
    )
    credential = store.find("https://app.example/docs")
    registration = store.registration_get("https://login.example")
    assert registration is not None and registration["client_secret"] == "cs-secret-9"  # usable...
    shown = " ".join(
        [repr(credential), str(credential), repr(store.list()), repr(registration), str(registration), repr(store), store.describe()]
    )
    for secret in SECRETS:  # ...but never shown
        assert secret not in shown
    assert "'client_secret': '***'" in repr(registration)


def test_no_secret_in_logs_or_stderr_even_when_things_go_wrong(
    home: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str], no_keyring: None
) -> None:
    caplog.set_level(logging.DEBUG)
    store = open_store(home=home)  # auto: falls back to the file store, and says so
    assert store.backend_name == "file"
    store.put(make_credential())
    store.registration_put(
        "https://login.example",
        {"client_id": "c", "client_secret": "cs-secret-9", "registration_access_token": "rat-secret-3"},
    )
    store.put(make_credential(access_token="at-secret-0001"))
    (store.directory / "secrets.json").write_text("{broken")  # every read now fails, loudly
    assert store.find("https://app.example/docs") is None
    assert store.registration_get("https://login.example") is None
    (store.directory / "store.json").chmod(0o644)
    store.list()
    with pytest.raises(StoreError) as caught:
        store.cache_put("prm", "k", {"not json": object()}, 60)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    captured = capsys.readouterr()
    assert logged  # the failures above were reported...
    for secret in SECRETS:  # ...without a secret in any of it
        assert secret not in logged
        assert secret not in captured.err + captured.out
        assert secret not in str(caught.value)
