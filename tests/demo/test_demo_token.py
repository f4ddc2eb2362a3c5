"""The token endpoint (RFC 6749 §4.1.3, §5, §6), RFC 8707 at the token endpoint, RFC 7009 and RFC 8628."""

from __future__ import annotations

import time

import httpx
import pytest

from agentfetch.demo.useragent import walk


def assert_oauth_error(response: httpx.Response, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_code_exchange_answer(oauth, demo):
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id)
    response = oauth.exchange(client_id, request, code)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "read offline_access"
    assert body["refresh_token"]
    entry = [e for e in demo.audit if e.get("event") == "token.issued"][-1]
    assert entry["user"] == "alice" and entry["client_id"] == client_id


def test_no_refresh_token_without_offline_access(oauth):
    tokens = oauth.tokens(scope="read")
    assert "refresh_token" not in tokens


@pytest.mark.parametrize(("override", "error"), [
    ({"code_verifier": "A" * 43}, "invalid_grant"),
    ({"code_verifier": None}, "invalid_request"),
    ({"redirect_uri": "http://127.0.0.1:1/other"}, "invalid_grant"),
    ({"code": "not-a-code"}, "invalid_grant"),
    ({"code": None}, "invalid_request"),
    ({"resource": "https://other.example"}, "invalid_target"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": None}, "invalid_request"),
])
def test_code_exchange_errors(oauth, override, error):
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id)
    assert_oauth_error(oauth.exchange(client_id, request, code, **override), error)


def test_unknown_client_is_invalid_client(oauth):
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id)
    assert_oauth_error(oauth.exchange("who-is-this", request, code), "invalid_client", 401)
    assert_oauth_error(oauth.exchange(None, request, code), "invalid_client", 401)


def test_code_of_another_client_is_invalid_grant(oauth):
    first = oauth.register()["client_id"]
    second = oauth.register()["client_id"]
    request, code = oauth.code(first)
    assert_oauth_error(oauth.exchange(second, request, code), "invalid_grant")


def test_code_reuse_is_refused_and_revokes_the_tokens(oauth):
    client_id = oauth.register()["client_id"]
    request, code = oauth.code(client_id)
    tokens = oauth.exchange(client_id, request, code).json()
    assert oauth.get("/", tokens["access_token"]).status_code == 200
    assert_oauth_error(oauth.exchange(client_id, request, code), "invalid_grant")
    assert oauth.get("/", tokens["access_token"]).status_code == 401
    assert_oauth_error(oauth.refresh(client_id, tokens["refresh_token"]), "invalid_grant")


def test_expired_code(oauth, demo):
    client_id = oauth.register()["client_id"]
    with demo.configure(code_lifetime=0):
        request, code = oauth.code(client_id)
    time.sleep(0.05)
    assert_oauth_error(oauth.exchange(client_id, request, code), "invalid_grant")


def test_token_request_must_be_a_form(oauth, demo):
    response = httpx.post(demo.endpoint("token"), json={"grant_type": "authorization_code"})
    assert_oauth_error(response, "invalid_request")
    response = httpx.post(demo.endpoint("token"), content=b"grant_type=refresh_token&grant_type=password",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_oauth_error(response, "invalid_request")


def test_refresh_rotates_and_old_token_is_rejected(oauth):
    tokens = oauth.tokens()
    client_id = tokens["client_id"]
    first = oauth.refresh(client_id, tokens["refresh_token"])
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["access_token"] != tokens["access_token"]
    assert oauth.get("/", rotated["access_token"]).status_code == 200
    assert_oauth_error(oauth.refresh(client_id, tokens["refresh_token"]), "invalid_grant")
    assert oauth.refresh(client_id, rotated["refresh_token"]).status_code == 200


def test_refresh_checks_client_scope_and_resource(oauth, demo):
    tokens = oauth.tokens()
    client_id, refresh = tokens["client_id"], tokens["refresh_token"]
    other = oauth.register()["client_id"]
    assert_oauth_error(oauth.refresh(other, refresh), "invalid_grant")
    assert_oauth_error(oauth.refresh(client_id, refresh, scope="read admin"), "invalid_scope")
    assert_oauth_error(oauth.refresh(client_id, refresh, resource=demo.api_resource), "invalid_target")
    narrowed = oauth.refresh(client_id, refresh, scope="read", resource=demo.resource)
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "read"


def test_refresh_invalid_grant_fault(oauth, demo):
    tokens = oauth.tokens()
    with demo.configure(faults={"refresh_invalid_grant"}):
        assert_oauth_error(oauth.refresh(tokens["client_id"], tokens["refresh_token"]), "invalid_grant")
    # Policy revoked the grant: the refresh token stays dead afterwards.
    assert_oauth_error(oauth.refresh(tokens["client_id"], tokens["refresh_token"]), "invalid_grant")


def test_opaque_tokens(oauth, demo):
    with demo.configure(faults={"opaque_tokens"}):
        tokens = oauth.tokens()
    assert tokens["access_token"].startswith("oauth:")
    assert tokens["access_token"].count(".") == 0
    me = oauth.get("/api/me", tokens["access_token"]).json()
    assert me["user"] == "alice"


def test_revoke_refresh_token_revokes_the_grant(oauth, demo):
    tokens = oauth.tokens()
    response = httpx.post(demo.endpoint("revoke"), data={
        "token": tokens["refresh_token"], "token_type_hint": "refresh_token", "client_id": tokens["client_id"]})
    assert response.status_code == 200
    assert_oauth_error(oauth.refresh(tokens["client_id"], tokens["refresh_token"]), "invalid_grant")
    assert oauth.get("/", tokens["access_token"]).status_code == 401


def test_revoke_access_token(oauth, demo):
    tokens = oauth.tokens()
    response = httpx.post(demo.endpoint("revoke"), data={"token": tokens["access_token"],
                                                          "client_id": tokens["client_id"]})
    assert response.status_code == 200
    assert oauth.get("/", tokens["access_token"]).status_code == 401
    assert oauth.refresh(tokens["client_id"], tokens["refresh_token"]).status_code == 200


def test_revoke_errors(oauth, demo):
    client_id = oauth.register()["client_id"]
    unknown = httpx.post(demo.endpoint("revoke"), data={"token": "never-issued", "client_id": client_id})
    assert unknown.status_code == 200  # RFC 7009 §2.2
    assert_oauth_error(httpx.post(demo.endpoint("revoke"), data={"client_id": client_id}), "invalid_request")
    assert_oauth_error(httpx.post(demo.endpoint("revoke"), data={"token": "x", "client_id": "nobody"}),
                       "invalid_client", 401)


def test_revoke_by_another_client_does_nothing(oauth, demo):
    tokens = oauth.tokens()
    other = oauth.register()["client_id"]
    httpx.post(demo.endpoint("revoke"), data={"token": tokens["refresh_token"], "client_id": other})
    assert oauth.refresh(tokens["client_id"], tokens["refresh_token"]).status_code == 200


def start_device(demo, client_id: str, scope: str = "read offline_access") -> dict:
    response = httpx.post(demo.endpoint("device_authorization"),
                          data={"client_id": client_id, "scope": scope, "resource": demo.resource})
    assert response.status_code == 200, response.text
    return response.json()


def poll(demo, client_id: str, device_code: str) -> httpx.Response:
    return httpx.post(demo.endpoint("token"), data={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code", "device_code": device_code,
        "client_id": client_id})


@pytest.mark.slow
def test_device_flow(oauth, demo):
    client_id = oauth.register()["client_id"]
    started = start_device(demo, client_id)
    assert started["verification_uri"] == demo.endpoint("device")
    assert started["user_code"] in started["verification_uri_complete"].replace("%2D", "-")
    assert started["interval"] == 1
    assert_oauth_error(poll(demo, client_id, started["device_code"]), "authorization_pending")
    assert_oauth_error(poll(demo, client_id, started["device_code"]), "slow_down")
    final = walk(started["verification_uri_complete"])
    assert final.startswith(demo.issuer)
    time.sleep(started["interval"] + 5)  # slow_down added five seconds (RFC 8628 §3.5)
    tokens = poll(demo, client_id, started["device_code"])
    assert tokens.status_code == 200, tokens.text
    assert oauth.get("/api/me", tokens.json()["access_token"]).json()["user"] == "alice"
    assert "refresh_token" in tokens.json()
    assert_oauth_error(poll(demo, client_id, started["device_code"]), "invalid_grant")


def test_device_flow_typed_code_and_denial(oauth, demo):
    client_id = oauth.register()["client_id"]
    started = start_device(demo, client_id)
    # The person types the code by hand, in lower case without the dash.
    walk(demo.endpoint("device") + "?user_code=" + started["user_code"].replace("-", "").lower(), approve=False)
    time.sleep(started["interval"])
    assert_oauth_error(poll(demo, client_id, started["device_code"]), "access_denied")


def test_device_errors(oauth, demo):
    client_id = oauth.register()["client_id"]
    assert_oauth_error(poll(demo, client_id, "nope"), "invalid_grant")
    response = httpx.post(demo.endpoint("device_authorization"), data={"client_id": client_id, "scope": "read"})
    assert_oauth_error(response, "invalid_request")
    response = httpx.post(demo.endpoint("device_authorization"),
                          data={"client_id": client_id, "scope": "bogus", "resource": demo.resource})
    assert_oauth_error(response, "invalid_scope")
    with demo.configure(device_code_lifetime=0):
        started = start_device(demo, client_id)
    time.sleep(0.05)
    assert_oauth_error(poll(demo, client_id, started["device_code"]), "expired_token")


def test_redirect_uri_may_be_omitted_when_it_was_omitted_before(oauth, demo, loopback):
    client_id = oauth.register(redirect_uris=[loopback.redirect_uri])["client_id"]
    request = oauth.authorization(client_id, redirect_uri=None)
    assert "redirect_uri" not in request.params
    walk(request.url)
    code = loopback.last["code"]
    response = oauth.exchange(client_id, request, code, redirect_uri=None)
    assert response.status_code == 200, response.text


def test_no_refresh_token_for_a_client_not_registered_for_refresh(oauth):
    client_id = oauth.register(grant_types=["authorization_code"])["client_id"]
    tokens = oauth.tokens(client_id, scope="read offline_access")
    assert "refresh_token" not in tokens


def test_revoke_all_helper_removes_one_users_access(oauth, demo):
    alice = oauth.tokens()
    bob = oauth.tokens(user="bob")
    demo.revoke_all(user="bob")
    assert oauth.get("/", bob["access_token"]).status_code == 401
    assert_oauth_error(oauth.refresh(bob["client_id"], bob["refresh_token"]), "invalid_grant")
    assert oauth.get("/", alice["access_token"]).status_code == 200
