"""The authorization server: RFC 8414 metadata, RFC 7591 registration, RFC 6749 code flow with
RFC 7636 PKCE, RFC 8707 resource and RFC 9207 iss, refresh rotation, RFC 7009 revocation and the
RFC 8628 device flow. Faults from ``DemoConfig.faults`` bend it in documented ways.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlencode, urlsplit

from . import _pages
from ._cimd import ClientMetadataError, fetch_client, is_metadata_url
from ._config import ACR_MFA, ACR_PASSWORD, DEMO_ADMINS, DEMO_ONE_TIME_CODE, DEMO_USERS
from ._dpop import ALGS as DPOP_ALGS
from ._dpop import ProofError
from ._http import Request, Response, add_query, json_response, redirect, single
from ._state import (
    AccessToken,
    AuthorizationCode,
    Client,
    DeviceAuthorization,
    Grant,
    PendingAuthorization,
    PushedRequest,
    SignIn,
    new_secret,
)

if TYPE_CHECKING:
    from ._app import DemoApp

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ("authorization_code", "refresh_token", DEVICE_GRANT)
AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")
SESSION_COOKIE = "demo_session"
CSRF_COOKIE = "demo_csrf"
FOREIGN_AUDIENCE = "https://other-resource.example"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
_LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def oauth_error(error: str, description: str, status: int = 400, **headers: str) -> Response:
    """An RFC 6749 §5.2 error answer (also used by RFC 7591 §3.2.2, RFC 7009 and RFC 8628)."""
    response = json_response(status, {"error": error, "error_description": description})
    response.headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    response.headers += list(headers.items())
    return response


def _no_store(response: Response) -> Response:
    response.headers += [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    return response


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _valid_verifier(verifier: str) -> bool:
    """RFC 7636 §4.1: 43 to 128 unreserved characters."""
    unreserved = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return 43 <= len(verifier) <= 128 and set(verifier) <= unreserved


class AuthorizationServer:
    def __init__(self, app: DemoApp) -> None:
        self.app = app

    # -- identifiers -------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"{self.app.issuer}/oauth/{name}"

    def endpoints(self) -> dict[str, str]:
        cfg = self.app.config
        urls = {
            "authorization_endpoint": self.url("authorize"),
            "token_endpoint": self.url("token"),
            "revocation_endpoint": self.url("revoke"),
            "device_authorization_endpoint": self.url("device_authorization"),
            "jwks_uri": self.url("jwks"),
        }
        if cfg.registration:
            urls["registration_endpoint"] = self.url("register")
        if cfg.par:
            urls["pushed_authorization_request_endpoint"] = self.url("par")
        return urls

    def scopes_offered(self) -> list[str]:
        cfg = self.app.config
        return [s for s in cfg.scopes if not (s == "offline_access" and cfg.has("no_offline_access"))]

    def metadata(self, *, oidc: bool) -> dict[str, object]:
        """RFC 8414 §2 (and OpenID Connect Discovery 1.0 §3 when ``oidc``)."""
        cfg = self.app.config
        issuer = self.app.issuer + "/evil-twin" if cfg.has("as_wrong_issuer") else self.app.issuer
        doc: dict[str, object] = {
            "issuer": issuer,
            **self.endpoints(),
            "scopes_supported": self.scopes_offered(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": list(GRANT_TYPES),
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["plain"] if cfg.has("no_s256") else ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "service_documentation": self.app.origin + "/pages/api",
        }
        if cfg.client_id_metadata_documents:
            doc["client_id_metadata_document_supported"] = True
        if cfg.dpop:
            doc["dpop_signing_alg_values_supported"] = list(DPOP_ALGS)
        if cfg.par_required:
            doc["require_pushed_authorization_requests"] = True
        if cfg.step_up_paths:
            doc["acr_values_supported"] = [ACR_PASSWORD, ACR_MFA]
        if oidc:
            doc["subject_types_supported"] = ["public"]
            doc["id_token_signing_alg_values_supported"] = ["ES256"]
        return doc

    # -- routing -----------------------------------------------------------------------------

    def handle(self, req: Request, name: str) -> Response:
        routes = {
            ("GET", "jwks"): lambda: json_response(
                200, self.app.signer.jwks(), content_type="application/jwk-set+json"
            ),
            ("POST", "register"): lambda: self.register(req),
            ("GET", "authorize"): lambda: self.authorize(req, req.query),
            ("POST", "authorize"): lambda: self.authorize(req, req.form()),
            ("GET", "login"): lambda: self.login_form(req),
            ("POST", "login"): lambda: self.login(req),
            ("GET", "consent"): lambda: self.consent_form(req),
            ("POST", "consent"): lambda: self.consent(req),
            ("POST", "token"): lambda: self.token(req),
            ("POST", "par"): lambda: self.pushed_authorization(req),
            ("GET", "mfa"): lambda: self.mfa_form(req),
            ("POST", "mfa"): lambda: self.mfa(req),
            ("POST", "revoke"): lambda: self.revoke(req),
            ("POST", "device_authorization"): lambda: self.device_authorization(req),
            ("GET", "device"): lambda: self.device_form(req),
            ("POST", "device"): lambda: self.device_submit(req),
            ("GET", "logout"): lambda: self.logout(req),
        }
        if name == "register" and not self.app.config.registration:
            return json_response(404, {"error": "not_found", "error_description": "registration is disabled"})
        if name == "par" and not self.app.config.par:
            return json_response(404, {"error": "not_found", "error_description": "PAR is not enabled"})
        route = routes.get((req.method, name))
        if route is None:
            if any(key[1] == name for key in routes):
                allowed = ", ".join(k[0] for k in routes if k[1] == name)
                return Response(405, b"method not allowed\n", [("Allow", allowed)])
            return json_response(404, {"error": "not_found"})
        return route()

    # -- RFC 7591 registration ---------------------------------------------------------------

    def redirect_uri_problem(self, uri: object) -> str | None:
        """Why ``uri`` may not be a redirect URI (RFC 6749 §3.1.2, RFC 8252 §7), or ``None``."""
        if not isinstance(uri, str) or not uri:
            return "redirect_uris must be non-empty strings"
        cfg = self.app.config
        parts = urlsplit(uri)
        if parts.fragment or "#" in uri:
            return f"redirect URI must not contain a fragment: {uri}"
        if parts.scheme == "https" and parts.hostname:
            return None
        if parts.scheme == "http":
            host = parts.hostname or ""
            if host not in _LOOPBACK_HOSTS:
                return f"plain http redirect URIs are allowed only on loopback: {uri}"
            if cfg.has("localhost_only_redirect") and host != "localhost":
                return f"this server accepts only http://localhost redirect URIs: {uri}"
            if cfg.has("loopback_ip_only_redirect") and host == "localhost":
                return f"this server accepts only loopback IP redirect URIs (RFC 8252 §8.3): {uri}"
            return None
        if parts.scheme and "." in parts.scheme and not parts.netloc:
            return None  # RFC 8252 §7.1 private-use URI scheme
        return f"unsupported redirect URI: {uri}"

    def register(self, req: Request) -> Response:
        if req.header("Content-Type").split(";")[0].strip().lower() != "application/json":
            return oauth_error("invalid_client_metadata", "the request body must be application/json")
        try:
            meta = json.loads(req.body or b"null")
        except ValueError:
            return oauth_error("invalid_client_metadata", "the request body is not valid JSON")
        if not isinstance(meta, dict):
            return oauth_error("invalid_client_metadata", "client metadata must be a JSON object")
        grant_types = meta.get("grant_types", ["authorization_code"])
        response_types = meta.get("response_types", ["code"])
        method = meta.get("token_endpoint_auth_method", "client_secret_basic")
        redirect_uris = meta.get("redirect_uris", [])
        scope = meta.get("scope")
        client_name = meta.get("client_name", "Unnamed client")
        for name, value in (("grant_types", grant_types), ("response_types", response_types),
                            ("redirect_uris", redirect_uris)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return oauth_error("invalid_client_metadata", f"{name} must be an array of strings")
        if not isinstance(client_name, str):
            return oauth_error("invalid_client_metadata", "client_name must be a string")
        unsupported = [g for g in grant_types if g not in GRANT_TYPES]
        if unsupported:
            return oauth_error("invalid_client_metadata", f"unsupported grant_types: {' '.join(unsupported)}")
        if any(r != "code" for r in response_types):
            return oauth_error("invalid_client_metadata", "only the 'code' response type is supported")
        if "authorization_code" in grant_types and "code" not in response_types:
            return oauth_error("invalid_client_metadata", "grant type authorization_code needs response type code")
        if method not in AUTH_METHODS:
            return oauth_error("invalid_client_metadata", f"unsupported token_endpoint_auth_method: {method}")
        if scope is not None:
            if not isinstance(scope, str):
                return oauth_error("invalid_client_metadata", "scope must be a space-separated string")
            unknown = [s for s in scope.split() if s not in self.app.config.scopes]
            if unknown:
                return oauth_error("invalid_client_metadata", f"unknown scope: {' '.join(unknown)}")
        if "authorization_code" in grant_types and not redirect_uris:
            return oauth_error("invalid_redirect_uri", "redirect_uris is required for the authorization_code grant")
        for uri in redirect_uris:
            problem = self.redirect_uri_problem(uri)
            if problem:
                return oauth_error("invalid_redirect_uri", problem)
        dpop_bound = meta.get("dpop_bound_access_tokens", False)
        if not isinstance(dpop_bound, bool):
            return oauth_error("invalid_client_metadata", "dpop_bound_access_tokens must be a boolean")
        client = Client(
            client_id=new_secret("demo-client-", 12),
            client_name=client_name,
            redirect_uris=tuple(redirect_uris),
            grant_types=tuple(grant_types),
            response_types=tuple(response_types),
            token_endpoint_auth_method=method,
            scope=scope,
            client_secret=None if method == "none" else new_secret(nbytes=32),
            # RFC 9449 §5.2: a server that requires DPoP says so in the registration response.
            dpop_bound=dpop_bound or self.app.config.dpop_required,
        )
        with self.app.state.lock:
            self.app.state.clients[client.client_id] = client
        response = _no_store(json_response(201, client.metadata()))
        response.client_id = client.client_id
        response.event = "client.registered"
        return response

    def redirect_uri_allowed(self, client: Client, uri: str) -> bool:
        """RFC 8252 §7.3: a loopback redirect URI matches a registered one on any port."""
        if self.redirect_uri_problem(uri) is not None:
            return False
        if client.any_loopback and urlsplit(uri).scheme == "http":
            return True
        if uri in client.redirect_uris:
            return True
        if self.app.config.has("exact_redirect_port"):
            return False
        asked = urlsplit(uri)
        if asked.scheme != "http":
            return False
        for registered in map(urlsplit, client.redirect_uris):
            if (registered.scheme, registered.hostname, registered.path, registered.query) == (
                asked.scheme, asked.hostname, asked.path, asked.query
            ):
                return True
        return False

    # -- sessions and CSRF -------------------------------------------------------------------

    def session_user(self, req: Request) -> str | None:
        token = req.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        with self.app.state.lock:
            return self.app.state.sessions.get(token)

    def _with_csrf(self, req: Request, build: Callable[[str], Response]) -> Response:
        """A form page with a double-submit CSRF token: the form carries the cookie's value back."""
        cookie = req.cookies.get(CSRF_COOKIE)
        fresh = not cookie
        token = cookie or new_secret(nbytes=16)
        response = build(token)
        if fresh:
            response.headers.append(("Set-Cookie", f"{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"))
        return response

    def _csrf_ok(self, req: Request, form: dict[str, list[str]]) -> bool:
        cookie = req.cookies.get(CSRF_COOKIE, "")
        sent = (form.get("csrf") or [""])[0]
        return bool(cookie) and hmac.compare_digest(cookie, sent)

    def _safe_next(self, target: str | None) -> str:
        # Only same-origin paths: never an open redirect.
        if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
        return "/"

    # -- RFC 6749 §4.1 authorization endpoint ------------------------------------------------

    def authorize(self, req: Request, params: dict[str, list[str]]) -> Response:
        cfg = self.app.config
        try:
            client_id = single(params, "client_id")
            request_uri = single(params, "request_uri")
        except ValueError as exc:
            return _pages.message_page("Invalid request", str(exc), 400)
        pushed_jkt: str | None = None
        if request_uri is not None and cfg.par:
            # RFC 9126 §4: the parameters are the pushed ones; the front channel adds only client_id.
            with self.app.state.lock:
                pushed = self.app.state.pushed.pop(request_uri, None)
            if pushed is None or pushed.client_id != client_id or time.time() > pushed.expires_at:
                return _pages.message_page("Invalid request", "The request_uri is unknown, used or expired.", 400)
            params, pushed_jkt = pushed.params, pushed.dpop_jkt
        elif cfg.par_required:
            return _pages.message_page(
                "Invalid request", "This server accepts only pushed authorization requests (RFC 9126).", 400)
        try:
            client = self.find_client(client_id, refetch=True)
        except ClientMetadataError as exc:
            return _pages.message_page("Unknown client", f"{exc}.", 400)
        if client is None:
            return _pages.message_page("Unknown client", "The client_id is missing or not registered.", 400)
        checked = self._check_authorization(client, params)
        if isinstance(checked, str):
            # RFC 6749 §4.1.2.1: never redirect to an unverified URI; tell the user instead.
            return _pages.message_page("Invalid redirect URI", checked, 400)
        redirect_uri, state, problem = checked
        if isinstance(problem, tuple):
            answer = {"error": problem[0], "error_description": problem[1], "iss": self.app.issuer}
            if state is not None:
                answer["state"] = state
            response = redirect(add_query(redirect_uri, answer))
            response.client_id = client.client_id
            return response
        pending = problem
        if pushed_jkt is not None:
            pending.dpop_jkt = pushed_jkt
        with self.app.state.lock:
            self.app.state.pending[pending.txn] = pending
        signed_in = self._sign_in_meets(req, pending)
        target = self.url("consent") if signed_in else self.url("login")
        response = redirect(f"{target}?{urlencode({'txn': pending.txn})}")
        response.client_id = client.client_id
        response.user = self.session_user(req)
        return response

    def _check_authorization(
        self, client: Client, params: dict[str, list[str]]
    ) -> str | tuple[str, str | None, PendingAuthorization | tuple[str, str]]:
        """Validate an authorization request (RFC 6749 §4.1.1, RFC 7636, RFC 8707, RFC 9470, RFC 9449 §10).

        A bad or unregistered redirect URI gives the message to show (a str); otherwise
        ``(redirect_uri, state, pending or (error, description))``.
        """
        cfg = self.app.config
        try:
            redirect_uri = single(params, "redirect_uri")
        except ValueError as exc:
            return str(exc)
        redirect_uri_sent = redirect_uri is not None
        if redirect_uri is None and len(client.redirect_uris) == 1:
            redirect_uri = client.redirect_uris[0]
        if not redirect_uri or not self.redirect_uri_allowed(client, redirect_uri):
            return "The redirect_uri is missing or not registered for this client."
        state = next(iter(params.get("state") or ()), None)

        def fail(error: str, description: str) -> tuple[str, str | None, tuple[str, str]]:
            return redirect_uri, state, (error, description)

        if len(params.get("resource", [])) > 1:
            # RFC 8707 allows several, but a token here is bound to exactly one resource.
            return fail("invalid_target", "ask for one resource at a time")
        try:
            values = {name: single(params, name) for name in (
                "response_type", "scope", "state", "code_challenge", "code_challenge_method", "resource",
                "acr_values", "max_age", "dpop_jkt", "request_uri")}
        except ValueError as exc:
            return fail("invalid_request", str(exc))
        if values["request_uri"] is not None:
            return fail("invalid_request", "request_uri is not accepted here")
        if values["response_type"] != "code":
            return fail("unsupported_response_type", "only response_type=code is supported")
        if "authorization_code" not in client.grant_types:
            return fail("unauthorized_client", "this client is not registered for the authorization_code grant")
        challenge, method = values["code_challenge"], values["code_challenge_method"] or "plain"
        if not challenge:
            return fail("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
        allowed_methods = ("S256", "plain") if cfg.has("no_s256") else ("S256",)
        if method not in allowed_methods:
            return fail("invalid_request", f"code_challenge_method {method} is not supported; use S256")
        scopes, problem = self._requested_scopes(values["scope"])
        if problem:
            return fail("invalid_scope", problem)
        if not values["resource"]:
            return fail("invalid_request", "the resource parameter is required (RFC 8707)")
        resource = self.app.canonical_resource(values["resource"])
        if resource is None:
            return fail("invalid_target", "the resource parameter names no resource protected here")
        max_age_text = values["max_age"]
        if max_age_text is not None and not (max_age_text.isascii() and max_age_text.isdigit()):
            return fail("invalid_request", "max_age must be a non-negative integer")
        # OIDC Core §3.1.2.1: acr_values in order of preference; the demo knows two classes.
        acr = next((a for a in (values["acr_values"] or "").split() if a in (ACR_MFA, ACR_PASSWORD)), None)
        return redirect_uri, state, PendingAuthorization(
            txn=new_secret(nbytes=16),
            client_id=client.client_id,
            scopes=scopes,
            resource=resource,
            redirect_uri=redirect_uri,
            redirect_uri_sent=redirect_uri_sent,
            state=state,
            code_challenge=challenge,
            code_challenge_method=method,
            acr=acr,
            max_age=int(max_age_text) if max_age_text is not None else None,
            dpop_jkt=values["dpop_jkt"],
        )

    # -- RFC 9126 pushed authorization requests ----------------------------------------------------

    def pushed_authorization(self, req: Request) -> Response:
        checked = self.client_request(req)
        if isinstance(checked, Response):
            return checked
        client, form = checked
        if "request_uri" in form:
            return oauth_error("invalid_request", "a pushed request must not contain request_uri (RFC 9126 §2.1)")
        jkt: str | None = None
        if req.headers.get_all("DPoP"):
            proof = self.check_proof(req)
            if isinstance(proof, Response):
                return proof
            jkt = proof
        # §2.1: the pushed request is validated as an authorization request, redirect URI included.
        result = self._check_authorization(client, form)
        if isinstance(result, str):
            return oauth_error("invalid_request", result)
        _, _, problem = result
        if isinstance(problem, tuple):
            return oauth_error(*problem)
        if jkt is not None and problem.dpop_jkt not in (None, jkt):
            return oauth_error("invalid_request", "dpop_jkt does not match the DPoP proof's key (RFC 9449 §10.1)")
        request_uri = "urn:ietf:params:oauth:request_uri:" + new_secret(nbytes=24)
        lifetime = 60
        with self.app.state.lock:
            self.app.state.pushed[request_uri] = PushedRequest(
                client.client_id, form, time.time() + lifetime, jkt or problem.dpop_jkt)
        response = self._with_nonce(_no_store(json_response(201, {"request_uri": request_uri, "expires_in": lifetime})))
        response.client_id, response.event = client.client_id, "par.pushed"
        return response

    # -- RFC 9470: how the user signed in ----------------------------------------------------------

    def sign_in(self, req: Request) -> SignIn | None:
        token = req.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        with self.app.state.lock:
            return self.app.state.sign_ins.get(token)

    def _sign_in_meets(self, req: Request, pending: PendingAuthorization) -> bool:
        sign_in = self.sign_in(req)
        if sign_in is None or self.session_user(req) is None:
            return False
        if pending.acr == ACR_MFA and sign_in.acr != ACR_MFA:
            return False
        return pending.max_age is None or time.time() - sign_in.auth_time <= pending.max_age

    def mfa_form(self, req: Request, error: str | None = None) -> Response:
        txn = (req.query.get("txn") or req.form().get("txn") or [""])[0]
        return self._with_csrf(req, lambda csrf: _pages.one_time_code_page(
            self.url("mfa"), {"txn": txn, "csrf": csrf}, DEMO_ONE_TIME_CODE, error))

    def mfa(self, req: Request) -> Response:
        form = req.form()
        token = req.cookies.get(SESSION_COOKIE, "")
        user = self.session_user(req)
        if user is None or not self._csrf_ok(req, form):
            return _pages.message_page("Session expired", "Sign in again and retry from your application.", 400)
        if not hmac.compare_digest((form.get("otp") or [""])[0], DEMO_ONE_TIME_CODE):
            response = self.mfa_form(req, "That code is not right.")
            response.event = "mfa.failed"
            return response
        with self.app.state.lock:
            self.app.state.sign_ins[token] = SignIn(user, ACR_MFA, time.time())
        txn = (form.get("txn") or [""])[0]
        response = redirect(f"{self.url('consent')}?{urlencode({'txn': txn})}")
        response.user, response.event = user, "mfa"
        return response

    def _requested_scopes(self, scope: str | None) -> tuple[tuple[str, ...], str | None]:
        cfg = self.app.config
        asked = (scope or "").split() or ["read"]
        if cfg.has("no_offline_access"):
            asked = [s for s in asked if s != "offline_access"]
        unknown = [s for s in asked if s not in cfg.scopes]
        if unknown:
            return (), f"unknown scope: {' '.join(unknown)}"
        return tuple(dict.fromkeys(asked)), None

    # -- login, consent ------------------------------------------------------------------------

    def login_form(self, req: Request, error: str | None = None, form: dict[str, list[str]] | None = None) -> Response:
        source = form if form is not None else req.query
        hidden = {k: source[k][0] for k in ("txn", "next") if source.get(k)}
        asking = self._asking(hidden.get("txn"), hidden.get("next"), self.app.request_origin(req))
        username = (source.get("username") or [""])[0] if error else ""
        return self._with_csrf(req, lambda csrf: _pages.login_page(
            self.url("login"), {**hidden, "csrf": csrf}, DEMO_USERS, error, asking=asking, username=username))

    def _asking(self, txn: str | None, next_target: str | None, origin: str) -> _pages.Asking | None:
        """Who the sign-in is for: the agent and app of a pending authorization, or the app a
        person was on their way to."""
        if txn:
            with self.app.state.lock:
                pending = self.app.state.pending.get(txn)
                client = self.app.state.clients.get(pending.client_id) if pending else None
            if pending is None or client is None:
                return None
            return _pages.Asking(client.client_name, self.app.proxy.resource_name(pending.resource))
        path = urlsplit(self._safe_next(next_target)).path
        if next_target and not path.startswith(urlsplit(self.url("")).path):
            return _pages.Asking(None, self.app.proxy.resource_name(self.app.proxy.resource_for(origin, path)))
        return None

    def _vouched_for(self, client: Client) -> str | None:
        """Who vouches for a client's name; ``None`` when it registered itself (RFC 7591)."""
        if client.any_loopback:
            return "This agent was registered with Acme Access by your administrators."
        if self.app.config.client_id_metadata_documents and is_metadata_url(client.client_id):
            host = urlsplit(client.client_id).netloc
            return f"This agent's name comes from its own metadata document at {host}."
        return None

    def login(self, req: Request) -> Response:
        form = req.form()
        if not self._csrf_ok(req, form):
            return _pages.message_page("Session expired", "The sign-in form expired; go back and try again.", 400)
        username = (form.get("username") or [""])[0]
        password = (form.get("password") or [""])[0]
        expected = DEMO_USERS.get(username)
        if expected is None or not hmac.compare_digest(expected, password):
            response = self.login_form(req, "Wrong username or password.", form)
            response.event = "login.failed"
            return response
        session = new_secret(nbytes=24)
        txn = (form.get("txn") or [""])[0]
        with self.app.state.lock:
            self.app.state.sessions[session] = username
            self.app.state.sign_ins[session] = SignIn(username, ACR_PASSWORD, time.time())
            pending = self.app.state.pending.get(txn)
        step = "mfa" if pending is not None and pending.acr == ACR_MFA else "consent"
        target = f"{self.url(step)}?{urlencode({'txn': txn})}" if txn else self._safe_next(
            next(iter(form.get("next") or ()), None))
        response = redirect(target)
        response.headers.append(("Set-Cookie", f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax"))
        response.user = username
        response.event = "login"
        return response

    def logout(self, req: Request) -> Response:
        token = req.cookies.get(SESSION_COOKIE)
        with self.app.state.lock:
            user = self.app.state.sessions.pop(token or "", None)
        txn = (req.query.get("txn") or [""])[0]
        if txn:
            # "Not you?" on the consent page: sign out, then sign in again for the same request.
            response = redirect(f"{self.url('login')}?{urlencode({'txn': txn})}")
        else:
            response = _pages.message_page("Signed out", "You are signed out.")
        response.headers.append(("Set-Cookie", f"{SESSION_COOKIE}=; Path=/; Max-Age=0"))
        response.user = user
        return response

    def _granted(self, user: str, scopes: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Policy: only admins may grant ``admin``. Returns (granted, withheld)."""
        withheld = tuple(s for s in scopes if s == "admin" and user not in DEMO_ADMINS)
        return tuple(s for s in scopes if s not in withheld), withheld

    def consent_form(self, req: Request) -> Response:
        txn = (req.query.get("txn") or [""])[0]
        with self.app.state.lock:
            pending = self.app.state.pending.get(txn)
            client = self.app.state.clients.get(pending.client_id) if pending else None
        if pending is None or client is None:
            return _pages.message_page("Request expired", "This authorization request is unknown or expired.", 400)
        user = self.session_user(req)
        if user is None or not self._sign_in_meets(req, pending):
            return redirect(f"{self.url('login')}?{urlencode({'txn': txn})}")
        granted, withheld = self._granted(user, pending.scopes)
        response = self._with_csrf(req, lambda csrf: _pages.consent_page(
            self.url("consent"), {"txn": txn, "csrf": csrf}, user=user, client_name=client.client_name,
            client_id=client.client_id, app_name=self.app.proxy.resource_name(pending.resource),
            resource=pending.resource, scopes=granted, withheld=withheld,
            switch_user=f"{self.url('logout')}?{urlencode({'txn': txn})}", verified_by=self._vouched_for(client)))
        response.user, response.client_id = user, client.client_id
        return response

    def consent(self, req: Request) -> Response:
        form = req.form()
        user = self.session_user(req)
        if user is None or not self._csrf_ok(req, form):
            return _pages.message_page("Session expired", "Sign in again and retry from your application.", 400)
        with self.app.state.lock:
            pending = self.app.state.pending.pop((form.get("txn") or [""])[0], None)
        if pending is None:
            return _pages.message_page("Request expired", "This authorization request is unknown or expired.", 400)
        if pending.device_code is None and not self._sign_in_meets(req, pending):
            return _pages.message_page("Sign in again", "This request needs a stronger or more recent sign-in.", 400)
        approved = (form.get("decision") or [""])[0] == "approve"
        granted, _ = self._granted(user, pending.scopes)
        if pending.device_code is not None:
            response = self._finish_device(pending.device_code, user, granted if approved else None)
        elif approved:
            response = self._deliver_code(pending, user, granted, self.sign_in(req))
        else:
            response = self._deliver(pending, {"error": "access_denied", "error_description": "the user denied access"})
        response.user, response.client_id = user, pending.client_id
        response.event = "consent.approved" if approved else "consent.denied"
        return response

    def _deliver_code(self, pending: PendingAuthorization, user: str, scopes: tuple[str, ...],
                      sign_in: SignIn | None = None) -> Response:
        code = new_secret(nbytes=24)
        with self.app.state.lock:
            self.app.state.codes[code] = AuthorizationCode(
                client_id=pending.client_id,
                redirect_uri=pending.redirect_uri,
                redirect_uri_sent=pending.redirect_uri_sent,
                user=user,
                scopes=scopes,
                resource=pending.resource,
                code_challenge=pending.code_challenge,
                code_challenge_method=pending.code_challenge_method,
                expires_at=time.time() + self.app.config.code_lifetime,
                acr=sign_in.acr if sign_in else None,
                auth_time=sign_in.auth_time if sign_in else None,
                dpop_jkt=pending.dpop_jkt,
            )
        return self._deliver(pending, {"code": code})

    def _deliver(self, pending: PendingAuthorization, answer: dict[str, str]) -> Response:
        """The authorization response (RFC 6749 §4.1.2), bent by the callback faults."""
        cfg = self.app.config
        if cfg.has("no_callback"):
            return _pages.message_page("Almost there", "Access was recorded, but this server never calls back.")
        state = pending.state
        if state is not None:
            answer["state"] = state + "-tampered" if cfg.has("callback_wrong_state") else state
        elif cfg.has("callback_wrong_state"):
            answer["state"] = "unexpected-state"
        if not cfg.has("callback_missing_iss"):
            answer["iss"] = "https://evil-issuer.example" if cfg.has("callback_wrong_iss") else self.app.issuer
        return redirect(add_query(pending.redirect_uri, answer))

    # -- client identity: registered, or a metadata document (CIMD) ------------------------------

    def find_client(self, client_id: str | None, *, refetch: bool = False) -> Client | None:
        """The registered client, or the one its metadata document at ``client_id`` describes.

        The document is fetched at each authorization request (it may have changed) and the copy
        is reused at the token endpoint. Raises :class:`ClientMetadataError` for a bad document.
        """
        state = self.app.state
        with state.lock:
            client = state.clients.get(client_id or "")
        documents = self.app.config.client_id_metadata_documents
        if not client_id or not documents or not is_metadata_url(client_id):
            return client
        if client is None or refetch:
            client = fetch_client(client_id)
            with state.lock:
                state.clients[client_id] = client
        return client

    # -- client authentication (RFC 6749 §2.3) -------------------------------------------------

    def authenticate_client(self, req: Request, form: dict[str, list[str]]) -> Client | Response:
        basic = req.header("Authorization")
        client_id = next(iter(form.get("client_id") or ()), None)
        secret: str | None = None
        method = "none"
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:].strip(), validate=True).decode()
                raw_id, _, raw_secret = decoded.partition(":")
            except (ValueError, UnicodeDecodeError):
                return self._invalid_client("malformed Basic credentials", basic=True)
            client_id, secret, method = unquote(raw_id), unquote(raw_secret), "client_secret_basic"
        elif form.get("client_secret"):
            secret, method = form["client_secret"][0], "client_secret_post"
        try:
            client = self.find_client(client_id)
        except ClientMetadataError as exc:
            return self._invalid_client(str(exc), basic=method == "client_secret_basic")
        if client is None:
            return self._invalid_client("unknown or missing client_id", basic=method == "client_secret_basic")
        if client.token_endpoint_auth_method != method:
            return self._invalid_client(
                f"this client authenticates with {client.token_endpoint_auth_method}",
                basic=method == "client_secret_basic",
            )
        if client.client_secret is not None and not hmac.compare_digest(client.client_secret, secret or ""):
            return self._invalid_client("client authentication failed", basic=method == "client_secret_basic")
        return client

    def client_request(self, req: Request) -> tuple[Client, dict[str, list[str]]] | Response:
        """The form and the authenticated client of a back-channel POST (token, revoke, device)."""
        if not req.is_form():
            return oauth_error("invalid_request", "the request body must be application/x-www-form-urlencoded")
        form = req.form()
        # RFC 6749 §3.2: no parameter twice; RFC 8707 §2 lets only resource repeat.
        repeated = [name for name, values in form.items() if len(values) > 1 and name != "resource"]
        if repeated:
            return oauth_error("invalid_request", f"parameter {repeated[0]} is included more than once")
        client = self.authenticate_client(req, form)
        if isinstance(client, Response):
            return client
        return client, form

    def _invalid_client(self, description: str, *, basic: bool) -> Response:
        if basic:
            return oauth_error("invalid_client", description, 401, **{"WWW-Authenticate": 'Basic realm="demo"'})
        return oauth_error("invalid_client", description, 401)

    # -- RFC 6749 §3.2 token endpoint --------------------------------------------------------------

    def token(self, req: Request) -> Response:
        checked = self.client_request(req)
        if isinstance(checked, Response):
            return checked
        client, form = checked
        cfg = self.app.config
        jkt: str | None = None
        if cfg.dpop and req.headers.get_all("DPoP"):
            proof = self.check_proof(req)
            if isinstance(proof, Response):
                proof.client_id = client.client_id
                return proof
            jkt = proof
        elif cfg.dpop and (cfg.dpop_required or client.dpop_bound):
            response = self._with_nonce(oauth_error(
                "invalid_dpop_proof", "this server issues only DPoP-bound tokens: send a DPoP proof (RFC 9449)"))
            response.client_id = client.client_id
            return response
        params = {name: values[0] for name, values in form.items()}
        grant_type = params.get("grant_type")
        handlers = {
            "authorization_code": self._code_grant,
            "refresh_token": self._refresh_grant,
            DEVICE_GRANT: self._device_grant,
        }
        if not grant_type:
            response = oauth_error("invalid_request", "grant_type is required")
        elif grant_type not in handlers:
            response = oauth_error("unsupported_grant_type", f"grant_type {grant_type} is not supported")
        elif grant_type != DEVICE_GRANT and grant_type not in client.grant_types and not client.any_loopback:
            response = oauth_error("unauthorized_client", f"this client is not registered for {grant_type}")
        else:
            response = handlers[grant_type](client, params, form.get("resource") or [], jkt)
        response.client_id = response.client_id or client.client_id
        return self._with_nonce(response)

    # -- RFC 9449 DPoP at the token and PAR endpoints -------------------------------------------------

    def check_proof(self, req: Request) -> str | Response:
        """The thumbprint of the key that signed the request's DPoP proof, or the error answer (§4.3, §8)."""
        cfg = self.app.config
        verifier = self.app.state.dpop_as
        try:
            proof = verifier.check(req.headers.get_all("DPoP") or [], method=req.method,
                                   url=self.app.request_origin(req) + req.path, require_nonce=cfg.dpop_nonce)
        except ProofError as exc:
            return self._with_nonce(oauth_error(exc.error, exc.description))
        return proof.jkt

    def _with_nonce(self, response: Response) -> Response:
        """§8.2: the server may hand out its current nonce on any answer."""
        if self.app.config.dpop_nonce and response.header("DPoP-Nonce") is None:
            response.headers.append(("DPoP-Nonce", self.app.state.dpop_as.nonce))
        return response

    def _resource_problem(self, resources: list[str], granted: str) -> Response | None:
        """RFC 8707 §2.2: a resource in the token request must be one the grant covers."""
        for value in resources:
            if self.app.canonical_resource(value) != granted:
                return oauth_error("invalid_target", "the resource was not part of this authorization grant")
        return None

    def _code_grant(self, client: Client, params: dict[str, str], resources: list[str], jkt: str | None) -> Response:
        code_value, verifier = params.get("code"), params.get("code_verifier")
        if not code_value:
            return oauth_error("invalid_request", "code is required")
        if not verifier:
            return oauth_error("invalid_request", "code_verifier is required (PKCE)")
        with self.app.state.lock:
            code = self.app.state.codes.get(code_value)
            if code is None or code.client_id != client.client_id:
                return oauth_error("invalid_grant", "the authorization code is invalid or was issued to another client")
            if code.used:
                # RFC 6749 §4.1.2: a replayed code revokes what it already produced.
                self.app.state.revoke_grant(code.grant_id)
                return oauth_error("invalid_grant", "the authorization code was already used")
            code.used = True
        if time.time() > code.expires_at:
            return oauth_error("invalid_grant", "the authorization code expired")
        if (code.redirect_uri_sent or "redirect_uri" in params) and params.get("redirect_uri") != code.redirect_uri:
            return oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
        expected = s256(verifier) if code.code_challenge_method == "S256" else verifier
        if not _valid_verifier(verifier) or not hmac.compare_digest(expected, code.code_challenge):
            return oauth_error("invalid_grant", "PKCE verification failed")
        problem = self._resource_problem(resources, code.resource)
        if problem:
            return problem
        if code.dpop_jkt is not None and jkt != code.dpop_jkt:
            # RFC 9449 §10: the code is bound to the key named at the authorization request.
            return oauth_error("invalid_dpop_proof", "the DPoP proof's key is not the one this code is bound to")
        grant = Grant(new_secret(nbytes=12), code.user, client.client_id, code.scopes, code.resource,
                      acr=code.acr, auth_time=code.auth_time, jkt=jkt)
        with self.app.state.lock:
            self.app.state.grants[grant.grant_id] = grant
            code.grant_id = grant.grant_id
        return self._token_response(grant, grant.scopes, "token.issued", jkt)

    def _refresh_grant(self, client: Client, params: dict[str, str], resources: list[str],
                       jkt: str | None) -> Response:
        refresh = params.get("refresh_token")
        if not refresh:
            return oauth_error("invalid_request", "refresh_token is required")
        state = self.app.state
        with state.lock:
            grant = state.grants.get(state.refresh_tokens.get(refresh) or "")
            if grant is None or grant.revoked or grant.client_id != client.client_id:
                return oauth_error("invalid_grant", "the refresh token is invalid, rotated or revoked")
            if time.time() > grant.refresh_expires_at:
                return oauth_error("invalid_grant", "the refresh token expired")
            if self.app.config.has("refresh_invalid_grant"):
                state.revoke_grant(grant.grant_id)
                response = oauth_error("invalid_grant", "access was revoked by policy; authorize again")
                response.user = grant.user
                return response
            scopes = grant.scopes
            if params.get("scope"):
                asked = tuple(params["scope"].split())
                if not set(asked) <= set(grant.scopes):
                    return oauth_error("invalid_scope", "a refresh may not widen the granted scope")
                scopes = asked
            problem = self._resource_problem(resources, grant.resource)
            if problem:
                return problem
            if grant.jkt is not None and jkt != grant.jkt:
                # RFC 9449 §5: a public client's refresh token is bound to its DPoP key.
                return oauth_error("invalid_dpop_proof", "the refresh token is bound to another DPoP key")
            return self._token_response(grant, scopes, "token.refreshed", jkt)

    def _device_grant(self, client: Client, params: dict[str, str], resources: list[str],
                      jkt: str | None) -> Response:
        device_code = params.get("device_code")
        if not device_code:
            return oauth_error("invalid_request", "device_code is required")
        state = self.app.state
        with state.lock:
            device = state.devices.get(device_code)
            if device is None or device.client_id != client.client_id or device.status == "used":
                return oauth_error("invalid_grant", "the device code is invalid")
            now = time.time()
            if now > device.expires_at:
                return oauth_error("expired_token", "the device code expired; start again")
            if now - device.last_poll < device.interval:
                device.last_poll = now
                device.interval += 5  # RFC 8628 §3.5
                return oauth_error("slow_down", f"poll at most every {device.interval} seconds")
            device.last_poll = now
            if device.status == "pending":
                return oauth_error("authorization_pending", "the user has not finished yet")
            if device.status == "denied":
                return oauth_error("access_denied", "the user denied access")
            problem = self._resource_problem(resources, device.resource)
            if problem:
                return problem
            device.status = "used"
            grant = Grant(new_secret(nbytes=12), device.user or "", client.client_id, device.granted_scopes,
                          device.resource, jkt=jkt)
            state.grants[grant.grant_id] = grant
        return self._token_response(grant, grant.scopes, "token.issued", jkt)

    def _token_response(self, grant: Grant, scopes: tuple[str, ...], event: str, jkt: str | None = None) -> Response:
        body = self.issue(grant, scopes, jkt)
        response = _no_store(json_response(200, body))
        response.user, response.client_id, response.event = grant.user, grant.client_id, event
        return response

    def issue(self, grant: Grant, scopes: tuple[str, ...], jkt: str | None = None) -> dict[str, object]:
        """Mint an access token (and rotate the refresh token when offline_access was granted).

        With ``jkt`` the token is DPoP-bound (RFC 9449 §6: ``cnf.jkt``, ``token_type: DPoP``)."""
        cfg = self.app.config
        now = time.time()
        lifetime = cfg.token_lifetime
        record = AccessToken(
            jti=new_secret(nbytes=12),
            grant_id=grant.grant_id,
            user=grant.user,
            client_id=grant.client_id,
            scopes=scopes,
            audience=FOREIGN_AUDIENCE if cfg.has("wrong_aud") else grant.resource,
            issued_at=now,
            expires_at=now + lifetime,
            acr=grant.acr,
            auth_time=grant.auth_time,
            jkt=jkt,
        )
        state = self.app.state
        if cfg.has("opaque_tokens"):
            token = new_secret("oauth:", 32)
        else:
            token = self.app.signer.sign({
                "iss": self.app.issuer,
                "sub": grant.user,
                "aud": record.audience,
                "client_id": grant.client_id,
                "scope": " ".join(scopes),
                "iat": int(now),
                "exp": int(now + lifetime),
                "jti": record.jti,
                **({"cnf": {"jkt": jkt}} if jkt else {}),
                **({"acr": grant.acr} if grant.acr else {}),
                **({"auth_time": int(grant.auth_time)} if grant.auth_time else {}),
            })
        body: dict[str, object] = {
            "access_token": token,
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": lifetime,
            "scope": " ".join(scopes),
        }
        with state.lock:
            state.access[record.jti] = record
            if cfg.has("opaque_tokens"):
                state.opaque[token] = record.jti
            grant.access_ids.add(record.jti)
            client = state.clients.get(grant.client_id)
            may_refresh = client is not None and ("refresh_token" in client.grant_types or client.any_loopback)
            if "offline_access" in grant.scopes and may_refresh and not cfg.has("no_offline_access"):
                if grant.refresh_token:
                    state.refresh_tokens[grant.refresh_token] = None  # rotated: the old one is dead
                grant.refresh_token = new_secret(nbytes=32)
                grant.refresh_expires_at = now + cfg.refresh_token_lifetime
                state.refresh_tokens[grant.refresh_token] = grant.grant_id
                body["refresh_token"] = grant.refresh_token
        return body

    # -- RFC 7009 revocation ---------------------------------------------------------------------

    def revoke(self, req: Request) -> Response:
        checked = self.client_request(req)
        if isinstance(checked, Response):
            return checked
        client, form = checked
        token = (form.get("token") or [""])[0]
        if not token:
            return oauth_error("invalid_request", "token is required")
        state = self.app.state
        user = None
        with state.lock:
            grant = state.grants.get(state.refresh_tokens.get(token) or "")
            if grant is not None and grant.client_id == client.client_id:
                state.revoke_grant(grant.grant_id)
                user = grant.user
            jti = state.opaque.get(token) or (self.app.signer.verify(token) or {}).get("jti")
            record = state.access.get(jti or "")
            if record is not None and record.client_id == client.client_id:
                state.revoked_access.add(record.jti)
                user = record.user
        # RFC 7009 §2.2: 200 whether or not the token was known, so nothing leaks.
        response = _no_store(Response(200, b"", [("Content-Length", "0")]))
        response.user, response.client_id, response.event = user, client.client_id, "token.revoked"
        return response

    # -- RFC 8628 device authorization -----------------------------------------------------------

    def device_authorization(self, req: Request) -> Response:
        checked = self.client_request(req)
        if isinstance(checked, Response):
            return checked
        client, form = checked
        scopes, problem = self._requested_scopes(next(iter(form.get("scope") or ()), None))
        if problem:
            return oauth_error("invalid_scope", problem)
        resource_value = (form.get("resource") or [""])[0]
        if not resource_value:
            return oauth_error("invalid_request", "the resource parameter is required (RFC 8707)")
        resource = self.app.canonical_resource(resource_value)
        if resource is None:
            return oauth_error("invalid_target", "the resource parameter names no resource protected here")
        cfg = self.app.config
        raw = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
        device = DeviceAuthorization(
            device_code=new_secret(nbytes=32),
            user_code=f"{raw[:4]}-{raw[4:]}",
            client_id=client.client_id,
            scopes=scopes,
            resource=resource,
            expires_at=time.time() + cfg.device_code_lifetime,
            interval=cfg.device_interval,
        )
        with self.app.state.lock:
            self.app.state.devices[device.device_code] = device
            self.app.state.user_codes[raw] = device.device_code
        verification = self.url("device")
        response = _no_store(json_response(200, {
            "device_code": device.device_code,
            "user_code": device.user_code,
            "verification_uri": verification,
            "verification_uri_complete": f"{verification}?{urlencode({'user_code': device.user_code})}",
            "expires_in": cfg.device_code_lifetime,
            "interval": device.interval,
        }))
        response.client_id, response.event = client.client_id, "device.started"
        return response

    def device_form(self, req: Request) -> Response:
        if self.session_user(req) is None:
            return redirect(f"{self.url('login')}?{urlencode({'next': req.target})}")
        code = (req.query.get("user_code") or [""])[0]
        response = self._with_csrf(req, lambda csrf: _pages.device_page(self.url("device"), {"csrf": csrf}, code))
        response.user = self.session_user(req)
        return response

    def device_submit(self, req: Request) -> Response:
        form = req.form()
        user = self.session_user(req)
        if user is None or not self._csrf_ok(req, form):
            return redirect(f"{self.url('login')}?{urlencode({'next': urlsplit(self.url('device')).path})}")
        entered = "".join(ch for ch in (form.get("user_code") or [""])[0].upper() if ch.isalnum())
        state = self.app.state
        with state.lock:
            device = state.devices.get(state.user_codes.get(entered, ""))
            usable = device is not None and device.status == "pending" and time.time() <= device.expires_at
        if not usable or device is None:
            return self._with_csrf(req, lambda csrf: _pages.device_page(
                self.url("device"), {"csrf": csrf}, entered, "That code is unknown or expired."))
        pending = PendingAuthorization(
            txn=new_secret(nbytes=16),
            client_id=device.client_id,
            scopes=device.scopes,
            resource=device.resource,
            device_code=device.device_code,
        )
        with state.lock:
            state.pending[pending.txn] = pending
        response = redirect(f"{self.url('consent')}?{urlencode({'txn': pending.txn})}")
        response.user, response.client_id = user, device.client_id
        return response

    def _finish_device(self, device_code: str, user: str, granted: tuple[str, ...] | None) -> Response:
        with self.app.state.lock:
            device = self.app.state.devices.get(device_code)
            if device is None or device.status != "pending":
                return _pages.message_page("Request expired", "This device request is no longer pending.", 400)
            device.user = user
            if granted is None:
                device.status = "denied"
            else:
                device.status, device.granted_scopes = "approved", granted
        if granted is None:
            return _pages.message_page("Access denied", "The device was not connected. You can close this page.")
        return _pages.message_page("Device connected", "You can return to your device and close this page.")
