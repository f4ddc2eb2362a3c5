"""A hostile server for ``tests/security``: correct by default, one thing wrong per test.

One loopback HTTP server plays a protected resource (``/page``), its Protected
Resource Metadata (RFC 9728), an authorization server at ``/as`` (RFC 8414
metadata, RFC 7591 registration, the authorization endpoint that approves at
once, the token and revocation endpoints) and a page that redirects. Unchanged,
``agentfetch URL --consent allow`` signs in and prints the page. A test breaks
exactly one thing through:

- ``patch[name]``: changes merged into a JSON document before it is sent, for
  ``prm``, ``as``, ``registration``, ``token``, ``refresh`` (a change to ``DROP``
  removes the field), and ``callback`` (the parameters of the redirect back);
- ``routes[path]``: a function that answers that path instead;
- ``challenge``: the ``WWW-Authenticate`` header of the 401.

Every request is logged (method, target, headers, body) before it is answered,
and every secret the server hands out or receives is remembered, so a test can
check that nothing went where it must not and that no secret reached an output.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = ["DROP", "Hostile", "Recorded", "Reply", "run_agentfetch", "secret_leaks", "stored_credentials"]

#: A ``patch`` value that removes the field.
DROP = object()

PAGE = b"<!doctype html><html><head><title>Hostile page</title></head><body><main><h1>Hostile page</h1>" + (
    b"<p>The protected text that only a signed-in agent may read, long enough to count as an article.</p>" * 8
) + b"</main></body></html>"


@dataclass
class Recorded:
    method: str
    target: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items()}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = "application/json"

    @classmethod
    def json(cls, document: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Reply:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return cls(status, body, headers or [])


def _merge(document: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    merged = dict(document)
    for key, value in (changes or {}).items():
        if value is DROP:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


class Hostile:
    """``with Hostile() as server: ...``; see the module docstring."""

    def __init__(self) -> None:
        self.patch: dict[str, dict[str, Any]] = {}
        self.routes: dict[str, Callable[[Recorded], Reply]] = {}
        self.challenge: str | None = None
        #: Scopes the token endpoint grants; None: what was asked.
        self.granted_scope: str | None = None
        self.log: list[Recorded] = []
        self.secrets: set[str] = set()
        self._codes: dict[str, dict[str, str]] = {}
        self._tokens: set[str] = set()
        self._refresh: set[str] = set()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.hostile = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    # -- addresses -----------------------------------------------------------------------

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + "/page"

    @property
    def issuer(self) -> str:
        return self.origin + "/as"

    @property
    def prm_url(self) -> str:
        return self.origin + "/.well-known/oauth-protected-resource/page"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what happened --------------------------------------------------------------------

    def requests(self, path_prefix: str = "/") -> list[Recorded]:
        with self._lock:
            return [r for r in self.log if r.path.startswith(path_prefix)]

    def count(self, path_prefix: str) -> int:
        return len(self.requests(path_prefix))

    def remember(self, *values: str) -> None:
        with self._lock:
            self.secrets.update(v for v in values if v)

    def new_secret(self, prefix: str) -> str:
        value = f"{prefix}-{secrets.token_urlsafe(18)}"
        self.remember(value)
        return value

    # -- the documents, correct unless patched --------------------------------------------------

    def prm(self) -> dict[str, Any]:
        return _merge({
            "resource": self.url,
            "authorization_servers": [self.issuer],
            "scopes_supported": ["read"],
            "resource_name": "Hostile wiki",
        }, self.patch.get("prm"))

    def as_metadata(self) -> dict[str, Any]:
        issuer = self.issuer
        return _merge({
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "registration_endpoint": issuer + "/register",
            "revocation_endpoint": issuer + "/revoke",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["read"],
            "authorization_response_iss_parameter_supported": True,
        }, self.patch.get("as"))

    def _challenge(self) -> str:
        if self.challenge is not None:
            return self.challenge
        return f'Bearer resource_metadata="{self.prm_url}", scope="read"'

    def _issue(self, scope: str, patch: str) -> dict[str, Any]:
        access, refresh = self.new_secret("at"), self.new_secret("rt")
        with self._lock:
            self._tokens.add(access)
            self._refresh.add(refresh)
        document = _merge({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3600,
            "refresh_token": refresh,
            "scope": self.granted_scope if self.granted_scope is not None else scope,
        }, self.patch.get(patch))
        for key in ("access_token", "refresh_token"):
            if isinstance(document.get(key), str):
                self.remember(document[key])
                with self._lock:
                    self._tokens.add(document[key])
        return document

    # -- endpoints -----------------------------------------------------------------------------

    def answer(self, request: Recorded) -> Reply:
        route = self.routes.get(request.path)
        if route is not None:
            return route(request)
        path = request.path
        if path == "/page" or path.startswith("/page/"):
            return self._resource(request)
        if path == "/.well-known/oauth-protected-resource/page":
            return Reply.json(self.prm())
        if path == "/.well-known/oauth-authorization-server/as":
            return Reply.json(self.as_metadata())
        if path == "/as/register":
            return self._register(request)
        if path == "/as/authorize":
            return self._authorize(request)
        if path == "/as/token":
            return self._token(request)
        if path == "/as/revoke":
            return Reply(200, b"", content_type=None)
        return Reply(404, b'{"error": "not_found"}')

    def _resource(self, request: Recorded) -> Reply:
        header = request.headers.get("authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        with self._lock:
            valid = token is not None and token in self._tokens
        if valid:
            return Reply(200, PAGE, content_type="text/html; charset=utf-8")
        return Reply(401, b"sign in first", [("WWW-Authenticate", self._challenge())], content_type="text/plain")

    def _register(self, request: Recorded) -> Reply:
        try:
            asked = json.loads(request.body)
        except ValueError:
            return Reply.json({"error": "invalid_client_metadata"}, 400)
        client_id = f"client-{secrets.token_hex(6)}"  # not a secret: -v shows it, store.json keeps it
        document = _merge({
            "client_id": client_id,
            "client_id_issued_at": 1,
            "redirect_uris": asked.get("redirect_uris", []),
            "token_endpoint_auth_method": "none",
            "grant_types": asked.get("grant_types", []),
            "response_types": ["code"],
            "client_name": asked.get("client_name"),
        }, self.patch.get("registration"))
        return Reply.json(document, 201)

    def _authorize(self, request: Recorded) -> Reply:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.target).query).items()}
        code = self.new_secret("code")
        with self._lock:
            self._codes[code] = query
        params = _merge({"code": code, "state": query.get("state", ""), "iss": self.issuer}, self.patch.get("callback"))
        location = query.get("redirect_uri", "") + "?" + urlencode({k: v for k, v in params.items()})
        return Reply(302, b"", [("Location", location)], content_type=None)

    def _token(self, request: Recorded) -> Reply:
        form = request.form()
        self.remember(form.get("code_verifier", ""), form.get("code", ""), form.get("refresh_token", ""))
        grant = form.get("grant_type")
        if grant == "authorization_code":
            with self._lock:
                asked = self._codes.pop(form.get("code", ""), None)
            if asked is None:
                return Reply.json({"error": "invalid_grant"}, 400)
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            ).rstrip(b"=").decode()
            if challenge != asked.get("code_challenge"):
                return Reply.json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
            return Reply.json(self._issue(asked.get("scope", ""), "token"))
        if grant == "refresh_token":
            with self._lock:
                known = form.get("refresh_token") in self._refresh
            if not known:
                return Reply.json({"error": "invalid_grant"}, 400)
            return Reply.json(self._issue("read", "refresh"))
        return Reply.json({"error": "unsupported_grant_type"}, 400)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: Hostile

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up early are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        hostile = self.server.hostile
        with hostile._lock:
            hostile.log.append(record)  # before answering: a test sees it even when the client gives up
        reply = hostile.answer(record)
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        if not any(name.lower() in ("content-length", "transfer-encoding") for name, _ in reply.headers):
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_HEAD = _serve


# -- running the CLI and checking what it left behind --------------------------------------------

#: A ``BROWSER`` that follows the authorization redirect to the listener, as a browser would.
BROWSER = " ".join(shlex.quote(p) for p in (sys.executable, str(Path(__file__).with_name("browser.py")))) + " %s"


def run_agentfetch(*args: str, home: Path, env: dict[str, str] | None = None,
                   timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m agentfetch ARGS`` in a fresh home with the file store and the following browser."""
    full_env = {**os.environ, "AGENTFETCH_HOME": str(home), "AGENTFETCH_STORE": "file", "BROWSER": BROWSER,
                **(env or {})}
    for name in ("AGENTFETCH_DEBUG", "AGENTFETCH_CONSENT", "AGENTFETCH_CLIENT_ID"):
        full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "agentfetch", *args], capture_output=True, text=True,
                          encoding="utf-8", errors="backslashreplace", timeout=timeout, env=full_env,
                          stdin=subprocess.DEVNULL)


def secret_leaks(secrets_: set[str], proc: subprocess.CompletedProcess[str] | None, home: Path) -> list[str]:
    """Where any of ``secrets_`` shows up: stdout, stderr, or a file under ``home``
    other than the secret store (``secrets.json``)."""
    places: list[str] = []
    values = [s for s in secrets_ if len(s) >= 8]
    if proc is not None:
        for name, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            if any(v in text for v in values):
                places.append(name)
    for path in home.rglob("*") if home.exists() else ():
        if path.is_file() and path.name != "secrets.json":
            data = path.read_bytes()
            if any(v.encode() in data for v in values):
                places.append(str(path.relative_to(home)))
    return places


def stored_credentials(home: Path) -> list[Any]:
    """The credentials in the file store under ``home``."""
    from agentfetch.store import open_store

    return open_store(backend="file", home=home).list()
