"""The demo app without sockets: routing, slow endpoints, the request log and the audit trail."""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from ._api import PageStore
from ._authserver import AuthorizationServer
from ._config import DemoConfig
from ._http import Request, Response, json_response
from ._jwt import TokenSigner
from ._proxy import ACCESS_TOKEN_PATH, PRM_PATH, Proxy
from ._state import ServiceToken, State

log = logging.getLogger("agentfetch.demo")

AS_METADATA = "/.well-known/oauth-authorization-server"
OIDC_METADATA = "/.well-known/openid-configuration"
BROKEN_AS_PATH = "/broken-as"


class RequestRecord(NamedTuple):
    """One request as the server saw it. ``path`` has no query string: queries carry codes."""

    method: str
    path: str
    status: int
    user: str | None
    client_id: str | None


class DemoApp:
    def __init__(self, config: DemoConfig, audit_path: Path) -> None:
        self.config = config
        self.state = State()
        self.signer = TokenSigner()
        self.authserver = AuthorizationServer(self)
        self.proxy = Proxy(self)
        #: Pages made through the API; the built-in ones are read-only.
        self.pages = PageStore()
        #: The machine credential ``demo serve`` prints; stable for the server's life.
        self.service_token = ServiceToken.generate("demo-ci")
        #: Set once the socket is bound: ``http://127.0.0.1:PORT``.
        self.origin = ""
        self._unreachable: Any = None  # the socket behind unreachable_issuer, once asked for
        self.audit_path = audit_path
        self._log_lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        self._audit: list[dict[str, object]] = []

    # -- identifiers --------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.origin + self.config.issuer_path

    @property
    def broken_issuer(self) -> str:
        return self.origin + BROKEN_AS_PATH

    @property
    def unreachable_issuer(self) -> str:
        """An issuer on a loopback port that is bound but never listens: connections are refused."""
        if self._unreachable is None:
            import socket

            self._unreachable = socket.socket()
            self._unreachable.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self._unreachable.getsockname()[1]}"

    @property
    def alias_origin(self) -> str:
        """The same app under a second host name (``localhost``), as one app spanning two domains."""
        return self.origin.replace("://127.0.0.1:", "://localhost:", 1)

    def origins(self) -> tuple[str, str]:
        return self.origin, self.alias_origin

    def request_origin(self, req: Request) -> str:
        """The origin a request was addressed to, by its ``Host`` header."""
        alias = self.alias_origin
        return alias if req.header("Host").lower() == alias.removeprefix("http://") else self.origin

    def canonical_resource(self, value: str) -> str | None:
        """The protected resource an RFC 8707 ``resource`` value names (a trailing slash is tolerated)."""
        for origin in self.origins():
            for resource in (origin, origin + "/api"):
                if value in (resource, resource + "/"):
                    return resource
        return None

    # -- logs -----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._log_lock:
            return list(self._requests)

    @property
    def audit(self) -> list[dict[str, object]]:
        with self._log_lock:
            return list(self._audit)

    def clear_logs(self) -> None:
        with self._log_lock:
            self._requests.clear()
            self._audit.clear()

    def _record(self, req: Request, response: Response, remote: str) -> None:
        record = RequestRecord(req.sent_method, req.path, response.status, response.user, response.client_id)
        entry: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": req.sent_method,
            "path": req.path,
            "status": response.status,
            "user": response.user,
            "client_id": response.client_id,
            "remote": remote,
        }
        if response.auth:
            entry["auth"] = response.auth
        if response.event:
            entry["event"] = response.event
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._log_lock:
            self._requests.append(record)
            self._audit.append(entry)
            try:
                with self.audit_path.open("a", encoding="utf-8") as handle:
                    handle.write(line)
            except OSError as exc:  # the in-memory trail still has it; the answer must not be lost
                log.warning("demo audit file %s not writable: %s", self.audit_path, exc.strerror)

    # -- routing ------------------------------------------------------------------------------

    def _route(self, req: Request) -> tuple[str, Response | None]:
        """The slow-endpoint name of a request and, for metadata, its answer."""
        path, cfg = req.path, self.config
        tenant = cfg.issuer_path
        if path.startswith(PRM_PATH):
            return "prm", None
        if path == AS_METADATA + tenant:
            if cfg.has("oidc_only"):
                return "metadata", json_response(404, {"error": "not_found"})
            return "metadata", json_response(200, self.authserver.metadata(oidc=False))
        if path in (OIDC_METADATA + tenant, tenant + OIDC_METADATA):
            return "metadata", json_response(200, self.authserver.metadata(oidc=True))
        if path in (AS_METADATA + BROKEN_AS_PATH, OIDC_METADATA + BROKEN_AS_PATH, BROKEN_AS_PATH + OIDC_METADATA):
            if cfg.has("first_as_broken"):
                return "metadata", json_response(503, {"error": "temporarily_unavailable"})
            return "metadata", json_response(404, {"error": "not_found"})
        if path.startswith(tenant + "/oauth/"):
            name = path.removeprefix(tenant + "/oauth/")
            return ("device" if name.startswith("device") else name), None
        return "resource", None

    def dispatch(self, req: Request, remote: str = "") -> Response:
        try:
            response = self._dispatch(req)
        except Exception:  # a bug in the demo must answer 500, not kill the connection
            log.exception("demo app failed on %s %s", req.method, req.path)
            response = json_response(500, {"error": "server_error"})
        self._record(req, response, remote)
        return response

    def _dispatch(self, req: Request) -> Response:
        cfg = self.config
        endpoint, ready = self._route(req)
        if endpoint in cfg.slow_endpoints and cfg.slow_seconds > 0:
            time.sleep(cfg.slow_seconds)
        if ready is not None:
            return ready
        path = req.path
        if endpoint == "prm":
            return self.proxy.metadata(req)
        if path == "/healthz":
            return Response(200, b"ok\n", [("Content-Type", "text/plain")])
        if path == ACCESS_TOKEN_PATH:
            return self.proxy.access_token(req)
        if path == "/favicon.ico" or (path.startswith("/.well-known/") and path != "/.well-known/api-catalog"):
            return json_response(404, {"error": "not_found"})
        if endpoint != "resource":
            return self.authserver.handle(req, path.removeprefix(cfg.issuer_path + "/oauth/"))
        return self.proxy.handle(req)
