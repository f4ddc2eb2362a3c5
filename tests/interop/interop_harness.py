"""What the live interop tests share: a protected resource on loopback, and an agent that counts.

:class:`LoopbackResource` is a small API on 127.0.0.1 (stdlib ``http.server``) in front of
a real authorization server: RFC 9728 metadata per resource (path-inserted, §3.1), a Bearer
challenge with ``resource_metadata`` and ``scope`` (RFC 6750 §3), and token validation
against the server's JWKS, which each server's subclass spells out (:meth:`validate`).

:class:`Agent` builds :class:`agentfetch.Fetcher` objects the way separate agentfetch
processes would (one store, nothing else shared) and records every request they send:
agentfetch's round trips.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

from agentfetch import Fetcher


@dataclass
class Seen:
    method: str
    path: str
    status: int
    bearer: bool


class LoopbackResource:
    """One origin, a resource per tree (``<origin>/<tree>``). Pages need :attr:`READ`;
    ``.../admin`` pages need :attr:`ADMIN` and answer ``403 insufficient_scope`` without."""

    TREES: tuple[str, ...] = ("wiki",)
    READ = "read"
    ADMIN = "admin"

    def __init__(self) -> None:
        self.issuer: str | None = None
        self.keys: Any = None
        self.jwks_uri: str | None = None
        self.requests: list[Seen] = []
        self.tokens_seen: list[dict[str, Any]] = []
        self.rejected: list[str] = []  # why tokens were refused, for assertion messages
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def resource(self, tree: str | None = None) -> str:
        return f"{self.origin}/{tree or self.TREES[0]}"

    def prm_url(self, tree: str | None = None) -> str:
        return f"{self.origin}/.well-known/oauth-protected-resource/{tree or self.TREES[0]}"

    def start(self, issuer: str) -> None:
        self.issuer = issuer
        # As a resource server would: the server's OIDC metadata, then its jwks_uri.
        metadata = httpx.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
        self.jwks_uri = metadata["jwks_uri"]
        self.load_keys()
        if not self._thread.is_alive():
            self._thread.start()

    def load_keys(self) -> None:
        from joserfc.jwk import KeySet

        assert self.jwks_uri is not None
        document = httpx.get(self.jwks_uri, timeout=10).json()
        # Only signing keys verify (Keycloak also publishes an RSA-OAEP key, use=enc).
        document["keys"] = [k for k in document["keys"] if k.get("use", "sig") == "sig"]
        self.keys = KeySet.import_key_set(document)

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which a skip never started
            self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.tokens_seen.clear()
            self.rejected.clear()

    # -- what each server's subclass decides --------------------------------------------------

    def validate(self, token: str, tree: str) -> dict[str, Any] | None:
        """The claims of a token valid for ``tree``, or None (and a line in :attr:`rejected`)."""
        raise NotImplementedError

    def scopes_supported(self, tree: str) -> list[str]:
        return [self.READ, self.ADMIN]

    def authorization_servers(self, tree: str) -> list[str]:
        return [self.issuer or ""]

    def step_up_scope(self, claims: dict[str, Any], needed: str) -> str:
        """The ``scope`` of a 403 challenge (RFC 6750 §3.1): here just the one the request needs."""
        return needed

    def page(self, tree: str, path: str, claims: dict[str, Any]) -> str:
        return f"# {tree} page {path}\n\nHello {claims['sub']}, this is the {tree}."

    # -- the HTTP side ------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        rs = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any] | str, headers: dict[str, str] | None = None) -> None:
                data = (json.dumps(body) if isinstance(body, dict) else body).encode()
                # Recorded before answering: the client may look as soon as it has the answer.
                with rs.lock:
                    rs.requests.append(Seen(self.command, self.path, status, "authorization" in self.headers))
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(body, dict) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                prefix = "/.well-known/oauth-protected-resource/"
                if path.startswith(prefix) and path[len(prefix):] in rs.TREES:
                    tree = path[len(prefix):]
                    return self._send(200, {
                        "resource": rs.resource(tree),
                        "authorization_servers": rs.authorization_servers(tree),
                        "scopes_supported": rs.scopes_supported(tree),
                        "bearer_methods_supported": ["header"],
                    })
                tree = path.strip("/").split("/")[0]
                if tree not in rs.TREES:
                    return self._send(404, "not found")
                needed = rs.ADMIN if path.rstrip("/").endswith("/admin") else rs.READ
                challenge = f'Bearer resource_metadata="{rs.prm_url(tree)}", scope="{needed}"'
                header = self.headers.get("Authorization", "")
                if not header.lower().startswith("bearer "):
                    return self._send(401, "sign in", {"WWW-Authenticate": challenge})
                claims = rs.validate(header[7:].strip(), tree)
                if claims is None:
                    return self._send(401, "bad token", {"WWW-Authenticate": challenge + ', error="invalid_token"'})
                with rs.lock:
                    rs.tokens_seen.append(claims)
                if needed not in str(claims.get("scope", "")).split():
                    wanted = rs.step_up_scope(claims, needed)
                    return self._send(403, f"needs {needed}", {
                        "WWW-Authenticate":
                            f'Bearer resource_metadata="{rs.prm_url(tree)}", scope="{wanted}", '
                            'error="insufficient_scope"'})
                return self._send(200, rs.page(tree, path, claims))

        return Handler


@dataclass
class Agent:
    """Fetchers as separate agentfetch processes would build them, and what they sent."""

    browser: Callable[[str], bool]
    store: Any
    log: list[str] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)

    def fetcher(self, **options: Any) -> Fetcher:
        options = {"consent": "allow", "open_browser": self.browser, "log": self.log.append, "store": self.store,
                   "auth_timeout": 30, **options}
        fetcher = Fetcher(**options)
        # httpx runs request hooks for the auth flow's own requests too: every round trip.
        fetcher.client.event_hooks["request"].append(self._record)
        return fetcher

    def _record(self, request: httpx.Request) -> None:
        self.sent.append((request.method, str(request.url.copy_with(query=None))))

    def clear(self) -> None:
        self.log.clear()
        self.sent.clear()
