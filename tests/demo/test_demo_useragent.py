"""The scripted user agent follows forms it has never seen: a different IdP's login on a separate
login domain, ``<input type=submit>`` buttons, extra hidden fields, a GET form."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from agentfetch.demo.useragent import walk
from agentfetch.errors import AuthorizationError


class ForeignIdP:
    """An authorization server on one origin whose login lives on another, with Keycloak-style pages."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.pending: dict[str, str] = {}
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def reply(self, status: int, body: str = "", location: str | None = None) -> None:
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body.encode())))
                self.end_headers()
                self.wfile.write(body.encode())

            def params(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else urlsplit(self.path).query
                return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

            def do_GET(self) -> None:
                self.route("GET")

            def do_POST(self) -> None:
                self.route("POST")

            def route(self, method: str) -> None:
                path, params = urlsplit(self.path).path, self.params()
                idp.seen.append((f"{method} {path}", params))
                if path == "/auth":  # on the "app" origin: off to the login domain
                    self.reply(302, location=f"{idp.login_origin}/realms/demo/login?{urlencode(params)}")
                elif path == "/realms/demo/login" and method == "GET":
                    hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in params.items())
                    self.reply(200, f"""<html><body><form id="kc-form-login" action="/realms/demo/login?execution=e1"
                        method="post">{hidden}<input type="hidden" name="credentialId" value="">
                        <input id="username" name="username" type="email" autocomplete="username">
                        <input id="password" name="password" type="password">
                        <input type="checkbox" name="rememberMe"><input type="submit" name="login" value="Sign In">
                        </form></body></html>""")
                elif path == "/realms/demo/login":
                    if (params.get("username"), params.get("password")) != ("carol", "s3cret"):
                        self.reply(401, '<form method="post"><input name="username"><input type="password" '
                                        'name="password"><input type="submit" value="Sign In"></form>')
                        return
                    self.reply(200, f"""<form action="/consent" method="get">
                        <input type="hidden" name="redirect_uri" value="{params['redirect_uri']}">
                        <input type="hidden" name="state" value="{params['state']}">
                        <input type="submit" name="accept" value="Yes">
                        <input type="submit" name="cancel" value="No"></form>""")
                elif path == "/consent":
                    answer = {"state": params["state"]}
                    answer |= {"code": "c0de"} if "accept" in params else {"error": "access_denied"}
                    self.reply(302, location=f"{params['redirect_uri']}?{urlencode(answer)}")
                else:
                    self.reply(404)

            def log_message(self, *args: Any) -> None:
                pass

        self.servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.app_origin = f"http://127.0.0.1:{self.servers[0].server_port}"
        # The same host by another name: a different origin, as a separate login domain would be.
        self.login_origin = f"http://localhost:{self.servers[1].server_port}"

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def idp() -> Iterator[ForeignIdP]:
    server = ForeignIdP()
    yield server
    server.close()


def test_walks_a_foreign_login_domain_and_input_buttons(idp, loopback):
    url = f"{idp.app_origin}/auth?" + urlencode({"redirect_uri": loopback.redirect_uri, "state": "s1"})
    final = walk(url, username="carol", password="s3cret")
    assert final == f"{loopback.redirect_uri}?state=s1&code=c0de"
    assert loopback.last == {"state": "s1", "code": "c0de", "_path": "/callback"}
    login = next(params for step, params in idp.seen if step == "POST /realms/demo/login")
    assert login["username"] == "carol" and login["login"] == "Sign In"
    assert login["credentialId"] == "" and login["redirect_uri"] == loopback.redirect_uri
    assert "rememberMe" not in login  # an unchecked box is not sent


def test_deny_presses_the_negative_button(idp, loopback):
    url = f"{idp.app_origin}/auth?" + urlencode({"redirect_uri": loopback.redirect_uri, "state": "s2"})
    walk(url, username="carol", password="s3cret", approve=False)
    assert loopback.last["error"] == "access_denied"
    assert ("GET /consent", {"redirect_uri": loopback.redirect_uri, "state": "s2", "cancel": "No"}) in idp.seen


def test_failed_login_is_an_authorization_error(idp, loopback):
    url = f"{idp.app_origin}/auth?" + urlencode({"redirect_uri": loopback.redirect_uri, "state": "s3"})
    with pytest.raises(AuthorizationError, match="login as carol failed"):
        walk(url, username="carol", password="nope")
    assert loopback.callbacks == []


def test_unreachable_server_is_an_authorization_error():
    with pytest.raises(AuthorizationError, match="could not load"):
        walk("http://127.0.0.1:9/authorize", timeout=2)
