"""The identity-aware proxy in front of the wiki: who is asking, and what they are told when unknown.

Browsers navigating without credentials get a ``302`` to the login page, as
access proxies do; everything else gets a ``401`` whose ``WWW-Authenticate``
points at RFC 9728 Protected Resource Metadata. Tokens are checked for
signature, expiry, revocation and audience (RFC 8707) before the app sees them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from . import _pages, _wiki
from ._authserver import FOREIGN_AUDIENCE
from ._config import DEMO_ADMINS
from ._http import Request, Response, json_response, redirect

if TYPE_CHECKING:
    from ._app import DemoApp

PRM_PATH = "/.well-known/oauth-protected-resource"
#: The JSON API is its own protected resource, so its challenge points at path-inserted metadata.
API_PATH = "/api"
RESOURCE_SCOPES = ("read", "admin")


@dataclass(frozen=True)
class Identity:
    user: str
    client_id: str | None
    scopes: tuple[str, ...]
    via: str  # "bearer" or "session"

    def as_json(self) -> dict[str, object]:
        return {"user": self.user, "client_id": self.client_id, "scopes": list(self.scopes), "auth": self.via}


def is_browser_navigation(req: Request) -> bool:
    """How this proxy tells a person's browser from a program (PROTOCOL.md §9)."""
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
        tokens, as one access application spanning several hostnames does (PROTOCOL.md §9)."""
        for origin in self.app.origins():
            if resource == origin or (resource == origin + API_PATH and _under(path, API_PATH)):
                return True
        return False

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
        doc = {
            "resource": FOREIGN_AUDIENCE if cfg.has("prm_resource_mismatch") else resource,
            "authorization_servers": servers,
            "scopes_supported": [s for s in RESOURCE_SCOPES if s in cfg.scopes],
            "bearer_methods_supported": ["header"],
            "resource_name": "Acme Internal Wiki API" if suffix else "Acme Internal Wiki",
            "resource_documentation": origin + "/pages/api",
        }
        return json_response(200, doc)

    # -- the gate -------------------------------------------------------------------------------

    def challenge(self, status: int, resource: str, scope: str, error: str | None = None,
                  description: str | None = None) -> Response:
        """RFC 6750 §3 with the RFC 9728 §5.1 ``resource_metadata`` parameter."""
        params = ['realm="acme-wiki"']
        if not self.app.config.has("no_resource_metadata_param"):
            params.append(f'resource_metadata="{self.metadata_url(resource)}"')
        if scope:
            params.append(f'scope="{scope}"')
        if error:
            params.append(f'error="{error}"')
        if description:
            params.append(f'error_description="{description}"')
        body = {"error": error or "unauthorized", "error_description": description or "authentication required"}
        response = json_response(status, body)
        response.headers.append(("WWW-Authenticate", "Bearer " + ", ".join(params)))
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
        return Identity(record.user, record.client_id, record.scopes, "bearer")

    def handle(self, req: Request) -> Response:
        path = req.path
        resource = self.resource_for(self.app.request_origin(req), path)
        needed = "admin" if _under(path, "/admin") else "read"
        identity: Identity | None = None
        scheme, _, token = req.header("Authorization").partition(" ")
        if scheme.lower() == "bearer":
            token = token.strip()
            if not token:
                return self.challenge(400, resource, "read", "invalid_request", "the Bearer credentials are empty")
            found = self._token_identity(token, path)
            if isinstance(found, str):
                return self.challenge(401, resource, needed, "invalid_token", found)
            identity = found
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
            return self.challenge(401, resource, needed)
        if needed not in identity.scopes:
            if identity.via == "session":
                response = _pages.message_page("Forbidden", f"{identity.user} may not use the admin area.", 403)
            else:
                response = self.challenge(403, resource, needed, "insufficient_scope",
                                          f"this needs the {needed} scope")
        else:
            response = self.serve(req, identity)
        response.user, response.client_id = identity.user, identity.client_id
        return response

    def _redirect_to_other_origin_login(self, req: Request) -> Response:
        """A proxy that cannot tell programs from browsers: a 302 to a login page on another origin."""
        here = self.app.request_origin(req)
        other = next((o for o in self.app.origins() if o != here), here)
        login = other + self.app.authserver.url("login").removeprefix(self.app.origin)
        return redirect(f"{login}?{urlencode({'next': req.target})}")

    def serve(self, req: Request, identity: Identity) -> Response:
        path, accept, origin = req.path, req.header("Accept"), self.app.request_origin(req)
        if _under(path, API_PATH):
            return _wiki.api_response(path, origin, identity.as_json(), self.app.authserver.endpoints())
        if path == "/.well-known/api-catalog":
            return _wiki.api_catalog(origin)
        if _under(path, "/admin"):
            return _wiki.admin_response(accept, identity.user, self.app.audit)
        page = _wiki.PAGES_BY_PATH.get(path.rstrip("/") or "/")
        if page is None:
            return _pages.message_page("Not found", f"There is no page at {path}.", 404)
        return _wiki.page_response(page, accept, identity.user)
