"""``DemoServer``: the demo app on a real socket, with the knobs tests turn."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ._api import PageStore
from ._app import DemoApp, RequestRecord
from ._config import DemoConfig
from ._http import Request
from ._state import Client, ServiceToken, State

__all__ = ["DemoServer"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections as they would with a real proxy
    server_version = "AcmeAccessProxy/1.0"
    timeout = 30  # an idle keep-alive connection must not pin a thread forever
    disable_nagle_algorithm = True  # headers and body go out separately; Nagle + delayed ACK costs 40 ms
    server: _HTTPServer

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "bad request body")
            return
        request = Request(self.command, self.path, self.headers, body)
        response = self.server.app.dispatch(request, remote=self.client_address[0])
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.header("Content-Length") is None:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

    def log_message(self, format: str, *args: Any) -> None:
        # The request log and the audit trail record requests; stderr stays quiet.
        pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # tests start 20 client processes at once

    def __init__(self, address: tuple[str, int], app: DemoApp) -> None:
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections too, so a stopped server answers nothing more."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class DemoServer:
    """The Acme wiki behind an identity-aware proxy with managed OAuth, on 127.0.0.1.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, config: DemoConfig | None = None, *, port: int | None = None, host: str | None = None) -> None:
        config = config or DemoConfig()
        if port is not None or host is not None:
            config = config.replace(port=config.port if port is None else port, host=host or config.host)
        self._base_config = config
        self._tmpdir: str | None = None
        if config.audit_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="agentfetch-demo-")
            audit_path = Path(self._tmpdir) / "audit.jsonl"
        else:
            audit_path = Path(config.audit_path)
            audit_path.parent.mkdir(parents=True, exist_ok=True)
        self.app = DemoApp(config, audit_path)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._config_lock = threading.Lock()

    def __repr__(self) -> str:
        if self._httpd is None:
            return "<DemoServer stopped>"
        return f"<DemoServer {self.url} issuer={self.issuer}>"

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> DemoServer:
        if self._httpd is not None:
            return self
        cfg = self._base_config
        self._httpd = _HTTPServer((cfg.host, cfg.port), self.app)
        host, port = self._httpd.server_address[:2]
        if isinstance(host, bytes):  # typeshed allows bytes for AF_UNIX addresses; ours is an IP
            host = host.decode()
        shown = f"[{host}]" if ":" in str(host) else host
        self.app.origin = f"http://{shown}:{port}"
        self._install_preregistered_client()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="agentfetch-demo", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (Ctrl-C), then stop cleanly."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def _install_preregistered_client(self) -> None:
        cfg = self.app.config
        client = Client(
            client_id=cfg.preregistered_client_id,
            client_name="agentfetch (pre-registered)",
            redirect_uris=("http://127.0.0.1/callback",),
            grant_types=("authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"),
            response_types=("code",),
            token_endpoint_auth_method="none",
            any_loopback=True,
        )
        with self.app.state.lock:
            self.app.state.clients[client.client_id] = client

    # -- addresses ------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return self.app.origin

    @property
    def url(self) -> str:
        """The protected wiki's front page."""
        return self.app.origin + "/"

    @property
    def alias_url(self) -> str:
        """The same wiki under a second host name (``http://localhost:PORT/``): one app, two domains.

        Its resource identifiers are its own (``alias_resource``), the authorization server is
        shared, and a token obtained through either domain is honoured on both.
        """
        return self.app.alias_origin + "/"

    @property
    def alias_resource(self) -> str:
        return self.app.alias_origin

    @property
    def port(self) -> int:
        return int(self.app.origin.rsplit(":", 1)[1])

    @property
    def issuer(self) -> str:
        return self.app.issuer

    @property
    def resource(self) -> str:
        """The wiki's RFC 8707 resource identifier (what PRM names and tokens are bound to)."""
        return self.app.origin

    @property
    def api_resource(self) -> str:
        """The JSON API's own resource identifier (its PRM is at the path-inserted well-known URL)."""
        return self.app.origin + "/api"

    @property
    def service_token(self) -> ServiceToken:
        """The machine credential: ``service_token.headers()`` is the ``CF-Access-Client-Id`` and
        ``CF-Access-Client-Secret`` pair; ``GET /access/token`` with it answers a short-lived JWT
        for the ``cf-access-token`` header."""
        return self.app.service_token

    @property
    def resource_metadata_url(self) -> str:
        return self.app.proxy.metadata_url(self.resource)

    def endpoint(self, name: str) -> str:
        """An authorization-server endpoint URL: ``authorize``, ``token``, ``register``, ``revoke``,
        ``device_authorization``, ``device``, ``jwks``, ``login``, ``consent``."""
        return self.app.authserver.url(name)

    # -- knobs ----------------------------------------------------------------------------------

    @property
    def config(self) -> DemoConfig:
        return self.app.config

    def reconfigure(self, **changes: Any) -> None:
        """Change knobs until :meth:`reset` (or the next ``reconfigure``)."""
        with self._config_lock:
            self.app.config = self.app.config.replace(**changes)

    @contextlib.contextmanager
    def configure(self, **changes: Any) -> Iterator[DemoServer]:
        """Change knobs for the ``with`` block, then restore the previous ones."""
        with self._config_lock:
            previous = self.app.config
            self.app.config = previous.replace(**changes)
        try:
            yield self
        finally:
            with self._config_lock:
                self.app.config = previous

    def reset(self) -> None:
        """Back to the starting knobs with no clients, grants, sessions or logged requests."""
        with self._config_lock:
            self.app.config = self._base_config
            self.app.state = State()
            self.app.pages = PageStore()
        self._install_preregistered_client()
        self.app.clear_logs()

    def expire_tokens(self) -> None:
        """Make every access token issued so far count as expired (refresh tokens stay valid)."""
        with self.app.state.lock:
            # A second's margin: tokens minted in this same instant are "before" too.
            self.app.state.not_before = time.time() + 0.001

    def revoke_all(self, user: str | None = None) -> None:
        """Revoke every grant (of ``user``), as an admin removing access would."""
        with self.app.state.lock:
            for grant in list(self.app.state.grants.values()):
                if user is None or grant.user == user:
                    self.app.state.revoke_grant(grant.grant_id)

    # -- observation ----------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        return self.app.requests

    def clear_requests(self) -> None:
        self.app.clear_logs()

    def count(self, path_prefix: str = "/", method: str | None = None) -> int:
        """How many requests hit paths starting with ``path_prefix`` (optionally of one method)."""
        return sum(
            1 for r in self.app.requests if r.path.startswith(path_prefix) and (method is None or r.method == method)
        )

    @property
    def audit(self) -> list[dict[str, object]]:
        return self.app.audit

    @property
    def audit_path(self) -> Path:
        return self.app.audit_path

    def clients(self) -> dict[str, dict[str, object]]:
        """Registered clients' metadata by client id (secrets included: this is a test hook)."""
        with self.app.state.lock:
            return {cid: client.metadata() for cid, client in self.app.state.clients.items()}
