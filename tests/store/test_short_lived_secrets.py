"""``secret_get`` / ``secret_put``: a credential helper's output kept in the vault for its ttl."""

from __future__ import annotations

import json
import time

import pytest

from agentfetch.errors import UsageError
from agentfetch.store import CredentialStore


def test_kept_for_the_ttl_in_the_vault_never_in_the_index(store: CredentialStore, monkeypatch) -> None:
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])  # the store's clock, moved by hand
    store.secret_put("service-credential", "https://*.corp https://wiki.corp", "eyJ.helper.output", ttl=300)
    store.secret_put("service-credential", "https://*.corp https://git.corp", "second-value", ttl=10)
    assert store.secret_get("service-credential", "https://*.corp https://wiki.corp") == "eyJ.helper.output"
    assert store.secret_get("other", "https://*.corp https://wiki.corp") is None  # namespaces are separate
    index = (store.directory / "store.json").read_text()
    assert "eyJ.helper.output" not in index and "second-value" not in index
    clock[0] += 11
    assert store.secret_get("service-credential", "https://*.corp https://git.corp") is None
    store.secret_put("service-credential", "https://*.corp https://wiki.corp", "replaced", ttl=300)
    assert store.secret_get("service-credential", "https://*.corp https://wiki.corp") == "replaced"
    # The expired one was dropped, index entry and vault secret alike, by that write.
    assert len(json.loads((store.directory / "store.json").read_text())["secrets"]) == 1
    store.secret_put("service-credential", "https://*.corp https://wiki.corp", "", ttl=0)  # ttl 0 forgets
    assert store.secret_get("service-credential", "https://*.corp https://wiki.corp") is None
    if (store.directory / "secrets.json").exists():
        assert "replaced" not in (store.directory / "secrets.json").read_text()


def test_what_it_cannot_keep(file_store: CredentialStore) -> None:
    with pytest.raises(UsageError):
        file_store.secret_put("ns", "key", 42, ttl=5)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        file_store.secret_put("ns", "key", "value", ttl=float("nan"))
