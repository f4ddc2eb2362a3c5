"""Bad input and faults: corrupt files, wrong permissions, a failing keyring, a full disk."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path

import keyring
import pytest
from keyring.backends import chainer, fail, null
from store_builders import MemoryKeyring, make_credential, spawn

from agentfetch.errors import StoreError
from agentfetch.store import CredentialStore, open_store
from agentfetch.store._vaults import detect_keyring


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_corrupt_index_is_reported_treated_as_absent_and_repaired(
    store: CredentialStore, caplog: pytest.LogCaptureFixture
) -> None:
    credential = make_credential()
    store.put(credential)
    index = store.directory / "store.json"
    index.write_text('{"credentials": [{"issuer": "https://login.ex')  # torn by some other tool

    assert store.get(credential.key) is None
    assert store.find("https://app.example/docs/x") is None
    assert store.list() == []
    assert store.registration_get("https://login.example") is None
    corrupt_warnings = [w for w in _warnings(caplog) if "corrupt" in w]
    assert len(corrupt_warnings) == 1, corrupt_warnings  # reported once, not on every read
    assert "store.json" in corrupt_warnings[0]

    store.put(make_credential(access_token="at-fresh"))  # the next write repairs
    assert store.get(credential.key).tokens.access_token == "at-fresh"  # type: ignore[union-attr]
    assert json.loads(index.read_text())["version"] == 1
    assert (store.directory / "store.json.corrupt").read_text().startswith('{"credentials"')


def test_index_that_is_valid_json_but_not_an_object(file_store: CredentialStore, caplog: pytest.LogCaptureFixture) -> None:
    (file_store.directory / "store.json").write_text("[1, 2, 3]")
    os.chmod(file_store.directory / "store.json", 0o600)
    assert file_store.list() == []
    assert any("corrupt" in w for w in _warnings(caplog))


def test_malformed_entries_are_skipped_not_fatal(file_store: CredentialStore, caplog: pytest.LogCaptureFixture) -> None:
    file_store.put(make_credential())
    index = file_store.directory / "store.json"
    data = json.loads(index.read_text())
    data["credentials"] += [{"issuer": 5}, "junk", {"issuer": "i", "resource": "https://app.example/", "client_id": "c"}]
    index.write_text(json.dumps(data))

    [loaded] = file_store.list()
    assert loaded.tokens.access_token == "at-secret-0001"
    assert file_store.find("https://app.example/docs/x").tokens.access_token == "at-secret-0001"  # type: ignore[union-attr]
    assert any("malformed" in w for w in _warnings(caplog))
    assert any("unreadable" in w for w in _warnings(caplog))  # the entry that points at no secrets


def test_corrupt_secrets_file(file_store: CredentialStore, caplog: pytest.LogCaptureFixture) -> None:
    credential = make_credential()
    file_store.put(credential)
    (file_store.directory / "secrets.json").write_text("\x00\xff garbage")

    assert file_store.get(credential.key) is None
    assert any("secrets file" in w and "corrupt" in w for w in _warnings(caplog))
    file_store.put(make_credential(access_token="at-again"))
    assert file_store.get(credential.key).tokens.access_token == "at-again"  # type: ignore[union-attr]


def test_corrupt_cache_is_a_miss(file_store: CredentialStore) -> None:
    file_store.cache_put("prm", "k", {"a": 1}, 60)
    (file_store.directory / "cache.json").write_text("{{{{")
    assert file_store.cache_get("prm", "k") is None
    file_store.cache_put("prm", "k", {"a": 2}, 60)
    assert file_store.cache_get("prm", "k") == {"a": 2}


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_wrong_permissions_are_reported_and_fixed(home: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(backend="file", home=home)
    store.put(make_credential())
    data = home / "data"
    os.chmod(data / "secrets.json", 0o644)
    os.chmod(data / "store.json", 0o664)
    os.chmod(data, 0o755)

    store = open_store(backend="file", home=home)
    assert store.list()[0].tokens.access_token == "at-secret-0001"
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert (data / "store.json").stat().st_mode & 0o777 == 0o600
    warnings = _warnings(caplog)
    assert any("secrets.json had mode 644; fixed to 600" in w for w in warnings), warnings
    assert any("had mode 755; fixed to 700" in w for w in warnings), warnings


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a file away")
def test_store_file_owned_by_someone_else_is_refused(file_store: CredentialStore) -> None:
    file_store.put(make_credential())
    os.chown(file_store.directory / "store.json", 65534, 65534)
    with pytest.raises(StoreError, match="owned by another user") as caught:
        file_store.list()
    assert caught.value.exit_code == 1


class FlakyKeyring(MemoryKeyring):
    """A real backend whose writes start failing after ``fail_after`` more calls,
    as a keyring does when it gets locked or its daemon dies mid-operation."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_after: int | None = None
        self.fail_reads = False
        self.fail_deletes = False

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.fail_after is not None:
            if self.fail_after == 0:
                raise keyring.errors.KeyringLocked(f"locked while storing {password}")
            self.fail_after -= 1
        super().set_password(service, username, password)

    def get_password(self, service: str, username: str) -> str | None:
        if self.fail_reads:
            raise keyring.errors.KeyringError("the secret service went away")
        return super().get_password(service, username)

    def delete_password(self, service: str, username: str) -> None:
        if self.fail_deletes:
            raise keyring.errors.KeyringError("cannot delete now")
        super().delete_password(service, username)


@pytest.fixture
def flaky(home: Path) -> FlakyKeyring:
    previous = keyring.get_keyring()
    backend = FlakyKeyring()
    keyring.set_keyring(backend)
    yield backend  # type: ignore[misc]
    keyring.set_keyring(previous)


@pytest.mark.parametrize("fail_after", [0, 1, 3])
def test_keyring_failing_mid_put_loses_nothing(home: Path, flaky: FlakyKeyring, fail_after: int) -> None:
    store = open_store(backend="keyring", home=home)
    old = make_credential(access_token="at-old-" + "x" * 2500, refresh_token="rt-old")  # 3 chunks + 1
    store.put(old)
    entries_before = dict(flaky.entries)
    index_before = (store.directory / "store.json").read_bytes()

    flaky.fail_after = fail_after
    with pytest.raises(StoreError, match="keyring refused") as caught:
        store.put(make_credential(access_token="at-new-" + "y" * 2500, refresh_token="rt-new"))
    assert "at-new" not in str(caught.value) and "AGENTFETCH_STORE=file" in str(caught.value)

    flaky.fail_after = None
    loaded = store.get(old.key)
    assert loaded is not None
    assert (loaded.tokens.access_token, loaded.tokens.refresh_token) == (old.tokens.access_token, "rt-old")
    assert flaky.entries == entries_before  # the half-written new secrets were cleaned up
    assert (store.directory / "store.json").read_bytes() == index_before


def test_keyring_failing_mid_registration_put_keeps_the_old_one(home: Path, flaky: FlakyKeyring) -> None:
    store = open_store(backend="keyring", home=home)
    store.registration_put("https://as.example", {"client_id": "c1", "client_secret": "s1"})
    flaky.fail_after = 0
    with pytest.raises(StoreError):
        store.registration_put("https://as.example", {"client_id": "c2", "client_secret": "s2"})
    assert store.registration_get("https://as.example") == {"client_id": "c1", "client_secret": "s1"}


def test_keyring_failing_on_read_is_reported_as_absent(
    home: Path, flaky: FlakyKeyring, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(backend="keyring", home=home)
    store.put(make_credential())
    flaky.fail_reads = True
    assert store.find("https://app.example/docs") is None
    assert store.list() == []
    assert any("cannot read a secret from the OS keyring" in w for w in _warnings(caplog))
    flaky.fail_reads = False
    assert store.find("https://app.example/docs") is not None  # nothing was lost


def test_keyring_failing_to_delete_old_secrets_does_not_fail_the_put(home: Path, flaky: FlakyKeyring) -> None:
    store = open_store(backend="keyring", home=home)
    store.put(make_credential(access_token="at-1"))
    flaky.fail_deletes = True
    store.put(make_credential(access_token="at-2"))
    assert store.list()[0].tokens.access_token == "at-2"


def test_keyring_entry_removed_behind_our_back(home: Path, flaky: FlakyKeyring, caplog: pytest.LogCaptureFixture) -> None:
    store = open_store(backend="keyring", home=home)
    store.put(make_credential(access_token="a" * 2500))
    flaky.entries.pop(sorted(flaky.entries)[1])  # one chunk of the access token, gone
    assert store.list() == []
    assert any("unreadable" in w for w in _warnings(caplog))


def _fail_writes_to_temp_files(monkeypatch: pytest.MonkeyPatch, error: int = errno.ENOSPC) -> None:
    # The one fault a real disk will not produce on demand: the write of our
    # temp file fails half way. Only writes to agentfetch's temp files fail.
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(error, os.strerror(error))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to tell our temp files apart")
@pytest.mark.parametrize("backend", ["file", "keyring"])
def test_full_disk_is_a_clear_store_error_and_nothing_is_torn(
    home: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    store = open_store(backend=backend, home=home)
    store.put(make_credential(access_token="at-old"))
    store.cache_put("prm", "k", {"a": 1}, 60)
    before = {p.name: p.read_bytes() for p in store.directory.iterdir() if p.is_file()}

    _fail_writes_to_temp_files(monkeypatch)
    with pytest.raises(StoreError, match="No space left on device") as caught:
        store.put(make_credential(access_token="at-new"))
    assert caught.value.exit_code == 1
    assert "at-new" not in str(caught.value)
    with pytest.raises(StoreError, match="No space left on device"):
        store.cache_put("prm", "k", {"a": 2}, 60)
    with pytest.raises(StoreError, match="No space left on device"):
        store.registration_put("https://as.example", {"client_id": "c", "client_secret": "s"})
    monkeypatch.undo()

    after = {p.name: p.read_bytes() for p in store.directory.iterdir() if p.is_file()}
    assert after == before  # no torn file, no temp file left behind
    assert store.get(make_credential().key).tokens.access_token == "at-old"  # type: ignore[union-attr]
    if backend == "keyring":
        assert sorted(memory_keyring.entries.values()) == ["at-old", "rt-secret-0001"]  # new ones cleaned up


def test_unwritable_directory_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot create"):
        open_store(backend="file", home=blocker)


@pytest.mark.parametrize("make_backend", [fail.Keyring, null.Keyring, chainer.ChainerBackend])
def test_no_usable_keyring_is_detected(make_backend: type, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    previous = keyring.get_keyring()
    keyring.set_keyring(make_backend())
    try:
        assert detect_keyring() is None
    finally:
        keyring.set_keyring(previous)


def test_keyring_forced_without_a_keyring_is_a_store_error(home: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(StoreError, match="no usable OS keyring") as caught:
            open_store(backend="keyring", home=home)
        assert "AGENTFETCH_STORE=file" in str(caught.value)
    finally:
        keyring.set_keyring(previous)


def test_fallback_to_file_is_announced_once_across_processes(home: Path) -> None:
    code = (
        "from agentfetch.store import open_store; import sys; s = open_store(); "
        "print(s.backend_name); print(s.describe())"
    )
    outputs = []
    for _ in range(3):
        proc = spawn(code, home=home, backend=None, env_extra={"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        outputs.append((out, err))
    assert all(out.splitlines()[0] == "file" for out, _ in outputs)
    notices = [err for _, err in outputs if "no OS keyring available" in err]
    assert len(notices) == 1
    assert outputs[0][1].count("\n") == 1  # one line
    assert str(home / "data" / "secrets.json") in outputs[0][1]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_unusable_lock_directory_is_a_store_error(file_store: CredentialStore) -> None:
    locks = file_store.directory / "locks"
    locks.mkdir(mode=0o500)
    try:
        with pytest.raises(StoreError, match="lock file"):
            with file_store.lock("auth:x", 1):
                pass
    finally:
        locks.chmod(0o700)


@pytest.fixture
def lock_files_refused(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A full disk can refuse even an empty lock file; simulated at the acquire."""
    import filelock

    def refuse(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(filelock.FileLock, "acquire", refuse)
    return monkeypatch


def test_lock_file_that_cannot_be_created_is_a_store_error(
    file_store: CredentialStore, lock_files_refused: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StoreError, match="No space left on device"):
        with file_store.lock("auth:x", 1):
            pass
    with pytest.raises(StoreError, match="No space left on device"):
        file_store.put(make_credential())


async def test_async_lock_file_that_cannot_be_created_is_a_store_error(
    file_store: CredentialStore, lock_files_refused: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StoreError, match="No space left on device"):
        async with file_store.alock("auth:x", 1):
            pass
    lock_files_refused.undo()
    async with file_store.alock("auth:x", 1):  # nothing was left held
        pass
    with file_store.lock("auth:x", 1):
        pass


class ForgetfulKeyring(MemoryKeyring):
    """Accepts every write and keeps nothing, like a chainer whose backends all decline."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


def test_keyring_that_keeps_nothing_is_caught_at_write_time(home: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(ForgetfulKeyring())
    try:
        store = open_store(backend="keyring", home=home)
        with pytest.raises(StoreError, match="did not keep what was written"):
            store.put(make_credential())
        assert not (home / "data" / "store.json").exists()  # the index never pointed at it
        assert store.list() == []
    finally:
        keyring.set_keyring(previous)
