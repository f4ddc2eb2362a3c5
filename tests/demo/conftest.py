"""Helpers for the demo app's protocol tests: a loopback redirect listener and a small OAuth driver.

The driver is deliberately plain httpx plus the scripted user agent, written from
the RFCs, so the tests check the server against the specs and not against
agentfetch's own client.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from agentfetch.demo import DemoServer
from agentfetch.demo.useragent import walk

#: "Use the usual value" for a keyword where ``None`` means "leave the parameter out".
DEFAULT: Any = object()


class Loopback:
    """An RFC 8252 loopback redirect listener on 127.0.0.1 that records each callback's query."""

    def __init__(self) -> None:
        self.callbacks: list[dict[str, str]] = []
        self.received = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if urlsplit(self.path).path != "/callback":  # browsers also ask for /favicon.ico
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                query = parse_qs(urlsplit(self.path).query)
                outer.callbacks.append({k: v[0] for k, v in query.items()} | {"_path": urlsplit(self.path).path})
                outer.received.set()
                body = b"<p>You can close this tab.</p>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.redirect_uri = f"http://127.0.0.1:{self.port}/callback"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def last(self) -> dict[str, str]:
        assert self.callbacks, "the loopback listener received no callback"
        return self.callbacks[-1]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class AuthRequest:
    url: str
    state: str
    verifier: str
    redirect_uri: str
    params: dict[str, str] = field(default_factory=dict)


class OAuthDriver:
    """RFC 6749 + 7636 + 8707 steps as a client would take them, one call each."""

    def __init__(self, server: DemoServer, loopback: Loopback) -> None:
        self.server = server
        self.loopback = loopback
        self.http = httpx.Client(timeout=10)

    def register(self, **overrides: Any) -> dict[str, Any]:
        metadata = {
            "client_name": "demo protocol tests",
            "redirect_uris": [f"http://127.0.0.1:{self.loopback.port}/callback"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        } | overrides
        response = self.http.post(self.server.endpoint("register"), json=metadata)
        assert response.status_code == 201, response.text
        return response.json()

    def authorization(self, client_id: str, *, scope: str = "read offline_access", resource: Any = DEFAULT,
                      redirect_uri: Any = DEFAULT, **extra: str) -> AuthRequest:
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        redirect_uri = self.loopback.redirect_uri if redirect_uri is DEFAULT else redirect_uri
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": self.server.resource if resource is DEFAULT else resource,
        } | extra
        params = {k: v for k, v in params.items() if v is not None}
        url = f"{self.server.endpoint('authorize')}?{urlencode(params)}"
        return AuthRequest(url, state, verifier, redirect_uri or self.loopback.redirect_uri, params)

    def code(self, client_id: str, *, user: str = "alice", **kwargs: Any) -> tuple[AuthRequest, str]:
        request = self.authorization(client_id, **kwargs)
        walk(request.url, username=user)
        callback = self.loopback.last
        assert callback["state"] == request.state
        assert callback["iss"] == self.server.issuer
        return request, callback["code"]

    def exchange(self, client_id: str | None, request: AuthRequest, code: str, /, **overrides: str | None) -> httpx.Response:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "client_id": client_id,
            "code_verifier": request.verifier,
            "resource": request.params["resource"],
        } | overrides
        return self.http.post(self.server.endpoint("token"), data={k: v for k, v in data.items() if v is not None})

    def tokens(self, client_id: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """A full flow: register (unless given a client), authorize as alice, exchange the code."""
        client_id = client_id or self.register()["client_id"]
        request, code = self.code(client_id, **kwargs)
        response = self.exchange(client_id, request, code)
        assert response.status_code == 200, response.text
        return response.json() | {"client_id": client_id}

    def refresh(self, client_id: str, refresh_token: str, **extra: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id} | extra
        return self.http.post(self.server.endpoint("token"), data=data)

    def get(self, path: str, token: str | None = None, **headers: str) -> httpx.Response:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.get(self.server.origin + path, headers=headers)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    listener = Loopback()
    yield listener
    listener.close()


@pytest.fixture
def oauth(demo: DemoServer, loopback: Loopback) -> Iterator[OAuthDriver]:
    driver = OAuthDriver(demo, loopback)
    yield driver
    driver.http.close()


@pytest.fixture
def parse_challenge() -> Any:
    """Parses one Bearer challenge's auth-params (the demo sends one, with quoted values)."""
    import re

    def parse(header: str) -> dict[str, str]:
        scheme, _, rest = header.partition(" ")
        assert scheme == "Bearer", header
        return dict(re.findall(r'(\w+)="([^"]*)"', rest))

    return parse
