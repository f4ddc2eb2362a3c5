"""RFC 7591 dynamic client registration, including the §3.2.2 error answers."""

from __future__ import annotations

import httpx
import pytest

from agentfetch.demo.useragent import walk


def register(demo, **metadata) -> httpx.Response:
    return httpx.post(demo.endpoint("register"), json=metadata)


def test_public_client_registration(demo):
    response = register(demo, client_name="my agent", redirect_uris=["http://127.0.0.1:5000/cb"],
                        grant_types=["authorization_code", "refresh_token"], token_endpoint_auth_method="none")
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_id"] and "client_secret" not in body
    assert body["client_name"] == "my agent"
    assert body["redirect_uris"] == ["http://127.0.0.1:5000/cb"]
    assert body["token_endpoint_auth_method"] == "none"
    assert isinstance(body["client_id_issued_at"], int)
    assert demo.audit[-1]["event"] == "client.registered"


def test_default_auth_method_gets_a_secret(demo):
    # RFC 7591 §2: token_endpoint_auth_method defaults to client_secret_basic.
    body = register(demo, redirect_uris=["http://127.0.0.1:5000/cb"]).json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret"] and body["client_secret_expires_at"] == 0


@pytest.mark.parametrize("uri", [
    "http://example.com/cb",
    "http://127.0.0.1:5000/cb#frag",
    "ftp://127.0.0.1/cb",
    "",
])
def test_bad_redirect_uri(demo, uri):
    response = register(demo, redirect_uris=[uri], token_endpoint_auth_method="none")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert response.json()["error_description"]


def test_redirect_uris_required_for_code_grant(demo):
    response = register(demo, token_endpoint_auth_method="none")
    assert response.status_code == 400 and response.json()["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize("metadata", [
    {"grant_types": ["password"]},
    {"grant_types": "authorization_code"},
    {"response_types": ["token"]},
    {"token_endpoint_auth_method": "private_key_jwt"},
    {"scope": "read delete"},
    {"client_name": 42},
    {"grant_types": ["authorization_code"], "response_types": []},
])
def test_invalid_client_metadata(demo, metadata):
    response = register(demo, redirect_uris=["http://127.0.0.1:5000/cb"], **metadata)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


def test_not_json(demo):
    response = httpx.post(demo.endpoint("register"), content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    response = httpx.post(demo.endpoint("register"), data={"redirect_uris": "x"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"
    response = httpx.post(demo.endpoint("register"), json=["not", "an", "object"])
    assert response.status_code == 400 and response.json()["error"] == "invalid_client_metadata"


def test_register_is_post_only(demo):
    response = httpx.get(demo.endpoint("register"))
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_localhost_and_loopback_ip_switches(demo):
    ip = {"redirect_uris": ["http://127.0.0.1:5000/cb"], "token_endpoint_auth_method": "none"}
    ipv6 = {"redirect_uris": ["http://[::1]:5000/cb"], "token_endpoint_auth_method": "none"}
    name = {"redirect_uris": ["http://localhost:5000/cb"], "token_endpoint_auth_method": "none"}
    assert all(register(demo, **m).status_code == 201 for m in (ip, ipv6, name))
    with demo.configure(faults={"localhost_only_redirect"}):
        assert register(demo, **ip).json()["error"] == "invalid_redirect_uri"
        assert register(demo, **ipv6).status_code == 400
        assert register(demo, **name).status_code == 201
    with demo.configure(faults={"loopback_ip_only_redirect"}):
        assert register(demo, **ip).status_code == 201
        assert register(demo, **name).json()["error"] == "invalid_redirect_uri"


def test_registration_off_leaves_the_preregistered_client(demo, oauth, loopback):
    with demo.configure(registration=False):
        assert register(demo, redirect_uris=["http://127.0.0.1:5000/cb"]).status_code == 404
        client_id = demo.config.preregistered_client_id
        request, code = oauth.code(client_id)
        response = oauth.exchange(client_id, request, code)
        assert response.status_code == 200
        assert oauth.get("/", response.json()["access_token"]).status_code == 200


def test_confidential_client_secret_basic_and_post(demo, oauth):
    for method in ("client_secret_basic", "client_secret_post"):
        client = oauth.register(token_endpoint_auth_method=method)
        request = oauth.authorization(client["client_id"])
        walk(request.url)
        code = oauth.loopback.last["code"]
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri,
                "code_verifier": request.verifier, "resource": demo.resource}
        if method == "client_secret_basic":
            wrong = httpx.post(demo.endpoint("token"), data=data, auth=(client["client_id"], "wrong"))
            assert wrong.status_code == 401
            assert wrong.json()["error"] == "invalid_client"
            assert wrong.headers["www-authenticate"].startswith("Basic")
            # The failed attempt burnt nothing: authentication is checked before the code.
            right = httpx.post(demo.endpoint("token"), data=data, auth=(client["client_id"], client["client_secret"]))
        else:
            right = httpx.post(demo.endpoint("token"), data=data | {
                "client_id": client["client_id"], "client_secret": client["client_secret"]})
        assert right.status_code == 200, right.text
