"""Authorization Server Metadata: RFC 8414, with OpenID Connect Discovery 1.0 as fallback."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._urls import has_userinfo, origin, shorten
from ..errors import AuthorizationError, MetadataMismatch, SecurityError
from .binding import require_secure_endpoint

__all__ = ["AuthorizationServer", "metadata_urls", "parse_authorization_server"]


@dataclass(frozen=True)
class AuthorizationServer:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    registration_endpoint: str | None = None
    revocation_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    scopes_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    #: RFC 9207: the callback MUST carry ``iss`` when this is true.
    iss_parameter_supported: bool = False
    client_id_metadata_document_supported: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def metadata_urls(issuer: str) -> list[str]:
    """The discovery URLs for ``issuer``, in the order of RFC 8414 §3.1, then OIDC Discovery 1.0 §4.

    ``https://as/tenant1`` gives ``https://as/.well-known/oauth-authorization-server/tenant1``,
    ``https://as/.well-known/openid-configuration/tenant1`` and
    ``https://as/tenant1/.well-known/openid-configuration``.
    """
    origin(issuer)  # UsageError for what is not an http(s) URL
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")

    def url(p: str) -> str:
        return urlunsplit((parts.scheme, parts.netloc, p, "", ""))

    urls = [
        url("/.well-known/oauth-authorization-server" + path),
        url("/.well-known/openid-configuration" + path),
        url(path + "/.well-known/openid-configuration"),
    ]
    return list(dict.fromkeys(urls))


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


def _metadata_class() -> type[Any]:
    # authlib validates types and required fields; only its transport rule is
    # replaced, because loopback issuers (local dev servers, the demo) are http.
    from authlib.oauth2 import rfc8414

    class _Metadata(rfc8414.AuthorizationServerMetadata):  # type: ignore[misc]  # authlib is untyped
        def validate_issuer(self) -> None:
            issuer = self.get("issuer")
            if not issuer:
                raise ValueError('"issuer" is required')
            parts = urlsplit(issuer)
            if parts.query or parts.fragment:
                raise ValueError('"issuer" has no query or fragment')

        def _optional_url(self, key: str) -> None:
            if self.get(key) is not None:
                require_secure_endpoint(self.get(key), key)

        def validate_authorization_endpoint(self) -> None:
            if not self.get("authorization_endpoint"):
                raise ValueError('"authorization_endpoint" is required')

        def validate_token_endpoint(self) -> None:
            if not self.get("token_endpoint"):
                raise ValueError('"token_endpoint" is required')

        def validate_jwks_uri(self) -> None:
            self._optional_url("jwks_uri")

        def validate_registration_endpoint(self) -> None:
            self._optional_url("registration_endpoint")

        def validate_revocation_endpoint(self) -> None:
            self._optional_url("revocation_endpoint")

        def validate_introspection_endpoint(self) -> None:
            self._optional_url("introspection_endpoint")

        # RFC 8414 §2 wants the alg lists whenever private_key_jwt or client_secret_jwt is
        # advertised. Spring Authorization Server 7.0 advertises both and omits the lists.
        # agentfetch authenticates with neither, so it checks a list only when one is given.
        def _optional_algs(self, key: str) -> None:
            values = self.get(key)
            if values is None:
                return
            if not isinstance(values, list) or "none" in values:
                raise ValueError(f'"{key}" must be a JSON array without "none"')

        def validate_token_endpoint_auth_signing_alg_values_supported(self) -> None:
            self._optional_algs("token_endpoint_auth_signing_alg_values_supported")

        def validate_revocation_endpoint_auth_signing_alg_values_supported(self) -> None:
            self._optional_algs("revocation_endpoint_auth_signing_alg_values_supported")

        def validate_introspection_endpoint_auth_signing_alg_values_supported(self) -> None:
            self._optional_algs("introspection_endpoint_auth_signing_alg_values_supported")

    return _Metadata


def _same_root_issuer(stated: object, expected: str) -> bool:
    """The one tolerated difference: a trailing slash on an issuer with no path
    (``https://as`` vs ``https://as/``), which URL libraries add on their own
    (the MCP Python SDK's pydantic ``AnyHttpUrl`` does). Same origin, same root:
    the same server. Any other difference is a mismatch."""
    if not isinstance(stated, str) or stated.rstrip("/") != expected.rstrip("/"):
        return False
    return urlsplit(expected).path in ("", "/") and urlsplit(stated).path in ("", "/")


def parse_authorization_server(document: Any, *, issuer: str, metadata_url: str) -> AuthorizationServer:
    """Validate AS metadata for ``issuer`` (RFC 8414 §2, §3.3; docs/protocol.md, authorization server metadata)."""
    from authlib.oauth2 import rfc9207

    where = shorten(metadata_url)
    if not isinstance(document, dict):
        raise AuthorizationError(f"authorization server metadata at {where} is not a JSON object")
    # A null is an absent field (serialisers write unset optional fields as null); authlib's
    # validators would otherwise fail on it with a TypeError.
    document = {key: value for key, value in document.items() if value is not None}
    require_secure_endpoint(issuer, "issuer")
    if has_userinfo(issuer):
        raise MetadataMismatch(
            f"issuer {shorten(issuer)} has userinfo; refusing it (RFC 8414 §2: https, no query or fragment; "
            "RFC 9110 §4.2.4 deprecates userinfo in http(s) URIs)"
        )
    stated = document.get("issuer")
    if stated != issuer and not _same_root_issuer(stated, issuer):
        raise MetadataMismatch(
            f"authorization server metadata at {where} names issuer "
            f"{shorten(str(document.get('issuer')))}, expected {shorten(issuer)} (RFC 8414 §3.3)"
        )
    # From here on the issuer is the one the server states: RFC 9207 ``iss`` echoes it.
    issuer = str(stated)  # a str: equal to the issuer, or _same_root_issuer checked it
    metadata = _metadata_class()(document)
    try:
        metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])
    except ValueError as exc:
        raise AuthorizationError(f"invalid authorization server metadata at {where}: {exc}") from exc
    except (TypeError, AttributeError, KeyError, IndexError) as exc:
        # authlib's validators assume the JSON types they check for: a list or a
        # null where a URL or a string belongs makes them fail this way instead.
        raise AuthorizationError(
            f"invalid authorization server metadata at {where}: a field has the wrong JSON type "
            f"({type(exc).__name__})"
        ) from exc
    authorization_endpoint = require_secure_endpoint(document["authorization_endpoint"], "authorization_endpoint")
    token_endpoint = require_secure_endpoint(document["token_endpoint"], "token_endpoint")
    device_endpoint = document.get("device_authorization_endpoint")
    if device_endpoint is not None:
        require_secure_endpoint(device_endpoint, "device_authorization_endpoint")
    if "code" not in _strings(document.get("response_types_supported")):
        raise AuthorizationError(f"authorization server {shorten(issuer)} does not support response_type=code")
    # OAuth 2.1 / the MCP authorization spec: no advertised S256 means no PKCE we can rely on.
    if "S256" not in _strings(document.get("code_challenge_methods_supported")):
        raise SecurityError(
            f"authorization server {shorten(issuer)} does not advertise PKCE S256 "
            "(code_challenge_methods_supported); refusing an authorization flow without PKCE"
        )
    return AuthorizationServer(
        issuer=issuer,
        authorization_endpoint=authorization_endpoint,
        token_endpoint=token_endpoint,
        registration_endpoint=document.get("registration_endpoint"),
        revocation_endpoint=document.get("revocation_endpoint"),
        device_authorization_endpoint=device_endpoint,
        scopes_supported=_strings(document.get("scopes_supported")),
        grant_types_supported=_strings(document.get("grant_types_supported")),
        token_endpoint_auth_methods_supported=_strings(document.get("token_endpoint_auth_methods_supported")),
        iss_parameter_supported=document.get("authorization_response_iss_parameter_supported") is True,
        client_id_metadata_document_supported=document.get("client_id_metadata_document_supported") is True,
        raw=dict(document),
    )
