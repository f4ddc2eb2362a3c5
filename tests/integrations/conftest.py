"""Fixtures for the integration tests: a real loopback web site and an
``agentfetch`` command on PATH, the way hosts (Goose, OpenCode) start it."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from integration_support import REPO, Site, SiteHandler


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def agentfetch_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``agentfetch`` executable: the installed console script when there is
    one, else a shim that runs this checkout with this interpreter."""
    found = shutil.which("agentfetch")
    if found:
        return Path(found)
    shim_dir = tmp_path_factory.mktemp("bin")
    shim = shim_dir / "agentfetch"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m agentfetch "$@"\n')
    shim.chmod(0o755)
    return shim


@pytest.fixture
def host_env(agentfetch_bin: Path, tmp_path: Path) -> dict[str, str]:
    """The environment a host gives agentfetch: ``agentfetch`` on PATH, this checkout
    importable, an empty agentfetch home, and no pre-approved consent."""
    env = dict(os.environ)
    env["PATH"] = f"{agentfetch_bin.parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["AGENTFETCH_HOME"] = str(tmp_path / "agentfetch-home")
    env["AGENTFETCH_STORE"] = "file"
    env.pop("AGENTFETCH_CONSENT", None)
    return env


@pytest.fixture
def demo_or_skip(request: pytest.FixtureRequest) -> Any:
    """The demo app (tests/conftest.py), or a skip while it or the OAuth client is missing."""
    try:
        import agentfetch.demo.useragent  # noqa: F401
        from agentfetch.oauth import OAuth  # noqa: F401
    except ImportError as error:
        pytest.skip(f"the demo app or OAuth client is not in this tree ({error})")
    return request.getfixturevalue("demo")
