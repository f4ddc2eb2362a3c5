"""OAuth 2.x on behalf of the human, as an ``httpx.Auth``.

``OAuth`` turns a ``401``/``403`` Bearer challenge into a token and a retry:
RFC 9728 resource metadata, RFC 8414 / OIDC discovery, RFC 7591 registration,
consent, the PKCE authorization-code flow in the system browser with a
loopback redirect (RFC 7636, RFC 8707, RFC 9207, RFC 8252), refresh and
RFC 7009 revocation. authlib is imported only when a challenge is handled.
"""

from __future__ import annotations

from ._auth import OAuth
from ._steps import SignInPrompt
from .consent import ConsentRequest, default_consent

__all__ = ["OAuth", "ConsentRequest", "SignInPrompt", "default_consent"]
