"""Getting a grant from the human: consent, then the browser and the loopback
listener (RFC 6749 §4.1 with PKCE, RFC 8252), raced with the device flow
(RFC 8628) when no browser can start; then the token request, and the grant stored.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .._urls import redact_url
from ..errors import AgentFetchError, ConsentDenied
from ..store import Credential, CredentialKey, TokenSet
from ._client_identity import ClientPlan, check_stored_registration, register
from ._steps import (
    AskConsent,
    Attempt,
    Flow,
    OpenBrowser,
    Settings,
    SignInPrompt,
    WaitForCallback,
    remember_resource_refused,
    resource_to_send,
    union,
)
from .consent import ConsentRequest, consent_required_error

if TYPE_CHECKING:
    from .loopback import LoopbackListener
    from .rfc8414 import AuthorizationServer
    from .rfc8628 import DeviceAuthorization

__all__ = ["browser_flow", "with_refresh_scopes"]


def browser_flow(s: Settings, attempt: Attempt, plan: ClientPlan) -> Flow[Credential]:
    """Consent, then the authorization-code flow. A redirect URI the server refuses
    leads to one new registration: at ``http://localhost`` when registration refused
    the loopback IP (docs/protocol.md, redirect URIs), else with a fresh port."""
    from .authorize import RedirectUriRejected, ResourceRefused
    from .rfc7591 import RegistrationRejected

    attempt = replace(attempt, scopes=with_refresh_scopes(attempt.scopes, attempt.server))
    yield from _ask_consent(s, attempt)
    reregistered = False
    localhost = False
    while True:
        listener = _listen(s, plan)
        try:
            if plan.identity is None or plan.stale_port:
                try:
                    plan = yield from register(s, attempt, listener)
                except RegistrationRejected as exc:
                    if localhost or not _redirect_problem(exc.error, exc.message):
                        raise
                    # Servers may allow loopback-IP and localhost redirect URIs independently
                    # (docs/protocol.md, redirect URIs): some accept only http://localhost:PORT.
                    localhost = True
                    s.log("registration: loopback IP redirect refused; trying http://localhost")
                    plan = ClientPlan(identity=None, redirect_host="localhost")
                    continue
            try:
                credential = yield from _code_flow(s, attempt, plan, listener)
            except ResourceRefused as exc:
                issuer, resource = attempt.server.issuer, attempt.resource.resource
                if resource_to_send(s, issuer, resource) is None:
                    raise
                # RFC 8707 §2 invalid_target: sign in once more without resource; the token
                # stays bound to this resource here (RFC 6750 §5.3), whatever its audience.
                remember_resource_refused(s, issuer, resource, exc.message)
                continue
            except RedirectUriRejected:
                if reregistered or attempt.server.registration_endpoint is None:
                    raise
                reregistered = True
                s.log("authorize: client or redirect URI refused; registering again")
                plan = ClientPlan(identity=None, redirect_host=plan.redirect_host)
                continue
            return credential
        finally:
            listener.close()


def with_refresh_scopes(scopes: tuple[str, ...], server: AuthorizationServer) -> tuple[str, ...]:
    """Ask for ``offline_access`` when advertised, so a refresh token is issued.
    OIDC Core §11 ties ``offline_access`` to ``openid``: servers built as
    OpenID Providers (node oidc-provider, Keycloak) ignore it without."""
    if "offline_access" not in server.scopes_supported or "offline_access" in scopes:
        return scopes
    extra = ["offline_access"]
    if "openid" in server.scopes_supported and "openid" not in scopes:
        extra.insert(0, "openid")
    return union(scopes, tuple(extra))


def _ask_consent(s: Settings, attempt: Attempt) -> Flow[None]:
    """The human says yes before any browser opens; nobody to ask is an error, not a yes."""
    resource, server = attempt.resource, attempt.server
    request = ConsentRequest(
        resource=resource.resource,
        authorization_server=server.issuer,
        scopes=list(attempt.scopes),
        client_name=s.client_name,
    )
    if not s.interactive:
        raise consent_required_error(resource.resource)
    allowed = yield AskConsent(request)
    s.log(f"consent: {'allowed' if allowed else 'denied'} for {redact_url(resource.resource)}")
    if not allowed:
        raise ConsentDenied(f"you did not allow {s.client_name} to access {redact_url(resource.resource)}")


def _listen(s: Settings, plan: ClientPlan) -> LoopbackListener:
    """The loopback listener for the callback (RFC 8252 §7.3). Reuse the registered
    port when it is free (servers that match the port exactly need it); otherwise
    an ephemeral one, and mark the plan to register again."""
    from .loopback import CALLBACK_PATH, LoopbackListener

    host = plan.redirect_host
    if plan.redirect_uri:
        parts = urlsplit(plan.redirect_uri)
        host = parts.hostname or host
        path = parts.path or CALLBACK_PATH
        if parts.port:
            try:
                return LoopbackListener(port=parts.port, path=path, redirect_host=host, log=s.log)
            except OSError:
                s.log(f"callback: registered port {parts.port} is busy; using another")
                if plan.registered:
                    plan.stale_port = True
        return LoopbackListener(path=path, redirect_host=host, log=s.log)
    return LoopbackListener(redirect_host=host, log=s.log)


def _code_flow(s: Settings, attempt: Attempt, plan: ClientPlan, listener: LoopbackListener) -> Flow[Credential]:
    """RFC 6749 §4.1 with PKCE (RFC 7636), resource (RFC 8707) and iss (RFC 9207); then the token request.

    One sign-in, several ways to finish it, raced (docs/protocol.md, finishing a sign-in):
    the browser's redirect to the listener, the address it ends on pasted by the human,
    and, when no browser could start here, the device code (RFC 8628). The listener
    stays open until the sign-in is over, so the printed URL works all along."""
    from .authorize import RedirectUriRejected, ResourceRefused, code_from_callback, new_authorization_request
    from .tokens import TokenEndpointError, authorization_code_request, parse_token_response, resource_refused

    resource, server, scopes, template = attempt.resource, attempt.server, attempt.scopes, attempt.template
    assert plan.identity is not None
    sent_resource = resource_to_send(s, server.issuer, resource.resource)
    auth = new_authorization_request(
        authorization_endpoint=server.authorization_endpoint,
        client_id=plan.identity.client_id,
        redirect_uri=listener.redirect_uri,
        scopes=scopes,
        resource=sent_resource,
    )
    listener.expected_state = auth.state
    listener.site = resource.resource_name or urlsplit(resource.resource).netloc
    if plan.registered and plan.new_registration is None:  # stored earlier, maybe forgotten since
        yield from check_stored_registration(s, auth.url, template)
    s.notify(f"browser: open this URL to sign in: {auth.url}")
    opened = False if s.paste_only else bool((yield OpenBrowser(auth.url)))
    device = None
    if not opened and not s.paste_only:
        if server.device_authorization_endpoint:
            device = yield from _start_device_flow(s, attempt, plan)
        else:
            s.notify("browser: could not start one; open the URL above yourself")
    limit = min(s.auth_timeout, device.expires_in) if device else s.auth_timeout
    prompt = SignInPrompt(
        issuer=server.issuer,
        resource=resource.resource,
        url=auth.url,
        browser_opened=opened,
        expires_at=time.time() + limit,
        user_code=device.user_code if device else None,
        verification_uri=device.verification_uri if device else None,
        verification_uri_complete=device.verification_uri_complete if device else None,
        command=f"agentfetch auth login {resource.resource}",
        cancel=listener.cancel,
    )
    s.log(f"callback: waiting on {listener.redirect_uri} (up to {limit:g} s)")
    finished = yield from _wait_for_sign_in(s, attempt, plan, listener, prompt, device, limit)
    if isinstance(finished, TokenSet):
        return _keep(s, attempt, plan, finished)
    code = code_from_callback(
        finished, request=auth, issuer=server.issuer, iss_required=server.iss_parameter_supported
    )
    s.log("callback: authorization code received")
    token_request = authorization_code_request(
        server.token_endpoint,
        client=plan.identity,
        code=code,
        redirect_uri=listener.redirect_uri,
        code_verifier=auth.code_verifier,
        resource=sent_resource,
    )
    response = yield from s.send("token", token_request, template)
    try:
        tokens = parse_token_response(response, requested_scopes=scopes)
    except TokenEndpointError as exc:
        if exc.error == "invalid_grant" and "redirect" in exc.description.lower():
            raise RedirectUriRejected(exc.message) from exc
        if sent_resource is not None and resource_refused(exc):
            raise ResourceRefused(exc.message) from exc
        raise
    return _keep(s, attempt, plan, tokens)


def _wait_for_sign_in(
    s: Settings,
    attempt: Attempt,
    plan: ClientPlan,
    listener: LoopbackListener,
    prompt: SignInPrompt,
    device: DeviceAuthorization | None,
    limit: float,
) -> Flow[dict[str, str] | TokenSet]:
    """The callback's parameters, or the device flow's tokens: whichever comes first.

    Between device polls the flow waits on the listener for ``interval`` seconds,
    so a callback ends the wait at once. Refused callbacks (another path, a wrong
    ``state``: an old tab, another local process) leave the wait running."""
    deadline = time.monotonic() + limit
    interval = device.interval if device else 0.0
    next_poll = time.monotonic() + interval
    while True:
        now = time.monotonic()
        if now >= deadline:
            raise _not_finished(listener, limit, device)
        # A poll only after a full interval (RFC 8628 §3.5): none when the deadline comes first.
        polling = device is not None and next_poll <= deadline
        until = next_poll if polling else deadline
        params: dict[str, str] | None = yield WaitForCallback(listener, max(0.0, until - now), prompt)
        if listener.cancelled is not None:
            raise ConsentDenied(listener.cancelled)
        if params is not None:
            return params
        if polling and device is not None:
            tokens, interval = yield from _poll_device(s, attempt, plan, device, interval)
            if tokens is not None:
                return tokens
            next_poll = time.monotonic() + interval


def _not_finished(listener: LoopbackListener, limit: float, device: DeviceAuthorization | None) -> AgentFetchError:
    from ..errors import AuthorizationTimeout, CallbackMismatch

    ways = f"no sign-in came back to {listener.redirect_uri}" + (" and the device code was not used" if device else "")
    if listener.wrong_state:
        return CallbackMismatch(
            f"{ways} within {limit:g} s; {listener.wrong_state} response(s) with a state that belongs to no "
            "pending sign-in were refused (RFC 6749 §10.12)",
            hint="sign in again from the tab agentfetch opens, or raise --auth-timeout",
        )
    return AuthorizationTimeout(f"{ways} within {limit:g} s", hint="finish signing in sooner, or raise --auth-timeout")


def _start_device_flow(s: Settings, attempt: Attempt, plan: ClientPlan) -> Flow[DeviceAuthorization]:
    """RFC 8628 §3.1 when no browser can be started here: a code and a URL for another device."""
    from .rfc8628 import device_authorization_request, parse_device_authorization

    resource, server, scopes, template = attempt.resource, attempt.server, attempt.scopes, attempt.template
    assert plan.identity is not None and server.device_authorization_endpoint is not None
    request = device_authorization_request(
        server.device_authorization_endpoint, client=plan.identity, scopes=scopes, resource=resource.resource
    )
    device = parse_device_authorization((yield from s.send("device authorization", request, template)))
    s.notify(
        f"device: no browser here; on another device open {device.verification_uri} "
        f"and enter the code {device.user_code}"
        + (f" (or open {device.verification_uri_complete})" if device.verification_uri_complete else "")
    )
    return device


def _poll_device(
    s: Settings, attempt: Attempt, plan: ClientPlan, device: DeviceAuthorization, interval: float
) -> Flow[tuple[TokenSet | None, float]]:
    """One poll (RFC 8628 §3.4, §3.5): the tokens, or None and the interval to wait next."""
    from ..errors import AccessDenied, AuthorizationTimeout
    from .rfc8628 import device_token_request
    from .tokens import TokenEndpointError, parse_token_response

    assert plan.identity is not None
    poll = device_token_request(
        attempt.server.token_endpoint,
        client=plan.identity,
        device_code=device.device_code,
        resource=attempt.resource.resource,
    )
    response = yield from s.send("token (device)", poll, attempt.template)
    try:
        return parse_token_response(response, requested_scopes=attempt.scopes), interval
    except TokenEndpointError as exc:
        if exc.error == "authorization_pending":
            return None, interval
        if exc.error == "slow_down":
            return None, interval + 5  # RFC 8628 §3.5
        if exc.error == "access_denied":
            raise AccessDenied(exc.message) from exc
        if exc.error == "expired_token":
            raise AuthorizationTimeout(exc.message, hint="run the command again for a new code") from exc
        raise


def _keep(s: Settings, attempt: Attempt, plan: ClientPlan, tokens: TokenSet) -> Credential:
    """Store the new grant (and a new registration with it): only now, so a
    failed flow leaves nothing behind."""
    resource, server = attempt.resource, attempt.server
    assert plan.identity is not None
    if tokens.expires_at is not None:
        s.log(f"token: issued, expires in {max(0, tokens.expires_at - time.time()):.0f} s")
    credential = Credential(
        key=CredentialKey(issuer=server.issuer, resource=resource.resource, client_id=plan.identity.client_id),
        tokens=tokens,
        token_endpoint=server.token_endpoint,
        revocation_endpoint=server.revocation_endpoint,
        resource_metadata_url=resource.metadata_url,
        subject=_jwt_subject(tokens.access_token),
    )
    if plan.new_registration is not None:
        s.store.registration_put(server.issuer, plan.new_registration)
    s.store.put(credential)
    return credential


def _redirect_problem(error: str, message: str) -> bool:
    return error == "invalid_redirect_uri" or "redirect" in message.lower()


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
