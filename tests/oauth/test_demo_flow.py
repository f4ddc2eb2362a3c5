"""End to end against the demo app: the flows of issue 4, on a plain httpx client."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from agentfetch.errors import (
    AccessDenied,
    AuthorizationError,
    AuthorizationTimeout,
    CallbackMismatch,
    ConsentDenied,
    ConsentRequired,
    MetadataMismatch,
    SecurityError,
)
from agentfetch.oauth import OAuth

from .conftest import agent_requests, sleep_until_due

PRM = "/.well-known/oauth-protected-resource"
ASM = "/.well-known/oauth-authorization-server"


def test_first_flow_round_trips_then_cached_fetch(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    with httpx.Client(auth=make_auth()) as client:
        response = client.get(demo.url)
    assert response.status_code == 200 and "Acme" in response.text
    assert agent_requests(demo) == [
        ("GET", "/", 401),
        ("GET", PRM, 200),
        ("GET", ASM, 200),
        ("POST", "/oauth/register", 201),
        ("POST", "/oauth/token", 200),
        ("GET", "/", 200),
    ]
    assert len(browser.opened) == 1
    (credential,) = store.list()
    assert credential.key.resource == demo.resource and credential.key.issuer == demo.issuer
    assert credential.token_endpoint == demo.endpoint("token")
    assert credential.tokens.refresh_token and credential.tokens.expires_at > time.time() + 200
    assert "offline_access" in credential.tokens.scope.split()
    assert credential.subject == "alice"
    registration = store.registration_get(demo.issuer)
    assert registration["client_id"] == credential.key.client_id
    client_meta = demo.clients()[credential.key.client_id]
    assert client_meta["client_name"] == "agentfetch"

    # A later process (a new OAuth over the same store): exactly one request, no browser.
    demo.clear_requests()
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.url + "pages/deploy").status_code == 200
    assert len(agent_requests(demo)) == 1 and len(browser.opened) == 1


def test_second_resource_on_same_server_skips_as_metadata_and_registration(
    demo: Any, make_auth: Any, browser: Any, store: Any
) -> None:
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.api_resource + "/pages").status_code == 200
        demo.clear_requests()
        assert client.get(demo.url).status_code == 200
    assert agent_requests(demo) == [
        ("GET", "/", 401),
        ("GET", PRM, 200),
        ("POST", "/oauth/token", 200),
        ("GET", "/", 200),
    ]
    assert len(browser.opened) == 2
    assert {c.key.resource for c in store.list()} == {demo.resource, demo.api_resource}
    assert len({c.key.client_id for c in store.list()}) == 1


def test_refresh_when_the_resource_says_invalid_token(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        before = store.list()[0].tokens
        demo.expire_tokens()
        demo.clear_requests()
        assert client.get(demo.url).status_code == 200
    assert agent_requests(demo) == [("GET", "/", 401), ("POST", "/oauth/token", 200), ("GET", "/", 200)]
    after = store.list()[0].tokens
    assert after.access_token != before.access_token and len(browser.opened) == 1


def test_refresh_before_expiry_after_a_restart(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    demo.reconfigure(token_lifetime=5)
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
    sleep_until_due(store)  # 2.5 s: half a short lifetime is its margin
    demo.clear_requests()
    with httpx.Client(auth=make_auth()) as client:  # no discovery: the credential knows its token endpoint
        assert client.get(demo.url).status_code == 200
    assert agent_requests(demo) == [("POST", "/oauth/token", 200), ("GET", "/", 200)]
    assert len(browser.opened) == 1


def test_failed_refresh_drops_tokens_and_authorizes_once_more(
    demo: Any, make_auth: Any, browser: Any, store: Any, trace: Any
) -> None:
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        demo.reconfigure(faults={"refresh_invalid_grant"})
        demo.expire_tokens()
        demo.clear_requests()
        assert client.get(demo.url).status_code == 200
    assert agent_requests(demo) == [
        ("GET", "/", 401),
        ("POST", "/oauth/token", 400),
        ("POST", "/oauth/token", 200),
        ("GET", "/", 200),
    ]
    assert len(browser.opened) == 2
    assert "invalid_grant" in trace.text


def test_step_up_on_admin(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        demo.clear_requests()
        assert client.get(demo.url + "admin").status_code == 200
    assert agent_requests(demo) == [("GET", "/admin", 403), ("POST", "/oauth/token", 200), ("GET", "/admin", 200)]
    assert {"read", "admin"} <= set(store.list()[0].tokens.scope.split())


def test_step_up_refused_by_policy_is_final_after_one_try(demo: Any, make_auth: Any, browser: Any) -> None:
    browser.user = "bob"  # not an admin: the AS strips the admin scope
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        demo.clear_requests()
        response = client.get(demo.url + "admin")
    assert response.status_code == 403
    assert agent_requests(demo) == [("GET", "/admin", 403), ("POST", "/oauth/token", 200), ("GET", "/admin", 403)]
    assert len(browser.opened) == 2


def _assert_nothing_stored(store: Any, demo: Any) -> None:
    assert store.list() == []
    assert store.registration_get(demo.issuer) is None


def test_consent_denied(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    with httpx.Client(auth=make_auth(consent=lambda request: False)) as client, pytest.raises(ConsentDenied) as info:
        client.get(demo.url)
    assert info.value.exit_code == 5
    assert browser.opened == [] and demo.count("/oauth/register") == 0
    _assert_nothing_stored(store, demo)


def test_non_interactive_names_the_way_out(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    with httpx.Client(auth=make_auth(interactive=False)) as client, pytest.raises(ConsentRequired) as info:
        client.get(demo.url)
    assert "agentfetch auth login" in str(info.value) and "--consent allow" in str(info.value)
    assert browser.opened == []
    _assert_nothing_stored(store, demo)


def test_access_denied_at_the_consent_page(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    browser.approve = False
    with httpx.Client(auth=make_auth()) as client, pytest.raises(AccessDenied) as info:
        client.get(demo.url)
    assert "access_denied" in str(info.value) and info.value.exit_code == 5
    _assert_nothing_stored(store, demo)


def test_listener_timeout(demo: Any, make_auth: Any, store: Any) -> None:
    demo.reconfigure(faults={"no_callback"})
    started = time.monotonic()
    with httpx.Client(auth=make_auth(auth_timeout=1.0)) as client, pytest.raises(AuthorizationTimeout) as info:
        client.get(demo.url)
    assert time.monotonic() - started < 8
    assert info.value.exit_code == 5 and "--auth-timeout" in str(info.value)
    _assert_nothing_stored(store, demo)


@pytest.mark.parametrize(
    ("fault", "error", "exit_code"),
    [
        ("prm_resource_mismatch", MetadataMismatch, 6),
        ("as_wrong_issuer", MetadataMismatch, 6),
        ("callback_wrong_state", CallbackMismatch, 6),
        ("callback_wrong_iss", CallbackMismatch, 6),
        ("callback_missing_iss", CallbackMismatch, 6),
        ("no_s256", SecurityError, 6),
        ("wrong_aud", AuthorizationError, 5),
    ],
)
def test_faults_are_refused_and_nothing_is_stored(
    demo: Any, make_auth: Any, store: Any, fault: str, error: type[Exception], exit_code: int
) -> None:
    demo.reconfigure(faults={fault})
    # A wrong state is refused and the listener waits on for the real callback, which never comes here.
    auth = make_auth(auth_timeout=2.0) if fault == "callback_wrong_state" else make_auth()
    with httpx.Client(auth=auth) as client, pytest.raises(error) as info:
        client.get(demo.url)
    assert info.value.exit_code == exit_code
    if fault != "wrong_aud":  # there the flow succeeded and the resource refused the token
        _assert_nothing_stored(store, demo)


@pytest.mark.parametrize(
    "fault",
    [
        "no_resource_metadata_param",
        "oidc_only",
        "exact_redirect_port",
        "localhost_only_redirect",
        "loopback_ip_only_redirect",
        "opaque_tokens",
        "first_as_broken",
        "first_as_unreachable",
    ],
)
def test_interop_faults_still_succeed(demo: Any, make_auth: Any, browser: Any, store: Any, fault: str) -> None:
    demo.reconfigure(faults={fault})
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.url).status_code == 200
    (credential,) = store.list()
    if fault == "opaque_tokens":
        assert credential.tokens.access_token.startswith("oauth:") and credential.subject is None
    if fault == "localhost_only_redirect":
        assert store.registration_get(demo.issuer)["redirect_uris"][0].startswith("http://localhost:")


def test_no_offline_access_means_a_new_flow_after_expiry(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    demo.reconfigure(faults={"no_offline_access"})
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        assert store.list()[0].tokens.refresh_token is None
        demo.expire_tokens()
        assert client.get(demo.url).status_code == 200
    assert len(browser.opened) == 2


def test_exact_redirect_port_reuses_the_registered_port(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    demo.reconfigure(faults={"exact_redirect_port", "no_offline_access"})
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        demo.expire_tokens()
        assert client.get(demo.url).status_code == 200
    assert demo.count("/oauth/register") == 1 and len(browser.opened) == 2
    registered = store.registration_get(demo.issuer)["redirect_uris"][0]
    assert all(registered.replace(":", "%3A").replace("/", "%2F") in url for url in browser.opened)


def test_exact_redirect_port_busy_registers_again(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    import socket

    demo.reconfigure(faults={"exact_redirect_port", "no_offline_access"})
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        port = httpx.URL(store.registration_get(demo.issuer)["redirect_uris"][0]).port
        demo.expire_tokens()
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            assert client.get(demo.url).status_code == 200
    assert demo.count("/oauth/register") == 2
    assert httpx.URL(store.registration_get(demo.issuer)["redirect_uris"][0]).port != port


async def test_async_client_full_flow_then_cached(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    async with httpx.AsyncClient(auth=make_auth()) as client:
        assert (await client.get(demo.url)).status_code == 200
        demo.clear_requests()
        assert (await client.get(demo.url)).status_code == 200
    assert agent_requests(demo) == [("GET", "/", 200)]
    assert len(browser.opened) == 1


def test_secrets_never_reach_the_trace_or_errors(
    demo: Any, make_auth: Any, browser: Any, store: Any, trace: Any
) -> None:
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        demo.expire_tokens()
        client.get(demo.url)  # refresh
        demo.reconfigure(faults={"wrong_aud"})
        demo.expire_tokens()
        with pytest.raises(AuthorizationError) as info:
            client.get(demo.url)
    secrets = [browser_code for browser_code in browser.codes]
    for credential in store.list():
        secrets += [credential.tokens.access_token, credential.tokens.refresh_token]
    secrets += [c["client_secret"] for c in demo.clients().values() if c.get("client_secret")]
    assert secrets and all(secrets)
    text = trace.text + str(info.value) + repr(info.value) + repr(store.list())
    for secret in secrets:
        assert secret not in text
    steps = ("challenge:", "PRM:", "AS metadata:", "registration:", "consent:", "browser:", "callback:", "token:",
             "retry:")
    for step in steps:
        assert step in trace.text


def test_oauth_repr_and_bad_timeout() -> None:
    from agentfetch.errors import UsageError

    assert "OAuth(" in repr(OAuth(store=object()))
    with pytest.raises(UsageError):
        OAuth(auth_timeout=0)


def test_no_registration_endpoint_says_what_to_configure(demo: Any, make_auth: Any, store: Any) -> None:
    from agentfetch.errors import ClientIdentityError

    demo.reconfigure(registration=False)
    with httpx.Client(auth=make_auth()) as client, pytest.raises(ClientIdentityError) as info:
        client.get(demo.url)
    assert "AGENTFETCH_CLIENT_ID" in str(info.value) and "config.toml" in str(info.value)
    assert info.value.exit_code == 5
    _assert_nothing_stored(store, demo)


def test_configured_client_id_from_the_environment(
    demo: Any, make_auth: Any, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.reconfigure(registration=False)
    monkeypatch.setenv("AGENTFETCH_CLIENT_ID", demo.config.preregistered_client_id)
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.url).status_code == 200
    assert store.list()[0].key.client_id == demo.config.preregistered_client_id
    assert demo.count("/oauth/register") == 0


def test_configured_client_id_from_config_toml(
    demo: Any, make_auth: Any, store: Any, agentfetch_home: Any
) -> None:
    demo.reconfigure(registration=False)
    config = agentfetch_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'[issuers."{demo.issuer}"]\nclient_id = "{demo.config.preregistered_client_id}"\n')
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.url).status_code == 200
    assert store.list()[0].key.client_id == demo.config.preregistered_client_id


def test_issuer_with_a_path_uses_path_inserted_discovery(demo: Any, make_auth: Any, store: Any) -> None:
    demo.reconfigure(issuer_path="/tenant1")
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.url).status_code == 200
    assert ("GET", ASM + "/tenant1", 200) in agent_requests(demo)
    assert store.list()[0].key.issuer.endswith("/tenant1")


def _device_walker(trace: Any, user: str = "alice", approve: bool = True) -> Any:
    """A log sink that plays the human on another device: when the device
    code is shown, it walks the verification URL (in a thread, as a phone would)."""
    import re
    import threading

    from agentfetch.demo.useragent import walk

    def sink(line: str) -> None:
        trace(line)
        match = re.search(r"\(or open (\S+)\)", line)
        if line.startswith("device:") and match:
            threading.Thread(target=walk, args=(match.group(1),), kwargs={"username": user, "approve": approve},
                             daemon=True).start()

    return sink


def test_device_flow_when_no_browser_can_start(demo: Any, make_auth: Any, store: Any, trace: Any) -> None:
    auth = make_auth(open_browser=lambda url: False, log=_device_walker(trace))
    with httpx.Client(auth=auth) as client:
        assert client.get(demo.url).status_code == 200
    assert demo.count("/oauth/device_authorization", "POST") == 1
    assert store.list()[0].tokens.refresh_token
    device_line = next(line for line in trace.lines if line.startswith("device:"))
    assert "enter the code" in device_line


def test_device_flow_denied(demo: Any, make_auth: Any, store: Any, trace: Any) -> None:
    auth = make_auth(open_browser=lambda url: False, log=_device_walker(trace, approve=False))
    with httpx.Client(auth=auth) as client, pytest.raises(AccessDenied):
        client.get(demo.url)
    _assert_nothing_stored(store, demo)


def test_device_flow_times_out(demo: Any, make_auth: Any, store: Any, trace: Any) -> None:
    auth = make_auth(open_browser=lambda url: False, auth_timeout=2.5)
    with httpx.Client(auth=auth) as client, pytest.raises(AuthorizationTimeout):
        client.get(demo.url)
    _assert_nothing_stored(store, demo)


def test_a_forgotten_client_is_registered_again(demo: Any, make_auth: Any, browser: Any, store: Any) -> None:
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
        old_client = store.list()[0].key.client_id
        demo.reset()  # the server lost every client, grant and token
        assert client.get(demo.url).status_code == 200
    assert store.list()[0].key.client_id != old_client
    assert store.registration_get(demo.issuer)["client_id"] == store.list()[0].key.client_id
    assert len(browser.opened) == 2


async def test_async_consent_callback_on_async_client(demo: Any, make_auth: Any, browser: Any) -> None:
    asked: list[Any] = []

    async def consent(request: Any) -> bool:
        asked.append(request)
        return True

    async with httpx.AsyncClient(auth=make_auth(consent=consent)) as client:
        assert (await client.get(demo.url)).status_code == 200
    (request,) = asked
    assert request.resource == demo.resource and request.authorization_server == demo.issuer
    assert "read" in request.scopes and request.client_name == "agentfetch"


def test_async_consent_callback_on_sync_client(demo: Any, make_auth: Any) -> None:
    async def consent(request: Any) -> bool:
        return False

    with httpx.Client(auth=make_auth(consent=consent)) as client, pytest.raises(ConsentDenied):
        client.get(demo.url)


def test_a_cached_fetch_does_not_import_authlib(demo: Any, make_auth: Any, agentfetch_home: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url)
    script = (
        "import sys, httpx\n"
        "from agentfetch.oauth import OAuth, default_consent\n"
        "auth = OAuth(consent=default_consent('deny'), open_browser=lambda url: False)\n"
        f"print(httpx.Client(auth=auth).get({demo.url!r}).status_code)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'authlib', 'joserfc', 'lxml', 'markdownify'}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["200", "[]"]


def test_reauthorization_after_failed_refresh_keeps_the_granted_scopes(
    demo: Any, make_auth: Any, browser: Any
) -> None:
    with httpx.Client(auth=make_auth()) as client:
        client.get(demo.url + "admin")  # read, then step-up to admin
        demo.reconfigure(faults={"refresh_invalid_grant"})
        demo.expire_tokens()
        demo.clear_requests()
        assert client.get(demo.url + "admin").status_code == 200
    assert agent_requests(demo) == [
        ("GET", "/admin", 401),
        ("POST", "/oauth/token", 400),
        ("POST", "/oauth/token", 200),
        ("GET", "/admin", 200),
    ]


def test_a_looping_protected_catalog_needs_one_sign_in(demo: Any, make_auth: Any, browser: Any) -> None:
    """API discovery over the OAuth flow: the nested catalog, and the link back, reuse the token."""
    from agentfetch import Fetcher
    from agentfetch.apis import discover_apis

    demo.reconfigure(faults={"catalog_loop"})
    with Fetcher(auth=make_auth()) as fetcher:
        catalog = discover_apis(demo.url, fetcher=fetcher)
    assert [v.skipped for v in catalog.catalogs] == [None, None, "already visited"]
    assert len(browser.opened) == 1
    assert [r for r in agent_requests(demo) if r[2] in (401, 403)] == [("GET", "/.well-known/api-catalog", 401)]
    assert agent_requests(demo)[-1] == ("GET", "/directory/api-catalog", 200)


def test_an_unusable_description_is_not_an_authorization_problem(demo: Any, make_auth: Any, browser: Any) -> None:
    """A malformed API description after a sign-in: no second sign-in, no retry, an exit-4 error for that API."""
    from agentfetch import Fetcher, InvalidDocument
    from agentfetch.apis import discover_apis

    demo.reconfigure(faults={"malformed_openapi"})
    with Fetcher(auth=make_auth()) as fetcher:
        catalog = discover_apis(demo.url, fetcher=fetcher, describe=True)
    directory = catalog.apis[1]
    assert isinstance(directory.error, InvalidDocument) and directory.error.exit_code == 4
    assert len(browser.opened) == 1
    assert [r for r in agent_requests(demo) if r[1] == "/directory/openapi.yaml"] == [
        ("GET", "/directory/openapi.yaml", 200)]


def test_a_write_answered_502_after_sign_in_is_not_sent_again(demo: Any, make_auth: Any, browser: Any) -> None:
    """The challenge retry is the only one: a POST the server answered 502 is not repeated."""
    demo.reconfigure(faults={"api_bad_gateway"})
    with httpx.Client(auth=make_auth()) as client:
        response = client.post(demo.origin + "/api/pages", json={"title": "Lost"})
    assert response.status_code == 502 and len(browser.opened) == 1
    assert [r for r in agent_requests(demo) if r[0] == "POST" and r[1] == "/api/pages"] == [
        ("POST", "/api/pages", 401), ("POST", "/api/pages", 502)]


def test_every_demo_fault_knob_is_exercised_here() -> None:
    """A new fault in the demo app must get a test in this module."""
    from pathlib import Path

    from agentfetch.demo import FAULTS

    source = Path(__file__).read_text()
    missing = [name for name in FAULTS if f'"{name}"' not in source]
    assert missing == []


def test_a_streamed_request_body_survives_the_retry(demo: Any, make_auth: Any) -> None:
    def body() -> Any:
        yield b'{"query": '
        yield b'"deploy"}'

    with httpx.Client(auth=make_auth()) as client:
        response = client.post(demo.url + "api/search", content=body(), headers={"Content-Type": "application/json"})
    assert response.status_code not in (401, 403)
    assert agent_requests(demo)[0][:2] == ("POST", "/api/search") and agent_requests(demo)[-1][:2] == (
        "POST",
        "/api/search",
    )


async def test_a_streamed_request_body_survives_the_retry_async(demo: Any, make_auth: Any) -> None:
    async def body() -> Any:
        yield b'{"query": "deploy"}'

    async with httpx.AsyncClient(auth=make_auth()) as client:
        response = await client.post(demo.url + "api/search", content=body())
    assert response.status_code not in (401, 403)
    assert [r[:2] for r in agent_requests(demo)].count(("POST", "/api/search")) == 2


def test_cross_origin_login_redirect_for_programs_is_turned_into_oauth(
    demo: Any, make_auth: Any, browser: Any, store: Any
) -> None:
    demo.reconfigure(faults={"always_redirect"})
    with httpx.Client(auth=make_auth(), follow_redirects=False) as client:
        response = client.get(demo.url)
    assert response.status_code == 200 and len(browser.opened) == 1
    assert agent_requests(demo)[:2] == [("GET", "/", 302), ("GET", PRM, 200)]
    assert store.list()[0].key.resource == demo.resource


def test_second_domain_of_one_app_asks_again_but_reuses_registration(
    demo: Any, make_auth: Any, browser: Any, store: Any
) -> None:
    with httpx.Client(auth=make_auth()) as client:
        assert client.get(demo.url).status_code == 200
        demo.clear_requests()
        assert client.get(demo.alias_url).status_code == 200
    assert agent_requests(demo) == [
        ("GET", "/", 401),
        ("GET", PRM, 200),
        ("POST", "/oauth/token", 200),
        ("GET", "/", 200),
    ]
    assert {c.key.resource for c in store.list()} == {demo.resource, demo.alias_resource}
    assert len({c.key.client_id for c in store.list()}) == 1 and len(browser.opened) == 2


def test_the_system_browser_path_honours_BROWSER(demo: Any, agentfetch_home: Any, store: Any) -> None:
    """No open_browser callable: webbrowser runs $BROWSER (the demo's scripted user agent)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import httpx\n"
        "from agentfetch.oauth import OAuth, default_consent\n"
        "auth = OAuth(consent=default_consent('allow'), auth_timeout=30)\n"
        f"print(httpx.Client(auth=auth).get({demo.url!r}).status_code)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "BROWSER": f"{sys.executable} -m agentfetch.demo.useragent --user bob %s",
    }
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "200"
    assert "agentfetch: browser: open this URL to sign in: " in out.stderr  # printed for headless use
    assert store.list()[0].subject == "bob"


def test_agents_queued_behind_a_refused_sign_in_do_not_ask_again(demo: Any, make_auth: Any, browser: Any) -> None:
    import threading

    asked: list[Any] = []

    def slow_no(request: Any) -> bool:
        asked.append(request)
        time.sleep(0.5)  # the human thinks it over while the other agents queue on the lock
        return False

    auth = make_auth(consent=slow_no)
    outcomes: list[BaseException | int] = []

    def agent() -> None:
        try:
            with httpx.Client(auth=auth) as client:
                outcomes.append(client.get(demo.url).status_code)
        except BaseException as exc:  # noqa: BLE001 - recorded and asserted below
            outcomes.append(exc)

    agents = [threading.Thread(target=agent) for _ in range(5)]
    for thread in agents:
        thread.start()
    for thread in agents:
        thread.join(30)
    assert len(asked) == 1 and browser.opened == []
    assert len(outcomes) == 5 and all(isinstance(o, ConsentDenied) for o in outcomes)
    assert sum("another agentfetch process" in str(o) for o in outcomes) == 4
