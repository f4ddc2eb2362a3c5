"""A local identity-aware proxy with managed OAuth in front of an internal wiki.

``agentfetch demo`` and the test suite run it on 127.0.0.1. It is a real
authorization server and protected resource, not a mock: a standards-compliant
OAuth client can complete the flow against it::

    from agentfetch.demo import DemoConfig, DemoServer, DEMO_USERS

    with DemoServer(DemoConfig(token_lifetime=60)) as srv:
        srv.url          # http://127.0.0.1:PORT/  the protected wiki
        srv.issuer       # the authorization server's issuer identifier
        with srv.configure(faults={"wrong_aud"}):
            ...

What it serves:

- The wiki: HTML pages (``/``, ``/pages/...``), their Markdown on
  ``Accept: text/markdown``, a REST API under ``/api/`` (its own resource
  ``srv.api_resource``; reads need ``read``, writes ``write``),
  ``/api/openapi.json``, the RFC 9727 ``/.well-known/api-catalog`` with a
  nested catalog for a second API (``/directory``), and ``/admin`` (scope ``admin``).
- A service token (``srv.service_token``), a machine credential as a header pair.
- The proxy: browser navigations without credentials get ``302`` to the login
  page; other requests get ``401`` with ``WWW-Authenticate: Bearer
  resource_metadata=...``; a bad, expired, revoked or foreign-audience token
  gets ``error="invalid_token"``; a token without ``admin`` on ``/admin`` gets
  ``403 error="insufficient_scope", scope="admin"`` (``scope="write"`` for a write).
- RFC 9728 metadata at ``/.well-known/oauth-protected-resource`` and
  ``/.well-known/oauth-protected-resource/api``.
- The authorization server under ``{issuer}/oauth/``: ``authorize``, ``login``,
  ``consent``, ``token``, ``register``, ``revoke``, ``device_authorization``,
  ``device``, ``jwks``; RFC 8414 and OpenID discovery documents.
- Users: :data:`DEMO_USERS` (``alice`` may grant ``admin``, ``bob`` may not).

Faults are listed with their meaning in :data:`FAULTS`. :class:`DPoPVerifier` is the
RFC 9449 §4.3 proof check the demo's token endpoint and resource use, for other test servers. Heavy imports (joserfc)
happen only when a server is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import DEMO_ADMINS, DEMO_USERS, FAULTS, SLOW_ENDPOINTS, DemoConfig
from ._dpop import DPoPVerifier, ProofError

if TYPE_CHECKING:
    from ._app import RequestRecord
    from ._server import DemoServer

__all__ = [
    "DEMO_ADMINS",
    "DEMO_USERS",
    "FAULTS",
    "SLOW_ENDPOINTS",
    "DPoPVerifier",
    "DemoConfig",
    "DemoServer",
    "ProofError",
    "RequestRecord",
]


def __getattr__(name: str) -> Any:
    if name == "DemoServer":
        from ._server import DemoServer

        return DemoServer
    if name == "RequestRecord":
        from ._app import RequestRecord

        return RequestRecord
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
