"""OAuth 2.0 Demonstrating Proof of Possession (DPoP): RFC 9449, the client side.

A DPoP-bound access token is useless without the private key it is bound to:
every request that uses it carries a fresh proof JWT signed with that key
(§4). This module makes the key, the proofs and reads the server's nonce
demands; the flow decides when to use them. joserfc is imported lazily.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from .._urls import shorten
from ..errors import AuthorizationError, SecurityError
from ._http import json_body
from .challenge import MalformedChallenge, OAuthChallenge, find_challenges

__all__ = [
    "DPOP_SCHEME",
    "PROOF_TYPE",
    "SUPPORTED_ALGS",
    "DPoPError",
    "DPoPKey",
    "NonceCache",
    "access_token_hash",
    "authorization_header",
    "choose_alg",
    "htu",
    "is_nonce_error",
    "nonce_from_response",
    "token_type_for",
]

#: The authorization scheme for DPoP-bound tokens (§7.1); compared case-insensitively.
DPOP_SCHEME = "DPoP"
#: §4.2: the proof's ``typ`` header.
PROOF_TYPE = "dpop+jwt"
#: Algorithms we can sign with, in order of preference when the server lists several (§5.1:
#: ``dpop_signing_alg_values_supported``). ES256 first: it is what every DPoP server supports.
SUPPORTED_ALGS = ("ES256", "ES384", "ES512", "Ed25519", "PS256", "RS256", "EdDSA")
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
#: §8.1: ``nonce = 1*NQCHAR``, NQCHAR = %x21 / %x23-5B / %x5D-7E.
_NONCE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,512}")


class DPoPError(AuthorizationError):
    """A DPoP exchange that cannot go on: a bad key record, a refused downgrade."""

    kind = "dpop"


def choose_alg(server_algs: Iterable[str]) -> str | None:
    """The algorithm to sign proofs with, or None when we support none the server lists."""
    offered = set(server_algs)
    return next((alg for alg in SUPPORTED_ALGS if alg in offered), None)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(access_token: str) -> str:
    """§4.2 ``ath``: base64url of the SHA-256 of the ASCII access token."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def htu(url: str) -> str:
    """§4.2 ``htu``: the target URI without query and fragment, normalised as RFC 3986 §6.2.2
    and §6.2.3 say servers compare it (lower-case scheme and host, no default port, ``/`` path)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))


def authorization_header(access_token: str) -> str:
    """§7.1: a DPoP-bound token goes in ``Authorization: DPoP``, never ``Bearer``."""
    return f"{DPOP_SCHEME} {access_token}"


class DPoPKey:
    """One DPoP key pair (§2: per issuer and client), and the proofs signed with it.

    The private key leaves this object only through :meth:`to_secret`, for the
    credential store. ``repr`` shows the thumbprint, never key material.
    """

    def __init__(self, key: Any, alg: str) -> None:
        self._key = key
        self.alg = alg

    @classmethod
    def generate(cls, alg: str = "ES256") -> DPoPKey:
        from joserfc.jwk import ECKey, OKPKey, RSAKey

        if alg in _CURVES:
            return cls(ECKey.generate_key(_CURVES[alg]), alg)
        if alg in ("Ed25519", "EdDSA"):
            return cls(OKPKey.generate_key("Ed25519"), alg)
        if alg in ("PS256", "RS256"):
            return cls(RSAKey.generate_key(2048), alg)
        raise DPoPError(f"unsupported DPoP algorithm {shorten(alg, 40)!r}; supported: {', '.join(SUPPORTED_ALGS)}")

    @classmethod
    def from_secret(cls, text: str) -> DPoPKey:
        """The key from :meth:`to_secret`'s text. A damaged record is a :class:`DPoPError`."""
        from joserfc.errors import JoseError
        from joserfc.jwk import JWKRegistry

        try:
            record = json.loads(text)
            alg, jwk = record["alg"], record["jwk"]
            if alg not in SUPPORTED_ALGS or not isinstance(jwk, dict) or "d" not in jwk:
                raise ValueError("not a private DPoP key")
            key = JWKRegistry.import_key(jwk)
        except (ValueError, KeyError, TypeError, JoseError):
            raise DPoPError("the stored DPoP key is damaged; sign in again to make a new one") from None
        return cls(key, alg)

    def to_secret(self) -> str:
        """The private key as JSON, for the credential store's secret vault only."""
        return json.dumps({"alg": self.alg, "jwk": self._key.as_dict(private=True)}, separators=(",", ":"))

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public key as a JWK with only its required members (RFC 7638 §3.2)."""
        public = self._key.as_dict(private=False)
        return {k: public[k] for k in ("kty", "crv", "x", "y", "n", "e") if k in public}

    @property
    def thumbprint(self) -> str:
        """RFC 7638 JWK SHA-256 thumbprint: the ``jkt`` a bound token's ``cnf`` names (§6.1)
        and the ``dpop_jkt`` authorization parameter (§10)."""
        return str(self._key.thumbprint())

    def proof(self, method: str, url: str, *, access_token: str | None = None, nonce: str | None = None,
              now: float | None = None) -> str:
        """A fresh proof JWT for one request (§4.2). ``jti`` is 192 random bits, new every call."""
        from joserfc import jwt

        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(24),
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(now if now is not None else time.time()),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": PROOF_TYPE, "alg": self.alg, "jwk": self.public_jwk}
        return jwt.encode(header, claims, self._key, algorithms=[self.alg])

    def __repr__(self) -> str:
        return f"DPoPKey(alg={self.alg!r}, jkt={self.thumbprint!r})"


def nonce_from_response(response: httpx.Response) -> str | None:
    """The ``DPoP-Nonce`` header (§8.1, §9), or None when absent or not a valid nonce."""
    value = response.headers.get("DPoP-Nonce", "").strip()
    return value if _NONCE.fullmatch(value) else None


def _dpop_challenge(response: httpx.Response) -> OAuthChallenge | None:
    try:
        found = find_challenges(response.headers.get_list("www-authenticate"), schemes=("dpop",))
    except MalformedChallenge:
        return None
    return found[0] if found else None


def is_nonce_error(response: httpx.Response) -> bool:
    """Does ``response`` ask for a retry with the server's nonce?

    From an authorization server: ``400`` with ``error: use_dpop_nonce`` (§8). From a resource
    server: ``401`` with ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` (§9). Either way only
    when a usable ``DPoP-Nonce`` header came with it: without one a retry could not differ.
    """
    if nonce_from_response(response) is None:
        return False
    if response.status_code == 400:
        body = json_body(response)
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"
    if response.status_code == 401:
        challenge = _dpop_challenge(response)
        return challenge is not None and challenge.error == "use_dpop_nonce"
    return False


class NonceCache:
    """The last nonce each server gave (§8.2: a server may send a new one on any response).

    Keyed by origin: an authorization server's token, PAR and revocation endpoints share
    one nonce, as do a resource server's URLs. Safe to share between threads.
    """

    def __init__(self) -> None:
        self._nonces: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(url: str) -> tuple[str, str]:
        parts = urlsplit(htu(url))
        return parts.scheme, parts.netloc

    def get(self, url: str) -> str | None:
        with self._lock:
            return self._nonces.get(self._key(url))

    def remember(self, url: str, response: httpx.Response) -> str | None:
        """Keep the nonce ``response`` carries, if any; returns it."""
        nonce = nonce_from_response(response)
        if nonce is not None:
            with self._lock:
                self._nonces[self._key(url)] = nonce
        return nonce


def token_type_for(body: Mapping[str, Any], *, proof_sent: bool, bearer_allowed: bool, issuer: str) -> str:
    """The token type to use for a token endpoint answer: ``"DPoP"`` or ``"Bearer"``.

    §5: a server that binds answers ``token_type: DPoP``. One that does not bind answers
    ``Bearer``; that is fine, unless the client registered ``dpop_bound_access_tokens``
    (§5.2), in which case a bearer token is a downgrade and is refused. ``DPoP`` for a
    request that sent no proof cannot be used at all.
    """
    token_type = body.get("token_type")
    kind = token_type.lower() if isinstance(token_type, str) else ""
    if kind == "dpop":
        if not proof_sent:
            raise DPoPError(f"{shorten(issuer)} issued a DPoP-bound token to a request without a DPoP proof")
        return DPOP_SCHEME
    if kind == "bearer":
        if proof_sent and not bearer_allowed:
            raise SecurityError(
                f"{shorten(issuer)} answered a DPoP request with a bearer token although this client requires "
                "DPoP-bound tokens (dpop_bound_access_tokens, RFC 9449 §5.2); refusing it"
            )
        return "Bearer"
    raise AuthorizationError(
        f"token endpoint returned token_type {shorten(str(token_type), 40)!r}; only Bearer and DPoP are supported"
    )

