"""The sans-IO core driven with canned responses: protocol edge cases a
compliant demo server does not produce (several AS, odd challenges, loops)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agentfetch.errors import AuthorizationError
from agentfetch.oauth._authorization import authorize
from agentfetch.oauth._core import Core
from agentfetch.oauth._grants import with_refresh_scopes
from agentfetch.oauth._steps import AcquireLock, AskConsent, OpenBrowser, ReleaseLock, Settings, WaitForCallback
from agentfetch.oauth.rfc8414 import AuthorizationServer

from .conftest import as_metadata

RS = "https://rs.example"
AS1 = "https://as1.example"
AS2 = "https://as2.example/tenant"


class Canned:
    """Answers the core's requests from a route table and logs what it was asked."""

    def __init__(self, routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]]) -> None:
        self.routes = routes
        self.asked: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = (request.method, str(request.url).split("?")[0])
        self.asked.append(key)
        handler = self.routes.get(key)
        response = handler(request) if handler else httpx.Response(404, json={"error": "not_found"})
        response.request = request
        return response


def json_200(body: dict) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(200, json=body)


class Player:
    """A compliant AS's browser side: consent given, callback with state and iss (RFC 9207)."""

    def __init__(self, server: Canned) -> None:
        self.server = server
        self.issuer = ""
        self.opened: list[str] = []

    def answer(self, step: Any) -> Any:
        if isinstance(step, httpx.Request):
            return self.server(step)
        if isinstance(step, AskConsent):
            return True
        if isinstance(step, OpenBrowser):
            self.opened.append(step.url)
            self.issuer = step.url.split("?")[0].removesuffix("/authorize")  # as_metadata's layout
            return True
        if isinstance(step, WaitForCallback):
            return {"code": "the-code", "state": step.listener.expected_state, "iss": self.issuer}
        if isinstance(step, (AcquireLock, ReleaseLock)):
            return None
        raise AssertionError(step)


def drive(flow: Any, server: Canned, player: Player | None = None) -> Any:
    player = player or Player(server)
    outcome: Any = None
    while True:
        try:
            step = flow.send(outcome)
        except StopIteration as stop:
            return stop.value
        outcome = player.answer(step)


@pytest.fixture
def core(store: Any) -> Core:
    quiet = lambda line: None  # noqa: E731
    settings = Settings(
        store=store, log=quiet, client_name="agentfetch", auth_timeout=5, interactive=True, notify=quiet
    )
    return Core(settings)


def _challenge(status: int = 401, params: str = f'resource_metadata="{RS}/.well-known/oauth-protected-resource"'):
    return lambda request: httpx.Response(status, headers={"WWW-Authenticate": f"Bearer {params}"})


def _token(request: httpx.Request) -> httpx.Response:
    form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
    assert form["code"] == "the-code" and form["resource"].startswith("https%3A%2F%2Frs.example")
    return httpx.Response(200, json={"access_token": "at-" + request.url.host, "token_type": "Bearer"})


def test_second_authorization_server_is_used_when_the_first_has_no_metadata(core: Core, store: Any) -> None:
    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1, AS2]}
            ),
            ("GET", "https://as2.example/.well-known/openid-configuration/tenant"): json_200(as_metadata(AS2)),
            ("POST", AS2 + "/register"): lambda r: httpx.Response(201, json={"client_id": "c2"}),
            ("POST", AS2 + "/token"): _token,
        }
    )
    credential = drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/x"), server)
    assert credential.key.issuer == AS2 and credential.tokens.access_token == "at-as2.example"
    assert server.asked[:6] == [
        ("GET", RS + "/.well-known/oauth-protected-resource/x"),
        ("GET", RS + "/.well-known/oauth-protected-resource"),
        ("GET", AS1 + "/.well-known/oauth-authorization-server"),
        ("GET", AS1 + "/.well-known/openid-configuration"),
        ("GET", "https://as2.example/.well-known/oauth-authorization-server/tenant"),
        ("GET", "https://as2.example/.well-known/openid-configuration/tenant"),
    ]
    assert store.registration_get(AS2)["client_id"] == "c2" and store.registration_get(AS1) is None


def _run_auth_flow(core: Core, server: Canned, url: str = RS + "/page") -> tuple[httpx.Response, list]:
    request = httpx.Request("GET", url)
    flow = core.auth_flow(request)
    player = Player(server)
    sent: list[httpx.Request] = []
    outcome: Any = None
    last: httpx.Response | None = None
    while True:
        try:
            step = flow.send(outcome)
        except StopIteration:
            return last, sent  # type: ignore[return-value]
        if step is request:
            sent.append(httpx.Request(step.method, step.url, headers=step.headers))
            outcome = last = server(step)
        else:
            outcome = player.answer(step)


def test_non_bearer_challenges_pass_through(core: Core) -> None:
    basic = lambda r: httpx.Response(401, headers={"WWW-Authenticate": "Basic realm=x"})  # noqa: E731
    server = Canned({("GET", RS + "/page"): basic})
    response, sent = _run_auth_flow(core, server)
    assert response.status_code == 401 and len(sent) == 1


def test_403_without_insufficient_scope_passes_through(core: Core) -> None:
    server = Canned({("GET", RS + "/page"): _challenge(403, 'error="invalid_request"')})
    response, sent = _run_auth_flow(core, server)
    assert response.status_code == 403 and len(sent) == 1


def test_rejected_fresh_token_ends_with_an_error_not_a_loop(core: Core, store: Any) -> None:
    server = Canned(
        {
            ("GET", RS + "/page"): _challenge(),
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS, "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(as_metadata(AS1)),
            ("POST", AS1 + "/register"): lambda r: httpx.Response(201, json={"client_id": "c1"}),
            ("POST", AS1 + "/token"): _token,
        }
    )
    with pytest.raises(AuthorizationError) as info:
        _run_auth_flow(core, server)
    assert "rejected the token just issued" in str(info.value)
    assert server.asked.count(("GET", RS + "/page")) == 2
    assert server.asked.count(("POST", AS1 + "/token")) == 1


def test_challenge_without_resource_metadata_and_no_prm_says_so(core: Core) -> None:
    server = Canned({("GET", RS + "/page"): _challenge(params='realm="x"')})
    with pytest.raises(AuthorizationError) as info:
        _run_auth_flow(core, server)
    assert "publishes no protected resource metadata" in str(info.value)


def test_offline_access_and_openid_are_added_only_when_advertised() -> None:
    def server(scopes: tuple[str, ...]) -> AuthorizationServer:
        return AuthorizationServer("https://as", "https://as/a", "https://as/t", scopes_supported=scopes)

    assert with_refresh_scopes(("read",), server(("read", "offline_access"))) == ("read", "offline_access")
    assert with_refresh_scopes(("read",), server(("openid", "offline_access"))) == ("read", "openid", "offline_access")
    assert with_refresh_scopes(("read",), server(("read",))) == ("read",)
    assert with_refresh_scopes((), server(())) == ()


def test_registration_sends_native_public_client_metadata(core: Core) -> None:
    seen: dict = {}

    def register(request: httpx.Request) -> httpx.Response:
        seen.update(json.loads(request.content))
        return httpx.Response(201, json={"client_id": "c1"})

    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1], "scopes_supported": ["read"]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(as_metadata(AS1)),
            ("POST", AS1 + "/register"): register,
            ("POST", AS1 + "/token"): _token,
        }
    )
    drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/"), server)
    assert seen["token_endpoint_auth_method"] == "none"
    assert seen["grant_types"] == ["authorization_code", "refresh_token"]
    assert seen["response_types"] == ["code"] and seen["client_name"] == "agentfetch"
    assert seen["redirect_uris"][0].startswith("http://127.0.0.1:") and seen["application_type"] == "native"
    assert "read" in seen["scope"].split()


def test_cross_origin_login_redirect_checks_the_origin_for_prm_first(core: Core, store: Any) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == "Bearer at-as1.example":
            return httpx.Response(200, text="the page")
        return httpx.Response(302, headers={"Location": "https://sso.idp.example/login?next=%2Fpage"})

    server = Canned(
        {
            ("GET", RS + "/page"): page,
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(as_metadata(AS1)),
            ("POST", AS1 + "/register"): lambda r: httpx.Response(201, json={"client_id": "c1"}),
            ("POST", AS1 + "/token"): _token,
        }
    )
    response, sent = _run_auth_flow(core, server)
    assert response.status_code == 200 and len(sent) == 2
    assert "authorization" not in sent[0].headers and sent[1].headers["authorization"] == "Bearer at-as1.example"


@pytest.mark.parametrize(
    "location",
    [
        "https://www.rs.example/page",  # a plain host move: not a login page
        "https://rs.example/login",  # same host
        "https://sso.idp.example/login",  # login page, but the origin has no PRM
    ],
)
def test_other_redirects_are_left_to_the_caller(core: Core, location: str) -> None:
    server = Canned({("GET", RS + "/page"): lambda r: httpx.Response(302, headers={"Location": location})})
    response, sent = _run_auth_flow(core, server)
    assert response.status_code == 302 and len(sent) == 1
    assert ("POST", AS1 + "/token") not in server.asked


def test_client_id_metadata_document_when_supported_and_configured(
    core: Core, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTFETCH_CLIENT_METADATA_URL", "https://agent.example/agentfetch.json")

    def token(request: httpx.Request) -> httpx.Response:
        assert "client_id=https%3A%2F%2Fagent.example%2Fagentfetch.json" in request.content.decode()
        return _token(request)

    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(
                {**as_metadata(AS1), "client_id_metadata_document_supported": True}
            ),
            ("POST", AS1 + "/token"): token,
        }
    )
    player = Player(server)
    credential = drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/"), server, player)
    authorizations = player.opened
    assert credential.key.client_id == "https://agent.example/agentfetch.json"
    assert ("POST", AS1 + "/register") not in server.asked
    assert "client_id=https%3A%2F%2Fagent.example%2Fagentfetch.json" in authorizations[0]


def test_registration_is_never_reused_with_another_issuer(core: Core, store: Any) -> None:
    store.registration_put(AS1, {"client_id": "for-as1", "issuer": AS1, "redirect_uris": []})
    seen: list[str] = []

    def register(request: httpx.Request) -> httpx.Response:
        seen.append("registered")
        return httpx.Response(201, json={"client_id": "for-as2"})

    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS2]}
            ),
            ("GET", "https://as2.example/.well-known/oauth-authorization-server/tenant"): json_200(as_metadata(AS2)),
            ("POST", AS2 + "/register"): register,
            ("POST", AS2 + "/token"): _token,
        }
    )
    credential = drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/"), server)
    assert credential.key.client_id == "for-as2" and seen == ["registered"]
    assert store.registration_get(AS1)["client_id"] == "for-as1"


@pytest.mark.parametrize(
    ("prm_response", "message"),
    [
        (lambda r: httpx.Response(200, text="<html>not json</html>"), "not a JSON object"),
        (lambda r: httpx.Response(200, json=["a", "list"]), "not a JSON object"),
        (lambda r: httpx.Response(500, text="boom"), "HTTP 500"),
        (
            lambda r: httpx.Response(200, json={"resource": RS + "/", "authorization_servers": []}),
            "authorization_servers",
        ),
    ],
)
def test_hostile_or_broken_metadata_is_a_typed_error(core: Core, prm_response: Any, message: str) -> None:
    server = Canned(
        {("GET", RS + "/page"): _challenge(), ("GET", RS + "/.well-known/oauth-protected-resource"): prm_response}
    )
    with pytest.raises(AuthorizationError) as info:
        _run_auth_flow(core, server)
    assert message in str(info.value)


def test_resource_metadata_over_plain_http_off_loopback_is_refused(core: Core) -> None:
    from agentfetch.errors import InsecureTransport

    server = Canned({("GET", RS + "/page"): _challenge(params='resource_metadata="http://rs.example/prm"')})
    with pytest.raises(InsecureTransport):
        _run_auth_flow(core, server)
    assert ("GET", "http://rs.example/prm") not in server.asked


def test_a_confidential_registration_never_shows_its_secret() -> None:
    from agentfetch.oauth._client_identity import ClientPlan, identity_from_registration
    from agentfetch.oauth.rfc7591 import parse_registration

    response = httpx.Response(
        201,
        json={"client_id": "c", "client_secret": "s3cr3t-value", "token_endpoint_auth_method": "client_secret_post"},
        request=httpx.Request("POST", "https://as/register"),
    )
    record = parse_registration(response, issuer="https://as", redirect_uri="http://127.0.0.1:1/callback")
    plan = ClientPlan(identity=identity_from_registration(record), new_registration=record)
    assert record["client_secret"] == "s3cr3t-value" and plan.identity.auth_method == "client_secret_post"
    assert "s3cr3t-value" not in repr(record) + repr(plan) + str(plan)


def test_redirect_uri_rejected_at_the_callback_registers_again_once(core: Core, store: Any) -> None:
    registrations: list[str] = []

    def register(request: httpx.Request) -> httpx.Response:
        registrations.append(json.loads(request.content)["redirect_uris"][0])
        return httpx.Response(201, json={"client_id": f"c{len(registrations)}"})

    class Refusing(Player):
        def answer(self, step: Any) -> Any:
            outcome = super().answer(step)
            if isinstance(step, WaitForCallback) and len(registrations) == 1:
                return {"error": "invalid_request", "error_description": "redirect_uri not registered",
                        "state": outcome["state"], "iss": outcome["iss"]}
            return outcome

    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(as_metadata(AS1)),
            ("POST", AS1 + "/register"): register,
            ("POST", AS1 + "/token"): _token,
        }
    )
    credential = drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/"), server, Refusing(server))
    assert credential.key.client_id == "c2" and len(registrations) == 2
    assert store.registration_get(AS1)["client_id"] == "c2"


def test_redirect_uri_rejected_twice_is_final(core: Core, store: Any) -> None:
    from agentfetch.oauth.authorize import RedirectUriRejected

    class AlwaysRefusing(Player):
        def answer(self, step: Any) -> Any:
            outcome = super().answer(step)
            if isinstance(step, WaitForCallback):
                return {"error": "invalid_redirect_uri", "state": outcome["state"], "iss": outcome["iss"]}
            return outcome

    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(as_metadata(AS1)),
            ("POST", AS1 + "/register"): lambda r: httpx.Response(201, json={"client_id": "c"}),
        }
    )
    with pytest.raises(RedirectUriRejected):
        drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/"), server, AlwaysRefusing(server))
    assert server.asked.count(("POST", AS1 + "/register")) == 2
    assert store.list() == [] and store.registration_get(AS1) is None


def test_a_registration_whose_secret_expired_is_replaced(core: Core, store: Any) -> None:
    import time

    store.registration_put(
        AS1, {"client_id": "old", "issuer": AS1, "client_secret": "x", "client_secret_expires_at": time.time() - 5}
    )
    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(as_metadata(AS1)),
            ("POST", AS1 + "/register"): lambda r: httpx.Response(201, json={"client_id": "new"}),
            ("POST", AS1 + "/token"): _token,
        }
    )
    credential = drive(authorize(core.s, None, None, scopes=(), stale=None, url=RS + "/"), server)
    assert credential.key.client_id == "new" and store.registration_get(AS1)["client_id"] == "new"


def test_refresh_margin_scales_with_short_lifetimes() -> None:
    import time

    from agentfetch.oauth._steps import expiring
    from agentfetch.store import Credential, CredentialKey, TokenSet

    now = time.time()

    def credential(lifetime: float, left: float) -> Credential:
        tokens = TokenSet(access_token="t", expires_at=now + left)
        key = CredentialKey("https://as", "https://rs", "c")
        return Credential(key, tokens, "https://as/token", updated_at=now + left - lifetime)

    assert not expiring(credential(3600, 61)) and expiring(credential(3600, 59))
    assert not expiring(credential(30, 20)) and expiring(credential(30, 4))  # 30 s tokens: 5 s margin
    # A margin is always below the lifetime: a fresh 5 s token is not due (half of it is the margin).
    assert not expiring(credential(5, 5)) and not expiring(credential(5, 2.6)) and expiring(credential(5, 2.4))
    assert not expiring(credential(1, 1)) and expiring(credential(1, 0.4))
    from agentfetch.oauth._steps import refresh_margin

    assert all(0 < refresh_margin(life) < life for life in (0.5, 1, 5, 9.9, 10, 30, 60, 600, 3600, 86400))
    assert not expiring(Credential(CredentialKey("a", "r", "c"), TokenSet("t"), "https://as/token"))


def test_device_polling_honours_interval_and_slow_down(core: Core) -> None:
    """RFC 8628 §3.5: each wait before a poll is the interval; slow_down adds 5 s to it for good.
    No browser here, so the device flow runs; the listener waits between polls and nothing arrives."""
    polls: list[str] = []
    answers = iter(["authorization_pending", "slow_down", "authorization_pending", None])

    def token(request: httpx.Request) -> httpx.Response:
        error = next(answers)
        polls.append(error or "tokens")
        if error:
            return httpx.Response(400, json={"error": error})
        return httpx.Response(200, json={"access_token": "device-token", "token_type": "Bearer"})

    server = Canned(
        {
            ("GET", RS + "/.well-known/oauth-protected-resource"): json_200(
                {"resource": RS + "/", "authorization_servers": [AS1]}
            ),
            ("GET", AS1 + "/.well-known/oauth-authorization-server"): json_200(
                as_metadata(AS1, device_authorization_endpoint=AS1 + "/device")
            ),
            ("POST", AS1 + "/register"): lambda r: httpx.Response(201, json={"client_id": "c"}),
            ("POST", AS1 + "/device"): json_200(
                {"device_code": "dc", "user_code": "ABCD", "verification_uri": AS1 + "/device", "interval": 2,
                 "expires_in": 600}
            ),
            ("POST", AS1 + "/token"): token,
        }
    )
    waits: list[float] = []

    class NoBrowserHere(Player):
        def answer(self, step: Any) -> Any:
            if isinstance(step, OpenBrowser):
                return False
            if isinstance(step, WaitForCallback):
                waits.append(round(step.timeout))
                assert step.prompt.user_code == "ABCD" and not step.prompt.browser_opened
                return None  # the interval passed and no callback came
            return super().answer(step)

    from dataclasses import replace

    settings = replace(core.s, auth_timeout=60)  # room for 2 + 2 + 7 + 7 s of (played) waiting
    flow = authorize(settings, None, None, scopes=(), stale=None, url=RS + "/")
    credential = drive(flow, server, NoBrowserHere(server))
    assert credential.tokens.access_token == "device-token"
    assert polls == ["authorization_pending", "slow_down", "authorization_pending", "tokens"]
    assert waits == [2, 2, 7, 7]
