"""agentfetch's OAuth client against the MCP Python SDK's real authorization server.

``mcp_sdk_as.py`` runs the SDK's ``create_auth_routes`` (with dynamic
registration and revocation) around an in-memory provider with HTML login and
consent pages, and a resource server built from the SDK's own
``create_protected_resource_routes`` / ``BearerAuthBackend`` /
``RequireAuthMiddleware``, each under uvicorn on its own 127.0.0.1 port. The
"browser" is agentfetch's scripted user agent, which fills the real forms.
Quirks of the SDK met on the way are in ``docs/interop-mcp-sdk.md``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("mcp.server.auth.routes", reason="the MCP Python SDK (pip install 'mcp>=2.3') is not installed")
pytest.importorskip("uvicorn", reason="uvicorn (a dependency of the MCP Python SDK) is not installed")

import httpx  # noqa: E402

import agentfetch  # noqa: E402
from agentfetch.demo.useragent import ScriptedBrowser  # noqa: E402
from agentfetch.errors import AccessDenied  # noqa: E402
from agentfetch.oauth import OAuth, default_consent  # noqa: E402

try:  # a package when tests/interop gets an __init__.py, a rootdir module otherwise
    from .mcp_sdk_as import USERS, McpSdkServers  # type: ignore[import-not-found]
except ImportError:
    from mcp_sdk_as import USERS, McpSdkServers  # type: ignore[import-not-found,no-redef]

ASM = "/.well-known/oauth-authorization-server"


@pytest.fixture(scope="module")
def running_servers() -> Iterator[McpSdkServers]:
    with McpSdkServers() as running:
        yield running


@pytest.fixture
def servers(running_servers: McpSdkServers) -> McpSdkServers:
    """The default servers, with the provider's clients, codes, tokens and knobs wiped."""
    running_servers.provider.reset()
    running_servers.clear_hits()
    return running_servers


@pytest.fixture
def browser() -> ScriptedBrowser:
    return ScriptedBrowser(password=USERS["alice"])


@pytest.fixture
def trace() -> list[str]:
    return []


@pytest.fixture
def store(agentfetch_home: Path) -> Any:
    from agentfetch.store import open_store

    return open_store()


def make_auth(store: Any, browser: ScriptedBrowser, trace: list[str], **options: Any) -> OAuth:
    options.setdefault("auth_timeout", 10.0)
    return OAuth(store=store, consent=default_consent("allow"), open_browser=browser, log=trace.append, **options)


def authorize_query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def first_flow(servers: McpSdkServers) -> list[tuple[str, str, str, int]]:
    return [
        ("RS", "GET", "/docs/page", 401),
        ("RS", "GET", servers.prm_path, 200),
        ("AS", "GET", ASM, 200),
        ("AS", "POST", "/register", 201),
        ("AS", "POST", "/token", 200),
        ("RS", "GET", "/docs/page", 200),
    ]


# -- the harness itself refuses what it should --------------------------------------------------


def test_the_sdk_resource_server_refuses_missing_foreign_and_expired_tokens(servers: McpSdkServers) -> None:
    """Guards the tests below: the RS really checks tokens (introspection + RFC 8707 audience)."""
    provider = servers.provider
    challenge = httpx.get(servers.url())
    assert challenge.status_code == 401
    assert f'resource_metadata="{servers.resource_metadata_url}"' in challenge.headers["www-authenticate"]
    provider.access_ttl = 60
    good = provider._issue("c", ["read"], servers.resource, "alice").access_token
    foreign = provider._issue("c", ["read"], servers.rs_base + "/other", "alice").access_token
    unscoped = provider._issue("c", ["write"], servers.resource, "alice").access_token
    assert httpx.get(servers.url(), headers={"Authorization": f"Bearer {good}"}).status_code == 200
    assert httpx.get(servers.url(), headers={"Authorization": f"Bearer {foreign}"}).status_code == 401
    assert httpx.get(servers.url(), headers={"Authorization": f"Bearer {unscoped}"}).status_code == 403
    provider.expire_access_tokens()
    assert httpx.get(servers.url(), headers={"Authorization": f"Bearer {good}"}).status_code == 401


# -- the full first flow, then the cache ---------------------------------------------------------


def test_first_fetch_runs_every_step_then_the_second_is_one_request(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], agentfetch_home: Path
) -> None:
    with agentfetch.Fetcher(consent="allow", open_browser=browser, log=trace.append, auth_timeout=10.0) as fetcher:
        page = fetcher.fetch(servers.url("page"))
    assert page.status == 200 and "MCP SDK protected page /docs/page for alice" in page.markdown
    assert servers.agent_hits() == first_flow(servers)

    # The authorization request the SDK parsed: RFC 8707 resource, PKCE, the PRM's scope.
    (opened,) = browser.opened
    query = authorize_query(opened)
    assert query["resource"] == servers.resource and query["code_challenge_method"] == "S256"
    assert query["scope"] == "read" and query["state"]
    (params,) = servers.provider.authorize_params
    assert params.resource == servers.resource and params.scopes == ["read"]
    assert params.redirect_uri_provided_explicitly

    # What agentfetch registered (the SDK echoes it back) and got.
    (client,) = servers.provider.clients.values()
    assert client.token_endpoint_auth_method == "none" and client.client_secret is None
    assert client.client_name == "agentfetch" and client.scope == "read write"
    assert [urlsplit(str(u)).hostname for u in client.redirect_uris or []] == ["127.0.0.1"]
    assert str(params.redirect_uri) == str(client.redirect_uris[0])  # type: ignore[index]
    (landed,) = browser.landed
    assert landed.startswith(str(params.redirect_uri)) and "code=" in landed and "iss=" not in landed
    (access,) = servers.provider.access_tokens.values()
    assert access.resource == servers.resource and access.subject == "alice"
    # The token request: PKCE verifier, the same redirect URI, RFC 8707 resource, a public client.
    (token_form,) = servers.forms("/token")
    assert token_form["grant_type"] == "authorization_code" and token_form["code_verifier"]
    assert token_form["resource"] == servers.resource and token_form["client_id"] == client.client_id
    assert token_form["redirect_uri"] == str(params.redirect_uri) and "client_secret" not in token_form

    from agentfetch.store import open_store

    (credential,) = open_store().list()
    assert credential.key.resource == servers.resource and credential.key.issuer == servers.issuer
    assert credential.key.client_id == client.client_id
    assert credential.token_endpoint == servers.as_endpoint("/token")
    assert credential.revocation_endpoint == servers.as_endpoint("/revoke")
    assert credential.tokens.refresh_token and credential.tokens.scope == "read"
    steps = ("challenge:", "PRM:", "AS metadata:", "registration:", "consent:", "browser:", "callback:", "token:",
             "retry:")
    for step in steps:
        assert any(line.startswith(step) for line in trace), step
    assert all(access.token not in line for line in trace)

    # A later fetch, through a new Fetcher (a new process as far as the client knows): one request.
    servers.clear_hits()
    with agentfetch.Fetcher(consent="allow", open_browser=browser) as fetcher:
        again = fetcher.fetch(servers.url("other/page"))
    assert "MCP SDK protected page /docs/other/page for alice" in again.markdown
    assert servers.agent_hits() == [("RS", "GET", "/docs/other/page", 200)]
    assert len(browser.opened) == 1


async def test_async_client_runs_the_same_flow(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    async with httpx.AsyncClient(auth=make_auth(store, browser, trace)) as client:
        response = await client.get(servers.url())
    assert response.status_code == 200 and "for alice" in response.text
    assert servers.agent_hits() == first_flow(servers)


# -- refresh -------------------------------------------------------------------------------------


def test_refresh_when_the_sdk_resource_server_says_invalid_token(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        before = store.list()[0].tokens
        servers.provider.expire_access_tokens()
        servers.clear_hits()
        response = client.get(servers.url())
    assert response.status_code == 200
    assert servers.agent_hits() == [
        ("RS", "GET", "/docs/page", 401),
        ("AS", "POST", "/token", 200),
        ("RS", "GET", "/docs/page", 200),
    ]
    after = store.list()[0].tokens
    assert after.access_token != before.access_token
    # The SDK provider rotates refresh tokens: the new one is kept, the old one is dead.
    assert after.refresh_token != before.refresh_token and after.refresh_token in servers.provider.refresh_tokens
    assert before.refresh_token not in servers.provider.refresh_tokens
    assert servers.provider.refresh_requests == [["read"]] and len(browser.opened) == 1
    (refresh_form,) = servers.forms("/token")
    assert refresh_form["grant_type"] == "refresh_token" and refresh_form["refresh_token"] == before.refresh_token
    assert refresh_form["resource"] == servers.resource


def test_refresh_before_expiry_in_a_later_process_needs_no_discovery(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    servers.provider.access_ttl = 5  # half of it is agentfetch's refresh margin: due after 2.5 s
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
    time.sleep(2.6)
    servers.clear_hits()
    with httpx.Client(auth=make_auth(store, browser, [])) as client:
        assert client.get(servers.url()).status_code == 200
    assert servers.agent_hits() == [("AS", "POST", "/token", 200), ("RS", "GET", "/docs/page", 200)]
    assert len(browser.opened) == 1


def test_refresh_after_real_expiry_with_an_unrotated_refresh_token(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    servers.provider.access_ttl = 2
    servers.provider.rotate_refresh_tokens = False
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        refresh_token = store.list()[0].tokens.refresh_token
        expired = store.list()[0].tokens.access_token
        time.sleep(2.1)  # the SDK's BearerAuthBackend now refuses the access token on its own
        assert httpx.get(servers.url(), headers={"Authorization": f"Bearer {expired}"}).status_code == 401
        servers.provider.access_ttl = 3600
        servers.clear_hits()
        assert client.get(servers.url()).status_code == 200
    assert ("AS", "POST", "/token", 200) in servers.agent_hits()
    assert store.list()[0].tokens.refresh_token == refresh_token  # the unrotated one is kept
    assert len(browser.opened) == 1


def test_refresh_token_revoked_at_the_server_means_one_fresh_authorization(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        servers.provider.refresh_tokens.clear()
        servers.provider.expire_access_tokens()
        servers.clear_hits()
        assert client.get(servers.url()).status_code == 200
    assert servers.agent_hits() == [
        ("RS", "GET", "/docs/page", 401),
        ("AS", "POST", "/token", 400),  # the SDK: invalid_grant "refresh token does not exist"
        ("AS", "POST", "/token", 200),
        ("RS", "GET", "/docs/page", 200),
    ]
    assert len(browser.opened) == 2 and "invalid_grant" in "\n".join(trace)


def test_a_restarted_in_memory_server_forgets_the_client_and_one_new_registration_follows(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # The SDK's example providers keep clients in memory: after a restart the stored registration
    # is dead, and the SDK's ClientAuthenticator answers the refresh with 401 invalid_client.
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        old_client_id = store.list()[0].key.client_id
        servers.provider.reset()
        servers.clear_hits()
        assert client.get(servers.url()).status_code == 200
    assert servers.agent_hits() == [
        ("RS", "GET", "/docs/page", 401),
        ("AS", "POST", "/token", 401),
        ("AS", "POST", "/register", 201),
        ("AS", "POST", "/token", 200),
        ("RS", "GET", "/docs/page", 200),
    ]
    (new_client_id,) = servers.provider.clients
    assert new_client_id != old_client_id and store.list()[0].key.client_id == new_client_id
    assert store.registration_get(servers.issuer)["client_id"] == new_client_id
    assert len(browser.opened) == 2 and "invalid_client" in "\n".join(trace)


# -- revocation ----------------------------------------------------------------------------------


def test_logout_revokes_at_the_sdk_revocation_endpoint(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    auth = make_auth(store, browser, trace)
    with httpx.Client(auth=auth) as client:
        assert client.get(servers.url()).status_code == 200
        tokens = store.list()[0].tokens
        servers.clear_hits()
        removed = auth.logout(client, servers.url())
    assert [key.resource for key in removed] == [servers.resource] and store.list() == []
    # mcp 2.3.0's RevocationRequest declares `client_secret: str | None` with no default, so pydantic
    # requires the field: a public client's RFC 7009 request (client_id only) gets 400 invalid_request
    # "client_secret: Field required". agentfetch then sends the empty secret (RFC 6749 §2.3.1).
    # The SDK revokes the whole grant on the first (refresh token) revocation, so the access token
    # revocation finds nothing and gets the RFC 7009 §2.2 200 for an unknown token.
    from mcp.server.auth.handlers.revoke import RevocationRequest

    if RevocationRequest.model_fields["client_secret"].is_required():
        assert servers.agent_hits() == [("AS", "POST", "/revoke", 400), ("AS", "POST", "/revoke", 200)] * 2
        assert "revoke (refresh_token, empty client_secret)" in "\n".join(trace)
        first, retry = servers.forms("/revoke")[:2]
        assert "client_secret" not in first and retry["client_secret"] == ""
        assert first["token"] == retry["token"] == tokens.refresh_token and retry["token_type_hint"] == "refresh_token"
    else:  # a later SDK that takes RFC 7009 as written
        assert servers.agent_hits() == [("AS", "POST", "/revoke", 200)] * 2
    assert servers.provider.revoked[:1] == ["refresh_token"]
    assert tokens.access_token not in servers.provider.access_tokens
    assert tokens.refresh_token not in servers.provider.refresh_tokens
    # The resource server agrees: the old token no longer opens the page.
    assert httpx.get(servers.url(), headers={"Authorization": f"Bearer {tokens.access_token}"}).status_code == 401


def test_the_empty_secret_retry_answers_only_the_sdk_refusal_of_a_public_client() -> None:
    from agentfetch.oauth.tokens import ClientIdentity, revocation_request, revocation_wants_secret_field

    public, confidential = ClientIdentity("c"), ClientIdentity("c", "s3cret", "client_secret_post")
    request = httpx.Request("POST", "http://127.0.0.1:1/revoke")

    def answer(status: int, body: dict[str, str]) -> httpx.Response:
        return httpx.Response(status, json=body, request=request)

    sdk = answer(400, {"error": "invalid_request", "error_description": "client_secret: Field required"})
    assert revocation_wants_secret_field(sdk, public)
    assert not revocation_wants_secret_field(sdk, confidential)
    assert not revocation_wants_secret_field(answer(200, {}), public)
    other_400 = answer(400, {"error": "invalid_request", "error_description": "token: Field required"})
    assert not revocation_wants_secret_field(other_400, public)
    assert not revocation_wants_secret_field(answer(401, {"error": "invalid_client"}), public)
    first = revocation_request("http://127.0.0.1:1/revoke", client=public, token="t", token_type_hint="refresh_token")
    retry = revocation_request("http://127.0.0.1:1/revoke", client=public, token="t", token_type_hint="refresh_token",
                               empty_secret=True)
    assert b"client_secret" not in first.read() and b"client_secret=&" in retry.read() + b"&"
    kept = revocation_request("http://127.0.0.1:1/revoke", client=confidential, token="t",
                              token_type_hint="refresh_token", empty_secret=True)
    assert b"client_secret=s3cret" in kept.read()


# -- the human says no ---------------------------------------------------------------------------


def test_deny_on_the_consent_page_ends_the_flow_with_access_denied(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    browser.approve = False
    with httpx.Client(auth=make_auth(store, browser, trace)) as client, pytest.raises(AccessDenied) as raised:
        client.get(servers.url())
    assert "the user said no" in raised.value.message
    assert store.list() == [] and servers.provider.access_tokens == {}


# -- step-up: the SDK's RequireAuthMiddleware names the missing scope only in prose -----------------


def test_step_up_without_a_scope_in_the_challenge_hands_back_the_403_without_asking_again(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # RequireAuthMiddleware answers 403 insufficient_scope with error_description="Required scope:
    # write" and no scope= parameter (RFC 6750 §3 makes it optional; the MCP spec says SHOULD).
    # The union of the granted and the challenged scopes is what agentfetch already holds, so a
    # new sign-in could not help: the 403 is handed back at once, with no browser and no token request.
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        servers.clear_hits()
        response = client.get(servers.url("admin"))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert "scope=" not in response.headers["www-authenticate"].replace("insufficient_scope", "")
    assert servers.agent_hits() == [("RS", "GET", "/docs/admin", 403)]
    assert [p.scopes for p in servers.provider.authorize_params] == [["read"]]
    assert any("not asking the human again" in line for line in trace)


def test_step_up_when_the_challenge_names_the_scope(browser: ScriptedBrowser, trace: list[str], store: Any) -> None:
    with McpSdkServers(challenge_scope=True) as servers:
        with httpx.Client(auth=make_auth(store, browser, trace)) as client:
            assert client.get(servers.url()).status_code == 200
            servers.clear_hits()
            response = client.get(servers.url("admin"))
        assert response.status_code == 200 and "/docs/admin for alice" in response.text
        assert servers.agent_hits() == [
            ("RS", "GET", "/docs/admin", 403),
            ("AS", "POST", "/token", 200),
            ("RS", "GET", "/docs/admin", 200),
        ]
        # The step-up reuses the stored registration, so agentfetch first checks that the server still
        # knows it (one GET of the authorization URL), then the browser opens the same URL.
        assert [p.scopes for p in servers.provider.authorize_params] == [["read"], ["read", "write"], ["read", "write"]]
        assert set(store.list()[0].tokens.scope.split()) == {"read", "write"}


# -- redirect URI: the SDK matches the registered URI exactly, port included ---------------------


def test_a_fresh_authorization_reuses_the_registered_loopback_port(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        store.delete(store.list()[0].key)  # tokens gone, registration kept
        servers.clear_hits()
        assert client.get(servers.url()).status_code == 200
    assert ("AS", "POST", "/register", 201) not in servers.agent_hits()
    assert len(servers.provider.clients) == 1 and len(browser.opened) == 2
    # The second flow reuses the stored registration: a check of the authorization URL, then the browser.
    first, check, second = (p.redirect_uri for p in servers.provider.authorize_params)
    assert str(first) == str(check) == str(second)
    # Why the port matters here: the SDK compares redirect_uri with the registered ones exactly
    # (no RFC 8252 §7.3 any-port rule), and refuses another port to the browser, with a 400 page
    # that never reaches the client's listener.
    (client_id,) = servers.provider.clients
    other_port = str(first).replace(f":{urlsplit(str(first)).port}/", ":1/")
    refused = httpx.get(servers.as_endpoint("/authorize"), params={
        "response_type": "code", "client_id": client_id, "redirect_uri": other_port,
        "code_challenge": "x" * 43, "code_challenge_method": "S256", "state": "s",
    })
    assert refused.status_code == 400 and "location" not in refused.headers
    assert refused.json()["error"] == "invalid_request" and "not registered" in refused.json()["error_description"]


def test_a_busy_registered_port_means_one_new_registration(
    servers: McpSdkServers, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    with httpx.Client(auth=make_auth(store, browser, trace)) as client:
        assert client.get(servers.url()).status_code == 200
        (client_info,) = servers.provider.clients.values()
        port = urlsplit(str(client_info.redirect_uris[0])).port  # type: ignore[index]
        store.delete(store.list()[0].key)
        squatter = socket.socket()
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the old listener's TIME_WAIT
        try:
            squatter.bind(("127.0.0.1", port))
            squatter.listen(1)
            servers.clear_hits()
            assert client.get(servers.url()).status_code == 200
        finally:
            squatter.close()
    assert servers.agent_hits().count(("AS", "POST", "/register", 201)) == 1
    assert len(servers.provider.clients) == 2
    first, second = (p.redirect_uri for p in servers.provider.authorize_params)
    assert urlsplit(str(first)).port == port and urlsplit(str(second)).port != port


# -- scopes and the issuer ------------------------------------------------------------------------


def test_without_valid_scopes_the_client_registers_the_scopes_it_will_request(
    browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # No valid_scopes: the metadata has no scopes_supported. The SDK still refuses (invalid_scope)
    # any scope the client did not register, so the registration must carry the PRM's scope.
    with McpSdkServers(valid_scopes=None) as servers:
        metadata = httpx.get(servers.as_endpoint(ASM)).json()
        assert "scopes_supported" not in metadata
        with httpx.Client(auth=make_auth(store, browser, trace)) as client:
            assert client.get(servers.url()).status_code == 200
        (client_info,) = servers.provider.clients.values()
        assert client_info.scope == "read"


@pytest.mark.parametrize("valid_scopes", [["read", "write"], None], ids=["valid-scopes", "no-valid-scopes"])
def test_a_resource_that_requires_no_scope(
    valid_scopes: list[str] | None, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # required_scopes=[]: the PRM says "scopes_supported": [] and the challenge names none, so no
    # scope parameter is sent at all; the SDK passes scopes=None to the provider and accepts it.
    with McpSdkServers(required_scopes=[], valid_scopes=valid_scopes) as servers:
        assert httpx.get(servers.resource_metadata_url).json()["scopes_supported"] == []
        servers.clear_hits()
        with httpx.Client(auth=make_auth(store, browser, trace)) as client:
            assert client.get(servers.url()).status_code == 200
        assert servers.agent_hits() == first_flow(servers)
        assert "scope" not in authorize_query(browser.opened[0])
        assert [p.scopes for p in servers.provider.authorize_params] == [None]
        (client_info,) = servers.provider.clients.values()
        assert client_info.scope == (" ".join(valid_scopes) if valid_scopes else None)


def test_a_resource_scope_the_authorization_server_does_not_know_ends_in_a_clear_error(
    browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # The resource requires "admin", which is not among the AS's valid_scopes. The SDK refuses to
    # register it (400 invalid_client_metadata "Requested scopes are not valid"); agentfetch then
    # registers the advertised scopes, and the SDK refuses "admin" at /authorize with a redirect
    # carrying error=invalid_scope, which ends the flow with the server's words. Nothing stored.
    from agentfetch.errors import AuthorizationError

    with McpSdkServers(required_scopes=["admin"]) as servers:
        with httpx.Client(auth=make_auth(store, browser, trace)) as client, \
                pytest.raises(AuthorizationError, match="invalid_scope") as raised:
            client.get(servers.url())
        assert "not registered with scope admin" in raised.value.message
        assert servers.agent_hits()[-2:] == [("AS", "POST", "/register", 400), ("AS", "POST", "/register", 201)]
        (client_info,) = servers.provider.clients.values()
        assert client_info.scope == "read write"
        assert store.list() == [] and servers.provider.access_tokens == {}


@pytest.mark.parametrize(
    ("as_slash", "prm_slash"), [(True, True), (True, False), (False, True)], ids=["both", "as-only", "prm-only"]
)
def test_issuer_with_the_trailing_slash_pydantic_adds(
    as_slash: bool, prm_slash: bool, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # AnyHttpUrl("http://127.0.0.1:P") is "http://127.0.0.1:P/". Passed straight to
    # create_auth_routes or create_protected_resource_routes instead of through AuthSettings
    # (which keeps the empty path), the AS metadata, the PRM, or both carry the slash. The client
    # tolerates exactly this difference (same origin, empty or "/" path) and no other.
    with McpSdkServers(issuer_trailing_slash=as_slash, prm_issuer_trailing_slash=prm_slash) as servers:
        assert httpx.get(servers.resource_metadata_url).json()["authorization_servers"] == [servers.prm_issuer]
        assert httpx.get(servers.as_endpoint(ASM)).json()["issuer"] == servers.issuer
        assert servers.issuer.endswith("/") is as_slash and servers.prm_issuer.endswith("/") is prm_slash
        servers.clear_hits()
        with httpx.Client(auth=make_auth(store, browser, trace)) as client:
            assert client.get(servers.url()).status_code == 200
        assert servers.agent_hits() == first_flow(servers)
        # Stored under the issuer the server states (the one RFC 9207 ``iss`` would echo).
        assert store.list()[0].key.issuer == servers.issuer
        assert store.registration_get(servers.issuer)["client_id"] in servers.provider.clients


@pytest.mark.parametrize("resource_path", ["", "/"], ids=["origin", "origin-slash"])
def test_a_resource_that_is_the_whole_origin(
    resource_path: str, browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # resource_server_url "http://h:p" (AuthSettings keeps the empty path) or "http://h:p/": the PRM
    # is at the root well-known URL and names that exact string; the token is bound to it and the
    # SDK's BearerAuthBackend compares it to resource_server_url, a trailing slash aside.
    with McpSdkServers(resource_path=resource_path) as servers:
        assert servers.prm_path == "/.well-known/oauth-protected-resource"
        assert httpx.get(servers.resource_metadata_url).json()["resource"] == servers.resource
        servers.clear_hits()
        with httpx.Client(auth=make_auth(store, browser, trace)) as client:
            assert client.get(servers.url()).status_code == 200
        assert servers.agent_hits() == first_flow(servers)
        (params,) = servers.provider.authorize_params
        assert params.resource == servers.resource and store.list()[0].key.resource == servers.resource


# -- the command line, with the user agent as BROWSER ---------------------------------------------


def test_cli_fetch_then_logout_with_the_user_agent_as_browser(servers: McpSdkServers, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from agentfetch.demo.useragent import browser_command

    env = {**os.environ, "AGENTFETCH_HOME": str(tmp_path / "home"), "AGENTFETCH_STORE": "file",
           "BROWSER": browser_command(username="alice", password=USERS["alice"], background=True)}
    env.pop("AGENTFETCH_CONSENT", None)
    env.pop("AGENTFETCH_DEBUG", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agentfetch", *args], capture_output=True, text=True,
                              timeout=120, env=env, stdin=subprocess.DEVNULL)

    fetched = run(servers.url(), "--consent", "allow", "--json")
    assert fetched.returncode == 0, fetched.stderr
    assert "MCP SDK protected page /docs/page for alice" in json.loads(fetched.stdout)["markdown"]
    assert len(servers.provider.access_tokens) == 1 and len(servers.provider.refresh_tokens) == 1

    logout = run("auth", "logout", servers.url())
    assert logout.returncode == 0, logout.stderr
    assert servers.provider.access_tokens == {} and servers.provider.refresh_tokens == {}
    again = run(servers.url(), "--consent", "deny")
    assert again.returncode == 5  # nothing stored any more: authorization needed, and refused


# -- a login redirect to the same host on another port ------------------------------------------


def test_a_login_redirect_to_another_port_of_the_same_host_is_checked_for_prm_first(
    browser: ScriptedBrowser, trace: list[str], store: Any
) -> None:
    # The resource answers a program's unauthenticated GET with a 302 to the authorization server's
    # login page: same host (127.0.0.1), another port, so another origin (RFC 6454). That is a login
    # redirect (docs/protocol.md, login redirects): the resource's origin is asked for its PRM before
    # the redirect is followed. Hosts alone compared equal here, and the login page came back as the page.
    with McpSdkServers(login_redirect=True, resource_path="") as servers:
        plain = httpx.get(servers.url())
        target = urlsplit(plain.headers["location"])
        assert plain.status_code == 302 and target.hostname == "127.0.0.1" and target.path == "/login"
        assert target.port != urlsplit(servers.url()).port
        servers.clear_hits()
        with agentfetch.Fetcher(consent="allow", open_browser=browser, log=trace.append, auth_timeout=10.0,
                                store=store) as fetcher:
            page = fetcher.fetch(servers.url())
        assert page.status == 200 and "MCP SDK protected page /docs/page for alice" in page.markdown
        assert servers.agent_hits() == [
            ("RS", "GET", "/docs/page", 302),
            ("RS", "GET", "/.well-known/oauth-protected-resource/docs/page", 404),
            ("RS", "GET", "/.well-known/oauth-protected-resource", 200),
            ("AS", "GET", ASM, 200),
            ("AS", "POST", "/register", 201),
            ("AS", "POST", "/token", 200),
            ("RS", "GET", "/docs/page", 200),
        ]
        assert any("to a login page, but" in line for line in trace)
