"""agentfetch's OAuth client against Spring Authorization Server on loopback (see conftest.py).

Spring's OIDC Dynamic Client Registration takes only registrations that carry an initial
access token (RFC 7591 §3), so this is where agentfetch's two ways for servers without open
registration are tested live: a configured ``client_id``, and ``initial_access_token``, both
from config.toml. The human is agentfetch's scripted user agent on Spring's login form and
consent page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interop_harness import Agent
from spring_resource import ProtectedResource
from spring_server import SpringServer

from agentfetch.demo.useragent import ScriptedBrowser


def _config(path: Path, issuer: str, **values: str) -> None:
    lines = [f'[issuers."{issuer}"]'] + [f'{key} = "{value}"' for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")


def test_a_configured_public_client(
    spring: SpringServer, spring_rs: ProtectedResource, spring_browser: ScriptedBrowser, spring_store: Any,
    spring_agent: Agent, config_toml: Path,
) -> None:
    """``client_id`` under ``[issuers."<issuer>"]``: no registration; Spring's form login and its
    consent page (a checkbox per scope, unticked, and "Submit Consent"); PKCE; any loopback port
    (Spring ignores the port of a 127.0.0.1 redirect URI, RFC 8252 §7.3)."""
    _config(config_toml, spring.issuer, client_id="agentfetch-configured")
    with spring_agent.fetcher() as fetcher:
        result = fetcher.fetch(spring_rs.resource() + "/page")
    assert result.status == 200, (spring_agent.log, spring_browser.errors, spring_rs.rejected, spring.log()[-2000:])
    assert "Hello alice, this is the wiki." in result.markdown
    assert "registration" not in [line.split(":", 1)[0] for line in spring_agent.log]
    params = spring_browser.authorize_params()
    assert params["client_id"] == "agentfetch-configured" and params["code_challenge_method"] == "S256"
    assert params["resource"] == spring_rs.resource() and "read" in params["scope"].split()
    (claims,) = spring_rs.tokens_seen
    assert claims["aud"] == [spring_rs.resource()] or claims["aud"] == spring_rs.resource()
    assert "read" in claims["scope"].split()
    (credential,) = spring_store.list()
    assert credential.key.client_id == "agentfetch-configured" and credential.key.issuer == spring.issuer
    # Spring issues no refresh token to a public client.
    assert credential.tokens.refresh_token is None


def test_registration_with_an_initial_access_token(
    spring: SpringServer, spring_rs: ProtectedResource, spring_browser: ScriptedBrowser, spring_store: Any,
    spring_agent: Agent, config_toml: Path,
) -> None:
    """``initial_access_token`` under ``[issuers."<issuer>"]`` goes as a Bearer token on the
    registration request. Spring makes the client confidential (``client_secret_basic``, a
    secret) although agentfetch asked for ``none``; agentfetch keeps the secret and uses it.
    A confidential client gets a refresh token."""
    _config(config_toml, spring.issuer, initial_access_token=spring.initial_access_token())
    with spring_agent.fetcher() as fetcher:
        result = fetcher.fetch(spring_rs.resource() + "/registered")
    assert result.status == 200, (spring_agent.log, spring_browser.errors, spring_rs.rejected, spring.log()[-2000:])
    registrations = [line.rsplit(" -> ", 1)[-1] for line in spring_agent.log if line.startswith("registration: POST")]
    assert registrations == ["201"], spring_agent.log
    record = spring_store.registration_get(spring.issuer)
    assert record["token_endpoint_auth_method"] == "client_secret_basic" and record["client_secret"]
    (credential,) = spring_store.list()
    assert credential.key.client_id == record["client_id"] and credential.tokens.refresh_token
    assert record["client_secret"] not in "\n".join(spring_agent.log)


def test_without_an_initial_access_token_the_message_says_how_to_get_registered(
    spring: SpringServer, spring_rs: ProtectedResource, spring_browser: ScriptedBrowser, spring_store: Any,
    spring_agent: Agent, config_toml: Path,
) -> None:
    from agentfetch.errors import ClientIdentityError

    config_toml.write_text("")
    with spring_agent.fetcher() as fetcher:
        try:
            fetcher.fetch(spring_rs.resource())
        except ClientIdentityError as exc:
            error = exc
        else:
            raise AssertionError("the fetch should have failed")
    assert "initial_access_token" in str(error) and "client_id" in str(error)
    assert spring_browser.opened == [] and spring_store.list() == []
