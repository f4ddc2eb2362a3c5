"""DPoP proof checking as an authorization server and a resource server do it (RFC 9449 §4.3).

Written from the RFC for the demo's server side, separately from the client's
proof maker in ``agentfetch.oauth.rfc9449``, so the tests exercise one against
the other. Replayed ``jti`` values are refused (§11.1), and a server nonce is
demanded when the demo is configured to (§8, §9).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

#: What the demo accepts and advertises (``dpop_signing_alg_values_supported``, ``algs``).
ALGS = ("ES256", "ES384", "Ed25519", "EdDSA", "PS256", "RS256")
#: How far ``iat`` may be from the server's clock (§11.1 leaves the window to the server).
IAT_WINDOW = 60
_MAX_PROOF = 8192


class ProofError(Exception):
    """Why a proof is refused: ``error`` is ``invalid_dpop_proof`` or ``use_dpop_nonce``."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Proof:
    jkt: str
    jti: str


def _b64json(segment: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _normal_url(url: str) -> str:
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


class DPoPVerifier:
    """One per server role (authorization server, resource server): its nonce and its seen ``jti``s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, float] = {}
        self.nonce = secrets.token_urlsafe(16)

    def check(self, proofs: list[str], *, method: str, url: str, access_token: str | None = None,
              require_nonce: bool = False) -> Proof:
        """§4.3's checks, in order; raises :class:`ProofError`."""
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import JWKRegistry
        from joserfc.jws import JWSRegistry

        if len(proofs) != 1:
            raise ProofError("invalid_dpop_proof", "exactly one DPoP header is required")
        proof = proofs[0].strip()
        if len(proof) > _MAX_PROOF or proof.count(".") != 2:
            raise ProofError("invalid_dpop_proof", "the DPoP proof is not a JWT")
        try:
            header = _b64json(proof.split(".")[0])
        except ValueError:
            header = None
        if not isinstance(header, dict):
            raise ProofError("invalid_dpop_proof", "the DPoP proof header is not a JSON object")
        if header.get("typ") != "dpop+jwt":
            raise ProofError("invalid_dpop_proof", "the DPoP proof's typ is not dpop+jwt")
        alg = header.get("alg")
        if alg not in ALGS:
            raise ProofError("invalid_dpop_proof", f"DPoP proof algorithm {alg!r} is not accepted")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or any(k in jwk for k in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ProofError("invalid_dpop_proof", "the DPoP proof's jwk is missing or not a public key")
        try:
            key = JWKRegistry.import_key(jwk)
            registry = JWSRegistry(algorithms=[alg])
            registry.max_header_length = _MAX_PROOF  # an RSA key makes a large header
            claims = dict(jwt.decode(proof, key, algorithms=[alg], registry=registry).claims)
        except (JoseError, ValueError, TypeError):
            raise ProofError("invalid_dpop_proof", "the DPoP proof's signature does not verify") from None
        jti, iat = claims.get("jti"), claims.get("iat")
        if not isinstance(jti, str) or not jti or not isinstance(iat, int):
            raise ProofError("invalid_dpop_proof", "the DPoP proof lacks jti or iat")
        if claims.get("htm") != method:
            raise ProofError("invalid_dpop_proof", "the DPoP proof's htm is not this request's method")
        if not isinstance(claims.get("htu"), str) or _normal_url(claims["htu"]) != _normal_url(url):
            raise ProofError("invalid_dpop_proof", "the DPoP proof's htu is not this request's URL")
        now = time.time()
        if abs(now - iat) > IAT_WINDOW:
            raise ProofError("invalid_dpop_proof", "the DPoP proof's iat is too far from now")
        if access_token is not None:
            from ._authserver import s256

            if claims.get("ath") != s256(access_token):
                raise ProofError("invalid_dpop_proof", "the DPoP proof's ath does not match the access token")
        if require_nonce and claims.get("nonce") != self.nonce:
            raise ProofError("use_dpop_nonce", "this server requires a DPoP nonce")
        with self._lock:
            # §11.1: a jti is accepted once within the window the iat check allows.
            for seen, at in list(self._seen.items()):
                if now - at > 2 * IAT_WINDOW:
                    del self._seen[seen]
            if jti in self._seen:
                raise ProofError("invalid_dpop_proof", "the DPoP proof was already used (jti replay)")
            self._seen[jti] = now
        return Proof(jkt=str(key.thumbprint()), jti=jti)
