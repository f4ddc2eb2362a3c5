"""Spring Authorization Server for the interop tests: one server per test session.

Built by ``spring_server.py build`` (Maven; ``.ci/run`` does it). Without Java or without the
built jar the tests skip with the reason; a jar that is there but does not start is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from interop_harness import Agent
from spring_resource import ProtectedResource
from spring_server import PASSWORDS, SpringServer, Unavailable

from agentfetch.demo.useragent import ScriptedBrowser


@pytest.fixture(scope="session")
def spring() -> Iterator[SpringServer]:
    server = SpringServer()
    try:
        server.start()
    except Unavailable as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def spring_rs_server(spring: SpringServer) -> Iterator[ProtectedResource]:
    rs = ProtectedResource()
    rs.start(spring.issuer)
    yield rs
    rs.stop()


@pytest.fixture
def spring_rs(spring_rs_server: ProtectedResource) -> ProtectedResource:
    spring_rs_server.reset()
    return spring_rs_server


@pytest.fixture
def spring_browser() -> ScriptedBrowser:
    return ScriptedBrowser(user="alice", password=PASSWORDS["alice"])


@pytest.fixture
def spring_store(agentfetch_home: Path) -> Any:
    from agentfetch.store import open_store

    return open_store()


@pytest.fixture
def spring_agent(spring_browser: ScriptedBrowser, spring_store: Any) -> Agent:
    return Agent(spring_browser, spring_store)


@pytest.fixture
def config_toml(agentfetch_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """agentfetch's config.toml for this test (its config directory, inside the test's home)."""
    from agentfetch._paths import config_dir

    path = config_dir() / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    monkeypatch.delenv("AGENTFETCH_CLIENT_ID", raising=False)
    return path
