"""Issue 5: single flight across processes and coroutines, against the demo app.

N agents needing authorization at once: one registration, one browser flow,
one token request; after expiry, one refresh; every fetch succeeds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

PROCESSES = 20
COROUTINES = 50


def _counts(demo: Any) -> tuple[int, int, int]:
    return demo.count("/oauth/register", "POST"), demo.count("/oauth/authorize"), demo.count("/oauth/token", "POST")


def _run_agents(demo: Any, home: Path, browser_log: Path) -> list[str]:
    env = {
        **os.environ,
        "AGENTFETCH_HOME": str(home),
        "AGENTFETCH_STORE": "file",
        "BROWSER_LOG": str(browser_log),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    script = str(Path(__file__).with_name("_agent_process.py"))
    agents = [
        subprocess.Popen([sys.executable, script, demo.url], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    outputs = []
    for agent in agents:
        out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0, err.decode()[-2000:]
        outputs.append(out.decode().strip())
    return outputs


@pytest.mark.slow
def test_twenty_processes_one_flow_then_one_refresh(demo: Any, agentfetch_home: Path, tmp_path: Path) -> None:
    browser_log = tmp_path / "browsers.log"
    assert _run_agents(demo, agentfetch_home, browser_log) == ["200"] * PROCESSES
    assert _counts(demo) == (1, 1, 1)
    assert browser_log.read_text().count("opened") == 1

    demo.expire_tokens()
    demo.clear_requests()
    assert _run_agents(demo, agentfetch_home, browser_log) == ["200"] * PROCESSES
    assert _counts(demo) == (0, 0, 1)  # the one refresh
    assert browser_log.read_text().count("opened") == 1


@pytest.mark.slow
async def test_fifty_coroutines_one_flow_then_one_refresh(demo: Any, make_auth: Any, browser: Any) -> None:
    async with httpx.AsyncClient(auth=make_auth(auth_timeout=60), timeout=60) as client:
        responses = await asyncio.gather(*(client.get(demo.url) for _ in range(COROUTINES)))
        assert [r.status_code for r in responses] == [200] * COROUTINES
        assert _counts(demo) == (1, 1, 1) and len(browser.opened) == 1

        demo.expire_tokens()
        demo.clear_requests()
        responses = await asyncio.gather(*(client.get(demo.url) for _ in range(COROUTINES)))
        assert [r.status_code for r in responses] == [200] * COROUTINES
        assert _counts(demo) == (0, 0, 1) and len(browser.opened) == 1
