"""Token binding against real loopback servers: never cross-origin (also on
redirect), never outside the resource path, never over plain HTTP off loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from agentfetch.store import Credential, CredentialKey, TokenSet

Reply = tuple[int, dict[str, str], bytes]


class Server:
    """A real HTTP server on ``host``: ``respond(path, headers)`` gives (status, headers, body)."""

    def __init__(self, respond: Any, host: str = "127.0.0.1") -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                status, headers, body = respond(self.path, self.headers)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Recorder(Server):
    """Records (path, Authorization) and answers 200, or 302 for paths in ``redirects``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.redirects: dict[str, str] = {}
        super().__init__(self._respond, host)

    def _respond(self, path: str, headers: Any) -> Reply:
        self.seen.append((path, headers.get("Authorization")))
        target = self.redirects.get(path)
        return (302, {"Location": target}, b"") if target else (200, {}, b"ok")


@pytest.fixture
def servers() -> Iterator[tuple[Recorder, Recorder]]:
    a, b = Recorder(), Recorder()
    yield a, b
    a.close()
    b.close()


def _grant(store: Any, resource: str, token: str) -> None:
    store.put(
        Credential(
            key=CredentialKey("http://127.0.0.1:9", resource, "client"),
            tokens=TokenSet(access_token=token, expires_at=time.time() + 3600),
            token_endpoint="http://127.0.0.1:9/token",
        )
    )


def test_authorization_dropped_on_cross_origin_redirect(servers: Any, store: Any, make_auth: Any) -> None:
    a, b = servers
    _grant(store, a.url + "/", "token-for-a")
    a.redirects["/go"] = b.url + "/landing"
    with httpx.Client(auth=make_auth(), follow_redirects=True) as client:
        assert client.get(a.url + "/go").status_code == 200
    assert a.seen == [("/go", "Bearer token-for-a")]
    assert b.seen == [("/landing", None)]


def test_each_hop_is_checked_when_the_caller_follows_redirects(servers: Any, store: Any, make_auth: Any) -> None:
    a, b = servers
    _grant(store, a.url + "/docs", "token-for-docs")
    a.redirects["/docs/old"] = a.url + "/other"
    with httpx.Client(auth=make_auth(), follow_redirects=False) as client:
        first = client.get(a.url + "/docs/old")
        client.get(first.headers["location"])  # how Fetcher follows: every hop through the auth
        client.get(a.url + "/docsevil")
        client.get(b.url + "/docs/old")
    assert a.seen == [("/docs/old", "Bearer token-for-docs"), ("/other", None), ("/docsevil", None)]
    assert b.seen == [("/docs/old", None)]


def _non_loopback_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent: only picks the outgoing interface
            ip = probe.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def test_no_token_over_plain_http_to_a_non_loopback_host(store: Any, make_auth: Any) -> None:
    ip = _non_loopback_ip()
    if ip is None:
        pytest.skip("this machine has no non-loopback IPv4 address to serve on")
    server = Recorder(ip)
    try:
        _grant(store, server.url + "/", "must-not-leak")
        with httpx.Client(auth=make_auth(), trust_env=False) as client:
            assert client.get(server.url + "/page").status_code == 200
    finally:
        server.close()
    assert server.seen == [("/page", None)]


def test_caller_supplied_authorization_is_left_alone(servers: Any, store: Any, make_auth: Any) -> None:
    a, _ = servers
    _grant(store, a.url + "/", "oauth-token")
    with httpx.Client(auth=make_auth()) as client:
        client.get(a.url + "/x", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        client.get(a.url + "/y")
    assert a.seen == [("/x", "Basic dXNlcjpwYXNz"), ("/y", "Bearer oauth-token")]


def test_an_oversized_metadata_document_is_refused(store: Any, make_auth: Any) -> None:
    from agentfetch.errors import AuthorizationError

    def respond(path: str, headers: Any) -> Reply:
        if path.startswith("/.well-known/"):
            # Announces 50 MiB; agentfetch must refuse before reading it.
            return 200, {"Content-Type": "application/json", "Content-Length": str(50 * 1024 * 1024)}, b"{" + b" " * 1024
        return 401, {"WWW-Authenticate": "Bearer"}, b""

    server = Server(respond)
    try:
        url = server.url + "/page"
        with httpx.Client(auth=make_auth(), timeout=5) as client, pytest.raises(AuthorizationError) as info:
            client.get(url)
        assert "more than" in str(info.value)
    finally:
        server.close()


def test_login_against_a_single_page_app_that_answers_everything_with_html(make_auth: Any) -> None:
    """SPAs serve index.html for every path, /.well-known/ included: a typed error, not a crash."""
    from agentfetch.errors import AuthorizationError

    page = b"<!doctype html><title>app</title>" + b"x" * 2_000
    server = Server(lambda path, headers: (200, {"Content-Type": "text/html"}, page))
    try:
        with httpx.Client(timeout=10) as client, pytest.raises(AuthorizationError) as info:
            make_auth().login(client, server.url + "/app")
        assert "publishes no protected resource metadata" in str(info.value)
    finally:
        server.close()
