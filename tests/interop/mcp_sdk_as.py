"""The MCP Python SDK's own authorization server and resource server, on loopback.

The authorization server is the SDK's real ``create_auth_routes`` (RFC 8414
metadata, ``/authorize``, ``/token``, RFC 7591 ``/register``, RFC 7009
``/revoke``) around an in-memory ``OAuthAuthorizationServerProvider`` in the
style of the SDK's ``examples/servers/simple-auth``: ``authorize`` sends the
browser to a small HTML login page, then to a consent page with Allow and Deny,
and only then mints the code and redirects to the client. It also offers
``/introspect`` (RFC 7662), as the SDK example does, for the resource server.

The resource server is built from the SDK's resource-server pieces, wired the
way ``mcp.server.lowlevel.Server`` wires them: ``create_protected_resource_routes``
(RFC 9728 metadata), ``BearerAuthBackend`` (with ``resource_server_url``, so a
token issued for another resource is refused), ``AuthContextMiddleware`` and
``RequireAuthMiddleware`` (the ``401``/``403`` with
``WWW-Authenticate: Bearer ... resource_metadata=...``). Its ``TokenVerifier``
asks the authorization server's introspection endpoint over HTTP, so the two
servers share nothing but the wire.

Both run under uvicorn, each on its own ephemeral ``127.0.0.1`` port, in a
background thread. Nothing here reaches the network.
"""

from __future__ import annotations

import html
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import uvicorn
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    OAuthAuthorizationServerProvider,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import build_resource_metadata_url, create_auth_routes, create_protected_resource_routes
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

USERS = {"alice": "wonderland", "bob": "builder"}


@dataclass(frozen=True)
class Hit:
    server: str  # "AS" or "RS"
    method: str
    path: str
    status: int
    #: The request's form fields, for form posts (the token and revocation requests).
    form: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


class _RequestLog:
    """ASGI middleware: records (method, path, status, form) of every request."""

    def __init__(self, app: ASGIApp, hits: list[Hit], server: str) -> None:
        self.app = app
        self.hits = hits
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logged = False
        body = bytearray()

        async def reading() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def record(message: Any) -> None:
            nonlocal logged
            if message["type"] == "http.response.start" and not logged:
                # Logged before the response leaves, so a client that has its answer finds it here.
                logged = True
                headers = dict(scope.get("headers") or [])
                form: dict[str, str] = {}
                if headers.get(b"content-type", b"").startswith(b"application/x-www-form-urlencoded"):
                    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
                self.hits.append(Hit(self.server, scope["method"], scope["path"], message["status"], form))
            await send(message)

        await self.app(scope, receive if scope["method"] == "GET" else reading, record)


class InMemoryProvider(OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]):
    """A complete provider: clients, pending authorizations, codes and tokens in dicts."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.access_ttl = 3600
        self.rotate_refresh_tokens = True
        self.clients: dict[str, OAuthClientInformationFull] = {}
        self.pending: dict[str, tuple[str, AuthorizationParams]] = {}
        self.sessions: dict[str, str] = {}  # login session cookie -> user
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.revoked: list[str] = []  # kinds of the tokens revoked, in order
        self.authorize_params: list[AuthorizationParams] = []
        self.refresh_requests: list[list[str]] = []

    # -- registration ----------------------------------------------------------------
    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info

    # -- the browser's part ----------------------------------------------------------
    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self.authorize_params.append(params)
        transaction = secrets.token_urlsafe(16)
        assert client.client_id is not None
        self.pending[transaction] = (client.client_id, params)
        return f"{self.issuer}/login?txn={transaction}"

    def approve(self, transaction: str, subject: str) -> str:
        client_id, params = self.pending.pop(transaction)
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
            subject=subject,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    def deny(self, transaction: str) -> str:
        _client_id, params = self.pending.pop(transaction)
        return construct_redirect_uri(
            str(params.redirect_uri), error="access_denied", error_description="the user said no", state=params.state
        )

    # -- tokens ----------------------------------------------------------------------
    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None, subject: str | None,
               refresh_token: str | None = None) -> OAuthToken:
        access = "mcp_at_" + secrets.token_hex(24)
        expires_at = int(time.time()) + self.access_ttl
        self.access_tokens[access] = AccessToken(
            token=access, client_id=client_id, scopes=scopes, expires_at=expires_at, resource=resource,
            subject=subject, claims={"iss": self.issuer},
        )
        if refresh_token is None:
            refresh_token = "mcp_rt_" + secrets.token_hex(24)
            self.refresh_tokens[refresh_token] = RefreshToken(
                token=refresh_token, client_id=client_id, scopes=scopes, resource=resource, subject=subject,
            )
        return OAuthToken(
            access_token=access, token_type="Bearer", expires_in=self.access_ttl, scope=" ".join(scopes),
            refresh_token=refresh_token,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code already used")
        return self._issue(authorization_code.client_id, authorization_code.scopes, authorization_code.resource,
                           authorization_code.subject)

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> RefreshToken | None:
        return self.refresh_tokens.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        self.refresh_requests.append(scopes)
        if self.rotate_refresh_tokens:
            self.refresh_tokens.pop(refresh_token.token, None)
            keep = None
        else:
            keep = refresh_token.token
        return self._issue(refresh_token.client_id, scopes, refresh_token.resource, refresh_token.subject, keep)

    async def load_access_token(self, token: str) -> AccessToken | None:
        access = self.access_tokens.get(token)
        if access is None or (access.expires_at is not None and access.expires_at < time.time()):
            return None
        return access

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        # SHOULD revoke both: the whole grant of this client for this resource goes.
        self.revoked.append("refresh_token" if isinstance(token, RefreshToken) else "access_token")
        for table in (self.access_tokens, self.refresh_tokens):
            for key, value in list(table.items()):
                if value.client_id == token.client_id and value.resource == token.resource:
                    del table[key]

    # -- test knobs ------------------------------------------------------------------
    def expire_access_tokens(self) -> None:
        for key, value in list(self.access_tokens.items()):
            self.access_tokens[key] = value.model_copy(update={"expires_at": int(time.time()) - 1})

    def reset(self) -> None:
        self.__init__(self.issuer)  # type: ignore[misc]


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>")


def _login_routes(provider: InMemoryProvider) -> list[Route]:
    """The pages the SDK leaves to the provider: sign-in, then consent."""

    def _pending_or_400(transaction: str) -> tuple[str, AuthorizationParams] | None:
        return provider.pending.get(transaction)

    async def login_page(request: Request) -> Response:
        transaction = request.query_params.get("txn", "")
        if _pending_or_400(transaction) is None:
            return PlainTextResponse("unknown or finished authorization request", status_code=400)
        if request.cookies.get("sid") in provider.sessions:
            return RedirectResponse(f"/consent?txn={transaction}", status_code=302)
        return _login_form(transaction, "")

    def _login_form(transaction: str, message: str) -> HTMLResponse:
        return _page("Sign in", f"""<h1>Sign in to the MCP authorization server</h1><p>{html.escape(message)}</p>
<form method="post" action="/login">
<input type="hidden" name="txn" value="{html.escape(transaction)}">
<label>Username <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button>
</form>""")

    async def login_submit(request: Request) -> Response:
        form = await request.form()
        transaction = str(form.get("txn", ""))
        if _pending_or_400(transaction) is None:
            return PlainTextResponse("unknown or finished authorization request", status_code=400)
        user = str(form.get("username", ""))
        if USERS.get(user) is None or not secrets.compare_digest(USERS[user], str(form.get("password", ""))):
            return _login_form(transaction, "Wrong username or password.")
        session = secrets.token_urlsafe(16)
        provider.sessions[session] = user
        response = RedirectResponse(f"/consent?txn={transaction}", status_code=302)
        response.set_cookie("sid", session, httponly=True, samesite="lax")
        return response

    async def consent_page(request: Request) -> Response:
        transaction = request.query_params.get("txn", "")
        pending = _pending_or_400(transaction)
        if pending is None or request.cookies.get("sid") not in provider.sessions:
            return PlainTextResponse("sign in first", status_code=400)
        client = provider.clients[pending[0]]
        scopes = " ".join(pending[1].scopes or []) or "(none)"
        return _page("Consent", f"""<h1>{html.escape(client.client_name or pending[0])} wants access</h1>
<p>Resource: {html.escape(pending[1].resource or "(none)")}. Scopes: {html.escape(scopes)}.</p>
<form method="post" action="/consent">
<input type="hidden" name="txn" value="{html.escape(transaction)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>""")

    async def consent_submit(request: Request) -> Response:
        form = await request.form()
        transaction = str(form.get("txn", ""))
        user = provider.sessions.get(request.cookies.get("sid", ""))
        if _pending_or_400(transaction) is None or user is None:
            return PlainTextResponse("unknown or finished authorization request", status_code=400)
        if form.get("decision") == "allow":
            target = provider.approve(transaction, user)
        else:
            target = provider.deny(transaction)
        return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})

    async def introspect(request: Request) -> Response:
        # RFC 7662, as in the SDK's simple-auth example; loopback only, so unauthenticated.
        form = await request.form()
        access = await provider.load_access_token(str(form.get("token", "")))
        if access is None:
            return JSONResponse({"active": False})
        return JSONResponse({
            "active": True, "client_id": access.client_id, "scope": " ".join(access.scopes),
            "exp": access.expires_at, "aud": access.resource, "sub": access.subject, "iss": provider.issuer,
            "token_type": "Bearer",
        })

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/consent", consent_page, methods=["GET"]),
        Route("/consent", consent_submit, methods=["POST"]),
        Route("/introspect", introspect, methods=["POST"]),
    ]


class IntrospectionTokenVerifier:
    """A ``TokenVerifier`` that asks the authorization server (RFC 7662), like the SDK example's."""

    def __init__(self, introspection_endpoint: str) -> None:
        self.endpoint = introspection_endpoint

    async def verify_token(self, token: str) -> AccessToken | None:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.post(self.endpoint, data={"token": token})
        body = response.json() if response.status_code == 200 else {}
        if not body.get("active"):
            return None
        return AccessToken(
            token=token, client_id=body["client_id"], scopes=(body.get("scope") or "").split(),
            expires_at=body.get("exp"), resource=body.get("aud"), subject=body.get("sub"),
            claims={"iss": body.get("iss")},
        )


async def _page_app(scope: Scope, receive: Receive, send: Send) -> None:
    access = get_access_token()
    who = access.subject if access else "nobody"
    body = f"MCP SDK protected page {scope['path']} for {who}".encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class ScopeChallengingRequireAuth(RequireAuthMiddleware):
    """``RequireAuthMiddleware`` whose challenges also carry ``scope`` (RFC 6750 §3), which the
    SDK's own leaves out: it names the required scope only in ``error_description``."""

    async def _send_auth_error(self, send: Send, status_code: int, error: str, description: str) -> None:
        scope_param = f', scope="{" ".join(self.required_scopes)}"'.encode()

        async def with_scope(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [
                    (name, value + scope_param if name == b"www-authenticate" else value)
                    for name, value in message["headers"]
                ]}
            await send(message)

        await super()._send_auth_error(with_scope, status_code, error, description)


class _LoginRedirect:
    """ASGI middleware: page requests without credentials are sent to a login page."""

    def __init__(self, app: ASGIApp, login_url: str) -> None:
        self.app = app
        self.login_url = login_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if scope["type"] == "http" and scope["path"].startswith("/docs/") and b"authorization" not in headers:
            target = f"{self.login_url}?{urlencode({'next': scope['path']})}"
            await RedirectResponse(target, status_code=302)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _reserve_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


class _Uvicorn:
    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.sock = sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True,
                                       name="mcp-sdk-uvicorn")

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@dataclass
class McpSdkServers:
    """The SDK's authorization server and a protected resource, each on its own loopback port.

    ``issuer_trailing_slash``: give ``create_auth_routes`` (the AS metadata's ``issuer``) the
    issuer as ``AnyHttpUrl("http://127.0.0.1:P")``, which pydantic normalises to
    ``http://127.0.0.1:P/``, instead of ``AuthSettings.issuer_url`` (which keeps the empty path).
    ``prm_issuer_trailing_slash``: the same for the PRM's ``authorization_servers``.
    ``challenge_scope``: the resource's challenges carry ``scope`` (the SDK's do not).
    ``login_redirect``: a request for a page without ``Authorization`` gets a ``302`` to the
    authorization server's login page, on the same host and another port, as a proxy that takes
    every client for a browser would answer (the PRM still answers).
    ``resource_path``: the resource identifier's path (``resource_server_url``); the pages are
    always under ``/docs/``, so ``""`` or ``"/"`` make the whole origin the resource.
    ``valid_scopes``: ``ClientRegistrationOptions.valid_scopes``, which is also the metadata's
    ``scopes_supported``; ``None`` leaves both out. ``required_scopes``: ``AuthSettings.required_scopes``,
    which the pages need and the PRM lists as ``scopes_supported``.
    """

    valid_scopes: list[str] | None = field(default_factory=lambda: ["read", "write"])
    required_scopes: list[str] = field(default_factory=lambda: ["read"])
    issuer_trailing_slash: bool = False
    prm_issuer_trailing_slash: bool = False
    challenge_scope: bool = False
    login_redirect: bool = False
    resource_path: str = "/docs"
    hits: list[Hit] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._as_sock, self._rs_sock = _reserve_port(), _reserve_port()
        as_base = f"http://127.0.0.1:{self._as_sock.getsockname()[1]}"
        rs_base = f"http://127.0.0.1:{self._rs_sock.getsockname()[1]}"
        self.resource = rs_base + self.resource_path
        settings = AuthSettings(
            issuer_url=as_base,  # type: ignore[arg-type]
            resource_server_url=self.resource,  # type: ignore[arg-type]
            required_scopes=self.required_scopes,
            validate_token_resource=True,
            client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=self.valid_scopes),
            revocation_options=RevocationOptions(enabled=True),
        )
        issuer_url = AnyHttpUrl(as_base) if self.issuer_trailing_slash else settings.issuer_url
        prm_issuer_url = AnyHttpUrl(as_base) if self.prm_issuer_trailing_slash else settings.issuer_url
        self.issuer = str(issuer_url)  # what the AS metadata says
        self.prm_issuer = str(prm_issuer_url)  # what the PRM says
        self.provider = InMemoryProvider(as_base)

        # The authorization server: exactly the SDK's routes, plus the provider's own pages.
        as_app = Starlette(routes=[
            *create_auth_routes(
                provider=self.provider,
                issuer_url=issuer_url,
                client_registration_options=settings.client_registration_options,
                revocation_options=settings.revocation_options,
            ),
            *_login_routes(self.provider),
        ])

        # The resource server, wired as mcp.server.lowlevel.Server wires its streamable HTTP app.
        assert settings.resource_server_url is not None
        metadata_url = build_resource_metadata_url(settings.resource_server_url)
        self.resource_metadata_url = str(metadata_url)
        self.prm_path = urlsplit(self.resource_metadata_url).path
        verifier = IntrospectionTokenVerifier(as_base + "/introspect")
        require = ScopeChallengingRequireAuth if self.challenge_scope else RequireAuthMiddleware
        rs_app = Starlette(
            routes=[
                Route("/docs/admin", endpoint=require(_page_app, ["read", "write"], metadata_url)),
                Route("/docs/{page:path}", endpoint=require(_page_app, self.required_scopes, metadata_url)),
                *create_protected_resource_routes(
                    resource_url=settings.resource_server_url,
                    authorization_servers=[prm_issuer_url],
                    scopes_supported=settings.required_scopes,
                ),
                Route("/public", lambda request: PlainTextResponse("public")),
            ],
            middleware=[
                Middleware(AuthenticationMiddleware,
                           backend=BearerAuthBackend(verifier, resource_server_url=settings.resource_server_url)),
                Middleware(AuthContextMiddleware),
            ],
        )
        self._as = _Uvicorn(_RequestLog(as_app, self.hits, "AS"), self._as_sock)
        rs_front: ASGIApp = _LoginRedirect(rs_app, as_base + "/login") if self.login_redirect else rs_app
        self._rs = _Uvicorn(_RequestLog(rs_front, self.hits, "RS"), self._rs_sock)
        self.as_base, self.rs_base = as_base, rs_base

    def url(self, path: str = "page") -> str:
        return f"{self.rs_base}/docs/{path}"

    def as_endpoint(self, path: str) -> str:
        return self.as_base + path

    def clear_hits(self) -> None:
        self.hits.clear()

    def forms(self, path: str) -> list[dict[str, str]]:
        """The form fields of each POST to the authorization server's ``path``, in order."""
        return [h.form for h in self.hits if h.server == "AS" and h.method == "POST" and h.path == path]

    def agent_hits(self) -> list[tuple[str, str, str, int]]:
        """What the client itself sent to either server, in order: the browser's pages and the
        resource server's introspection calls left out."""
        skip = ("/authorize", "/login", "/consent", "/introspect")
        return [(h.server, h.method, h.path, h.status) for h in self.hits
                if not (h.server == "AS" and h.path.startswith(skip))]

    def __enter__(self) -> McpSdkServers:
        self._as.start()
        try:
            self._rs.start()
        except BaseException:
            self._as.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._rs.stop()
        self._as.stop()

