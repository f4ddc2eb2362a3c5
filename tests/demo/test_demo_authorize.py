"""The authorization endpoint (RFC 6749 §4.1, RFC 7636, RFC 8707, RFC 9207, RFC 8252 §7.3),
its login and consent pages, and the callback faults."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agentfetch.demo.useragent import walk
from agentfetch.errors import AuthorizationError


def first_hop(url: str) -> httpx.Response:
    return httpx.get(url, follow_redirects=False)


def error_redirect(response: httpx.Response, redirect_uri: str) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(redirect_uri + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_valid_request_goes_to_login_then_consent(oauth, demo):
    client_id = oauth.register()["client_id"]
    request = oauth.authorization(client_id)
    response = first_hop(request.url)
    assert response.status_code == 302
    assert response.headers["location"].startswith(demo.endpoint("login") + "?txn=")
    login = httpx.get(response.headers["location"])
    assert login.status_code == 200
    assert 'type="password"' in login.text and 'name="username"' in login.text


def test_consent_page_names_client_resource_and_scopes(oauth, demo):
    client_id = oauth.register(client_name="Claude via agentfetch")["client_id"]
    request = oauth.authorization(client_id, scope="read offline_access")
    with httpx.Client(follow_redirects=False) as browser:
        login_url = browser.get(request.url).headers["location"]
        login = browser.get(login_url)
        csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
        txn = login.text.split('name="txn" value="')[1].split('"')[0]
        consent_url = browser.post(demo.endpoint("login"), data={
            "username": "alice", "password": "wonderland", "csrf": csrf, "txn": txn}).headers["location"]
        consent = browser.get(consent_url)
    assert consent.status_code == 200
    for text in ("Claude via agentfetch", client_id, demo.resource, "<code>read</code>",
                 "<code>offline_access</code>", 'value="approve"', 'value="deny"', "alice"):
        assert text in consent.text


def test_full_code_flow_callback_has_state_and_iss(oauth, demo, loopback):
    client_id = oauth.register()["client_id"]
    request = oauth.authorization(client_id)
    final = walk(request.url)
    assert final.startswith(loopback.redirect_uri + "?")
    callback = loopback.last
    assert callback["_path"] == "/callback"
    assert callback["state"] == request.state
    assert callback["iss"] == demo.issuer
    assert len(callback["code"]) >= 32


def test_any_loopback_port_is_accepted(oauth, loopback):
    # Registered with one port, redirected to another: RFC 8252 §7.3.
    client_id = oauth.register(redirect_uris=["http://127.0.0.1:1/callback"])["client_id"]
    request, code = oauth.code(client_id)
    assert oauth.exchange(client_id, request, code).status_code == 200


def test_exact_redirect_port_fault(oauth, demo):
    client_id = oauth.register(redirect_uris=["http://127.0.0.1:1/callback"])["client_id"]
    with demo.configure(faults={"exact_redirect_port"}):
        response = first_hop(oauth.authorization(client_id).url)
        assert response.status_code == 400
        assert "location" not in response.headers
        with pytest.raises(AuthorizationError, match="400"):
            walk(oauth.authorization(client_id).url)


def test_unknown_client_and_unregistered_redirect_are_not_redirected(oauth):
    client_id = oauth.register()["client_id"]
    for request in (
        oauth.authorization("no-such-client"),
        oauth.authorization(client_id, redirect_uri="http://127.0.0.1:9/elsewhere"),
        oauth.authorization(client_id, redirect_uri="https://attacker.example/cb"),
    ):
        response = first_hop(request.url)
        assert response.status_code == 400  # RFC 6749 §4.1.2.1: tell the user, never redirect
        assert "location" not in response.headers


@pytest.mark.parametrize(("change", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "read delete_everything"}, "invalid_scope"),
    ({"resource": None}, "invalid_request"),
    ({"resource": "https://other.example/"}, "invalid_target"),
])
def test_authorization_errors_redirect_with_state_and_iss(oauth, demo, change, error):
    client_id = oauth.register()["client_id"]
    request = oauth.authorization(client_id, **change)
    answer = error_redirect(first_hop(request.url), request.redirect_uri)
    assert answer["error"] == error
    assert answer["state"] == request.state
    assert answer["iss"] == demo.issuer
    assert answer["error_description"]


def test_repeated_parameter_is_invalid_request(oauth):
    client_id = oauth.register()["client_id"]
    request = oauth.authorization(client_id)
    answer = error_redirect(first_hop(request.url + "&scope=admin"), request.redirect_uri)
    assert answer["error"] == "invalid_request"


def test_no_s256_fault_accepts_plain(oauth, demo):
    client_id = oauth.register()["client_id"]
    with demo.configure(faults={"no_s256"}):
        request = oauth.authorization(client_id, code_challenge="x" * 43, code_challenge_method="plain")
        walk(request.url)
        code = oauth.loopback.last["code"]
        assert oauth.exchange(client_id, request, code, code_verifier="x" * 43).status_code == 200


def test_deny_returns_access_denied(oauth, demo, loopback):
    client_id = oauth.register()["client_id"]
    request = oauth.authorization(client_id)
    walk(request.url, approve=False)
    assert loopback.last["error"] == "access_denied"
    assert loopback.last["state"] == request.state
    assert loopback.last["iss"] == demo.issuer
    assert "code" not in loopback.last
    assert any(entry.get("event") == "consent.denied" and entry["user"] == "alice" for entry in demo.audit)


def test_wrong_password_fails_the_walk(oauth):
    client_id = oauth.register()["client_id"]
    with pytest.raises(AuthorizationError, match="login as alice failed"):
        walk(oauth.authorization(client_id).url, password="not-it")
    assert oauth.loopback.callbacks == []


@pytest.mark.parametrize(("fault", "check"), [
    ("callback_wrong_state", lambda cb, req, demo: cb["state"] != req.state and "code" in cb),
    ("callback_wrong_iss", lambda cb, req, demo: cb["iss"] != demo.issuer and cb["state"] == req.state),
    ("callback_missing_iss", lambda cb, req, demo: "iss" not in cb and cb["state"] == req.state),
])
def test_callback_faults(oauth, demo, fault, check):
    client_id = oauth.register()["client_id"]
    with demo.configure(faults={fault}):
        request = oauth.authorization(client_id)
        walk(request.url)
    assert check(oauth.loopback.last, request, demo)


def test_no_callback_fault(oauth, demo):
    client_id = oauth.register()["client_id"]
    with demo.configure(faults={"no_callback"}):
        final = walk(oauth.authorization(client_id).url)
    assert final.startswith(demo.issuer)
    assert oauth.loopback.callbacks == []


def test_login_and_consent_forms_reject_missing_csrf(demo):
    response = httpx.post(demo.endpoint("login"), data={"username": "alice", "password": "wonderland"})
    assert response.status_code == 400
    response = httpx.post(demo.endpoint("consent"), data={"txn": "x", "decision": "approve"})
    assert response.status_code == 400


def test_login_next_is_not_an_open_redirect(demo):
    with httpx.Client(follow_redirects=False) as browser:
        page = browser.get(demo.endpoint("login") + "?next=//attacker.example/")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        response = browser.post(demo.endpoint("login"), data={
            "username": "alice", "password": "wonderland", "csrf": csrf, "next": "//attacker.example/"})
    assert response.headers["location"] == "/"


def test_session_skips_login_on_second_authorization(oauth, demo):
    """One browser session, two authorizations: the second goes straight to consent."""
    client_id = oauth.register()["client_id"]
    with httpx.Client(follow_redirects=False) as browser:
        login_url = browser.get(oauth.authorization(client_id).url).headers["location"]
        page = browser.get(login_url)
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        txn = page.text.split('name="txn" value="')[1].split('"')[0]
        browser.post(demo.endpoint("login"), data={"username": "bob", "password": "builder", "csrf": csrf, "txn": txn})
        second = browser.get(oauth.authorization(client_id).url)
    assert second.headers["location"].startswith(demo.endpoint("consent"))


def test_several_resources_at_once_are_refused(oauth, demo):
    client_id = oauth.register()["client_id"]
    request = oauth.authorization(client_id)
    answer = error_redirect(first_hop(request.url + "&resource=" + demo.api_resource), request.redirect_uri)
    assert answer["error"] == "invalid_target"
