"""Single flight across processes, threads and coroutines; crashes mid-write."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import threading
import time
from pathlib import Path

import pytest
from store_builders import spawn

from agentfetch.errors import AuthorizationTimeout, UsageError
from agentfetch.store import CredentialStore, open_store

LOCK = "auth:https://app.example/docs"

HOLDER = """
import sys, time
from agentfetch.store import open_store
with open_store().lock(sys.argv[1], 5):
    print("held", flush=True)
    time.sleep(120)
"""


def _start_holder(home: Path, name: str = LOCK):
    proc = spawn(HOLDER, name, home=home)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "held", proc.stderr.read() if proc.stderr else line
    return proc


def _kill(proc) -> None:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)


def test_lock_held_by_a_killed_process_is_recovered(file_store: CredentialStore, home: Path) -> None:
    holder = _start_holder(home)
    try:
        started = time.monotonic()
        with pytest.raises(AuthorizationTimeout, match=r"gave up after 0.3s") as caught:
            with file_store.lock(LOCK, 0.3):
                pytest.fail("took a lock that another process holds")
        assert 0.25 <= time.monotonic() - started < 3
        assert caught.value.exit_code == 5
        assert "browser sign-in" in str(caught.value)
    finally:
        _kill(holder)

    started = time.monotonic()
    with file_store.lock(LOCK, 5):
        assert time.monotonic() - started < 1


async def test_async_lock_held_by_a_killed_process_is_recovered(file_store: CredentialStore, home: Path) -> None:
    holder = _start_holder(home)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    try:
        with pytest.raises(AuthorizationTimeout):
            async with file_store.alock(LOCK, 0.5):
                pytest.fail("took a lock that another process holds")
        assert ticks >= 10  # the event loop kept running while we waited
    finally:
        _kill(holder)
        tick_task.cancel()
    async with file_store.alock(LOCK, 5):
        pass


def test_other_lock_names_are_independent(file_store: CredentialStore, home: Path) -> None:
    holder = _start_holder(home)
    try:
        with file_store.lock("auth:https://app.example/other", 1):
            pass
    finally:
        _kill(holder)


FLIGHT = """
import json, os, sys, time
from agentfetch.store import open_store
store = open_store()
counter = sys.argv[1]
while not os.path.exists(sys.argv[2]):  # a start line, so all processes contend at once
    time.sleep(0.005)
with store.lock("refresh:https://app.example/docs", 60):
    start = time.time()
    with open(counter) as f:
        value = int(f.read())
    time.sleep(0.02)  # widen the race window: any overlap would lose an increment
    with open(counter, "w") as f:
        f.write(str(value + 1))
    end = time.time()
print(json.dumps([start, end]))
"""


@pytest.mark.slow
def test_single_flight_across_processes(home: Path, tmp_path: Path) -> None:
    counter = tmp_path / "counter"
    counter.write_text("0")
    go = tmp_path / "go"
    procs = [spawn(FLIGHT, str(counter), str(go), home=home) for _ in range(12)]
    time.sleep(0.5)  # let them all start up and spin on the start line
    go.touch()
    intervals = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        intervals.append(json.loads(out))

    assert counter.read_text() == "12"
    intervals.sort()
    for (_, end), (next_start, _) in zip(intervals, intervals[1:], strict=False):
        assert end <= next_start, "two processes held the lock at once"


WRITER = """
import sys
from agentfetch.store import open_store, Credential, CredentialKey, TokenSet
store = open_store()
n = sys.argv[1]
store.put(Credential(CredentialKey("https://as.example", f"https://app.example/r{n}", "c"),
                     TokenSet(f"at-{n}", refresh_token=f"rt-{n}"), token_endpoint="https://as.example/token"))
store.registration_put(f"https://as{n}.example", {"client_id": f"c{n}", "client_secret": f"s{n}"})
store.cache_put("prm", n, {"n": n}, 60)
"""


@pytest.mark.slow
def test_concurrent_writers_lose_no_update(home: Path) -> None:
    procs = [spawn(WRITER, str(n), home=home) for n in range(10)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err

    store = open_store(backend="file", home=home)
    assert sorted(c.tokens.access_token for c in store.list()) == sorted(f"at-{n}" for n in range(10))
    for n in range(10):
        assert store.registration_get(f"https://as{n}.example") == {"client_id": f"c{n}", "client_secret": f"s{n}"}
        assert store.cache_get("prm", str(n)) == {"n": str(n)}
    secrets = json.loads((home / "data" / "secrets.json").read_text())["secrets"]
    assert len(secrets) == 20  # no orphaned secrets from the interleaving


def test_single_flight_across_threads(file_store: CredentialStore) -> None:
    active = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal active, most
        with open_store(backend="file", home=file_store.directory.parent).lock(LOCK, 30):
            with guard:
                active += 1
                most = max(most, active)
            time.sleep(0.005)
            with guard:
                active -= 1

    threads = [threading.Thread(target=work) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert most == 1
    assert active == 0


async def test_async_single_flight_with_50_coroutines(file_store: CredentialStore, home: Path) -> None:
    active = 0
    most = 0
    done = 0

    async def fetch() -> None:
        nonlocal active, most, done
        async with file_store.alock(LOCK, 30):
            active += 1
            most = max(most, active)
            await asyncio.sleep(0.002)  # the flow awaits I/O while it holds the lock
            active -= 1
            done += 1

    # Another process holds the lock at first, so the coroutines also wait on the OS lock.
    holder = _start_holder(home)
    tasks = [asyncio.create_task(fetch()) for _ in range(50)]
    await asyncio.sleep(0.3)
    assert done == 0
    _kill(holder)
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    assert (most, done, active) == (1, 50, 0)


async def test_async_and_thread_holders_exclude_each_other(file_store: CredentialStore) -> None:
    inside = threading.Event()
    release = threading.Event()

    def hold_in_thread() -> None:
        with file_store.lock(LOCK, 5):
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=hold_in_thread)
    thread.start()
    assert await asyncio.to_thread(inside.wait, 5)
    with pytest.raises(AuthorizationTimeout):
        async with file_store.alock(LOCK, 0.2):
            pass
    release.set()
    async with file_store.alock(LOCK, 5):
        pass
    thread.join(5)


async def test_cancelled_waiter_leaves_the_lock_usable(file_store: CredentialStore) -> None:
    async with file_store.alock(LOCK, 5):
        waiter = asyncio.create_task(_take(file_store))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with file_store.alock(LOCK, 1):
        pass
    with file_store.lock(LOCK, 1):
        pass


async def _take(store: CredentialStore) -> None:
    async with store.alock(LOCK, 30):
        pass


def test_bad_timeouts_are_usage_errors(file_store: CredentialStore) -> None:
    for timeout in (-1, float("nan"), "soon"):
        with pytest.raises(UsageError):
            with file_store.lock(LOCK, timeout):  # type: ignore[arg-type]
                pass


CRASHER = """
import sys
from agentfetch.store import open_store, Credential, CredentialKey, TokenSet
store = open_store()
key = CredentialKey("https://as.example", "https://app.example/docs", "c")
pad = "p" * int(sys.argv[1])
i = 0
while True:
    i += 1
    store.put(Credential(key, TokenSet(f"at-{i}-{pad}", refresh_token=f"rt-{i}"), token_endpoint="https://as.example/t"))
    store.registration_put("https://as.example", {"client_id": f"c{i}", "client_secret": f"s{i}", "pad": pad})
    store.cache_put("prm", "k", {"i": i, "pad": pad}, 60)
    if i == 1:
        print("writing", flush=True)
"""


@pytest.mark.slow
def test_process_killed_mid_write_leaves_no_torn_file(home: Path) -> None:
    # The file backend: the in-memory keyring cannot be shared with a subprocess.
    backend = "file"
    rng = random.Random(5)
    data = home / "data"
    for round_ in range(8):
        proc = spawn(CRASHER, str(rng.choice([10, 5000, 200_000])), home=home, backend=backend)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
        time.sleep(rng.uniform(0.05, 0.4))
        _kill(proc)

        for name in ("store.json", "secrets.json", "cache.json"):
            if (data / name).exists():
                assert isinstance(json.loads((data / name).read_text()), dict), (round_, name)
        store = open_store(backend=backend, home=home)
        [credential] = store.list()
        i = credential.tokens.access_token.split("-")[1]
        assert credential.tokens.refresh_token == f"rt-{i}"  # access and refresh token of one write
        registration = store.registration_get("https://as.example")
        assert registration is not None
        assert registration["client_secret"] == f"s{registration['client_id'][1:]}"
        assert not (data / "store.json.corrupt").exists()
    # A killed writer may leave its temp file; the next writer sweeps it away.
    open_store(backend=backend, home=home).cache_put("prm", "k", {}, 60)
    assert [p.name for p in data.iterdir() if p.name.endswith(".tmp")] == []


ROTATOR = """
import sys
from agentfetch.store import open_store, Credential, CredentialKey, TokenSet
store = open_store()
key = CredentialKey("https://as.example", "https://app.example/docs", "c")
for i in range(int(sys.argv[1])):
    store.put(Credential(key, TokenSet(f"at-{i}", refresh_token=f"rt-{i}"), token_endpoint="https://as.example/t"))
    if i == 0:
        print("rotating", flush=True)
"""


@pytest.mark.slow
def test_readers_never_miss_a_credential_while_another_process_rotates_it(
    file_store: CredentialStore, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Readers take no lock: they must cope with the secrets being swapped
    # between their read of the index and their read of the secrets.
    writer = spawn(ROTATOR, "300", home=home)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "rotating"
    seen = set()
    while writer.poll() is None:
        credential = file_store.find("https://app.example/docs/page")
        assert credential is not None
        i = credential.tokens.access_token.split("-")[1]
        assert credential.tokens.refresh_token == f"rt-{i}"
        seen.add(i)
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    assert len(seen) > 5  # the reads really did interleave with the rotation
    assert not [r for r in caplog.records if r.levelno >= 30]
