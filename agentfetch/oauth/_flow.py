"""The protocol core, written once for sync and async: a sans-IO generator.

Every function here that needs the outside world is a generator. It yields
either an ``httpx.Request`` (and receives the ``httpx.Response``, body read)
or one of the *interaction* objects below (and receives its outcome). The
drivers in :mod:`agentfetch.oauth._auth` perform them, blocking or awaiting;
they are the only code that differs between ``Client`` and ``AsyncClient``.

The store is called directly: it is local, small and synchronous.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .._urls import TRACED_EXTENSION, redact_url, shorten
from ..errors import (
    AgentFetchError,
    AuthorizationError,
    ClientIdentityError,
    ConsentDenied,
    SecurityError,
    StoreError,
)
from ..store import Credential, CredentialKey, TokenSet
from ._http import json_body
from .binding import may_send_token, require_secure_endpoint
from .challenge import BearerChallenge, find_bearer
from .consent import ConsentRequest, consent_required_error

if TYPE_CHECKING:
    from .loopback import LoopbackListener
    from .rfc8414 import AuthorizationServer
    from .rfc9728 import ProtectedResource
    from .tokens import ClientIdentity

__all__ = [
    "AskConsent",
    "OpenBrowser",
    "WaitForCallback",
    "AcquireLock",
    "ReleaseLock",
    "Sleep",
    "Settings",
    "Core",
]

#: Refresh this long before the recorded expiry, for clock skew and transit time;
#: a tenth of the lifetime (at least 5 s) for tokens that live under ten minutes.
EXPIRY_SKEW = 60.0
#: Discovery documents and the "this host has no PRM" answer are cached this long.
METADATA_TTL = 3600.0
#: How long agents queued behind a failed sign-in learn of its failure instead of retrying it.
FAILURE_TTL = 60.0


# -- interactions ---------------------------------------------------------------------


@dataclass(frozen=True)
class AskConsent:
    request: ConsentRequest  # outcome: bool


@dataclass(frozen=True)
class OpenBrowser:
    url: str  # outcome: bool (False: no browser could be started)


@dataclass(frozen=True)
class WaitForCallback:
    listener: LoopbackListener
    timeout: float  # outcome: dict[str, str], the callback's query parameters


@dataclass(frozen=True)
class AcquireLock:
    name: str
    timeout: float  # outcome: None


@dataclass(frozen=True)
class ReleaseLock:
    name: str  # outcome: None


@dataclass(frozen=True)
class Sleep:
    seconds: float  # outcome: None


Step = Any  # httpx.Request | one of the interactions above
Flow = Generator[Step, Any, Any]


@dataclass(frozen=True)
class Settings:
    store: Any
    log: Callable[[str], None]
    client_name: str
    auth_timeout: float
    interactive: bool
    #: Lines the human must see (the sign-in URL, a device code), -v or not.
    notify: Callable[[str], None]


def _error_class(kind: str) -> type[AgentFetchError]:
    """The AuthorizationError or SecurityError subclass with this ``kind``."""
    from .. import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, (AuthorizationError, SecurityError)) and cls.kind == kind:
            return cls
    return AuthorizationError


def _expiring(credential: Credential) -> bool:
    """Due for a refresh: within the skew margin of its recorded expiry."""
    expires_at = credential.tokens.expires_at
    if expires_at is None:
        return False
    lifetime = expires_at - credential.updated_at
    return credential.tokens.expires_within(min(EXPIRY_SKEW, max(5.0, lifetime / 10)))



def _jwt_subject(token: str) -> str | None:
    """``sub`` when the access token is a JWT; display only, never trusted.
    Opaque tokens (``oauth:...``) are normal and simply give None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    sub = payload.get("sub") if isinstance(payload, dict) else None
    return sub if isinstance(sub, str) else None


def _scopes(text: str | None) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for group in groups for s in group))


def _scope_refused(response: httpx.Response) -> bool:
    """An RFC 7591 §3.2.2 error about the registered ``scope``."""
    if response.status_code != 400:
        return False
    body = json_body(response)
    if not isinstance(body, dict) or body.get("error") not in ("invalid_client_metadata", "invalid_scope"):
        return False
    return body["error"] == "invalid_scope" or "scope" in str(body.get("error_description", "")).lower()


class Core:
    """One OAuth client's protocol logic. Stateless between calls except for the store."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    @property
    def store(self) -> Any:
        return self.s.store

    def log(self, message: str) -> None:
        self.s.log(message)

    # -- HTTP helper -------------------------------------------------------------------

    def _send(self, label: str, request: httpx.Request, template: httpx.Request | None) -> Flow:
        if template is not None and "timeout" in template.extensions:
            request.extensions["timeout"] = template.extensions["timeout"]
        # Marks the request as traced here, so a client's own request trace can skip it.
        request.extensions[TRACED_EXTENSION] = label
        response = yield request
        self.log(f"{label}: {request.method} {redact_url(request.url)} -> {response.status_code}")
        return response

    # -- the httpx.Auth flow -------------------------------------------------------------

    def bound_credential(self, url: str) -> Credential | None:
        credential = self.store.find(url)
        if credential is not None and may_send_token(credential.key.resource, url):
            return credential
        return None

    def auth_flow(self, request: httpx.Request) -> Flow:
        """Send ``request`` with a token when one is bound to its URL, and on a
        Bearer challenge obtain one and retry. Refresh, re-authorization and
        step-up happen at most once each, so this never loops."""
        url = str(request.url)
        if "authorization" in request.headers:
            # The caller brought its own credentials (service headers, -H): stay out of the way.
            yield request
            return
        try:
            sent = self.bound_credential(url)
        except StoreError as exc:
            # A public page needs no store: send the request as is, and report the
            # store only if the resource turns out to need authorization.
            self.log(f"store: unusable ({exc.message}); sending without credentials")
            response = yield request
            if response.status_code in (401, 403) or _looks_like_login_redirect(request, response):
                raise
            return
        refreshed = authorized = stepped_up = False
        if sent is not None and _expiring(sent) and sent.tokens.refresh_token:
            refreshed = True
            sent = yield from self.refresh(sent, request)
        _authorize_header(request, sent)
        response = yield request
        if sent is None and _looks_like_login_redirect(request, response):
            # PROTOCOL.md §9: a proxy that took us for a browser. Before following
            # it to a login page, ask the original origin for its PRM.
            try:
                yield from self.protected_resource(url, None, request)
            except AuthorizationError:
                return
            self.log(f"challenge: {response.status_code} to a login page, but {redact_url(url)} publishes PRM")
            authorized = True
            sent = yield from self.authorize(request, None, scopes=(), stale=None)
            _authorize_header(request, sent)
            self.log(f"retry: {request.method} {redact_url(url)}")
            response = yield request
        while response.status_code in (401, 403):
            bearer = find_bearer(response.headers.get_list("www-authenticate"))
            if bearer is None:
                return
            self.log(
                f"challenge: {response.status_code} from {redact_url(url)} (Bearer"
                + (f", error={bearer.error}" if bearer.error else "")
                + (f", scope={' '.join(bearer.scopes)}" if bearer.scopes else "")
                + (f", resource_metadata={redact_url(bearer.resource_metadata)}" if bearer.resource_metadata else "")
                + ")"
            )
            if response.status_code == 403:
                if not bearer.insufficient_scope or stepped_up:
                    return  # a second 403 after step-up is final (PROTOCOL.md §1)
                stepped_up = True
                granted = _scopes(sent.tokens.scope) if sent else ()
                if sent is not None and granted and set(bearer.scopes) <= set(granted):
                    # The challenge names nothing beyond the grant (RFC 6750 §3 makes
                    # scope= optional): a new sign-in could only ask for the same again.
                    self.log("step-up: the challenge names no scope beyond those granted; not asking the human again")
                    return
                # A refresh cannot widen a grant (RFC 6749 §6): fresh authorization.
                sent = yield from self.authorize(
                    request, bearer, scopes=_union(granted, bearer.scopes), stale=sent, force=True
                )
            elif authorized:
                raise AuthorizationError(
                    f"{redact_url(url)} rejected the token just issued for it"
                    + (f" ({bearer.error}: {shorten(bearer.error_description)})" if bearer.error_description else "")
                )
            elif sent is not None and sent.tokens.refresh_token and not refreshed:
                refreshed = True
                granted = _scopes(sent.tokens.scope)
                sent = yield from self.refresh(sent, request)
                if sent is None:
                    authorized = True
                    sent = yield from self.authorize(
                        request, bearer, scopes=_union(granted, bearer.scopes), stale=None
                    )
            else:
                authorized = True
                stale = sent
                sent = yield from self.authorize(
                    request, bearer, scopes=_union(_scopes(stale.tokens.scope) if stale else (), bearer.scopes),
                    stale=stale,
                )
            _authorize_header(request, sent)
            self.log(f"retry: {request.method} {redact_url(url)}")
            response = yield request
        return

    # -- refresh (RFC 6749 §6) -------------------------------------------------------------

    def refresh(self, credential: Credential, template: httpx.Request | None) -> Flow:
        """A refreshed credential, or None when the grant is gone (tokens dropped).

        Single flight: under the resource's lock, a token another process
        refreshed meanwhile is used as is, so a rotating refresh token is
        spent once."""
        from .tokens import TokenEndpointError, parse_token_response, refresh_request

        key = credential.key
        stale_token = credential.tokens.access_token
        lock = f"oauth:{key.resource}"
        yield AcquireLock(lock, self.s.auth_timeout + 60)
        current = self.store.get(key)
        if (
            current is not None
            and current.tokens.access_token != stale_token
            and not _expiring(current)
        ):
            self.log(f"token: reusing the token another process refreshed for {redact_url(key.resource)}")
            yield ReleaseLock(lock)
            return current
        if current is None or not current.tokens.refresh_token:
            yield ReleaseLock(lock)
            return None
        client = self.client_identity_for(key)
        request = refresh_request(
            current.token_endpoint, client=client, refresh_token=current.tokens.refresh_token, resource=key.resource
        )
        response = yield from self._send("token (refresh)", request, template)
        try:
            tokens = parse_token_response(response, previous=current.tokens)
        except TokenEndpointError as exc:
            if exc.error not in ("invalid_grant", "invalid_client", "unauthorized_client"):
                raise
            # Policy is re-evaluated at refresh (PROTOCOL.md §9): the grant is
            # gone. Drop it and let the caller authorize afresh, once. A client
            # the server no longer knows takes its registration with it.
            self.store.delete(key)
            if exc.error != "invalid_grant":
                registration = self.store.registration_get(key.issuer)
                if registration and registration.get("client_id") == key.client_id:
                    self.store.registration_delete(key.issuer)
            self.log(f"token: refresh refused ({exc.error}); stored tokens for {redact_url(key.resource)} dropped")
            yield ReleaseLock(lock)
            return None
        updated = replace(current, tokens=tokens, updated_at=time.time())
        self.store.put(updated)
        yield ReleaseLock(lock)
        return updated

    def client_identity_for(self, key: CredentialKey) -> ClientIdentity:
        from ._config import configured_client
        from .tokens import ClientIdentity

        registration = self.store.registration_get(key.issuer)
        if registration and registration.get("client_id") == key.client_id:
            return _identity_from_registration(registration)
        configured = configured_client(key.issuer)
        if configured and configured.client_id == key.client_id:
            return _identity_from_configured(configured)
        return ClientIdentity(key.client_id)

    # -- discovery -----------------------------------------------------------------------

    def protected_resource(self, url: str, bearer: BearerChallenge | None, template: httpx.Request | None) -> Flow:
        """RFC 9728: from the challenge's ``resource_metadata``, else the well-known probes."""
        from .rfc9728 import parse_protected_resource, well_known_urls

        if bearer is not None and bearer.resource_metadata:
            metadata_url = require_secure_endpoint(bearer.resource_metadata, "resource_metadata URL")
            document, cached = yield from self._cached_json("prm", "PRM", metadata_url, template)
            if document is None:
                raise AuthorizationError(f"protected resource metadata at {redact_url(metadata_url)} is unavailable")
            resource = parse_protected_resource(
                document, metadata_url=metadata_url, request_url=url, from_challenge=True
            )
            self.remember("prm", metadata_url, document, cached)
            return resource
        for metadata_url in well_known_urls(url):
            document, cached = yield from self._cached_json("prm", "PRM", metadata_url, template, probe=True)
            if document is not None:
                resource = parse_protected_resource(
                    document, metadata_url=metadata_url, request_url=url, from_challenge=False
                )
                self.remember("prm", metadata_url, document, cached)
                return resource
        raise AuthorizationError(
            f"{redact_url(url)} asks for a Bearer token but publishes no protected resource metadata (RFC 9728)"
        )

    def _cached_json(
        self, namespace: str, label: str, url: str, template: httpx.Request | None, *, probe: bool = False
    ) -> Flow:
        """(JSON object or None on 404/410, whether it came from the cache).
        A 404 is cached too, so probes are not repeated within the TTL. A probe
        also takes any other non-JSON answer as "nothing here": single-page
        apps serve their HTML for every path, /.well-known/ included."""
        from ._http import json_get

        cached = self.store.cache_get(namespace, url)
        if cached is not None:
            self.log(f"{label}: {redact_url(url)} (cached)")
            return cached.get("document"), True
        response = yield from self._send(label, json_get(url), template)
        document = json_body(response) if response.status_code == 200 else None
        if response.status_code in (404, 410) or (probe and not isinstance(document, dict)):
            self.store.cache_put(namespace, url, {"document": None}, METADATA_TTL)
            return None, False
        if response.status_code != 200:
            raise AuthorizationError(f"{label} request to {redact_url(url)} answered HTTP {response.status_code}")
        if not isinstance(document, dict):
            raise AuthorizationError(f"{label} at {redact_url(url)} is not a JSON object")
        return document, False

    def authorization_server(self, issuer: str, template: httpx.Request | None) -> Flow:
        """RFC 8414 then OIDC discovery, in PROTOCOL.md §3's order; validated."""
        from .rfc8414 import metadata_urls, parse_authorization_server

        require_secure_endpoint(issuer, "issuer")
        for metadata_url in metadata_urls(issuer):
            document, cached = yield from self._cached_json("as", "AS metadata", metadata_url, template)
            if document is None:
                continue
            server = parse_authorization_server(document, issuer=issuer, metadata_url=metadata_url)
            self.remember("as", metadata_url, document, cached)
            return server
        raise AuthorizationError(f"no authorization server metadata found for issuer {redact_url(issuer)}")

    def remember(self, namespace: str, url: str, document: dict[str, Any], cached: bool) -> None:
        # Only validated documents are cached, so a bad one is fetched again next time.
        if cached:
            return
        self.store.cache_put(namespace, url, {"document": document}, METADATA_TTL)

    # -- authorization ---------------------------------------------------------------------

    def authorize(
        self,
        request: httpx.Request | None,
        bearer: BearerChallenge | None,
        *,
        scopes: tuple[str, ...],
        stale: Credential | None,
        force: bool = False,
        url: str | None = None,
    ) -> Flow:
        """Discovery, then (under the resource's lock) consent, browser, callback and token.

        Every server in ``authorization_servers`` is tried in order until one
        gets as far as the human; errors from the human's side end the flow."""
        url = url or str(request.url)  # type: ignore[union-attr]
        resource = yield from self.protected_resource(url, bearer, request)
        requested = scopes or resource.scopes_supported
        lock = f"oauth:{resource.resource}"
        waiting_since = time.time()
        yield AcquireLock(lock, self.s.auth_timeout + 60)
        existing = self._fresh_credential(url, resource.resource, stale, requested, force)
        if existing is not None:
            self.log(f"token: reusing the token another process obtained for {redact_url(resource.resource)}")
            yield ReleaseLock(lock)
            return existing
        self._raise_failure_seen_while_waiting(resource.resource, waiting_since)
        failures: list[AgentFetchError] = []
        for issuer in resource.authorization_servers:
            try:
                server = yield from self.authorization_server(issuer, request)
                client_plan = self.plan_client(server)
            except (AuthorizationError, SecurityError) as exc:
                self.log(f"AS: {redact_url(issuer)} unusable: {exc.message}")
                failures.append(exc)
                continue
            attempt = Attempt(resource, server, requested, request)
            try:
                credential = yield from self.browser_flow(attempt, client_plan)
            except AgentFetchError as exc:
                self._remember_failure(resource.resource, exc)
                raise
            yield ReleaseLock(lock)
            return credential
        # Prefer a security refusal: it is what the human must hear about.
        raise next((f for f in failures if isinstance(f, SecurityError)), failures[0])

    def _remember_failure(self, resource: str, error: AgentFetchError) -> None:
        """Tell the agents queued on this resource's lock how the flow ended, so
        they do not each ask the human again (one consent, one browser, N agents)."""
        note = {"at": time.time(), "kind": error.kind, "message": error.message, "hint": error.hint}
        self.store.cache_put("oauth-failure", resource, note, FAILURE_TTL)

    def _raise_failure_seen_while_waiting(self, resource: str, since: float) -> None:
        note = self.store.cache_get("oauth-failure", resource)
        if not note or not isinstance(note.get("at"), (int, float)) or note["at"] < since:
            return
        cls = _error_class(str(note.get("kind")))
        message = str(note.get("message") or "authorization failed")
        hint = note.get("hint")
        self.log(f"consent: another agentfetch process just tried for {redact_url(resource)} and failed")
        raise cls(f"{message} (in another agentfetch process, moments ago)", hint=hint if isinstance(hint, str) else None)

    def _fresh_credential(
        self, url: str, resource: str, stale: Credential | None, scopes: tuple[str, ...], force: bool
    ) -> Credential | None:
        """A credential another process stored while we waited for the lock."""
        current = self.bound_credential(url)
        if current is None or current.key.resource != resource:
            return None
        if stale is not None and current.tokens.access_token == stale.tokens.access_token:
            return None
        if _expiring(current):
            return None
        if force and not set(scopes) <= set(_scopes(current.tokens.scope)):
            return None
        return current

    def plan_client(self, server: AuthorizationServer) -> ClientPlan:
        """Client identity in PROTOCOL.md §4's order: configured, CIMD, registration."""
        from ._config import HOW_TO_CONFIGURE, client_metadata_url, config_path, configured_client
        from .tokens import ClientIdentity

        configured = configured_client(server.issuer)
        if configured is not None:
            return ClientPlan(identity=_identity_from_configured(configured), redirect_uri=configured.redirect_uri)
        cimd = client_metadata_url()
        if cimd and server.client_id_metadata_document_supported:
            return ClientPlan(identity=ClientIdentity(cimd))
        if server.registration_endpoint:
            registration = self.store.registration_get(server.issuer)
            if registration and _registration_usable(registration, server.issuer):
                uris = registration.get("redirect_uris") or []
                return ClientPlan(
                    identity=_identity_from_registration(registration),
                    redirect_uri=uris[0] if uris else None,
                    registered=True,
                )
            return ClientPlan(identity=None)
        raise ClientIdentityError(
            f"authorization server {redact_url(server.issuer)} offers no dynamic registration and no client id "
            "is configured for it",
            hint=HOW_TO_CONFIGURE.format(issuer=server.issuer, path=config_path()),
        )

    def browser_flow(self, attempt: Attempt, plan: ClientPlan) -> Flow:
        from .authorize import RedirectUriRejected
        from .rfc7591 import RegistrationRejected

        attempt = replace(attempt, scopes=_with_refresh_scopes(attempt.scopes, attempt.server))
        resource, server, scopes = attempt.resource, attempt.server, attempt.scopes
        request = ConsentRequest(
            resource=resource.resource,
            authorization_server=server.issuer,
            scopes=list(scopes),
            client_name=self.s.client_name,
        )
        if not self.s.interactive:
            raise consent_required_error(resource.resource)
        allowed = yield AskConsent(request)
        self.log(f"consent: {'allowed' if allowed else 'denied'} for {redact_url(resource.resource)}")
        if not allowed:
            raise ConsentDenied(f"you did not allow {self.s.client_name} to access {redact_url(resource.resource)}")
        reregistered = False
        localhost = False
        while True:
            listener = self._listen(plan)
            try:
                if plan.identity is None or plan.stale_port:
                    try:
                        plan = yield from self.register(attempt, listener)
                    except RegistrationRejected as exc:
                        if localhost or not _redirect_problem(exc.error, exc.message):
                            raise
                        # Some servers accept only http://localhost:PORT (PROTOCOL.md §9).
                        localhost = True
                        self.log("registration: loopback IP redirect refused; trying http://localhost")
                        plan = ClientPlan(identity=None, redirect_host="localhost")
                        continue
                try:
                    credential = yield from self.code_flow(attempt, plan, listener)
                except RedirectUriRejected:
                    if reregistered or server.registration_endpoint is None:
                        raise
                    reregistered = True
                    self.log("authorize: client or redirect URI refused; registering again")
                    plan = ClientPlan(identity=None, redirect_host=plan.redirect_host)
                    continue
                return credential
            finally:
                listener.close()

    def _listen(self, plan: ClientPlan) -> LoopbackListener:
        """Reuse the registered port when it is free (servers that match the
        port exactly need it); otherwise an ephemeral one, and re-register."""
        from .loopback import CALLBACK_PATH, LoopbackListener

        host = plan.redirect_host
        if plan.redirect_uri:
            parts = urlsplit(plan.redirect_uri)
            host = parts.hostname or host
            path = parts.path or CALLBACK_PATH
            if parts.port:
                try:
                    return LoopbackListener(port=parts.port, path=path, redirect_host=host)
                except OSError:
                    self.log(f"callback: registered port {parts.port} is busy; using another")
                    if plan.registered:
                        plan.stale_port = True
            return LoopbackListener(path=path, redirect_host=host)
        return LoopbackListener(redirect_host=host)

    def register(self, attempt: Attempt, listener: LoopbackListener) -> Flow:
        """RFC 7591. The record is kept in memory until the flow succeeds, so a
        failed flow stores nothing."""
        from .rfc7591 import parse_registration, registration_request
        from .rfc8628 import DEVICE_GRANT

        server, scopes = attempt.server, attempt.scopes
        grants: tuple[str, ...] = ("authorization_code", "refresh_token")
        if server.device_authorization_endpoint and DEVICE_GRANT in server.grant_types_supported:
            grants += (DEVICE_GRANT,)
        registered = _union(server.scopes_supported, scopes) if server.scopes_supported else scopes

        def request_for(registered: tuple[str, ...]) -> httpx.Request:
            return registration_request(
                server.registration_endpoint,  # type: ignore[arg-type]
                redirect_uri=listener.redirect_uri,
                client_name=self.s.client_name,
                scopes=registered,
                grant_types=grants,
            )

        response = yield from self._send("registration", request_for(registered), attempt.template)
        if server.scopes_supported and set(registered) - set(server.scopes_supported) and _scope_refused(response):
            # node oidc-provider registers only scopes it advertises; a resource's own scopes
            # (RFC 8707) are not among them, yet may be requested. Register the advertised ones.
            self.log("registration: the server refused scopes it does not advertise; registering its own")
            response = yield from self._send("registration", request_for(server.scopes_supported), attempt.template)
        record = parse_registration(response, issuer=server.issuer, redirect_uri=listener.redirect_uri)
        self.log(f"registration: client_id={record['client_id']} redirect_uri={listener.redirect_uri}")
        return ClientPlan(
            identity=_identity_from_registration(record),
            redirect_uri=listener.redirect_uri,
            redirect_host=listener.redirect_host,
            registered=True,
            new_registration=record,
        )

    def code_flow(self, attempt: Attempt, plan: ClientPlan, listener: LoopbackListener) -> Flow:
        """RFC 6749 §4.1 with PKCE, resource and iss; then the token request."""
        resource, server, scopes, template = attempt.resource, attempt.server, attempt.scopes, attempt.template
        from .authorize import RedirectUriRejected, code_from_callback, new_authorization_request
        from .tokens import TokenEndpointError, authorization_code_request, parse_token_response

        assert plan.identity is not None
        auth = new_authorization_request(
            authorization_endpoint=server.authorization_endpoint,
            client_id=plan.identity.client_id,
            redirect_uri=listener.redirect_uri,
            scopes=scopes,
            resource=resource.resource,
        )
        listener.expected_state = auth.state
        listener.site = resource.resource_name or urlsplit(resource.resource).netloc
        if plan.registered and plan.new_registration is None:  # stored earlier, maybe forgotten since
            yield from self._check_stored_registration(auth.url, template)
        self.s.notify(f"browser: open this URL to sign in: {auth.url}")
        opened = yield OpenBrowser(auth.url)
        if not opened:
            if server.device_authorization_endpoint:
                credential = yield from self.device_flow(attempt, plan)
                return credential
            self.s.notify("browser: could not start one; open the URL above yourself")
        self.log(f"callback: waiting on {listener.redirect_uri} (up to {self.s.auth_timeout:g} s)")
        params = yield WaitForCallback(listener, self.s.auth_timeout)
        code = code_from_callback(
            params, request=auth, issuer=server.issuer, iss_required=server.iss_parameter_supported
        )
        self.log("callback: authorization code received")
        token_request = authorization_code_request(
            server.token_endpoint,
            client=plan.identity,
            code=code,
            redirect_uri=listener.redirect_uri,
            code_verifier=auth.code_verifier,
            resource=resource.resource,
        )
        response = yield from self._send("token", token_request, template)
        try:
            tokens = parse_token_response(response, requested_scopes=scopes)
        except TokenEndpointError as exc:
            if exc.error == "invalid_grant" and "redirect" in exc.description.lower():
                raise RedirectUriRejected(exc.message) from exc
            raise
        return self._keep(attempt, plan, tokens)

    def _check_stored_registration(self, authorization_url: str, template: httpx.Request | None) -> Flow:
        """Servers may forget a registration (a restart of an in-memory store),
        and for an unknown client_id RFC 6749 §4.1.2.1 forbids redirecting back:
        the human would face the server's error page while the listener waits
        out the timeout. So before a stored registration goes to the browser,
        the authorization URL is asked once; an error status means register again."""
        from .authorize import RedirectUriRejected

        check = httpx.Request("GET", authorization_url, headers={"Accept": "text/html"})
        response = yield from self._send("authorize check", check, template)
        if response.status_code >= 400:
            raise RedirectUriRejected(
                f"the authorization server refused the stored registration ({response.status_code})"
            )

    def device_flow(self, attempt: Attempt, plan: ClientPlan) -> Flow:
        """RFC 8628 when no browser can be started here: show a code and a URL
        for another device, and poll, honouring ``interval`` and ``slow_down``."""
        from ..errors import AccessDenied, AuthorizationTimeout
        from .rfc8628 import device_authorization_request, device_token_request, parse_device_authorization
        from .tokens import TokenEndpointError, parse_token_response

        resource, server, scopes, template = attempt.resource, attempt.server, attempt.scopes, attempt.template
        assert plan.identity is not None and server.device_authorization_endpoint is not None
        request = device_authorization_request(
            server.device_authorization_endpoint, client=plan.identity, scopes=scopes, resource=resource.resource
        )
        device = parse_device_authorization((yield from self._send("device authorization", request, template)))
        self.s.notify(
            f"device: no browser here; on another device open {device.verification_uri} "
            f"and enter the code {device.user_code}"
            + (f" (or open {device.verification_uri_complete})" if device.verification_uri_complete else "")
        )
        deadline = time.monotonic() + min(device.expires_in, self.s.auth_timeout)
        interval = device.interval
        while True:
            if time.monotonic() + interval > deadline:
                raise AuthorizationTimeout(
                    f"the device code was not used within {min(device.expires_in, self.s.auth_timeout):g} s",
                    hint="enter the code sooner, or raise --auth-timeout",
                )
            yield Sleep(interval)
            poll = device_token_request(
                server.token_endpoint, client=plan.identity, device_code=device.device_code,
                resource=resource.resource,
            )
            response = yield from self._send("token (device)", poll, template)
            try:
                tokens = parse_token_response(response, requested_scopes=scopes)
            except TokenEndpointError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "slow_down":
                    interval += 5  # RFC 8628 §3.5
                    continue
                if exc.error == "access_denied":
                    raise AccessDenied(exc.message) from exc
                if exc.error == "expired_token":
                    raise AuthorizationTimeout(exc.message, hint="run the command again for a new code") from exc
                raise
            return self._keep(attempt, plan, tokens)

    def _keep(self, attempt: Attempt, plan: ClientPlan, tokens: TokenSet) -> Credential:
        """Store the new grant (and a new registration with it): only now, so a
        failed flow leaves nothing behind."""
        resource, server = attempt.resource, attempt.server
        assert plan.identity is not None
        if tokens.expires_at is not None:
            self.log(f"token: issued, expires in {max(0, tokens.expires_at - time.time()):.0f} s")
        credential = Credential(
            key=CredentialKey(issuer=server.issuer, resource=resource.resource, client_id=plan.identity.client_id),
            tokens=tokens,
            token_endpoint=server.token_endpoint,
            revocation_endpoint=server.revocation_endpoint,
            resource_metadata_url=resource.metadata_url,
            subject=_jwt_subject(tokens.access_token),
        )
        if plan.new_registration is not None:
            self.store.registration_put(server.issuer, plan.new_registration)
        self.store.put(credential)
        return credential

    # -- the `agentfetch auth` helpers, as flows too ---------------------------------------

    def login(self, url: str, scopes: tuple[str, ...]) -> Flow:
        """Authorize ``url`` now: GET it to see its challenge; without one, probe
        the well-known PRM (a resource may serve public pages too)."""
        from .._version import USER_AGENT

        probe = httpx.Request("GET", url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        response = yield from self._send("probe", probe, None)
        bearer = None
        if response.status_code in (401, 403):
            bearer = find_bearer(response.headers.get_list("www-authenticate"))
        wanted = _union(scopes, bearer.scopes if bearer else ())
        current = self.bound_credential(url)
        credential = yield from self.authorize(None, bearer, scopes=wanted, stale=current, force=True, url=url)
        return credential


    def access_token(self, url: str) -> Flow:
        credential = self.bound_credential(url)
        if credential is None:
            raise AuthorizationError(f"no stored authorization for {redact_url(url)}", hint=_login_hint(url))
        if _expiring(credential):
            refreshed = (yield from self.refresh(credential, None)) if credential.tokens.refresh_token else None
            if refreshed is None:
                raise AuthorizationError(f"the stored authorization for {redact_url(url)} has expired", hint=_login_hint(url))
            credential = refreshed
        return credential.tokens.access_token


    def logout(self, url: str | None, everything: bool) -> Flow:
        """RFC 7009 revocation where offered (refresh token first: that ends the
        grant), then local deletion, which happens even when revocation fails."""
        from ..errors import NetworkError
        from .tokens import revocation_request, revocation_wants_secret_field

        if everything:
            credentials = self.store.list()
        else:
            found = self.store.find(url)
            credentials = [found] if found is not None else []
        removed: list[CredentialKey] = []
        for credential in credentials:
            endpoint = credential.revocation_endpoint
            if endpoint:
                client = self.client_identity_for(credential.key)
                for token, hint in (
                    (credential.tokens.refresh_token, "refresh_token"),
                    (credential.tokens.access_token, "access_token"),
                ):
                    if not token:
                        continue
                    try:
                        require_secure_endpoint(endpoint, "revocation_endpoint")
                        response = yield from self._send(
                            f"revoke ({hint})",
                            revocation_request(endpoint, client=client, token=token, token_type_hint=hint),
                            None,
                        )
                        if revocation_wants_secret_field(response, client):
                            yield from self._send(
                                f"revoke ({hint}, empty client_secret)",
                                revocation_request(
                                    endpoint, client=client, token=token, token_type_hint=hint, empty_secret=True
                                ),
                                None,
                            )
                    except (NetworkError, SecurityError) as exc:
                        self.log(f"revoke: skipped for {redact_url(credential.key.resource)}: {exc.message}")
                        break
            self.store.delete(credential.key)
            self.log(f"logout: removed {redact_url(credential.key.resource)} ({redact_url(credential.key.issuer)})")
            removed.append(credential.key)
        return removed


@dataclass(frozen=True)
class Attempt:
    """One try at one authorization server for one protected resource."""

    resource: ProtectedResource
    server: AuthorizationServer
    scopes: tuple[str, ...]
    #: The request being authorized: OAuth's own requests copy its timeout.
    template: httpx.Request | None


@dataclass
class ClientPlan:
    """Who we are to one authorization server, and where the callback goes."""

    identity: ClientIdentity | None  # None: register first
    redirect_uri: str | None = None
    redirect_host: str = "127.0.0.1"
    registered: bool = False
    stale_port: bool = False
    new_registration: dict[str, Any] | None = field(default=None, repr=False)  # may hold a client secret


def _registration_usable(registration: dict[str, Any], issuer: str) -> bool:
    """Bound to this issuer, and its client secret (if any) not expired (RFC 7591 §3.2.1)."""
    expires = registration.get("client_secret_expires_at")
    if isinstance(expires, (int, float)) and not isinstance(expires, bool) and 0 < expires <= time.time():
        return False
    return registration.get("issuer", issuer) == issuer


def _identity_from_registration(registration: dict[str, Any]) -> ClientIdentity:
    from .tokens import ClientIdentity

    secret = registration.get("client_secret")
    method = registration.get("token_endpoint_auth_method") or ("client_secret_basic" if secret else "none")
    return ClientIdentity(registration["client_id"], secret if isinstance(secret, str) else None, method)


def _identity_from_configured(configured: Any) -> ClientIdentity:
    from .tokens import ClientIdentity

    method = "client_secret_basic" if configured.client_secret else "none"
    return ClientIdentity(configured.client_id, configured.client_secret, method)


def _with_refresh_scopes(scopes: tuple[str, ...], server: AuthorizationServer) -> tuple[str, ...]:
    """Ask for ``offline_access`` when advertised, so a refresh token is issued.
    OIDC Core §11 ties ``offline_access`` to ``openid``: servers built as
    OpenID Providers (node oidc-provider, Keycloak) ignore it without."""
    if "offline_access" not in server.scopes_supported or "offline_access" in scopes:
        return scopes
    extra = ["offline_access"]
    if "openid" in server.scopes_supported and "openid" not in scopes:
        extra.insert(0, "openid")
    return _union(scopes, tuple(extra))


_LOGIN_HINTS = ("login", "signin", "sign-in", "sign_in", "sso", "auth", "saml", "idp", "cas/", "accounts")


def _looks_like_login_redirect(request: httpx.Request, response: httpx.Response) -> bool:
    """A temporary redirect of a GET to another host whose URL reads like a sign-in page."""
    if request.method != "GET" or response.status_code not in (302, 303, 307):
        return False
    location = response.headers.get("location", "")
    try:
        target = request.url.join(location)
    except (httpx.InvalidURL, ValueError):
        return False
    if target.host == request.url.host:
        return False
    text = (target.host + target.path + "?" + target.query.decode("ascii", "replace")).lower()
    return any(hint in text for hint in _LOGIN_HINTS)


def _redirect_problem(error: str, message: str) -> bool:
    return error == "invalid_redirect_uri" or "redirect" in message.lower()


def _authorize_header(request: httpx.Request, credential: Credential | None) -> None:
    # Checked again here, whatever the credential's origin: the binding rule
    # is the last word on what leaves this process.
    if credential is not None and may_send_token(credential.key.resource, str(request.url)):
        request.headers["Authorization"] = f"Bearer {credential.tokens.access_token}"
    else:
        request.headers.pop("Authorization", None)


def _login_hint(url: str) -> str:
    return f"run `agentfetch auth login {url}`"
