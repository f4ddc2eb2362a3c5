"""Shared fixtures: the embedded demo app and an isolated agentfetch home.

``demo_server`` starts one :class:`agentfetch.demo.DemoServer` per test session
on an ephemeral 127.0.0.1 port; ``demo`` hands it to a test with its knobs reset
to the defaults, its state (clients, grants, sessions) wiped and its request log
cleared, so tests do not see each other. ``agentfetch_home`` points agentfetch's
files at a fresh directory and selects the file-backed credential store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from agentfetch.demo import DemoServer


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    # Imported here so that collecting tests that never use the demo stays cheap.
    from agentfetch.demo import DemoConfig, DemoServer

    audit_path = tmp_path_factory.mktemp("demo") / "audit.jsonl"
    with DemoServer(DemoConfig(audit_path=audit_path)) as server:
        yield server


@pytest.fixture
def demo(demo_server: DemoServer) -> Iterator[DemoServer]:
    demo_server.reset()
    yield demo_server
    demo_server.reset()


@pytest.fixture
def agentfetch_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "agentfetch-home"
    home.mkdir()
    monkeypatch.setenv("AGENTFETCH_HOME", str(home))
    monkeypatch.setenv("AGENTFETCH_STORE", "file")
    return home
