"""OAuth 2.0 Step Up Authentication Challenge Protocol: RFC 9470, the client side.

A resource answers ``401`` with ``error="insufficient_user_authentication"``
when the token's authentication is too weak (``acr_values``) or too old
(``max_age``). The client then asks the authorization server for a fresh
authorization with those parameters (§4, the OpenID Connect request
parameters of the same names). The challenge itself is parsed by
:mod:`.challenge`; this module says what it asks for and whether a token meets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._urls import shorten
from .challenge import OAuthChallenge

__all__ = ["AuthenticationRequirement", "requirement_from"]

ERROR = "insufficient_user_authentication"


@dataclass(frozen=True)
class AuthenticationRequirement:
    """What a resource demands of the user's authentication (§3)."""

    #: Authentication context class references, most preferred first.
    acr_values: tuple[str, ...] = ()
    #: Seconds since the last active authentication; None when the resource did not say.
    max_age: int | None = None
    #: The resource's ``error_description``, for the message when stepping up is not possible.
    description: str | None = None

    def authorization_params(self) -> dict[str, str]:
        """The extra authorization request parameters (§4). With neither ``acr_values`` nor
        ``max_age`` the only thing a client can ask for is a fresh login (OIDC Core §3.1.2.1)."""
        params: dict[str, str] = {}
        if self.acr_values:
            params["acr_values"] = " ".join(self.acr_values)
        if self.max_age is not None:
            params["max_age"] = str(self.max_age)
        if not params:
            params["prompt"] = "login"
        return params

    def satisfied_by(self, *, acr: str | None, auth_time: float | None, now: float) -> bool:
        """Does a token whose user authenticated with ``acr`` at ``auth_time`` meet this?

        Unknown values (an opaque token, no ID token) do not meet a requirement that
        names them: the stronger token is never assumed.
        """
        if self.acr_values and acr not in self.acr_values:
            return False
        return self.max_age is None or (auth_time is not None and now - auth_time <= self.max_age)

    def explain(self, host: str) -> str:
        """Why the human is asked to sign in again, for the consent prompt."""
        what = "with a stronger method" if self.acr_values else "again"
        if self.max_age is not None and not self.acr_values:
            what = "again: the last sign-in is too old"
        text = f"{shorten(host, 100)} asks you to sign in {what}"
        if self.description:
            text += f" ({shorten(self.description, 200)})"
        return text


def requirement_from(challenge: OAuthChallenge) -> AuthenticationRequirement | None:
    """The requirement an ``insufficient_user_authentication`` challenge states, else None."""
    if challenge.error != ERROR:
        return None
    return AuthenticationRequirement(challenge.acr_values, challenge.max_age, challenge.error_description)
