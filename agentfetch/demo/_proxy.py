"""The identity-aware proxy in front of the wiki: who is asking, and what they are told when unknown.

Browsers navigating without credentials get a ``302`` to the login page, as
access proxies do; everything else gets a ``401`` whose ``WWW-Authenticate``
points at RFC 9728 Protected Resource Metadata. Tokens are checked for
signature, expiry, revocation and audience (RFC 8707) before the app sees them.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from . import _api, _catalog, _pages, _wiki
from ._authserver import FOREIGN_AUDIENCE
from ._config import DEMO_ADMINS
from ._dpop import ALGS as DPOP_ALGS
from ._dpop import ProofError
from ._http import Request, Response, json_response, redirect, text_response
from ._state import APP_TOKEN_HEADER, SERVICE_ID_HEADER, SERVICE_SECRET_HEADER

if TYPE_CHECKING:
    from ._app import DemoApp

PRM_PATH = "/.well-known/oauth-protected-resource"
#: The JSON API is its own protected resource, so its challenge points at path-inserted metadata.
API_PATH = "/api"
RESOURCE_SCOPES = ("read", "admin")
#: The JSON API's scopes: a first write is a step-up from ``read`` (RFC 6750 §3.1).
API_SCOPES = ("read", "write")
#: What a service credential may do: it stands for a program the host trusts, not for a person.
SERVICE_SCOPES = ("read", "write")
#: Where a program holding a service token gets a short-lived token for ``cf-access-token``.
ACCESS_TOKEN_PATH = "/access/token"


@dataclass(frozen=True)
class Identity:
    #: ``None`` for a service credential: it names a machine, not a person.
    user: str | None
    client_id: str | None
    scopes: tuple[str, ...]
    via: str  # "bearer", "dpop", "session", "service" (the header pair) or "app_token" (cf-access-token)
    acr: str | None = None
    auth_time: float | None = None
    #: RFC 9449 ``cnf.jkt`` of a DPoP-bound token.
    jkt: str | None = None

    def as_json(self) -> dict[str, object]:
        return {"user": self.user, "client_id": self.client_id, "scopes": list(self.scopes), "auth": self.via}


def is_browser_navigation(req: Request) -> bool:
    """How this proxy tells a person's browser from a program (docs/protocol.md, access proxies)."""
    if req.method not in ("GET", "HEAD"):
        return False
    mode = req.header("Sec-Fetch-Mode").lower()
    if mode:
        return mode == "navigate"
    accept = req.header("Accept")
    if not accept:
        return True
    return "text/html" in accept.lower() and req.header("User-Agent").startswith("Mozilla/")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


class Proxy:
    def __init__(self, app: DemoApp) -> None:
        self.app = app

    # -- resources and their metadata (RFC 9728) ----------------------------------------------

    def resource_for(self, origin: str, path: str) -> str:
        return origin + API_PATH if _under(path, API_PATH) else origin

    def metadata_url(self, resource: str) -> str:
        origin = next(o for o in self.app.origins() if resource.startswith(o))
        return origin + PRM_PATH + resource.removeprefix(origin)

    def covers(self, resource: str, path: str) -> bool:
        """Whether a token for ``resource`` opens ``path``. The app's domains honour each other's
        tokens, as one access application spanning several hostnames does (docs/protocol.md, access proxies)."""
        for origin in self.app.origins():
            if resource == origin or (resource == origin + API_PATH and _under(path, API_PATH)):
                return True
        return False

    def resource_name(self, resource: str) -> str:
        """A protected resource's name for people: its RFC 9728 §2 ``resource_name``, which the
        sign-in pages show too."""
        return f"{_wiki.SITE_NAME} API" if resource.endswith(API_PATH) else _wiki.SITE_NAME

    def metadata(self, req: Request) -> Response:
        suffix = req.path.removeprefix(PRM_PATH)
        if suffix not in ("", API_PATH):
            return json_response(404, {"error": "not_found", "error_description": "no protected resource here"})
        cfg = self.app.config
        origin = self.app.request_origin(req)
        resource = origin + suffix
        servers = [self.app.issuer]
        if cfg.has("first_as_broken"):
            servers.insert(0, self.app.broken_issuer)
        if cfg.has("first_as_unreachable"):
            servers.insert(0, self.app.unreachable_issuer)
        doc = {
            "resource": FOREIGN_AUDIENCE if cfg.has("prm_resource_mismatch") else resource,
            "authorization_servers": servers,
            "scopes_supported": [s for s in (API_SCOPES if suffix else RESOURCE_SCOPES) if s in cfg.scopes],
            "bearer_methods_supported": ["header"],
            "resource_name": self.resource_name(resource),
            "resource_documentation": origin + "/pages/api",
        }
        return json_response(200, doc)

    # -- the gate -------------------------------------------------------------------------------

    def challenge(self, status: int, resource: str, scope: str, error: str | None = None,
                  description: str | None = None, *, scheme: str | None = None,
                  extra: dict[str, str] | None = None) -> Response:
        """RFC 6750 §3 with the RFC 9728 §5.1 ``resource_metadata`` parameter; with DPoP on, also (or,
        when DPoP is required, only) the RFC 9449 §7.1 ``DPoP`` challenge with ``algs``."""
        cfg = self.app.config
        params = ['realm="acme-wiki"']
        if not cfg.has("no_resource_metadata_param"):
            params.append(f'resource_metadata="{self.metadata_url(resource)}"')
        if scope:
            params.append(f'scope="{scope}"')
        if error:
            params.append(f'error="{error}"')
        if description:
            params.append(f'error_description="{description}"')
        params += [f'{name}="{value}"' for name, value in (extra or {}).items()]
        body = {"error": error or "unauthorized", "error_description": description or "authentication required"}
        response = json_response(status, body)
        if scheme is not None:
            schemes = [scheme]
        else:
            schemes = ["DPoP"] if cfg.dpop_required else ["Bearer", "DPoP"] if cfg.dpop else ["Bearer"]
        for name in schemes:
            algs = [f'algs="{" ".join(DPOP_ALGS)}"'] if name == "DPoP" else []
            response.headers.append(("WWW-Authenticate", f"{name} " + ", ".join(algs + params)))
        if cfg.dpop_nonce:
            response.headers.append(("DPoP-Nonce", self.app.state.dpop_rs.nonce))
        return response

    def _token_identity(self, token: str, path: str) -> Identity | str:
        """The identity behind a bearer token, or why it is not valid here."""
        state = self.app.state
        now = time.time()
        with state.lock:
            jti = state.opaque.get(token)
        if jti is None:
            claims = self.app.signer.verify(token)
            if claims is None:
                return "the access token is malformed or its signature is not valid"
            if claims.get("iss") != self.app.issuer:
                return "the access token was issued by another authorization server"
            jti = claims.get("jti")
        with state.lock:
            record = state.access.get(str(jti))
            revoked = record is None or record.jti in state.revoked_access
        if record is None or revoked:
            return "the access token was revoked"
        if now >= record.expires_at or record.issued_at < state.not_before:
            return "the access token expired"
        if not self.covers(record.audience, path):
            return "the access token was issued for another resource"
        return Identity(record.user, record.client_id, record.scopes, "bearer", record.acr, record.auth_time,
                        record.jkt)

    def _dpop_identity(self, req: Request, token: str, path: str, resource: str, needed: str) -> Identity | Response:
        """RFC 9449 §7.1: a DPoP-bound token and a proof signed by the key it is bound to."""
        found = self._token_identity(token, path)
        if isinstance(found, str):
            return self.challenge(401, resource, needed, "invalid_token", found, scheme="DPoP")
        if found.jkt is None:
            return self.challenge(401, resource, needed, "invalid_token", "this access token is not DPoP-bound",
                                  scheme="DPoP")
        cfg = self.app.config
        verifier = self.app.state.dpop_rs
        try:
            proof = verifier.check(req.headers.get_all("DPoP") or [], method=req.sent_method,
                                   url=self.app.request_origin(req) + req.path, access_token=token,
                                   require_nonce=cfg.dpop_nonce)
        except ProofError as exc:
            return self.challenge(401, resource, needed, exc.error, exc.description, scheme="DPoP")
        if proof.jkt != found.jkt:
            return self.challenge(401, resource, needed, "invalid_token",
                                  "the DPoP proof is not signed by the key the token is bound to", scheme="DPoP")
        return Identity(found.user, found.client_id, found.scopes, "dpop", found.acr, found.auth_time, found.jkt)

    def _step_up(self, path: str, identity: Identity) -> dict[str, str] | None:
        """RFC 9470 §3: the ``acr_values``/``max_age`` a path demands and the token lacks, else None."""
        cfg = self.app.config
        if identity.via == "session" or not any(_under(path, prefix) for prefix in cfg.step_up_paths):
            return None
        demand: dict[str, str] = {}
        if cfg.step_up_acr is not None and identity.acr != cfg.step_up_acr:
            demand["acr_values"] = cfg.step_up_acr
        if cfg.step_up_max_age is not None and (
            identity.auth_time is None or time.time() - identity.auth_time > cfg.step_up_max_age
        ):
            demand["max_age"] = str(cfg.step_up_max_age)
        if not demand:
            return None
        # A stale sign-in that also lacks the class: ask for both, as the resource's whole policy.
        if cfg.step_up_acr is not None:
            demand["acr_values"] = cfg.step_up_acr
        if cfg.step_up_max_age is not None:
            demand["max_age"] = str(cfg.step_up_max_age)
        return demand

    def _service_identity(self, req: Request) -> Identity | None:
        """A service token's header pair, or a ``cf-access-token`` obtained with one; ``None`` when
        absent or not valid (the request then meets the OAuth challenge like any other)."""
        token = self.app.service_token
        client_id, secret = req.header(SERVICE_ID_HEADER), req.header(SERVICE_SECRET_HEADER)
        if client_id and secret:
            if hmac.compare_digest(client_id, token.client_id) and hmac.compare_digest(secret, token.client_secret):
                return Identity(None, token.client_id, SERVICE_SCOPES, "service")
            return None
        app_token = req.header(APP_TOKEN_HEADER)
        if app_token:
            claims = self.app.signer.verify(app_token, typ="JWT")
            if (claims and claims.get("iss") == self.app.origin and claims.get("sub") == token.client_id
                    and float(claims.get("exp", 0)) > time.time()):
                return Identity(None, token.client_id, SERVICE_SCOPES, "app_token")
        return None

    def access_token(self, req: Request) -> Response:
        """``GET /access/token`` with a service token's header pair: a short-lived JWT for the
        ``cf-access-token`` header, what a ``cloudflared access token``-style helper prints."""
        identity = self._service_identity(req)
        if identity is None or identity.via != "service":
            why = f"send {SERVICE_ID_HEADER} and {SERVICE_SECRET_HEADER}"
            return json_response(401, {"error": "unauthorized", "error_description": why})
        now = int(time.time())
        jwt = self.app.signer.sign({"iss": self.app.origin, "aud": self.app.origin, "sub": identity.client_id,
                                    "iat": now, "exp": now + self.app.config.token_lifetime}, typ="JWT")
        response = text_response(200, jwt + "\n")
        response.headers.append(("Cache-Control", "no-store"))
        response.client_id, response.auth, response.event = identity.client_id, "service", "access_token.issued"
        return response

    def needed_scope(self, req: Request) -> str:
        if _under(req.path, "/admin"):
            return "admin"
        if _under(req.path, API_PATH) and req.method in _api.WRITE_METHODS:
            return "write"
        return "read"

    def handle(self, req: Request) -> Response:
        path = req.path
        resource = self.resource_for(self.app.request_origin(req), path)
        needed = self.needed_scope(req)
        identity: Identity | None = None
        cfg = self.app.config
        scheme, _, token = req.header("Authorization").partition(" ")
        token = token.strip()
        if scheme.lower() in ("bearer", "dpop") and not token:
            return self.challenge(400, resource, "read", "invalid_request", f"the {scheme} credentials are empty")
        if scheme.lower() == "dpop" and cfg.dpop:
            checked = self._dpop_identity(req, token, path, resource, needed)
            if isinstance(checked, Response):
                return checked
            identity = checked
        elif scheme.lower() == "bearer":
            found = self._token_identity(token, path)
            if isinstance(found, str):
                return self.challenge(401, resource, needed, "invalid_token", found)
            if found.jkt is not None:
                # RFC 9449 §7.2: a bound token presented as a bearer token is refused.
                return self.challenge(401, resource, needed, "invalid_token",
                                      "this access token is DPoP-bound: send it with the DPoP scheme and a proof")
            if cfg.dpop_required:
                return self.challenge(401, resource, needed, "invalid_token", "only DPoP-bound tokens are accepted")
            identity = found
        if identity is None:
            identity = self._service_identity(req)
        if identity is None:
            user = self.app.authserver.session_user(req)
            if user is not None:
                scopes = RESOURCE_SCOPES if user in DEMO_ADMINS else ("read",)
                identity = Identity(user, None, scopes, "session")
        if identity is None:
            if is_browser_navigation(req):
                return redirect(f"{self.app.authserver.url('login')}?{urlencode({'next': req.target})}")
            if self.app.config.has("always_redirect") and req.method == "GET":
                return self._redirect_to_other_origin_login(req)
            # A first request that writes asks for reading too: a wiki client that may change pages
            # but not read them back would need a second sign-in at once.
            return self.challenge(401, resource, "read write" if needed == "write" else needed)
        scheme_used = "DPoP" if identity.via == "dpop" else "Bearer" if identity.via == "bearer" else None
        step_up = self._step_up(path, identity)
        if needed not in identity.scopes:
            if identity.via == "session":
                what = "the admin area" if needed == "admin" else "the API to change pages (use a client with write)"
                response = _pages.message_page("Forbidden", f"{identity.user} may not use {what}.", 403)
            else:
                response = self.challenge(403, resource, needed, "insufficient_scope",
                                          f"this needs the {needed} scope", scheme=scheme_used)
        elif step_up is not None:
            response = self.challenge(401, resource, needed, "insufficient_user_authentication",
                                      "this page needs a stronger or more recent sign-in", scheme=scheme_used,
                                      extra=step_up)
        else:
            response = self.serve(req, identity)
            if cfg.dpop_nonce and identity.via == "dpop":
                response.headers.append(("DPoP-Nonce", self.app.state.dpop_rs.nonce))
        response.user, response.client_id, response.auth = identity.user, identity.client_id, identity.via
        return response

    def _redirect_to_other_origin_login(self, req: Request) -> Response:
        """A proxy that cannot tell programs from browsers: a 302 to a login page on another origin."""
        here = self.app.request_origin(req)
        other = next((o for o in self.app.origins() if o != here), here)
        login = other + self.app.authserver.url("login").removeprefix(self.app.origin)
        return redirect(f"{login}?{urlencode({'next': req.target})}")

    def serve(self, req: Request, identity: Identity) -> Response:
        path, accept, origin = req.path, req.header("Accept"), self.app.request_origin(req)
        if req.method in _api.WRITE_METHODS and not _under(path, API_PATH):
            return json_response(405, {"error": "method_not_allowed", "error_description": f"{path} is read-only"},
                                 Allow="GET, HEAD")
        if _under(path, API_PATH):
            other = next(o for o in self.app.origins() if o != origin)
            response = _api.api_response(req, self.app.pages, origin, identity.as_json(),
                                         self.app.authserver.endpoints(), other_origin=other,
                                         bad_gateway=self.app.config.has("api_bad_gateway"))
            # RFC 9727 §3: an API's responses may point at the host's catalog.
            response.headers.append(("Link", _catalog.API_CATALOG_LINK))
            return response
        if path == _catalog.CATALOG_PATH:
            linkset = _catalog.host_catalog(origin, self.metadata_url(origin + API_PATH))
            return _catalog.catalog_response(linkset, accept, offered=(_catalog.LINKSET_JSON, _catalog.LINKSET_TEXT))
        if _under(path, _catalog.DIRECTORY_PATH):
            return self._directory(req, origin)
        if _under(path, "/admin"):
            return _wiki.admin_response(accept, identity.user, self.app.audit)
        page = _wiki.PAGES_BY_PATH.get(path.rstrip("/") or "/")
        if page is None:
            return _pages.message_page("Not found", f"There is no page at {path}.", 404)
        return _wiki.page_response(page, accept, identity.user)

    def _directory(self, req: Request, origin: str) -> Response:
        path, cfg = req.path, self.app.config
        if path == _catalog.DIRECTORY_CATALOG_PATH:
            linkset = _catalog.directory_catalog(origin, loop=cfg.has("catalog_loop"))
            return _catalog.catalog_response(linkset, req.header("Accept"), offered=(_catalog.LINKSET_TEXT,))
        if path == _catalog.DIRECTORY_PATH + "/openapi.yaml":
            text = _catalog.directory_openapi_yaml(origin, self.app.authserver.endpoints(),
                                                   malformed=cfg.has("malformed_openapi"))
            return text_response(200, text, "application/vnd.oai.openapi;version=3.0")
        response = _catalog.directory_response(path, req.query)
        response.headers.append(("Link", _catalog.API_CATALOG_LINK))
        return response
