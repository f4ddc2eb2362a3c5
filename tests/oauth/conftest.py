"""Fixtures for driving OAuth end to end against the demo app on loopback.

The "browser" is the demo's scripted user agent (``walk``), which reads the
real login and consent forms and delivers the redirect to our listener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentfetch.demo.useragent import ScriptedBrowser
from agentfetch.oauth import OAuth, default_consent

#: Paths a browser visits; everything else in the demo's log is agentfetch talking.
BROWSER_PATHS = ("/oauth/authorize", "/oauth/login", "/oauth/consent", "/oauth/device")


@dataclass
class Trace:
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def browser() -> ScriptedBrowser:
    return ScriptedBrowser()


@pytest.fixture
def trace() -> Trace:
    return Trace()


@pytest.fixture
def store(agentfetch_home: Path) -> Any:
    from agentfetch.store import open_store

    return open_store()


@pytest.fixture
def make_auth(store: Any, browser: ScriptedBrowser, trace: Trace) -> Callable[..., OAuth]:
    def make(**options: Any) -> OAuth:
        options.setdefault("store", store)
        options.setdefault("consent", default_consent("allow"))
        options.setdefault("open_browser", browser)
        options.setdefault("log", trace)
        options.setdefault("auth_timeout", 10.0)
        return OAuth(**options)

    return make


def agent_requests(demo: Any) -> list[tuple[str, str, int]]:
    """What agentfetch itself sent to the demo (browser page loads left out)."""
    return [(r.method, r.path, r.status) for r in demo.requests if not r.path.startswith(BROWSER_PATHS)]


def as_metadata(issuer: str = "https://as/t1", **changes: object) -> dict:
    """A valid RFC 8414 document for ``issuer``; a change to None removes that field."""
    document: dict[str, object] = {
        "issuer": issuer,
        "authorization_endpoint": issuer + "/authorize",
        "token_endpoint": issuer + "/token",
        "registration_endpoint": issuer + "/register",
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "read", "offline_access"],
        "authorization_response_iss_parameter_supported": True,
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def sleep_until_due(store: Any) -> None:
    """Wait until the one stored credential is due for a refresh: past its margin, not yet expired."""
    import time

    from agentfetch.oauth._steps import refresh_margin

    (credential,) = store.list()
    expires_at = credential.tokens.expires_at
    due = expires_at - refresh_margin(expires_at - credential.updated_at)
    time.sleep(max(0.0, due - time.time() + 0.1))
