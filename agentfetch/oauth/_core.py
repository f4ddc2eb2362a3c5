"""The sans-IO core's entry points (:class:`Core`), and the story of one request (:func:`auth_flow`).

Read :func:`auth_flow` first: send the request with the token bound to its URL;
on a Bearer challenge refresh, sign in or step up, each at most once, and retry.
Each branch is a named helper below; the machinery is in its own module:
``_discovery`` (RFC 9728, RFC 8414), ``_client_identity`` (configured, CIMD,
RFC 7591), ``_grants`` (consent, browser, device), ``_refresh`` (RFC 6749 §6),
``_authorization`` (one sign-in per resource) and ``_commands`` (``agentfetch auth``).
Those load only when a challenge or a command needs them: a request with a
stored, fresh token runs this module and ``_steps`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from .._urls import origin, redact_url, shorten
from ..errors import AuthorizationError, StoreError, UsageError
from ._steps import Flow, Settings, expiring, scope_tuple, union
from .binding import may_send_token

if TYPE_CHECKING:
    from ..store import Credential, CredentialKey
    from .challenge import BearerChallenge

__all__ = ["Core", "auth_flow"]


class Core:
    """The flows a driver runs, for one OAuth client's :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    def auth_flow(self, request: httpx.Request) -> Flow[None]:
        return auth_flow(self.s, request)

    def login(self, url: str, scopes: tuple[str, ...]) -> Flow[Credential]:
        from ._commands import login

        return login(self.s, url, scopes)

    def access_token(self, url: str) -> Flow[str]:
        from ._commands import access_token

        return access_token(self.s, url)

    def logout(self, url: str | None, everything: bool) -> Flow[list[CredentialKey]]:
        from ._commands import logout

        return logout(self.s, url, everything)


@dataclass
class _Tries:
    """What one request has tried already: each at most once, so a flow never loops."""

    refreshed: bool = False
    authorized: bool = False
    stepped_up: bool = False


def auth_flow(s: Settings, request: httpx.Request) -> Flow[None]:
    """Send ``request`` with a token when one is bound to its URL, and on a
    Bearer challenge obtain one and retry. Refresh, re-authorization and
    step-up happen at most once each, so this never loops."""
    if "authorization" in request.headers:
        # The caller brought its own credentials (service headers, -H): stay out of the way.
        yield request
        return
    try:
        sent = s.bound_credential(str(request.url))
    except StoreError as exc:
        yield from _without_store(s, request, exc)
        return
    tries = _Tries()
    if sent is not None and expiring(sent) and sent.tokens.refresh_token:
        sent = yield from _refresh(s, request, sent, tries)
    response = yield from _send_with(request, sent)
    if sent is None and _looks_like_login_redirect(request, response):
        sent = yield from _sign_in_behind_login_redirect(s, request, response, tries)
        if sent is None:
            return
        response = yield from _retry(s, request, sent)
    while response.status_code in (401, 403):
        bearer = _bearer_challenge(s, request, response)
        if bearer is None:
            return
        sent = yield from _answer(s, request, response.status_code, bearer, sent, tries)
        if sent is None:
            return
        response = yield from _retry(s, request, sent)


# -- the branches ---------------------------------------------------------------------


def _without_store(s: Settings, request: httpx.Request, error: StoreError) -> Flow[None]:
    """A public page needs no store: send the request as is, and report the
    store only if the resource turns out to need authorization."""
    s.log(f"store: unusable ({error.message}); sending without credentials")
    response: httpx.Response = yield request
    if response.status_code in (401, 403) or _looks_like_login_redirect(request, response):
        raise error


def _sign_in_behind_login_redirect(
    s: Settings, request: httpx.Request, response: httpx.Response, tries: _Tries
) -> Flow[Credential | None]:
    """A proxy that took us for a browser (docs/protocol.md, login redirects). Before
    following it to a login page, ask the original origin for its PRM; None: it has none."""
    from ._discovery import protected_resource

    url = str(request.url)
    try:
        yield from protected_resource(s, url, None, request)
    except AuthorizationError:
        return None
    s.log(f"challenge: {response.status_code} to a login page, but {redact_url(url)} publishes PRM")
    return (yield from _sign_in(s, request, None, (), None, tries))


def _answer(
    s: Settings,
    request: httpx.Request,
    status: int,
    bearer: BearerChallenge,
    sent: Credential | None,
    tries: _Tries,
) -> Flow[Credential | None]:
    """The credential to retry with, or None to hand the response back (RFC 6750 §3.1):
    a 403 is a step-up; a 401 refreshes a token that was sent, then signs in, once each."""
    if status == 403:
        return (yield from _step_up(s, request, bearer, sent, tries))
    if tries.authorized:
        raise AuthorizationError(
            f"{redact_url(request.url)} rejected the token just issued for it"
            + (f" ({bearer.error}: {shorten(bearer.error_description)})" if bearer.error_description else "")
        )
    if sent is not None and sent.tokens.refresh_token and not tries.refreshed:
        granted = scope_tuple(sent.tokens.scope)
        refreshed = yield from _refresh(s, request, sent, tries)
        if refreshed is not None:
            return refreshed
        return (yield from _sign_in(s, request, bearer, union(granted, bearer.scopes), None, tries))
    granted = scope_tuple(sent.tokens.scope) if sent else ()
    return (yield from _sign_in(s, request, bearer, union(granted, bearer.scopes), sent, tries))


def _step_up(
    s: Settings, request: httpx.Request, bearer: BearerChallenge, sent: Credential | None, tries: _Tries
) -> Flow[Credential | None]:
    """``403 insufficient_scope``: a new sign-in for the granted scopes plus the
    challenge's, once; a second 403 is final (docs/protocol.md, step-up)."""
    from ._authorization import authorize

    if not bearer.insufficient_scope or tries.stepped_up:
        return None
    tries.stepped_up = True
    granted = scope_tuple(sent.tokens.scope) if sent else ()
    if sent is not None and granted and set(bearer.scopes) <= set(granted):
        # The challenge names nothing beyond the grant (RFC 6750 §3 makes
        # scope= optional): a new sign-in could only ask for the same again.
        s.log("step-up: the challenge names no scope beyond those granted; not asking the human again")
        return None
    # A refresh cannot widen a grant (RFC 6749 §6): fresh authorization.
    return (yield from authorize(s, request, bearer, scopes=union(granted, bearer.scopes), stale=sent, force=True))


def _refresh(s: Settings, request: httpx.Request, sent: Credential, tries: _Tries) -> Flow[Credential | None]:
    from ._refresh import refresh

    tries.refreshed = True
    return (yield from refresh(s, sent, request))


def _sign_in(
    s: Settings,
    request: httpx.Request,
    bearer: BearerChallenge | None,
    scopes: tuple[str, ...],
    stale: Credential | None,
    tries: _Tries,
) -> Flow[Credential]:
    from ._authorization import authorize

    tries.authorized = True
    return (yield from authorize(s, request, bearer, scopes=scopes, stale=stale))


# -- sending ----------------------------------------------------------------------------


def _send_with(request: httpx.Request, credential: Credential | None) -> Flow[httpx.Response]:
    _authorize_header(request, credential)
    response: httpx.Response = yield request
    return response


def _retry(s: Settings, request: httpx.Request, credential: Credential) -> Flow[httpx.Response]:
    s.log(f"retry: {request.method} {redact_url(request.url)}")
    return (yield from _send_with(request, credential))


def _authorize_header(request: httpx.Request, credential: Credential | None) -> None:
    # Checked again here, whatever the credential's origin: the binding rule
    # is the last word on what leaves this process.
    if credential is not None and may_send_token(credential.key.resource, str(request.url)):
        request.headers["Authorization"] = f"Bearer {credential.tokens.access_token}"
    else:
        request.headers.pop("Authorization", None)


def _bearer_challenge(s: Settings, request: httpx.Request, response: httpx.Response) -> BearerChallenge | None:
    """The response's Bearer challenge (RFC 6750 §3), traced; None when it has none."""
    from .challenge import find_bearer

    bearer = find_bearer(response.headers.get_list("www-authenticate"))
    if bearer is not None:
        s.log(
            f"challenge: {response.status_code} from {redact_url(request.url)} (Bearer"
            + (f", error={bearer.error}" if bearer.error else "")
            + (f", scope={' '.join(bearer.scopes)}" if bearer.scopes else "")
            + (f", resource_metadata={redact_url(bearer.resource_metadata)}" if bearer.resource_metadata else "")
            + ")"
        )
    return bearer


_LOGIN_HINTS = ("login", "signin", "sign-in", "sign_in", "sso", "auth", "saml", "idp", "cas/", "accounts")


def _looks_like_login_redirect(request: httpx.Request, response: httpx.Response) -> bool:
    """A temporary redirect of a GET to another origin (scheme, host and port: a login
    page on the same host and another port counts) whose URL reads like a sign-in page."""
    if request.method != "GET" or response.status_code not in (302, 303, 307):
        return False
    location = response.headers.get("location", "")
    try:
        target = request.url.join(location)
        if origin(str(target)) == origin(str(request.url)):
            return False
    except (httpx.InvalidURL, ValueError, UsageError):  # not an http(s) URL: not a login page we can act on
        return False
    text = (target.host + target.path + "?" + target.query.decode("ascii", "replace")).lower()
    return any(hint in text for hint in _LOGIN_HINTS)
