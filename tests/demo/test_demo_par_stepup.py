"""The demo's RFC 9126 (pushed authorization requests) and RFC 9470 (step-up authentication) knobs."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import httpx

from agentfetch.demo import DemoConfig
from agentfetch.demo.useragent import walk
from agentfetch.oauth.challenge import find_bearer
from agentfetch.oauth.rfc9449 import DPoPKey


def _push(oauth, client_id: str, headers: dict[str, str] | None = None, **kwargs) -> tuple[object, httpx.Response]:
    request = oauth.authorization(client_id, **kwargs)
    answer = oauth.http.post(oauth.server.endpoint("par"), data=request.params, headers=headers or {})
    return request, answer


def _front(oauth, client_id: str, request_uri: str) -> str:
    return f"{oauth.server.endpoint('authorize')}?{urlencode({'client_id': client_id, 'request_uri': request_uri})}"


def test_par_off_by_default(demo, oauth):
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert "pushed_authorization_request_endpoint" not in doc
    assert httpx.post(demo.endpoint("par"), data={}).status_code == 404


def test_a_pushed_request_then_the_browser_with_request_uri_only(demo, oauth, loopback):
    demo.reconfigure(par=True)
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert doc["pushed_authorization_request_endpoint"] == demo.endpoint("par")
    assert "require_pushed_authorization_requests" not in doc
    client_id = oauth.register()["client_id"]
    request, answer = _push(oauth, client_id)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["request_uri"].startswith("urn:ietf:params:oauth:request_uri:") and body["expires_in"] == 60
    walk(_front(oauth, client_id, body["request_uri"]))
    callback = loopback.last
    assert callback["state"] == request.state and callback["iss"] == demo.issuer
    tokens = oauth.exchange(client_id, request, callback["code"])  # the pushed PKCE challenge holds
    assert tokens.status_code == 200, tokens.text
    # A request_uri is good once.
    again = httpx.get(_front(oauth, client_id, body["request_uri"]))
    assert again.status_code == 400 and "unknown, used or expired" in again.text


def test_a_request_uri_belongs_to_its_client(demo, oauth):
    demo.reconfigure(par=True)
    first, second = oauth.register()["client_id"], oauth.register()["client_id"]
    _, answer = _push(oauth, first)
    assert httpx.get(_front(oauth, second, answer.json()["request_uri"])).status_code == 400


def test_pushed_requests_are_validated_like_authorization_requests(demo, oauth):
    demo.reconfigure(par=True)
    client_id = oauth.register()["client_id"]
    _, bad_redirect = _push(oauth, client_id, redirect_uri="http://evil.example/cb")
    assert bad_redirect.status_code == 400 and bad_redirect.json()["error"] == "invalid_request"
    _, no_pkce = _push(oauth, client_id, code_challenge=None)
    assert no_pkce.status_code == 400 and no_pkce.json()["error"] == "invalid_request"
    _, with_uri = _push(oauth, client_id, request_uri="urn:x")
    assert with_uri.status_code == 400
    unknown = oauth.http.post(demo.endpoint("par"), data={"client_id": "nobody", "response_type": "code"})
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"


def test_par_required_refuses_the_front_channel(demo, oauth):
    demo.reconfigure(par_required=True)
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert doc["require_pushed_authorization_requests"] is True and doc["pushed_authorization_request_endpoint"]
    client_id = oauth.register()["client_id"]
    front = httpx.get(oauth.authorization(client_id).url)
    assert front.status_code == 400 and "pushed authorization requests" in front.text


def test_a_push_with_a_dpop_proof_binds_the_code(demo, oauth, loopback):
    demo.reconfigure(par=True, dpop=True)
    key = DPoPKey.generate()
    client_id = oauth.register()["client_id"]
    request, answer = _push(oauth, client_id, headers={"DPoP": key.proof("POST", demo.endpoint("par"))})
    walk(_front(oauth, client_id, answer.json()["request_uri"]))
    form = {"grant_type": "authorization_code", "code": loopback.last["code"], "redirect_uri": request.redirect_uri,
            "client_id": client_id, "code_verifier": request.verifier, "resource": request.params["resource"]}
    other = DPoPKey.generate().proof("POST", demo.endpoint("token"))
    assert oauth.http.post(demo.endpoint("token"), data=form, headers={"DPoP": other}).json()["error"] == \
        "invalid_dpop_proof"


# -- RFC 9470 step-up -----------------------------------------------------------------------------------


def test_step_up_to_a_stronger_sign_in(demo, oauth, loopback):
    demo.reconfigure(step_up_paths=("/pages/api",))
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert "urn:acme:acr:mfa" in doc["acr_values_supported"]
    client_id = oauth.register()["client_id"]
    weak = oauth.tokens(client_id)["access_token"]
    assert oauth.get("/pages/getting-started", weak).status_code == 200  # other pages need nothing more
    refused = oauth.get("/pages/api", weak)
    assert refused.status_code == 401
    challenge = find_bearer(refused.headers.get_list("www-authenticate"))
    assert challenge.insufficient_user_authentication and challenge.acr_values == ("urn:acme:acr:mfa",)
    # Asking again with acr_values: the user signs in again with the one-time code.
    before = demo.count("/oauth/mfa")
    strong = oauth.tokens(client_id, acr_values="urn:acme:acr:mfa")["access_token"]
    assert demo.count("/oauth/mfa") == before + 2  # the page, then the code posted
    assert oauth.get("/pages/api", strong).status_code == 200


def test_step_up_for_a_recent_sign_in(demo, oauth):
    demo.reconfigure(step_up_paths=("/pages/api",), step_up_acr=None, step_up_max_age=60)
    client_id = oauth.register()["client_id"]
    token = oauth.tokens(client_id)["access_token"]
    assert oauth.get("/pages/api", token).status_code == 200
    with demo.app.state.lock:  # the sign-in behind this token happened two minutes ago
        for record in demo.app.state.access.values():
            record.auth_time = time.time() - 120
    refused = oauth.get("/pages/api", token)
    challenge = find_bearer(refused.headers.get_list("www-authenticate"))
    assert refused.status_code == 401 and challenge.max_age == 60 and challenge.acr_values == ()


def test_max_age_forces_a_new_login(demo, oauth):
    client_id = oauth.register()["client_id"]
    with httpx.Client() as session:
        _max_age_checks(demo, oauth, session, client_id)


def _max_age_checks(demo, oauth, session: httpx.Client, client_id: str) -> None:
    login = session.get(demo.endpoint("login"))
    csrf = session.cookies["demo_csrf"]
    assert session.post(demo.endpoint("login"), data={"username": "alice", "password": "wonderland",
                                                      "csrf": csrf}).status_code == 302
    with demo.app.state.lock:
        for sign_in in demo.app.state.sign_ins.values():
            sign_in.auth_time = time.time() - 120
    assert login.status_code == 200
    fresh = session.get(oauth.authorization(client_id, max_age="300").url)
    assert "/oauth/consent" in fresh.headers["location"]
    stale = session.get(oauth.authorization(client_id, max_age="60").url)
    assert "/oauth/login" in stale.headers["location"]
    bad = session.get(oauth.authorization(client_id, max_age="soon").url)
    assert "error=invalid_request" in bad.headers["location"]


def test_step_up_knobs_are_checked():
    import pytest

    with pytest.raises(ValueError):
        DemoConfig(step_up_paths=("pages",))
    with pytest.raises(ValueError):
        DemoConfig(step_up_paths=("/pages",), step_up_acr=None)
    assert DemoConfig(par_required=True).par and DemoConfig(dpop_nonce=True).dpop
