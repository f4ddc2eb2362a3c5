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
