"""Fixtures of the hostile suite: a fresh hostile server and agentfetch home per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile import Hostile


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    with Hostile() as server:
        yield server


@pytest.fixture
def other() -> Iterator[Hostile]:
    """A second server on another origin: it must never hear from agentfetch."""
    with Hostile() as server:
        yield server


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"
