"""The vocabulary of the sans-IO core: steps, flows, and the settings every flow shares.

A *flow* is a generator. It yields a :data:`Step`, either an ``httpx.Request``
(and receives the ``httpx.Response``, body read) or one of the *interactions*
below (and receives the outcome its comment names). The drivers in
:mod:`agentfetch.oauth._drivers` perform them, blocking or awaiting; they are the
only code that differs between ``httpx.Client`` and ``httpx.AsyncClient``.

The store is called directly: it is local, small and synchronous.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._urls import TRACED_EXTENSION, redact_url
from ..store import Credential, CredentialStore
from .binding import may_send_token

if TYPE_CHECKING:
    from .consent import ConsentRequest
    from .loopback import LoopbackListener
    from .rfc8414 import AuthorizationServer
    from .rfc9728 import ProtectedResource

__all__ = [
    "AskConsent",
    "OpenBrowser",
    "WaitForCallback",
    "AcquireLock",
    "ReleaseLock",
    "Interaction",
    "SignInPrompt",
    "Step",
    "Flow",
    "Settings",
    "Attempt",
    "EXPIRY_SKEW",
    "expiring",
    "refresh_margin",
    "scope_tuple",
    "union",
    "resource_lock",
    "resource_to_send",
    "remember_resource_refused",
]

#: Refresh this long before the recorded expiry, for clock skew and transit time;
#: for tokens that live under ten minutes a tenth of the lifetime, at least 5 s but
#: never more than half the lifetime (see :func:`refresh_margin`).
EXPIRY_SKEW = 60.0


# -- interactions: what a flow asks of its driver ---------------------------------------


@dataclass(frozen=True)
class AskConsent:
    request: ConsentRequest  # outcome: bool


@dataclass(frozen=True)
class OpenBrowser:
    url: str  # outcome: bool (False: no browser could be started)


@dataclass(frozen=True)
class SignInPrompt:
    """A sign-in that waits for the human, and the ways to finish it: what
    ``OAuth(on_sign_in=...)`` receives once per sign-in, for hosts that show it
    their own way (the MCP server's elicitations)."""

    issuer: str
    resource: str
    #: The authorization URL. It works for as long as the sign-in waits, on any
    #: browser that can reach this machine's loopback listener.
    url: str
    #: A browser was started here on :attr:`url`.
    browser_opened: bool
    #: When the sign-in stops waiting (``time.time()``).
    expires_at: float
    #: RFC 8628, when the device flow runs too: a code to enter at ``verification_uri`` from any device.
    user_code: str | None = None
    verification_uri: str | None = None
    verification_uri_complete: str | None = None
    #: The command that signs in out of band, for hosts that cannot wait.
    command: str = ""
    #: Ends the wait: the sign-in fails with ``ConsentDenied`` and this reason.
    cancel: Callable[[str], None] = field(default=lambda reason: None, repr=False, compare=False)


@dataclass(frozen=True)
class WaitForCallback:
    """Wait up to ``timeout`` seconds for the listener's callback (or a pasted one).
    The device flow waits like this between polls, so a callback ends it at once."""

    listener: LoopbackListener
    timeout: float  # outcome: dict[str, str] | None: the callback's parameters, None when none came
    prompt: SignInPrompt


@dataclass(frozen=True)
class AcquireLock:
    name: str
    timeout: float  # outcome: None


@dataclass(frozen=True)
class ReleaseLock:
    name: str  # outcome: None


#: A driver handles each of these (``match`` ... ``assert_never``): a new one is a type error there.
Interaction = AskConsent | OpenBrowser | WaitForCallback | AcquireLock | ReleaseLock
Step = httpx.Request | Interaction

T = TypeVar("T")
#: A flow that returns a ``T``. What it is sent back depends on the step (see above), hence ``Any``.
Flow = Generator[Step, Any, T]


# -- what every flow shares ---------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    store: CredentialStore
    log: Callable[[str], None]
    client_name: str
    auth_timeout: float
    interactive: bool
    #: Lines the human must see (the sign-in URL, a device code), -v or not.
    notify: Callable[[str], None]
    #: ``agentfetch auth login --paste``: no browser here and no device flow; the human
    #: pastes the address the browser ends on.
    paste_only: bool = False

    def send(self, label: str, request: httpx.Request, template: httpx.Request | None) -> Flow[httpx.Response]:
        """One of OAuth's own requests, traced. It copies the timeout of ``template``,
        the request being authorized, so a caller's timeout covers OAuth's requests too."""
        if template is not None and "timeout" in template.extensions:
            request.extensions["timeout"] = template.extensions["timeout"]
        # Marks the request as traced here, so a client's own request trace can skip it.
        request.extensions[TRACED_EXTENSION] = label
        response: httpx.Response = yield request
        self.log(f"{label}: {request.method} {redact_url(request.url)} -> {response.status_code}")
        return response

    def bound_credential(self, url: str) -> Credential | None:
        """The stored credential that may be sent to ``url`` (RFC 6750 §5.3, RFC 9728 §7)."""
        credential = self.store.find(url)
        if credential is not None and may_send_token(credential.key.resource, url):
            return credential
        return None


@dataclass(frozen=True)
class Attempt:
    """One try at one authorization server for one protected resource."""

    resource: ProtectedResource
    server: AuthorizationServer
    scopes: tuple[str, ...]
    #: The request being authorized: OAuth's own requests copy its timeout.
    template: httpx.Request | None


def refresh_margin(lifetime: float) -> float:
    """How long before its expiry a token that lives ``lifetime`` seconds is refreshed.

    Always strictly below the lifetime: a margin as long as the lifetime would make
    every use refresh first, and ten processes sharing a 5 s token do ten refreshes
    instead of one (each sees the token another just refreshed as already due)."""
    return min(EXPIRY_SKEW, max(min(5.0, lifetime / 2), lifetime / 10))


def expiring(credential: Credential) -> bool:
    """Due for a refresh: within :func:`refresh_margin` of its recorded expiry."""
    expires_at = credential.tokens.expires_at
    if expires_at is None:
        return False
    lifetime = expires_at - credential.updated_at
    return credential.tokens.expires_within(refresh_margin(lifetime))


def scope_tuple(text: str | None) -> tuple[str, ...]:
    """A space-separated ``scope`` value (RFC 6749 §3.3) as a tuple."""
    return tuple(text.split()) if text else ()


def union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes of all groups, in first-seen order, each once."""
    return tuple(dict.fromkeys(s for group in groups for s in group))


def resource_lock(resource: str) -> str:
    """The lock name under which one resource's sign-in and refresh run single flight."""
    return f"oauth:{resource}"


#: How long a server's RFC 8707 refusal of one resource (``invalid_target``) is remembered.
RESOURCE_REFUSAL_TTL = 7 * 86400.0


def resource_to_send(s: Settings, issuer: str, resource: str) -> str | None:
    """RFC 8707 ``resource``: always, unless this server refused this very resource."""
    return None if s.store.cache_get("oauth-resource-refused", f"{issuer} {resource}") else resource


def remember_resource_refused(s: Settings, issuer: str, resource: str, message: str) -> None:
    s.log(f"token: {issuer} refuses resource={redact_url(resource)} ({message}); asking without it")
    note = {"at": time.time(), "message": message}
    s.store.cache_put("oauth-resource-refused", f"{issuer} {resource}", note, RESOURCE_REFUSAL_TTL)
