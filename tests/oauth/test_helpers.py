"""The `agentfetch auth` helpers: login, access_token, logout (RFC 7009)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentfetch.errors import AuthorizationError, UsageError

from .conftest import agent_requests, sleep_until_due


def test_login_without_a_prior_fetch_then_token_then_logout(
    demo: Any, make_auth: Any, browser: Any, store: Any
) -> None:
    auth = make_auth()
    with httpx.Client() as client:
        credential = auth.login(client, demo.url, scopes=["read"])
        assert credential.key.resource == demo.resource and len(browser.opened) == 1
        token = auth.access_token(client, demo.url + "pages/x")
        assert token == credential.tokens.access_token
        ok = client.get(demo.url, headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200

        demo.clear_requests()
        removed = auth.logout(client, demo.url)
        assert removed == [credential.key] and store.list() == []
        assert [r for r in agent_requests(demo) if r[1] == "/oauth/revoke"] == [
            ("POST", "/oauth/revoke", 200),
            ("POST", "/oauth/revoke", 200),
        ]
        revoked = client.get(demo.url, headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401
        with pytest.raises(AuthorizationError) as info:
            auth.access_token(client, demo.url)
        assert "agentfetch auth login" in str(info.value)


def test_login_runs_a_fresh_flow_even_when_a_token_exists(demo: Any, make_auth: Any, browser: Any) -> None:
    auth = make_auth()
    with httpx.Client() as client:
        first = auth.login(client, demo.url)
        second = auth.login(client, demo.url)
    assert len(browser.opened) == 2 and first.tokens.access_token != second.tokens.access_token


def test_login_on_a_public_page_probes_well_known_metadata(demo: Any, make_auth: Any, browser: Any) -> None:
    # /.well-known/api-catalog style public URLs do not challenge; PRM is probed instead.
    auth = make_auth()
    with httpx.Client() as client:
        credential = auth.login(client, demo.api_resource)
    assert credential.key.resource == demo.api_resource


def test_access_token_refreshes_when_expiring(demo: Any, make_auth: Any, store: Any) -> None:
    demo.reconfigure(token_lifetime=5)
    auth = make_auth()
    with httpx.Client() as client:
        first = auth.login(client, demo.url).tokens.access_token
        sleep_until_due(store)
        demo.clear_requests()
        second = auth.access_token(client, demo.url)
    assert second != first
    assert agent_requests(demo) == [("POST", "/oauth/token", 200)]


def test_logout_all_and_argument_errors(demo: Any, make_auth: Any, store: Any) -> None:
    auth = make_auth()
    with httpx.Client() as client:
        auth.login(client, demo.url)
        auth.login(client, demo.api_resource)
        with pytest.raises(UsageError):
            auth.logout(client)
        with pytest.raises(UsageError):
            auth.logout(client, demo.url, all=True)
        removed = auth.logout(client, all=True)
    assert {k.resource for k in removed} == {demo.resource, demo.api_resource}
    assert store.list() == []


def test_logout_still_deletes_when_revocation_is_unreachable(demo: Any, make_auth: Any, store: Any, trace: Any) -> None:
    import dataclasses

    auth = make_auth()
    with httpx.Client() as client:
        credential = auth.login(client, demo.url)
        # The server moved away: revocation cannot be reached, local deletion must still happen.
        store.put(dataclasses.replace(credential, revocation_endpoint="http://127.0.0.1:9/revoke"))
        assert auth.logout(client, demo.url) == [credential.key]
    assert store.list() == [] and "revoke: skipped" in trace.text


def test_login_network_failure_is_a_network_error(make_auth: Any, store: Any) -> None:
    from agentfetch.errors import NetworkError

    with httpx.Client() as client, pytest.raises(NetworkError) as info:
        make_auth().login(client, "http://127.0.0.1:9/")
    assert info.value.exit_code == 3


def test_helpers_honour_the_client_timeout(demo: Any, make_auth: Any) -> None:
    from agentfetch.errors import FetchTimeout

    demo.reconfigure(slow_seconds=3.0, slow_endpoints={"prm"})
    with httpx.Client(timeout=0.5) as client, pytest.raises(FetchTimeout) as info:
        make_auth().login(client, demo.url)
    assert info.value.exit_code == 3
