"""The demo app's knobs, its users and the faults it can inject.

Light on purpose: only the standard library, so ``agentfetch.demo`` can be
imported (and a config built) without paying for the server or joserfc.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ACR_MFA",
    "ACR_PASSWORD",
    "DEMO_ADMINS",
    "DEMO_ONE_TIME_CODE",
    "DEMO_USERS",
    "FAULTS",
    "SLOW_ENDPOINTS",
    "DemoConfig",
]

#: Demo users and their passwords. The login page lists them too: this is a demo.
DEMO_USERS: dict[str, str] = {"alice": "wonderland", "bob": "builder"}

#: The second factor every demo user has (the MFA page shows it: this is a demo).
DEMO_ONE_TIME_CODE = "424242"

#: RFC 9470 authentication context classes: a password, or a password and the one-time code.
ACR_PASSWORD = "urn:acme:acr:password"
ACR_MFA = "urn:acme:acr:mfa"

#: Users whose policy allows the ``admin`` scope. Others get it stripped at consent.
DEMO_ADMINS: frozenset[str] = frozenset({"alice"})

#: Every fault the server can inject, by the name used in ``DemoConfig.faults``.
FAULTS: dict[str, str] = {
    "prm_resource_mismatch": "Protected Resource Metadata names another resource (RFC 9728 §3.3).",
    "as_wrong_issuer": "AS metadata carries an issuer that differs from the one it was fetched for (RFC 8414 §3.3).",
    "callback_wrong_state": "The authorization response carries a state the client did not send.",
    "callback_wrong_iss": "The authorization response carries a foreign iss (RFC 9207).",
    "callback_missing_iss": "The authorization response has no iss although metadata promises it (RFC 9207).",
    "no_callback": "After consent the AS shows a page instead of redirecting: the callback never arrives.",
    "wrong_aud": "Access tokens are minted for another audience, so this resource rejects them as invalid_token.",
    "no_resource_metadata_param": "401 challenges omit resource_metadata: clients must probe the well-known URLs.",
    "oidc_only": "No RFC 8414 document, only /.well-known/openid-configuration.",
    "no_s256": "code_challenge_methods_supported lists only plain (and plain is accepted).",
    "exact_redirect_port": "A loopback redirect_uri must match the registered one including the port.",
    "localhost_only_redirect": "Only http://localhost redirect URIs are accepted, not loopback IP literals.",
    "loopback_ip_only_redirect": "Only 127.0.0.1 / [::1] redirect URIs are accepted, not localhost.",
    "refresh_invalid_grant": "Every refresh_token grant fails with invalid_grant, as when policy revoked access.",
    "opaque_tokens": "Access tokens are opaque strings (oauth:...), not JWTs.",
    "no_offline_access": "offline_access is not offered: it is dropped from grants and no refresh token is issued.",
    "first_as_broken": "PRM lists a broken authorization server first; its metadata answers 503.",
    "first_as_unreachable": "PRM lists an authorization server first that refuses connections.",
    "always_redirect": "Unauthenticated GETs from programs also get a 302, to a login page on another origin; "
                       "the PRM well-known URLs still answer.",
    "catalog_loop": "The directory's nested API catalog lists the host's catalog as an item: a cycle (RFC 9727 §4).",
    "malformed_openapi": "The directory API's OpenAPI description is not valid YAML.",
    "api_bad_gateway": "Writes through the API (POST, PUT, PATCH, DELETE) answer 502 after the proxy let them "
                       "through, without acting: a broken upstream.",
}

#: Endpoint names ``DemoConfig.slow_endpoints`` may name; each sleeps ``slow_seconds`` first.
SLOW_ENDPOINTS: frozenset[str] = frozenset(
    {"prm", "metadata", "register", "authorize", "par", "token", "revoke", "device", "resource"}
)


@dataclass(frozen=True)
class DemoConfig:
    """Everything a test can turn. ``DemoServer.configure(**changes)`` swaps it live."""

    host: str = "127.0.0.1"
    port: int = 0
    #: Seconds an access token lives. Short on purpose: refresh is the normal path.
    token_lifetime: int = 300
    refresh_token_lifetime: int = 14 * 24 * 3600
    code_lifetime: int = 60
    #: The scopes that exist. ``read`` is what the wiki needs, ``write`` changes pages through the API,
    #: ``admin`` opens the admin area.
    scopes: tuple[str, ...] = ("read", "write", "admin", "offline_access")
    #: RFC 7591 dynamic registration on or off. Off: only ``preregistered_client_id`` works.
    registration: bool = True
    preregistered_client_id: str = "agentfetch-preregistered"
    #: Accept Client ID Metadata Documents: a client_id that is an https URL (or http on loopback)
    #: whose JSON the server fetches, and advertise ``client_id_metadata_document_supported``.
    client_id_metadata_documents: bool = False
    #: RFC 9449 DPoP: advertise ``dpop_signing_alg_values_supported``, bind tokens to the key of a
    #: request's DPoP proof (``token_type: DPoP``, ``cnf.jkt``) and check proofs at the resource.
    dpop: bool = False
    #: DPoP-bound tokens only: token requests without a proof are refused, registrations answer
    #: ``dpop_bound_access_tokens: true`` and the resource challenges only with ``DPoP``. Implies ``dpop``.
    dpop_required: bool = False
    #: RFC 9449 §8, §9: the token endpoint and the resource demand a server nonce in proofs
    #: (once: after a ``use_dpop_nonce`` answer the nonce stays valid). Implies ``dpop``.
    dpop_nonce: bool = False
    #: RFC 9126: a ``pushed_authorization_request_endpoint``.
    par: bool = False
    #: ``require_pushed_authorization_requests``: the authorization endpoint accepts only a
    #: ``request_uri`` from a push. Implies ``par``.
    par_required: bool = False
    #: RFC 9470 step-up: path prefixes (``"/admin"``) that need a stronger or fresher sign-in.
    step_up_paths: tuple[str, ...] = ()
    #: The ``acr_values`` those paths demand (None: any), and their ``max_age`` in seconds (None: any age).
    step_up_acr: str | None = ACR_MFA
    step_up_max_age: int | None = None
    #: Names from :data:`FAULTS`.
    faults: frozenset[str] = field(default_factory=frozenset)
    slow_seconds: float = 0.0
    #: Names from :data:`SLOW_ENDPOINTS` that wait ``slow_seconds`` before answering.
    slow_endpoints: frozenset[str] = field(default_factory=frozenset)
    #: A path for the issuer identifier (``"/tenant1"``) so path-inserted RFC 8414 discovery is used.
    issuer_path: str = ""
    #: RFC 8628 polling interval in seconds (a fraction of a second makes long polls quick to test).
    device_interval: float = 1
    device_code_lifetime: int = 600
    #: JSON-lines audit file; ``None`` puts it in a temporary directory.
    audit_path: Path | None = None

    def __post_init__(self) -> None:
        # Callers pass plain sets or lists; freeze them so the config stays hashable and shared safely.
        object.__setattr__(self, "faults", frozenset(self.faults))
        object.__setattr__(self, "slow_endpoints", frozenset(self.slow_endpoints))
        object.__setattr__(self, "scopes", tuple(self.scopes))
        object.__setattr__(self, "step_up_paths", tuple(self.step_up_paths))
        if self.dpop_required or self.dpop_nonce:
            object.__setattr__(self, "dpop", True)
        if self.par_required:
            object.__setattr__(self, "par", True)
        if any(not p.startswith("/") for p in self.step_up_paths):
            raise ValueError("step_up_paths must be absolute paths, e.g. '/admin'")
        if self.step_up_paths and self.step_up_acr is None and self.step_up_max_age is None:
            raise ValueError("step_up_paths need step_up_acr or step_up_max_age")
        unknown = self.faults - FAULTS.keys()
        if unknown:
            raise ValueError(f"unknown demo fault(s): {', '.join(sorted(unknown))}; known: {', '.join(FAULTS)}")
        unknown = self.slow_endpoints - SLOW_ENDPOINTS
        if unknown:
            raise ValueError(f"unknown slow endpoint(s): {', '.join(sorted(unknown))}")
        if self.slow_seconds > 0 and not self.slow_endpoints:
            raise ValueError(
                f"slow_seconds needs slow_endpoints naming what is slow: {', '.join(sorted(SLOW_ENDPOINTS))}"
            )
        if self.issuer_path and (not self.issuer_path.startswith("/") or self.issuer_path.endswith("/")):
            raise ValueError("issuer_path must start with '/' and not end with one, e.g. '/tenant1'")

    def replace(self, **changes: object) -> DemoConfig:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def has(self, fault: str) -> bool:
        return fault in self.faults
