"""One exception tree for the whole package.

Every error a user can meet is an :class:`AgentFetchError`. Each subclass
carries the process exit code the CLI uses, so the mapping from failure to
exit status lives here and nowhere else. Messages are one human-readable line
and must never contain a secret (token, code, verifier, client secret).
They often quote a server (an error description, an issuer), so control and
bidi characters are escaped here, once, for every place a message is shown.
"""

from __future__ import annotations

from ._terminal import escape_controls

__all__ = [
    "AgentFetchError",
    "UsageError",
    "NetworkError",
    "FetchTimeout",
    "HTTPStatusError",
    "AuthorizationError",
    "ConsentRequired",
    "ConsentDenied",
    "AccessDenied",
    "AuthorizationTimeout",
    "ClientIdentityError",
    "CredentialHelperError",
    "SecurityError",
    "MetadataMismatch",
    "InsecureTransport",
    "CallbackMismatch",
    "StoreError",
    "InvalidDocument",
    "DocumentTooLarge",
    "EXIT_CODES",
]


class AgentFetchError(Exception):
    """Base of every agentfetch error. ``str(err)`` is one line for humans."""

    exit_code: int = 1
    #: A short machine-readable name, used in ``--json`` error objects.
    kind: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        message = escape_controls(message)
        super().__init__(message)
        self.message = message
        #: An optional next step for the human ("run agentfetch auth login URL").
        self.hint = escape_controls(hint) if hint is not None else None

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "type": self.kind,
            "message": self.message,
            "exit_code": self.exit_code,
        }
        if self.hint:
            data["hint"] = self.hint
        return data


class UsageError(AgentFetchError):
    """Bad arguments: an unparseable URL, a malformed header, a bad option."""

    exit_code = 2
    kind = "usage"


class NetworkError(AgentFetchError):
    """DNS, connection, TLS or protocol failure before an HTTP status."""

    exit_code = 3
    kind = "network"


class FetchTimeout(NetworkError):
    kind = "timeout"


class HTTPStatusError(AgentFetchError):
    """An HTTP error status that authorization cannot fix."""

    exit_code = 4
    kind = "http_status"

    def __init__(self, message: str, *, status: int, url: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.url = url

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["status"] = self.status
        data["url"] = self.url
        return data


class InvalidDocument(AgentFetchError):
    """The server answered, but with a document that cannot be used: a malformed API catalog
    (RFC 9264) or API description (OpenAPI)."""

    exit_code = 4
    kind = "invalid_document"


class DocumentTooLarge(InvalidDocument):
    """A document over its documented size cap, refused rather than read to the end."""

    kind = "too_large"


class AuthorizationError(AgentFetchError):
    """Authorization was required and could not be obtained."""

    exit_code = 5
    kind = "authorization"


class ConsentRequired(AuthorizationError):
    """Consent is needed but nobody can be asked (no TTY, no callback)."""

    kind = "consent_required"


class ConsentDenied(AuthorizationError):
    kind = "consent_denied"


class AccessDenied(AuthorizationError):
    """The authorization server answered the callback with an ``error``."""

    kind = "access_denied"


class AuthorizationTimeout(AuthorizationError):
    kind = "authorization_timeout"


class ClientIdentityError(AuthorizationError):
    """No way to identify this client to the authorization server."""

    kind = "client_identity"


class CredentialHelperError(AuthorizationError):
    """A ``[[credentials]]`` source could not give its credential: the helper failed, timed out or
    printed no token, or the environment variable is unset. Names the helper, never its output."""

    kind = "credential_helper"


class SecurityError(AgentFetchError):
    """Refused because going on would break a security rule."""

    exit_code = 6
    kind = "security"


class MetadataMismatch(SecurityError):
    """Metadata does not identify what was asked for (RFC 9728 §3.3, RFC 8414 §3.3)."""

    kind = "metadata_mismatch"


class InsecureTransport(SecurityError):
    """A token or an OAuth endpoint over plain HTTP to a non-loopback host."""

    kind = "insecure_transport"


class CallbackMismatch(SecurityError):
    """The redirect callback carried a wrong ``state`` or ``iss`` (RFC 6749 §10.12, RFC 9207)."""

    kind = "callback_mismatch"


class StoreError(AgentFetchError):
    """The credential store cannot be read or written (disk full, keyring down)."""

    exit_code = 1
    kind = "store"


#: Exit codes as documented in README.md and ``agentfetch --help``.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "local failure (credential store unusable, disk full)",
    2: "usage error",
    3: "network, DNS, TLS or timeout",
    4: "HTTP error status that authorization cannot fix, or an unusable document",
    5: "authorization required, denied or failed",
    6: "refused for security",
}
