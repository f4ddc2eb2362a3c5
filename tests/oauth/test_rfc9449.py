"""DPoP proofs and nonce handling (RFC 9449), checked against the RFC's rules with joserfc's verifier."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest

from agentfetch.errors import AuthorizationError, SecurityError
from agentfetch.oauth.rfc9449 import (
    DPoPError,
    DPoPKey,
    NonceCache,
    access_token_hash,
    authorization_header,
    choose_alg,
    htu,
    is_nonce_error,
    nonce_from_response,
    token_type_for,
)


def _decode(proof: str) -> tuple[dict, dict]:
    """Verify a proof the way §4.3 tells a server to: the signature with the embedded ``jwk``."""
    from joserfc import jwt
    from joserfc.jwk import JWKRegistry
    from joserfc.jws import JWSRegistry

    header = json.loads(base64.urlsafe_b64decode(proof.split(".")[0] + "=="))
    key = JWKRegistry.import_key(header["jwk"])
    registry = JWSRegistry(algorithms=[header["alg"]])
    registry.max_header_length = 4096  # an RSA jwk header is larger than joserfc's default cap
    decoded = jwt.decode(proof, key, algorithms=[header["alg"]], registry=registry)
    return dict(decoded.header), dict(decoded.claims)


@pytest.mark.parametrize("alg", ["ES256", "ES384", "Ed25519", "PS256"])
def test_a_proof_carries_what_section_4_2_requires(alg: str) -> None:
    key = DPoPKey.generate(alg)
    proof = key.proof("post", "https://AS.example:443/token?x=1#frag", nonce="n-1", now=1_700_000_000)
    header, claims = _decode(proof)
    assert header["typ"] == "dpop+jwt" and header["alg"] == alg
    assert "d" not in header["jwk"] and "p" not in header["jwk"]  # public key only
    assert claims["htm"] == "POST"
    assert claims["htu"] == "https://as.example/token"  # no query, no fragment, no default port
    assert claims["iat"] == 1_700_000_000 and claims["nonce"] == "n-1"
    assert "ath" not in claims and len(claims["jti"]) >= 32


def test_ath_is_the_sha256_of_the_access_token() -> None:
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"  # RFC 9449 §7.1's example token
    _, claims = _decode(DPoPKey.generate().proof("GET", "https://rs.example/r", access_token=token))
    expected = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()
    assert claims["ath"] == expected == access_token_hash(token)
    # The value RFC 9449 §7.1 prints for that token.
    assert expected == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_jti_is_never_reused() -> None:
    key = DPoPKey.generate()
    jtis = {_decode(key.proof("GET", "https://rs.example/r", now=1))[1]["jti"] for _ in range(300)}
    assert len(jtis) == 300


def test_the_thumbprint_is_rfc7638_over_the_public_jwk() -> None:
    key = DPoPKey.generate()
    jwk = key.public_jwk
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert key.thumbprint == expected


def test_the_key_survives_the_credential_store_and_hides_in_repr() -> None:
    key = DPoPKey.generate()
    secret = key.to_secret()
    again = DPoPKey.from_secret(secret)
    assert again.thumbprint == key.thumbprint and again.alg == "ES256"
    _decode(again.proof("GET", "https://rs.example/"))
    private_d = json.loads(secret)["jwk"]["d"]
    assert private_d not in repr(key) and key.thumbprint in repr(key)


@pytest.mark.parametrize("text", ["", "{}", '{"alg":"ES256","jwk":{"kty":"EC"}}', '{"alg":"HS256","jwk":{"d":"x"}}',
                                  json.dumps({"alg": "ES256", "jwk": DPoPKey.generate().public_jwk})])
def test_a_damaged_stored_key_is_a_clear_error(text: str) -> None:
    with pytest.raises(DPoPError, match="damaged"):
        DPoPKey.from_secret(text)


def test_alg_choice_follows_the_servers_list() -> None:
    assert choose_alg(["RS256", "ES256", "PS256"]) == "ES256"
    assert choose_alg(["PS256", "RS256"]) == "PS256"
    assert choose_alg(["HS256", "none"]) is None
    assert choose_alg([]) is None
    with pytest.raises(DPoPError):
        DPoPKey.generate("HS256")


def test_htu_normalisation() -> None:
    assert htu("HTTP://Example.COM:80") == "http://example.com/"
    assert htu("http://127.0.0.1:8080/a/b?c=d") == "http://127.0.0.1:8080/a/b"
    assert htu("https://[::1]:8443/x#y") == "https://[::1]:8443/x"


def test_authorization_header_uses_the_dpop_scheme() -> None:
    assert authorization_header("abc") == "DPoP abc"


def _response(status: int, *, headers: dict[str, str] | None = None, body: object = None) -> httpx.Response:
    return httpx.Response(status, headers=headers or {}, json=body)


def test_use_dpop_nonce_from_an_authorization_server() -> None:
    answer = _response(400, headers={"DPoP-Nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v"},
                       body={"error": "use_dpop_nonce", "error_description": "Authorization server requires nonce"})
    assert is_nonce_error(answer) and nonce_from_response(answer) == "eyJ7S_zG.eyJH0-Z.HX4w-7v"
    # Another 400, or the error without a nonce to use, is not a nonce demand.
    assert not is_nonce_error(_response(400, body={"error": "invalid_grant"}, headers={"DPoP-Nonce": "n"}))
    assert not is_nonce_error(_response(400, body={"error": "use_dpop_nonce"}))


def test_use_dpop_nonce_from_a_resource_server() -> None:
    answer = _response(401, headers={
        "WWW-Authenticate": 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
        "DPoP-Nonce": "eyJ7S_zG.eyJbYu3.xQmBj-1",
    })
    assert is_nonce_error(answer)
    # A Bearer challenge with that error, or a DPoP one with another error, is not.
    assert not is_nonce_error(_response(401, headers={"WWW-Authenticate": 'Bearer error="use_dpop_nonce"',
                                                      "DPoP-Nonce": "n"}))
    assert not is_nonce_error(_response(401, headers={"WWW-Authenticate": 'DPoP error="invalid_token"',
                                                      "DPoP-Nonce": "n"}))
    assert not is_nonce_error(_response(401, headers={"WWW-Authenticate": 'DPoP error="use_dpop_nonce',
                                                      "DPoP-Nonce": "n"}))  # malformed header


def test_a_nonce_with_characters_outside_nqchar_is_ignored() -> None:
    assert nonce_from_response(_response(200, headers={"DPoP-Nonce": 'a"b'})) is None
    assert nonce_from_response(_response(200, headers={"DPoP-Nonce": "a b"})) is None
    assert nonce_from_response(_response(200)) is None


def test_nonces_are_remembered_per_server() -> None:
    cache = NonceCache()
    assert cache.get("https://as.example/token") is None
    cache.remember("https://as.example/token", _response(200, headers={"DPoP-Nonce": "as-1"}))
    cache.remember("https://rs.example/api", _response(401, headers={"DPoP-Nonce": "rs-1"}))
    assert cache.get("https://as.example/par") == "as-1"  # same server, other endpoint
    assert cache.get("https://rs.example/other") == "rs-1"
    assert cache.get("https://as.example:8443/token") is None
    cache.remember("https://as.example/token", _response(200))  # no nonce: the old one stays
    assert cache.get("https://as.example/token") == "as-1"
    cache.remember("https://as.example/token", _response(200, headers={"DPoP-Nonce": "as-2"}))
    assert cache.get("https://as.example/token") == "as-2"


def test_token_type_rules() -> None:
    issuer = "https://as.example"
    assert token_type_for({"token_type": "DPoP"}, proof_sent=True, bearer_allowed=False, issuer=issuer) == "DPoP"
    assert token_type_for({"token_type": "dpop"}, proof_sent=True, bearer_allowed=True, issuer=issuer) == "DPoP"
    # A server that does not bind may answer Bearer, unless DPoP-bound tokens were required.
    assert token_type_for({"token_type": "Bearer"}, proof_sent=True, bearer_allowed=True, issuer=issuer) == "Bearer"
    assert token_type_for({"token_type": "bearer"}, proof_sent=False, bearer_allowed=False, issuer=issuer) == "Bearer"
    with pytest.raises(SecurityError, match="dpop_bound_access_tokens"):
        token_type_for({"token_type": "Bearer"}, proof_sent=True, bearer_allowed=False, issuer=issuer)
    with pytest.raises(DPoPError):
        token_type_for({"token_type": "DPoP"}, proof_sent=False, bearer_allowed=True, issuer=issuer)
    with pytest.raises(AuthorizationError, match="only Bearer and DPoP"):
        token_type_for({"token_type": "mac"}, proof_sent=True, bearer_allowed=True, issuer=issuer)
