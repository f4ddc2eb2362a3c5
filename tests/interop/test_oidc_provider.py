"""agentfetch's OAuth client against a real node ``oidc-provider`` (panva) on loopback.

The authorization server is the npm package itself, pinned in
``tests/interop/oidc_provider/package-lock.json`` and started by
``oidc_provider/server.mjs`` as a subprocess on an ephemeral 127.0.0.1 port:
dynamic registration, RFC 8707 resource indicators with JWT access tokens
(RFC 9068), PKCE (required for public clients), refresh tokens for
``offline_access``, its built-in dev login and consent pages. Nothing is
fetched at test time; without ``node`` or without ``npm ci --prefix
tests/interop/oidc_provider`` the tests skip.

In front of it sits a small protected resource written here (stdlib
``http.server``): RFC 9728 metadata naming the provider, a Bearer challenge
with ``resource_metadata``, and real token validation (ES256 signature against
the provider's JWKS, ``typ``, ``iss``, ``aud`` = the resource, ``exp``,
``scope``) with joserfc.

The human is agentfetch's scripted user agent (``agentfetch.demo.useragent.walk``)
filling oidc-provider's own HTML forms.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from agentfetch import Fetcher
from agentfetch.demo.useragent import ScriptedBrowser
from agentfetch.oauth import OAuth, default_consent

SERVER_DIR = Path(__file__).parent / "oidc_provider"
READY_TIMEOUT = 20.0
PASSWORD = "any password: the dev interactions accept every login"


# --------------------------------------------------------------------------- the protected resource


@dataclass
class Seen:
    method: str
    path: str
    status: int
    bearer: bool


class ProtectedResource:
    """A wiki API on 127.0.0.1 whose tokens come from the oidc-provider.

    Two resources (RFC 8707 indicators, one PRM each, path-inserted per RFC 9728 §3.1):
    ``<origin>/wiki`` (hour-long tokens) and ``<origin>/short`` (the provider gives it
    5-second tokens). ``.../admin`` pages need ``wiki:write`` (403 insufficient_scope).
    """

    TREES = ("wiki", "short")

    def __init__(self) -> None:
        self.issuer: str | None = None
        self.keys: Any = None
        self.requests: list[Seen] = []
        self.tokens_seen: list[dict[str, Any]] = []
        #: A DPoP proof verifier (``agentfetch.demo.DPoPVerifier``) to accept ``Authorization: DPoP``.
        self.dpop: Any = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def resource(self, tree: str = "wiki") -> str:
        return f"{self.origin}/{tree}"

    def prm_url(self, tree: str = "wiki") -> str:
        return f"{self.origin}/.well-known/oauth-protected-resource/{tree}"

    def start(self, issuer: str) -> None:
        from joserfc.jwk import KeySet

        self.issuer = issuer
        # As a resource server would: the provider's metadata, then its jwks_uri.
        metadata = httpx.get(issuer + "/.well-known/openid-configuration", timeout=5).json()
        self.keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], timeout=5).json())
        if not self._thread.is_alive():
            self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which a skip never started
            self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.requests.clear()
        self.tokens_seen.clear()

    # The check a resource server must make on a JWT access token (RFC 9068 §4).
    def validate(self, token: str, tree: str) -> dict[str, Any] | None:
        from joserfc import jwt
        from joserfc.errors import JoseError

        try:
            decoded = jwt.decode(token, self.keys, algorithms=["ES256"])
            if decoded.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
                return None
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.resource(tree)},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError):
            return None
        return dict(decoded.claims)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        rs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
                payload = json.dumps(body) if isinstance(body, dict) else body
                data = payload.encode()
                # Recorded before answering: the client may look as soon as it has the answer.
                rs.requests.append(Seen(self.command, self.path, status, "authorization" in self.headers))
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                path = urlsplit(self.path).path
                prefix = "/.well-known/oauth-protected-resource/"
                if path.startswith(prefix) and path[len(prefix):] in rs.TREES:
                    tree = path[len(prefix):]
                    return self._send(200, {
                        "resource": rs.resource(tree),
                        "authorization_servers": [rs.issuer],
                        "scopes_supported": ["wiki:read", "wiki:write"],
                        "bearer_methods_supported": ["header"],
                    })
                tree = path.strip("/").split("/")[0]
                if tree not in rs.TREES:
                    return self._send(404, "not found")
                needed = "wiki:write" if path.rstrip("/").endswith("/admin") else "wiki:read"
                challenge = f'Bearer resource_metadata="{rs.prm_url(tree)}", scope="{needed}"'
                header = self.headers.get("Authorization", "")
                if rs.dpop is not None and header.lower().startswith("dpop "):
                    return self._dpop(header[5:].strip(), tree, path, needed)
                if not header.lower().startswith("bearer "):
                    return self._send(401, "sign in", {"WWW-Authenticate": challenge})
                claims = rs.validate(header[7:].strip(), tree)
                if claims is None or "cnf" in claims:  # RFC 9449 §7.2: a bound token is no bearer token
                    return self._send(401, "bad token",
                                      {"WWW-Authenticate": challenge + ', error="invalid_token"'})
                rs.tokens_seen.append(claims)
                if needed not in str(claims.get("scope", "")).split():
                    # RFC 6750 §3.1: the scope the request needs, with what it already has.
                    wanted = " ".join(sorted(set(str(claims.get("scope", "")).split()) | {needed}))
                    return self._send(403, "needs wiki:write", {
                        "WWW-Authenticate":
                            f'Bearer resource_metadata="{rs.prm_url(tree)}", scope="{wanted}", '
                            'error="insufficient_scope"'})
                return self._send(200, f"# {tree} page {path}\n\nHello {claims['sub']}, this is the {tree}.")

            def _dpop(self, token: str, tree: str, path: str, needed: str) -> None:
                """RFC 9449 §7.1: the proof (checked by the demo's verifier, written from §4.3) and
                ``cnf.jkt`` of the provider's JWT access token."""
                from agentfetch.demo import ProofError

                assert rs.dpop is not None
                challenge = f'DPoP algs="ES256 EdDSA", resource_metadata="{rs.prm_url(tree)}", scope="{needed}"'
                claims = rs.validate(token, tree)
                if claims is None or not isinstance(claims.get("cnf"), dict):
                    return self._send(401, "bad token", {"WWW-Authenticate": challenge + ', error="invalid_token"'})
                try:
                    proof = rs.dpop.check(self.headers.get_all("DPoP") or [], method="GET",
                                          url=rs.origin + path, access_token=token)
                except ProofError as exc:
                    return self._send(401, exc.description, {"WWW-Authenticate": challenge + f', error="{exc.error}"'})
                if proof.jkt != claims["cnf"].get("jkt"):
                    return self._send(401, "wrong key", {"WWW-Authenticate": challenge + ', error="invalid_token"'})
                rs.tokens_seen.append(claims)
                return self._send(200, f"# {tree} page {path}\n\nHello {claims['sub']}, bound to your key.")

        return Handler


# --------------------------------------------------------------------------- the authorization server


@dataclass
class OidcProvider:
    issuer: str
    process: subprocess.Popen[str]
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")

    def events(self, name: str) -> list[dict[str, Any]]:
        """What server.mjs reported on stderr: registrations, authorizations, token grants."""
        found = [json.loads(line[6:]) for line in self.log().splitlines() if line.startswith("EVENT ")]
        return [e for e in found if e["event"] == name]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the oidc-provider interop tests need Node.js 18+")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < 18:
        pytest.skip(f"node {version or '(unknown version)'} is too old: oidc-provider 8 needs Node.js 18+")
    if not (SERVER_DIR / "node_modules" / "oidc-provider" / "package.json").is_file():
        pytest.skip("oidc-provider is not installed: run `npm ci --prefix tests/interop/oidc_provider`")
    return node


@pytest.fixture(scope="module")
def oidc_rs() -> Iterator[ProtectedResource]:
    rs = ProtectedResource()
    yield rs
    rs.stop()


@pytest.fixture(scope="module")
def oidc_provider(oidc_rs: ProtectedResource, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    server = _start_provider(oidc_rs, tmp_path_factory.mktemp("oidc-provider") / "stderr.log")
    try:
        yield server
    finally:
        _stop_provider(server)


def _start_provider(
    rs: ProtectedResource, stderr_path: Path, port: int = 0, args: tuple[str, ...] = ()
) -> OidcProvider:
    """Start server.mjs for ``rs`` (on ``port``, 0 = any, with server.mjs ``args``) and point ``rs`` at it."""
    node = _node()
    with stderr_path.open("a") as stderr:
        process = subprocess.Popen(
            [node, "server.mjs", "--port", str(port), "--resource-prefix", rs.origin + "/", *args],
            cwd=SERVER_DIR, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**os.environ, "NODE_ENV": "test", "DEBUG": ""},
        )
    try:
        server = OidcProvider(json.loads(_read_ready_line(process, stderr_path))["issuer"], process, stderr_path)
        rs.start(server.issuer)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return server


def _stop_provider(server: OidcProvider) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


def _read_ready_line(process: subprocess.Popen[str], stderr_path: Path) -> str:
    assert process.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(READY_TIMEOUT)
    if not result or not result[0].strip():
        process.kill()
        raise RuntimeError(f"oidc-provider did not start: {stderr_path.read_text(errors='replace')[-2000:]}")
    return result[0]


@pytest.fixture
def oidc(oidc_provider: OidcProvider, oidc_rs: ProtectedResource) -> ProtectedResource:
    oidc_rs.reset()
    return oidc_rs


# --------------------------------------------------------------------------- the human and the agent


@pytest.fixture
def oidc_browser() -> ScriptedBrowser:
    return ScriptedBrowser(password=PASSWORD)


@pytest.fixture
def oidc_store(agentfetch_home: Path) -> Any:
    from agentfetch.store import open_store

    return open_store()


def _fetcher(browser: ScriptedBrowser, store: Any, log: list[str]) -> Fetcher:
    return Fetcher(consent="allow", open_browser=browser, log=log.append, store=store, auth_timeout=20)


def _trace_steps(log: list[str]) -> list[str]:
    return [line.split(":", 1)[0] for line in log]


# --------------------------------------------------------------------------- the tests


def test_first_fetch_runs_the_whole_flow_then_a_cached_fetch(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    log: list[str] = []
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        result = fetcher.fetch(oidc.resource() + "/handbook")
    assert result.status == 200, (log, oidc_browser.errors, oidc_provider.log())
    assert "Hello alice, this is the wiki." in result.markdown
    assert oidc_browser.errors == []

    # The resource saw: no token, then a valid one (after PRM).
    assert [(r.path, r.status, r.bearer) for r in oidc.requests] == [
        ("/wiki/handbook", 401, False),
        ("/.well-known/oauth-protected-resource/wiki", 200, False),
        ("/wiki/handbook", 200, True),
    ]
    # oidc-provider publishes only OIDC discovery: RFC 8414's URL is a 404, then the fallback.
    trace = "\n".join(log)
    assert f"{oidc_provider.issuer}/.well-known/oauth-authorization-server" in trace
    assert f"{oidc_provider.issuer}/.well-known/openid-configuration" in trace
    for step in ("challenge", "PRM", "AS metadata", "registration", "browser", "callback", "token", "retry"):
        assert step in _trace_steps(log), (step, log)

    # The authorization request: PKCE S256, RFC 8707 resource, and because the provider
    # advertises openid + offline_access, both with prompt=consent (OIDC Core §11).
    params = oidc_browser.authorize_params()
    assert params["response_type"] == "code" and params["code_challenge_method"] == "S256"
    assert params["resource"] == oidc.resource()
    assert set(params["scope"].split()) == {"wiki:read", "openid", "offline_access"}
    assert params["prompt"] == "consent"
    assert params["redirect_uri"].startswith("http://127.0.0.1:")
    # RFC 9207: oidc-provider always puts iss in the authorization response.
    callback = oidc_browser.callback_params()
    assert callback["iss"] == oidc_provider.issuer and "code" in callback

    # The token the resource accepted: a JWT for this resource, for alice.
    (claims,) = oidc.tokens_seen
    assert claims["aud"] == oidc.resource() and claims["iss"] == oidc_provider.issuer
    assert claims["sub"] == "alice" and "wiki:read" in claims["scope"].split()

    (credential,) = oidc_store.list()
    assert credential.key.issuer == oidc_provider.issuer and credential.key.resource == oidc.resource()
    assert credential.token_endpoint == oidc_provider.issuer + "/token"
    assert credential.subject == "alice"
    assert credential.tokens.refresh_token, "offline_access with prompt=consent must yield a refresh token"
    assert credential.tokens.expires_at and credential.tokens.expires_at > time.time() + 3000
    assert oidc_store.registration_get(oidc_provider.issuer)["client_id"] == credential.key.client_id

    # A later process, same store: one request, the token goes straight to the resource.
    oidc.reset()
    log.clear()
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        again = fetcher.fetch(oidc.resource() + "/deploy")
    assert again.status == 200 and "Hello alice" in again.markdown
    assert [(r.path, r.status, r.bearer) for r in oidc.requests] == [("/wiki/deploy", 200, True)]
    assert len(oidc_browser.opened) == 1


def test_registration_is_a_public_native_client_with_a_loopback_redirect(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    log: list[str] = []
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        assert fetcher.fetch(oidc.resource()).status == 200
    client_id = oidc_store.registration_get(oidc_provider.issuer)["client_id"]
    # The client as oidc-provider registered it (RFC 7591 / OIDC Dynamic Registration).
    (metadata,) = [
        e["metadata"] for e in oidc_provider.events("registration") if e["metadata"]["client_id"] == client_id
    ]
    assert metadata["token_endpoint_auth_method"] == "none" and "client_secret" not in metadata
    assert metadata["application_type"] == "native"  # http loopback redirects are for native clients only
    assert metadata["redirect_uris"][0].startswith("http://127.0.0.1:")
    assert set(metadata["grant_types"]) >= {"authorization_code", "refresh_token"}
    # Only the scopes oidc-provider advertises can be registered; wiki:read is the resource's.
    assert set(metadata["scope"].split()) == {"openid", "offline_access"}
    assert "scopes it does not advertise" in "\n".join(log)


def test_refresh_when_the_access_token_is_about_to_expire(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    """``/short`` gets 5-second access tokens: a fetch once half of it has passed (the refresh
    margin of so short a token) refreshes first, with ``resource`` sent again."""
    log: list[str] = []
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        assert fetcher.fetch(oidc.resource("short") + "/a").status == 200
    (first,) = oidc_store.list()
    assert first.tokens.refresh_token and first.tokens.expires_at < time.time() + 10
    time.sleep(max(0.0, first.tokens.expires_at - 2.4 - time.time()))

    oidc.reset()
    log.clear()
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:  # a new process: no discovery, just refresh
        result = fetcher.fetch(oidc.resource("short") + "/b")
    assert result.status == 200, (log, oidc_provider.log())
    assert [(r.path, r.status, r.bearer) for r in oidc.requests] == [("/short/b", 200, True)]
    (second,) = oidc_store.list()
    assert second.tokens.access_token != first.tokens.access_token
    # oidc-provider rotates refresh tokens of public clients.
    assert second.tokens.refresh_token and second.tokens.refresh_token != first.tokens.refresh_token
    (claims,) = oidc.tokens_seen
    assert claims["aud"] == oidc.resource("short")
    assert len(oidc_browser.opened) == 1
    # RFC 8707 §2.2: the refresh names the resource again, so the new token is for it.
    refreshes = [e for e in oidc_provider.events("token") if e["grant_type"] == "refresh_token"]
    assert refreshes and refreshes[-1]["resource"] == oidc.resource("short")


def test_expired_token_rejected_by_the_resource_is_refreshed(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    """The stored expiry says the token is fine, the resource says ``invalid_token`` (it really
    expired): agentfetch refreshes once against oidc-provider and retries."""
    log: list[str] = []
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        assert fetcher.fetch(oidc.resource("short")).status == 200
    (credential,) = oidc_store.list()
    left = credential.tokens.expires_at - time.time()
    assert 0 < left <= 6, "oidc-provider should give /short a 5-second token"
    time.sleep(left + 1.5)  # the JWT's exp has passed
    credential.tokens.expires_at = time.time() + 3600  # ...but the agent does not know it
    oidc_store.put(credential)

    oidc.reset()
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        result = fetcher.fetch(oidc.resource("short") + "/c")
    assert result.status == 200, (log, oidc_provider.log())
    assert [(r.path, r.status, r.bearer) for r in oidc.requests] == [
        ("/short/c", 401, True),
        ("/short/c", 200, True),
    ]
    assert len(oidc_browser.opened) == 1


def test_second_resource_reuses_metadata_and_registration(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    log: list[str] = []
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        assert fetcher.fetch(oidc.resource("wiki")).status == 200
        log.clear()
        assert fetcher.fetch(oidc.resource("short")).status == 200
    assert "registration" not in _trace_steps(log), log
    metadata_lines = [line for line in log if line.startswith("AS metadata:")]
    assert metadata_lines and all(line.endswith("(cached)") for line in metadata_lines), log
    assert len(oidc_browser.opened) == 2  # a new resource is a new grant: the human consents again
    credentials = oidc_store.list()
    assert {c.key.resource for c in credentials} == {oidc.resource("wiki"), oidc.resource("short")}
    assert len({c.key.client_id for c in credentials}) == 1
    assert {claims["aud"] for claims in oidc.tokens_seen} == {oidc.resource("wiki"), oidc.resource("short")}


def test_step_up_to_a_wider_scope(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    """``/wiki/admin`` answers ``403 insufficient_scope`` for a ``wiki:read`` token; agentfetch
    authorizes once more with the union of scopes, and oidc-provider asks for consent again."""
    log: list[str] = []
    with _fetcher(oidc_browser, oidc_store, log) as fetcher:
        assert fetcher.fetch(oidc.resource() + "/page").status == 200
        result = fetcher.fetch(oidc.resource() + "/admin")
    assert result.status == 200, (log, oidc_browser.errors, oidc_provider.log())
    assert len(oidc_browser.opened) == 2
    assert {"wiki:read", "wiki:write"} <= set(oidc_browser.authorize_params()["scope"].split())
    assert {"wiki:read", "wiki:write"} <= set(oidc.tokens_seen[-1]["scope"].split())


def test_async_oauth_on_a_plain_httpx_client(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    """The async driver, with the browser started from a thread as a real opener would."""
    import asyncio

    log: list[str] = []

    def open_browser(url: str) -> bool:
        threading.Thread(target=oidc_browser, args=(url,), daemon=True).start()
        return True

    async def run() -> httpx.Response:
        auth = OAuth(store=oidc_store, consent=default_consent("allow"), open_browser=open_browser,
                     log=log.append, auth_timeout=20)
        async with httpx.AsyncClient(auth=auth) as client:
            return await client.get(oidc.resource() + "/async")

    response = asyncio.run(run())
    assert response.status_code == 200, (log, oidc_browser.errors, oidc_provider.log())
    assert "Hello alice" in response.text


def test_the_human_cancels_on_the_consent_page(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_store: Any
) -> None:
    """oidc-provider's consent page has one button (Continue) and a "[ Cancel ]" link; cancelling
    comes back as ``error=access_denied`` with ``iss``, and nothing is stored."""
    from agentfetch.errors import AccessDenied

    browser = ScriptedBrowser(password=PASSWORD, approve=False)
    log: list[str] = []
    with _fetcher(browser, oidc_store, log) as fetcher, pytest.raises(AccessDenied):
        fetcher.fetch(oidc.resource() + "/secret")
    assert browser.errors == []
    callback = browser.callback_params()
    assert callback["error"] == "access_denied" and callback["iss"] == oidc_provider.issuer
    assert "code" not in callback
    assert oidc_store.list() == [] and oidc_store.registration_get(oidc_provider.issuer) is None
    assert [r.status for r in oidc.requests] == [401, 200]  # the challenge and the PRM, never a token


def _device_human(log: list[str], results: list[str], approve: bool = True) -> Any:
    """A log sink that plays the human on another device: when agentfetch shows the code, it
    opens ``verification_uri_complete`` (in a thread, as a phone would) and walks the pages."""
    import re

    from agentfetch.demo.useragent import walk

    def use(url: str) -> None:
        try:
            results.append(walk(url, username="alice", password=PASSWORD, approve=approve))
        except Exception as exc:  # surfaced by the test's assertions
            results.append(repr(exc))

    def sink(line: str) -> None:
        log.append(line)
        match = re.search(r"\(or open (\S+)\)", line)
        if line.startswith("device:") and match:
            threading.Thread(target=use, args=(match.group(1),), daemon=True).start()

    return sink


def test_device_flow_when_no_browser_can_start(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_store: Any
) -> None:
    """RFC 8628: ``open_browser`` fails, oidc-provider has a device endpoint; the human confirms
    the code on its ``/device`` page (Continue / [ Abort ]), signs in and consents."""
    log: list[str] = []
    walked: list[str] = []
    with Fetcher(consent="allow", open_browser=lambda url: False, log=_device_human(log, walked),
                 store=oidc_store, auth_timeout=30) as fetcher:
        result = fetcher.fetch(oidc.resource() + "/from-a-server")
    assert result.status == 200, (log, walked, oidc_provider.log())
    assert "Hello alice" in result.markdown
    device_line = next(line for line in log if line.startswith("device:"))
    assert f"{oidc_provider.issuer}/device" in device_line
    (credential,) = oidc_store.list()
    assert credential.tokens.refresh_token and credential.subject == "alice"
    (claims,) = oidc.tokens_seen
    assert claims["aud"] == oidc.resource()
    grants = [e for e in oidc_provider.events("token")
              if e["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"]
    assert grants and grants[-1]["resource"] == oidc.resource()


def test_device_flow_aborted_by_the_human(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_store: Any
) -> None:
    from agentfetch.errors import AccessDenied

    log: list[str] = []
    walked: list[str] = []
    with Fetcher(consent="allow", open_browser=lambda url: False,
                 log=_device_human(log, walked, approve=False), store=oidc_store, auth_timeout=30) as fetcher:
        with pytest.raises(AccessDenied):
            fetcher.fetch(oidc.resource())
    assert oidc_store.list() == []


def test_logout_revokes_the_grant_at_oidc_provider(
    oidc: ProtectedResource, oidc_provider: OidcProvider, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    """RFC 7009 at oidc-provider's revocation endpoint: afterwards the refresh token is dead."""
    log: list[str] = []
    auth = OAuth(store=oidc_store, consent=default_consent("allow"), open_browser=oidc_browser,
                 log=log.append, auth_timeout=20)
    with httpx.Client(auth=auth) as client:
        assert client.get(oidc.resource() + "/x").status_code == 200
        (credential,) = oidc_store.list()
        assert credential.revocation_endpoint == oidc_provider.issuer + "/token/revocation"
        removed = auth.logout(client, oidc.resource() + "/x")
    assert [key.resource for key in removed] == [oidc.resource()]
    assert oidc_store.list() == []
    assert any(line.startswith("revoke (refresh_token)") for line in log), log
    refresh = httpx.post(credential.token_endpoint, data={
        "grant_type": "refresh_token", "refresh_token": credential.tokens.refresh_token,
        "client_id": credential.key.client_id, "resource": oidc.resource(),
    })
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_a_restarted_provider_forgot_the_client_so_agentfetch_registers_again(
    tmp_path: Path, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    """oidc-provider's default adapter keeps clients and grants in memory. After a restart (same
    issuer, new keys) the refresh answers ``invalid_client``; agentfetch drops the dead
    registration, registers again and asks the human once more."""
    rs = ProtectedResource()
    try:
        first = _start_provider(rs, tmp_path / "first.log")
        try:
            log: list[str] = []
            with _fetcher(oidc_browser, oidc_store, log) as fetcher:
                assert fetcher.fetch(rs.resource("short") + "/a").status == 200
            old_client = oidc_store.registration_get(first.issuer)["client_id"]
        finally:
            _stop_provider(first)
        port = urlsplit(first.issuer).port
        assert port is not None
        second = _start_provider(rs, tmp_path / "second.log", port=port)  # same issuer, empty memory
        try:
            assert second.issuer == first.issuer
            log.clear()
            rs.reset()
            with _fetcher(oidc_browser, oidc_store, log) as fetcher:  # the 5-second token needs a refresh
                result = fetcher.fetch(rs.resource("short") + "/b")
            assert result.status == 200, (log, oidc_browser.errors, second.log())
            assert "invalid_client" in "\n".join(log), log
            new_client = oidc_store.registration_get(second.issuer)["client_id"]
            assert new_client != old_client
            assert [e["metadata"]["client_id"] for e in second.events("registration")] == [new_client]
            assert len(oidc_browser.opened) == 2
        finally:
            _stop_provider(second)
    finally:
        rs.stop()


def test_a_restarted_provider_forgot_the_client_with_no_refresh_token_left_so_agentfetch_registers_again(
    tmp_path: Path, oidc_browser: ScriptedBrowser, oidc_store: Any
) -> None:
    rs = ProtectedResource()
    try:
        first = _start_provider(rs, tmp_path / "first.log")
        try:
            with _fetcher(oidc_browser, oidc_store, []) as fetcher:
                assert fetcher.fetch(rs.resource() + "/a").status == 200
            oidc_store.delete(oidc_store.list()[0].key)  # the token is gone; the registration stays
        finally:
            _stop_provider(first)
        second = _start_provider(rs, tmp_path / "second.log", port=urlsplit(first.issuer).port or 0)
        try:
            # The stored registration is checked against the authorization endpoint before any
            # browser opens: oidc-provider answers 400 invalid_client (RFC 6749 §4.1.2.1 forbids
            # redirecting), so agentfetch registers again instead of stranding the human there.
            trace: list[str] = []
            with Fetcher(consent="allow", open_browser=oidc_browser, store=oidc_store, auth_timeout=30,
                         log=trace.append) as fetcher:
                result = fetcher.fetch(rs.resource() + "/b")
            assert result.status == 200
            assert not oidc_browser.errors
            assert "authorization.error: InvalidClient" in second.log()
            assert any(line.startswith("authorize check:") and line.endswith("-> 400") for line in trace)
            assert any("registering again" in line for line in trace)
        finally:
            _stop_provider(second)
    finally:
        rs.stop()
