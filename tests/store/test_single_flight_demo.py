"""Issue 5's acceptance test: many agents at once against the demo app share
one registration, one browser sign-in, one token request and, after expiry,
one refresh. The store's locks are what makes that true across processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from store_builders import REPO

AGENTS = 20
COROUTINES = 50
BROWSER = f"{sys.executable} -m agentfetch.demo.useragent --user alice %s &"


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "AGENTFETCH_HOME": str(home),
        "AGENTFETCH_STORE": "file",
        "BROWSER": BROWSER,
    }


def _run_agents(demo: Any, home: Path) -> list[subprocess.CompletedProcess[str]]:
    command = [sys.executable, "-m", "agentfetch", "--consent", "allow", "--auth-timeout", "120", demo.url]
    procs = [
        subprocess.Popen(command, env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(AGENTS)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def _counts(demo: Any) -> dict[str, int]:
    return {
        "register": demo.count("/oauth/register", method="POST"),
        "authorize": demo.count("/oauth/authorize", method="GET"),
        "token": demo.count("/oauth/token", method="POST"),
    }


@pytest.mark.slow
def test_twenty_processes_share_one_sign_in_and_one_refresh(demo: Any, tmp_path: Path) -> None:
    home = tmp_path / "home"
    results = _run_agents(demo, home)
    failures = [(r.returncode, r.stderr[-500:]) for r in results if r.returncode != 0]
    assert not failures
    assert all("Acme" in r.stdout for r in results)
    assert _counts(demo) == {"register": 1, "authorize": 1, "token": 1}

    demo.clear_requests()
    demo.expire_tokens()
    results = _run_agents(demo, home)
    assert [r.returncode for r in results] == [0] * AGENTS, [r.stderr[-500:] for r in results if r.returncode]
    assert _counts(demo) == {"register": 0, "authorize": 0, "token": 1}  # one refresh, shared


@pytest.mark.slow
async def test_fifty_async_fetches_share_one_sign_in_and_one_refresh(
    demo: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agentfetch.api import AsyncFetcher
    from agentfetch.store import open_store

    store = open_store(backend="file", home=tmp_path / "home")
    opened: list[str] = []

    def browser(url: str) -> bool:
        from agentfetch.demo.useragent import walk

        opened.append(url)
        walk(url, username="alice", approve=True)
        return True

    async with AsyncFetcher(consent="allow", open_browser=browser, store=store, auth_timeout=60) as fetcher:
        pages = await asyncio.gather(*(fetcher.fetch(demo.url) for _ in range(COROUTINES)))
        assert all("Acme" in page.markdown for page in pages)
        assert len(opened) == 1
        assert _counts(demo) == {"register": 1, "authorize": 1, "token": 1}

        demo.clear_requests()
        demo.expire_tokens()
        pages = await asyncio.gather(*(fetcher.fetch(demo.url) for _ in range(COROUTINES)))
        assert all("Acme" in page.markdown for page in pages)
        assert _counts(demo) == {"register": 0, "authorize": 0, "token": 1}


# Each agent imports everything first, then waits on stdin, so that all ten ask for the page
# within milliseconds of each other: the race the refresh lock must settle.
_AT_THE_LINE = (
    "import sys\n"
    "import agentfetch.api, agentfetch.oauth, agentfetch.store, agentfetch.cli.fetch as cli\n"
    "sys.stdin.read(1)\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


@pytest.mark.slow
def test_ten_processes_on_a_five_second_token_do_one_refresh(demo: Any, tmp_path: Path) -> None:
    """A token that lives 5 s is refreshed once it is within its margin (under its lifetime),
    by one of the ten processes; the others use what that one stored."""
    import time

    from agentfetch.store import open_store

    demo.reconfigure(token_lifetime=5)
    home = tmp_path / "home"
    signed_in = subprocess.run(
        [sys.executable, "-m", "agentfetch", "--consent", "allow", demo.url],
        env=_env(home), capture_output=True, text=True, timeout=120,
    )
    assert signed_in.returncode == 0, signed_in.stderr[-500:]
    (credential,) = open_store(backend="file", home=home).list()
    issued = credential.updated_at
    assert credential.tokens.expires_at is not None and credential.tokens.expires_at - issued <= 5.5
    assert demo.count("/oauth/token", method="POST") == 1

    agents = [
        subprocess.Popen([sys.executable, "-c", _AT_THE_LINE, "--consent", "deny", demo.url], env=_env(home),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(10)
    ]
    # Due for a refresh (past its margin) but not expired: every agent sees the same due token.
    time.sleep(max(0.0, issued + 3.2 - time.time()))
    demo.clear_requests()
    for agent in agents:  # all at once: communicate() would release them one after the other
        assert agent.stdin is not None
        agent.stdin.write("go")
        agent.stdin.close()
    results = [(agent.stdout.read(), agent.stderr.read()) for agent in agents if agent.stdout and agent.stderr]
    for agent in agents:
        agent.wait(timeout=120)
    assert [agent.returncode for agent in agents] == [0] * 10, [err[-500:] for _, err in results]
    assert all("Acme" in out for out, _ in results)
    assert demo.count("/oauth/token", method="POST") == 1  # one refresh, shared
    assert demo.count("/oauth/authorize") == 0
