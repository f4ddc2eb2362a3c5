"""The demo's DPoP knobs (RFC 9449): bound tokens, proof checks at the token endpoint and the resource,
replay and nonces. The proofs come from agentfetch's client-side maker; the demo checks them with
its own verifier written from §4.3, and the demo's checks are what these tests pin down."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from agentfetch.oauth.challenge import find_challenges
from agentfetch.oauth.rfc9449 import DPoPKey


def _claims(jwt: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))


def _token_request(oauth, form: dict[str, str], key: DPoPKey | None, *, nonce: str | None = None,
                   proof: str | None = None) -> httpx.Response:
    url = oauth.server.endpoint("token")
    headers = {}
    if proof is not None or key is not None:
        headers["DPoP"] = proof or key.proof("POST", url, nonce=nonce)
    return oauth.http.post(url, data={k: v for k, v in form.items() if v is not None}, headers=headers)


def _code_form(client_id: str, request, code: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri,
            "client_id": client_id, "code_verifier": request.verifier, "resource": request.params["resource"]}


def _bound_tokens(oauth, key: DPoPKey, **kwargs: Any) -> dict[str, Any]:
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id, **kwargs)
    response = _token_request(oauth, _code_form(client_id, request, code), key)
    assert response.status_code == 200, response.text
    return response.json() | {"client_id": client_id}


def _get(oauth, path: str, token: str, key: DPoPKey | None, *, nonce: str | None = None, scheme: str = "DPoP",
         proof: str | None = None) -> httpx.Response:
    url = oauth.server.origin + path
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None or key is not None:
        headers["DPoP"] = proof or key.proof("GET", url, access_token=token, nonce=nonce)
    return oauth.http.get(url, headers=headers)


def _challenge(response: httpx.Response):
    (challenge,) = find_challenges(response.headers.get_list("www-authenticate"), schemes=("dpop",))
    return challenge


def test_off_by_default(demo, oauth):
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert "dpop_signing_alg_values_supported" not in doc
    # A server that does not do DPoP ignores the proof and issues a bearer token.
    tokens = _bound_tokens(oauth, DPoPKey.generate())
    assert tokens["token_type"] == "Bearer" and "cnf" not in _claims(tokens["access_token"])
    assert httpx.get(demo.origin + "/api/me").headers.get_list("www-authenticate")[0].startswith("Bearer ")


def test_a_proof_binds_the_token_to_the_key(demo, oauth):
    demo.reconfigure(dpop=True)
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert "ES256" in doc["dpop_signing_alg_values_supported"]
    key = DPoPKey.generate()
    tokens = _bound_tokens(oauth, key)
    assert tokens["token_type"] == "DPoP"
    assert _claims(tokens["access_token"])["cnf"] == {"jkt": key.thumbprint}
    me = _get(oauth, "/api/me", tokens["access_token"], key)
    assert me.status_code == 200, me.text
    assert me.json()["auth"] == "dpop" and me.json()["user"] == "alice"
    # Without DPoP required, the unauthenticated challenge offers both schemes, DPoP with algs.
    challenges = find_challenges(httpx.get(demo.origin + "/api/me").headers.get_list("www-authenticate"))
    assert [c.scheme for c in challenges] == ["bearer", "dpop"]
    assert "ES256" in challenges[1].algs and challenges[1].resource_metadata


def test_a_bound_token_is_refused_as_bearer_and_without_a_valid_proof(demo, oauth):
    demo.reconfigure(dpop=True)
    key = DPoPKey.generate()
    token = _bound_tokens(oauth, key)["access_token"]
    url = demo.origin + "/api/me"
    as_bearer = _get(oauth, "/api/me", token, None, scheme="Bearer")
    assert as_bearer.status_code == 401 and "DPoP-bound" in as_bearer.json()["error_description"]
    cases = {
        "no proof": None,
        "another key": DPoPKey.generate().proof("GET", url, access_token=token),
        "another method": key.proof("POST", url, access_token=token),
        "another URL": key.proof("GET", demo.origin + "/api/pages", access_token=token),
        "no ath": key.proof("GET", url),
        "another token's ath": key.proof("GET", url, access_token=token + "x"),
        "old iat": key.proof("GET", url, access_token=token, now=time.time() - 600),
    }
    for name, proof in cases.items():
        headers = {"Authorization": f"DPoP {token}", **({"DPoP": proof} if proof else {})}
        response = oauth.http.get(url, headers=headers)
        assert response.status_code == 401, name
        assert _challenge(response).error in ("invalid_dpop_proof", "invalid_token"), name
    # The query is not part of htu (§4.3): a proof for the path works with any query.
    assert _get(oauth, "/api/me?x=1", token, None, proof=key.proof("GET", url, access_token=token)).status_code == 200


def test_a_replayed_proof_is_rejected(demo, oauth):
    demo.reconfigure(dpop=True)
    key = DPoPKey.generate()
    token = _bound_tokens(oauth, key)["access_token"]
    proof = key.proof("GET", demo.origin + "/api/me", access_token=token)
    assert _get(oauth, "/api/me", token, None, proof=proof).status_code == 200
    replay = _get(oauth, "/api/me", token, None, proof=proof)
    assert replay.status_code == 401
    assert _challenge(replay).error == "invalid_dpop_proof" and "replay" in replay.json()["error_description"]


def test_refresh_needs_a_proof_by_the_same_key(demo, oauth):
    demo.reconfigure(dpop=True)
    key = DPoPKey.generate()
    tokens = _bound_tokens(oauth, key)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tokens["client_id"]}
    for other in (None, DPoPKey.generate()):
        refused = _token_request(oauth, form, other)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    renewed = _token_request(oauth, form, key)
    assert renewed.status_code == 200 and renewed.json()["token_type"] == "DPoP"
    assert _claims(renewed.json()["access_token"])["cnf"]["jkt"] == key.thumbprint
    # Revocation takes a proof too (and does not need one); the bound token stops working.
    revoke = oauth.http.post(demo.endpoint("revoke"), data={"token": renewed.json()["access_token"],
                                                           "client_id": tokens["client_id"]},
                             headers={"DPoP": key.proof("POST", demo.endpoint("revoke"))})
    assert revoke.status_code == 200
    assert _get(oauth, "/api/me", renewed.json()["access_token"], key).status_code == 401


def test_a_replayed_proof_at_the_token_endpoint_is_rejected(demo, oauth):
    demo.reconfigure(dpop=True)
    key = DPoPKey.generate()
    tokens = _bound_tokens(oauth, key)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": tokens["client_id"]}
    proof = key.proof("POST", demo.endpoint("token"))
    assert _token_request(oauth, form, None, proof=proof).status_code == 200
    replay = _token_request(oauth, form, None, proof=proof)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_dpop_proof"


def test_dpop_required(demo, oauth):
    demo.reconfigure(dpop_required=True)
    registered = oauth.register()
    assert registered["dpop_bound_access_tokens"] is True
    request, code = oauth.code(registered["client_id"])
    refused = _token_request(oauth, _code_form(registered["client_id"], request, code), None)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    # Only the DPoP scheme is offered.
    challenges = find_challenges(httpx.get(demo.origin + "/api/me").headers.get_list("www-authenticate"))
    assert [c.scheme for c in challenges] == ["dpop"]


def test_a_client_that_registered_for_bound_tokens_must_send_proofs(demo, oauth):
    demo.reconfigure(dpop=True)
    registered = oauth.register(dpop_bound_access_tokens=True)
    assert registered["dpop_bound_access_tokens"] is True
    request, code = oauth.code(registered["client_id"])
    refused = _token_request(oauth, _code_form(registered["client_id"], request, code), None)
    assert refused.json()["error"] == "invalid_dpop_proof"


def test_nonce_is_demanded_once_by_the_token_endpoint_and_the_resource(demo, oauth):
    demo.reconfigure(dpop_nonce=True)
    key = DPoPKey.generate()
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id)
    form = _code_form(client_id, request, code)
    first = _token_request(oauth, form, key)
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    second = _token_request(oauth, form, key, nonce=nonce)
    assert second.status_code == 200, second.text
    token = second.json()["access_token"]

    demanded = _get(oauth, "/api/me", token, key)
    assert demanded.status_code == 401 and _challenge(demanded).error == "use_dpop_nonce"
    rs_nonce = demanded.headers["DPoP-Nonce"]
    assert rs_nonce != nonce  # each server has its own
    assert _get(oauth, "/api/me", token, key, nonce=rs_nonce).status_code == 200
    assert _get(oauth, "/api/me", token, key, nonce=rs_nonce).status_code == 200  # still valid: demanded once


def test_dpop_jkt_binds_the_code(demo, oauth):
    demo.reconfigure(dpop=True)
    key = DPoPKey.generate()
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id, dpop_jkt=key.thumbprint)
    refused = _token_request(oauth, _code_form(client_id, request, code), DPoPKey.generate())
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    request, code = oauth.code(client_id, dpop_jkt=key.thumbprint)
    assert _token_request(oauth, _code_form(client_id, request, code), key).json()["token_type"] == "DPoP"


@pytest.mark.parametrize("alg", ["ES384", "Ed25519", "PS256"])
def test_other_algorithms(demo, oauth, alg):
    demo.reconfigure(dpop=True)
    key = DPoPKey.generate(alg)
    token = _bound_tokens(oauth, key)["access_token"]
    assert _get(oauth, "/api/me", token, key).status_code == 200
