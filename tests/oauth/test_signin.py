"""Issue 12: sign-in wherever agents run, against the demo app on loopback.

The device flow for as long as it lasts (OAuth's own requests are not httpx
auth-flow requests, so ``max_redirects`` does not end it), in the SDK (sync and
async) and the CLI.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import agentfetch

from .conftest import Trace

TOKEN = "/oauth/token"


def polls(demo: Any) -> int:
    """Device-grant polls of the token endpoint so far (the demo logs no other token requests here)."""
    return demo.count(TOKEN, "POST")


class DeviceHuman:
    """A log sink that plays the human on another device: when agentfetch shows the
    device code, a thread waits until ``ready()`` and then walks the verification URL."""

    def __init__(self, trace: Trace, ready: Callable[[], bool] = lambda: True, approve: bool = True) -> None:
        self.trace = trace
        self.ready = ready
        self.approve = approve
        self.walked: list[str] = []
        self.thread: threading.Thread | None = None

    def __call__(self, line: str) -> None:
        self.trace(line)
        match = re.search(r"\(or open (\S+)\)", line)
        if line.startswith("device:") and match and self.thread is None:
            self.thread = threading.Thread(target=self._walk, args=(match.group(1),), daemon=True)
            self.thread.start()

    def _walk(self, url: str) -> None:
        from agentfetch.demo.useragent import walk

        while not self.ready():
            time.sleep(0.05)
        self.walked.append(walk(url, username="alice", approve=self.approve))


@pytest.mark.slow
def test_a_two_minute_device_flow_polled_every_second(demo: Any, store: Any, trace: Trace) -> None:
    """120 s at the demo's 1 s interval: far beyond httpx's max_redirects (20), which used
    to end the flow with "too many redirects" after about 16 polls."""
    started = time.monotonic()
    human = DeviceHuman(trace, ready=lambda: time.monotonic() - started >= 120)
    with agentfetch.Fetcher(consent="allow", open_browser=lambda url: False, log=human, store=store,
                            auth_timeout=300) as fetcher:
        page = fetcher.fetch(demo.url)
    assert page.status == 200 and "Acme" in page.markdown
    assert polls(demo) > 60, polls(demo)
    assert time.monotonic() - started >= 120
    assert demo.count("/oauth/device_authorization", "POST") == 1
    (credential,) = store.list()
    assert credential.tokens.refresh_token and credential.subject == "alice"


async def test_an_async_device_flow_outlasts_max_redirects(demo: Any, store: Any, trace: Trace) -> None:
    demo.reconfigure(device_interval=0.1)
    human = DeviceHuman(trace, ready=lambda: polls(demo) >= 30)
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=60)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.get(demo.url)
    assert response.status_code == 200
    assert polls(demo) > 30
    # httpx's history holds the challenge only: OAuth's own requests are not part of it.
    assert [r.status_code for r in response.history] == [401]


def test_a_plain_httpx_client_with_a_tight_max_redirects(demo: Any, store: Any, trace: Trace) -> None:
    """The caller's redirect limit is the caller's business: OAuth's requests do not count against it."""
    demo.reconfigure(device_interval=0.1)
    human = DeviceHuman(trace, ready=lambda: polls(demo) >= 10)
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=60)
    with httpx.Client(auth=auth, max_redirects=2) as client:
        response = client.get(demo.url)
    assert response.status_code == 200 and polls(demo) > 10


def test_the_cli_device_flow_outlasts_max_redirects(demo: Any, agentfetch_home: Any) -> None:
    """`agentfetch -v URL` where no browser can start: the device code, then polling until the human is done."""
    import os

    demo.reconfigure(device_interval=0.1)
    env = {**os.environ, "BROWSER": f"{sys.executable} -c 'raise SystemExit(1)' %s"}
    env.pop("AGENTFETCH_DEBUG", None)
    agent = subprocess.Popen([sys.executable, "-m", "agentfetch", "-v", "--consent", "allow", demo.url], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert agent.stderr is not None
    complete = None
    lines: list[str] = []
    for line in agent.stderr:
        lines.append(line)
        found = re.search(r"\(or open (\S+)\)", line)
        if found:
            complete = found.group(1)
            break
    assert complete, "".join(lines)
    deadline = time.monotonic() + 60
    while polls(demo) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    from agentfetch.demo.useragent import walk

    walk(complete, username="alice")
    out, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, "".join(lines) + err
    assert "Acme" in out and "too many redirects" not in err
    assert err.count("token (device): POST") >= 30
