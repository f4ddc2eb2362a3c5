"""Keycloak for the interop tests: one server per test session (its start is the slow part).

The server is the real distribution (see ``keycloak_server.py``), started with
``start-dev`` on free 127.0.0.1 ports and the realm ``realm-agents.json`` imported at
start-up. The protected resource in front of it (``keycloak_resource.py``) is started
first, because its origin goes into the realm (the audience clients and mappers).
Without Java, or without the distribution in the cache, every test here is skipped with
the reason; a distribution that is there but does not start is an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from interop_harness import Agent
from keycloak_resource import ProtectedResource
from keycloak_server import PASSWORDS, KeycloakServer, Unavailable, realm_text

from agentfetch.demo.useragent import ScriptedBrowser


def realm_files(rs: ProtectedResource) -> dict[str, str]:
    values = {"RESOURCE_ORIGIN": rs.origin, "ALICE_PASSWORD": PASSWORDS["alice"], "BOB_PASSWORD": PASSWORDS["bob"]}
    return {
        "realm-agents.json": realm_text("realm-agents.json", **values),
        # Keycloak's default anonymous registration policies: Trusted Hosts trusts no host.
        "realm-locked.json": realm_text("realm-locked.json"),
    }


@pytest.fixture(scope="session")
def kc_rs() -> Iterator[ProtectedResource]:
    rs = ProtectedResource()
    yield rs
    rs.stop()


def _serve(rs: ProtectedResource, features: tuple[str, ...] = ()) -> Iterator[KeycloakServer]:
    server = KeycloakServer(realm_files(rs), features=features)
    try:
        server.start()
    except Unavailable as exc:
        server.cleanup()
        pytest.skip(str(exc))
    try:
        rs.start(server.issuer())
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def keycloak(kc_rs: ProtectedResource) -> Iterator[KeycloakServer]:
    yield from _serve(kc_rs)


@pytest.fixture(scope="session")
def ri_rs() -> Iterator[ProtectedResource]:
    rs = ProtectedResource()
    yield rs
    rs.stop()


@pytest.fixture(scope="session")
def keycloak_ri(ri_rs: ProtectedResource) -> Iterator[KeycloakServer]:
    """A second Keycloak, the same realm, with the preview feature ``resource-indicators``
    (RFC 8707; a build option, so its own Quarkus build, kept in the cache like the first)."""
    yield from _serve(ri_rs, features=("resource-indicators",))


@pytest.fixture
def ri(keycloak_ri: KeycloakServer, ri_rs: ProtectedResource) -> ProtectedResource:
    ri_rs.reset()
    return ri_rs


@pytest.fixture
def kc(keycloak: KeycloakServer, kc_rs: ProtectedResource) -> ProtectedResource:
    kc_rs.reset()
    return kc_rs


@pytest.fixture
def kc_browser() -> ScriptedBrowser:
    return ScriptedBrowser(user="alice", password=PASSWORDS["alice"])


@pytest.fixture
def kc_store(agentfetch_home: Path) -> Any:
    from agentfetch.store import open_store

    return open_store()


@pytest.fixture
def agent(kc_browser: ScriptedBrowser, kc_store: Any) -> Agent:
    return Agent(kc_browser, kc_store)
