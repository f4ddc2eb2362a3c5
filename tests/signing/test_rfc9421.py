"""Web Bot Auth signatures (RFC 9421), checked against published test vectors and an independent verifier.

The vectors: RFC 9421 Appendix B.2.6 (Ed25519 over a POST request, key B.1.4), and the
Ed25519 vectors of draft-ietf-webbotauth-httpsig-protocol (a signed request with a
``Signature-Agent`` Dictionary member, and a signed directory response). Ed25519 is
deterministic, so reproducing a vector means byte equality, not only verification.
"""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from signing_verifier import Invalid, directory_keys, thumbprint, verify

from agentfetch.errors import UsageError
from agentfetch.rfc9421 import (
    Component,
    SigningKey,
    WebBotAuthSigner,
    component_value,
    content_digest,
    directory_body,
    directory_document,
    directory_response_headers,
    signature_base,
    signature_params,
)

# RFC 9421 Appendix B.1.4, test-key-ed25519, as a JWK.
RFC_KEY = {"kty": "OKP", "crv": "Ed25519", "d": "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU",
           "x": "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}
RFC_PUBLIC = {k: v for k, v in RFC_KEY.items() if k != "d"}

B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
B26_HEADERS = {"Host": "example.com", "Date": "Tue, 20 Apr 2021 02:07:55 GMT", "Content-Type": "application/json",
               "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLv"
                                 "RwEmTHWXvJwew==:", "Content-Length": "18"}
B26_URL = "https://example.com/foo?param=Value&Pet=dog"

WBA_NONCE = "n9p433xm+NJ3ph3upfBIGmsuwHw387YV7Q/F+6BSpGCVjYCqQw6rznNA8PVVLySrAWsv0hQtFioQb6E1YsauiA=="
WBA_SIGNATURE = "sig2=:RdNFx5Bj6au3YgAMQL/RzmUlZE8QZLIaXGRpw985hWnwPfMxT228NMk6ehRS1PSl4e8PhbNZACSanGdhEwYCCg==:"
RFC_KEYID = "poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U"


def test_the_rfc_key_is_the_published_one() -> None:
    key = SigningKey.from_jwk(RFC_KEY)
    assert key.public_jwk == RFC_PUBLIC
    assert key.thumbprint == thumbprint(RFC_PUBLIC) == RFC_KEYID


def test_rfc8037_appendix_a3_thumbprint() -> None:
    # RFC 8037 A.3 gives the thumbprint of its A.2 public key.
    public = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint(public) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    key = SigningKey.from_jwk({**public, "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"})
    assert key.thumbprint == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_rfc9421_b26_signature_base_and_signature() -> None:
    covered = [Component(n) for n in ("date", "@method", "@path", "@authority", "content-type", "content-length")]
    params = signature_params(covered, [("created", 1618884473), ("keyid", "test-key-ed25519")])
    values = [(c, component_value(c, method="POST", url=B26_URL, headers=B26_HEADERS)) for c in covered]
    base = signature_base(values, params)
    assert base.decode() == B26_BASE
    signature = SigningKey.from_jwk(RFC_KEY).sign(base)
    assert base64.b64encode(signature).decode() == B26_SIGNATURE
    # And the independent verifier accepts the RFC's own headers.
    headers = {**B26_HEADERS, "Signature-Input": f"sig-b26={params}", "Signature": f"sig-b26=:{B26_SIGNATURE}:"}
    verify(method="POST", url=B26_URL, headers=headers, public_jwk=RFC_PUBLIC, label="sig-b26")


def test_web_bot_auth_vector_is_reproduced() -> None:
    signer = WebBotAuthSigner(SigningKey.from_jwk(RFC_KEY), "https://signature-agent.test", label="sig2",
                              agent_key="agent2")
    headers = signer.headers("GET", "https://example.com/", now=1735689600, expires=4889289600, nonce=WBA_NONCE)
    assert headers["Signature-Agent"] == 'agent2="https://signature-agent.test"'
    assert headers["Signature-Input"] == (
        'sig2=("@authority" "signature-agent";key="agent2");created=1735689600'
        f';keyid="{RFC_KEYID}";alg="ed25519";expires=4889289600;nonce="{WBA_NONCE}";tag="web-bot-auth"')
    assert headers["Signature"] == WBA_SIGNATURE
    checked = verify(method="GET", url="https://example.com/", headers=headers, public_jwk=RFC_PUBLIC, label="sig2")
    assert checked.covered == ['"@authority"', '"signature-agent";key="agent2"']


def test_signed_directory_response_vector_is_reproduced() -> None:
    key = SigningKey.from_jwk(RFC_KEY)
    body = directory_body([key])
    assert body == (b'{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"poqkLGiymh_W0uP6PZFw-dvez3QJT5SolqXBCW38r0U",'
                    b'"x":"JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs","use":"sig"}]}')
    headers = directory_response_headers(body, [key], authority="signature-agent.test", created=1735689600,
                                         expires=4889289600)
    assert headers["Content-Type"] == "application/http-message-signatures-directory+json"
    assert headers["Content-Digest"] == "sha-256=:CADMT2aBdV/rqQr/NIru64ERQkCobVvllA4V0fLFDu0=:"
    assert headers["Signature-Input"] == (
        'binding=("@authority";req "content-digest");created=1735689600;expires=4889289600'
        f';keyid="{RFC_KEYID}";tag="http-message-signatures-directory"')
    assert headers["Signature"] == (
        "binding=:l6P8R67tm3kujAxbHWio7ll01qrEZ0dKD/WWlGhNYEmTnFZM8Wt0VQ9zqGfvo7T/UMkBxsigzChM1Gpz7gOVBg==:")


def test_a_fresh_key_signs_requests_the_verifier_accepts() -> None:
    key = SigningKey.generate()
    signer = WebBotAuthSigner(key, "https://agent.example")
    request = httpx.Request("GET", "https://docs.example.com:8443/page?q=1")
    signer.sign(request)
    headers = dict(request.headers)
    now = int(time.time())
    checked = verify(method="GET", url=str(request.url), headers=headers, public_jwk=key.public_jwk, label="sig1",
                     now=now)
    assert checked.keyid == thumbprint(key.public_jwk) == key.thumbprint
    assert checked.params["tag"] == "web-bot-auth"
    assert 0 < checked.params["expires"] - checked.params["created"] <= 300
    assert headers["signature-agent"] == 'sig1="https://agent.example"'
    # A nonce per request (RFC 9421 §7.2.2): two signatures of the same request differ.
    again = signer.headers("GET", str(request.url))
    assert again["Signature-Input"] != headers["signature-input"]


def test_the_verifier_rejects_tampering() -> None:
    key = SigningKey.generate()
    headers = WebBotAuthSigner(key, "https://agent.example").headers("GET", "https://a.example/")
    # Another authority: the signature covers @authority.
    with pytest.raises(Invalid):
        verify(method="GET", url="https://b.example/", headers=headers, public_jwk=key.public_jwk, label="sig1")
    # Another agent URL: the Signature-Agent member is covered.
    forged = {**headers, "Signature-Agent": 'sig1="https://evil.example"'}
    with pytest.raises(Invalid):
        verify(method="GET", url="https://a.example/", headers=forged, public_jwk=key.public_jwk, label="sig1")
    # Another key.
    with pytest.raises(Invalid):
        verify(method="GET", url="https://a.example/", headers=headers, public_jwk=SigningKey.generate().public_jwk,
               label="sig1")
    # Expired.
    old = WebBotAuthSigner(key, "https://agent.example").headers("GET", "https://a.example/", now=1000)
    with pytest.raises(Invalid, match="expired"):
        verify(method="GET", url="https://a.example/", headers=old, public_jwk=key.public_jwk, label="sig1",
               now=int(time.time()))


def test_the_directory_lists_each_key_with_its_thumbprint_and_no_private_part() -> None:
    keys = [SigningKey.generate(), SigningKey.generate()]
    document = directory_document(keys)
    assert [k["kid"] for k in document["keys"]] == [k.thumbprint for k in keys]
    body = directory_body(keys)
    assert all("d" not in k for k in directory_keys(body))
    for key in keys:
        assert json.loads(key.to_secret())["d"] not in body.decode()
    headers = directory_response_headers(body, keys, authority="agent.example")
    assert headers["Content-Digest"] == content_digest(body)
    assert headers["Signature-Input"].startswith("binding=(") and ", binding2=(" in headers["Signature-Input"]


def test_keys_round_trip_and_bad_input_is_a_usage_error() -> None:
    key = SigningKey.generate()
    assert SigningKey.from_secret(key.to_secret()).thumbprint == key.thumbprint
    assert json.loads(key.to_secret())["d"] not in repr(key)
    for bad in ("{}", "[]", "nope", json.dumps({**RFC_KEY, "x": RFC_PUBLIC["x"][:-2] + "AA"}),
                json.dumps({"kty": "EC", "crv": "P-256", "d": "x"})):
        with pytest.raises(UsageError):
            SigningKey.from_secret(bad)
    with pytest.raises(UsageError, match="https"):
        WebBotAuthSigner(key, "http://agent.example")
    WebBotAuthSigner(key, "http://127.0.0.1:8080")  # loopback, for local tests
    with pytest.raises(UsageError):
        WebBotAuthSigner(key, "https://agent.example", label="Bad Label")
