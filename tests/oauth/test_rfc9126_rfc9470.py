"""Pushed authorization requests (RFC 9126) and step-up challenges (RFC 9470): the client-side pieces."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agentfetch.oauth.challenge import find_bearer, find_challenges
from agentfetch.oauth.rfc9126 import (
    PushedAuthorizationError,
    authorization_url,
    par_request,
    parse_par_response,
)
from agentfetch.oauth.rfc9470 import AuthenticationRequirement, requirement_from

PAR = "https://as.example/par"


def test_the_push_is_a_form_with_every_parameter() -> None:
    params = {"response_type": "code", "client_id": "c1", "code_challenge": "abc", "code_challenge_method": "S256",
              "resource": "https://rs.example/", "state": "s1", "redirect_uri": "http://127.0.0.1:5/cb"}
    request = par_request(PAR, params, {"Authorization": "Basic eDp5"})
    assert request.method == "POST" and str(request.url) == PAR
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Authorization"] == "Basic eDp5"
    assert {k: v[0] for k, v in parse_qs(request.content.decode()).items()} == params
    with pytest.raises(ValueError, match="request_uri"):
        par_request(PAR, {"request_uri": "urn:x"})


def test_a_push_answer_gives_request_uri_and_its_expiry() -> None:
    answer = httpx.Response(201, json={"request_uri": "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c",
                                       "expires_in": 60})
    pushed = parse_par_response(answer, endpoint=PAR, now=1000.0)
    assert pushed.request_uri.endswith("6esc_11ACC5bwc014ltc14eY22c")
    assert pushed.expires_in == 60 and pushed.expires_at == 1060.0
    assert "6esc" not in repr(pushed)


@pytest.mark.parametrize("answer, message", [
    (httpx.Response(400, json={"error": "invalid_request", "error_description": "redirect_uri not allowed"}),
     "refused: invalid_request: redirect_uri not allowed"),
    (httpx.Response(500, text="<html>oops</html>"), "answered HTTP 500"),
    (httpx.Response(201, json={"expires_in": 60}), "no request_uri"),
    (httpx.Response(201, json={"request_uri": "urn:x", "expires_in": 0}), "no positive expires_in"),
    (httpx.Response(201, json={"request_uri": "urn:x", "expires_in": True}), "no positive expires_in"),
    (httpx.Response(201, text="not json"), "did not answer JSON"),
])
def test_a_failed_push_is_a_clear_error(answer: httpx.Response, message: str) -> None:
    with pytest.raises(PushedAuthorizationError, match=message) as caught:
        parse_par_response(answer, endpoint=PAR)
    assert caught.value.exit_code == 5


def test_the_browser_gets_only_client_id_and_request_uri() -> None:
    url = authorization_url("https://as.example/authorize?tenant=a", client_id="c 1", request_uri="urn:x:y")
    parts = urlsplit(url)
    assert parts.path == "/authorize"
    assert parse_qs(parts.query) == {"tenant": ["a"], "client_id": ["c 1"], "request_uri": ["urn:x:y"]}


# -- RFC 9470 ----------------------------------------------------------------------------------------


def test_the_rfc9470_examples_parse() -> None:
    # §3, Figure 2 and Figure 3.
    (first,) = find_challenges([('Bearer error="insufficient_user_authentication", '
                                 'error_description="A different authentication level is required", acr_values="myACR"')])
    assert first.insufficient_user_authentication and first.acr_values == ("myACR",) and first.max_age is None
    (second,) = find_challenges([('Bearer error="insufficient_user_authentication", '
                                  'error_description="More recent authentication is required", max_age="5"')])
    assert second.max_age == 5 and second.acr_values == ()
    requirement = requirement_from(first)
    assert requirement == AuthenticationRequirement(("myACR",), None, "A different authentication level is required")
    assert requirement_from(find_bearer(['Bearer error="invalid_token"'])) is None


def test_dpop_and_bearer_challenges_come_from_the_same_parser() -> None:
    header = ('DPoP algs="ES256 PS256", error="insufficient_user_authentication", acr_values="urn:mfa urn:hwk", '
              'max_age=300, Bearer realm="r", resource_metadata="https://rs.example/.well-known/x"')
    dpop, bearer = find_challenges([header])
    assert dpop.scheme == "dpop" and dpop.algs == ("ES256", "PS256")
    assert dpop.acr_values == ("urn:mfa", "urn:hwk") and dpop.max_age == 300
    assert bearer.scheme == "bearer" and bearer.resource_metadata == "https://rs.example/.well-known/x"
    assert find_challenges([header], schemes=("dpop",)) == [dpop]
    assert find_bearer([header]) == bearer
    # A max_age that is not a non-negative integer is ignored, not trusted.
    (odd,) = find_challenges(['DPoP error="insufficient_user_authentication", max_age="-1"'])
    assert odd.max_age is None


def test_authorization_parameters_for_a_step_up() -> None:
    assert AuthenticationRequirement(("a", "b"), 0).authorization_params() == {"acr_values": "a b", "max_age": "0"}
    assert AuthenticationRequirement((), 60).authorization_params() == {"max_age": "60"}
    # Neither: the one thing a client can ask for is a fresh login.
    assert AuthenticationRequirement().authorization_params() == {"prompt": "login"}


def test_a_weaker_or_older_token_does_not_meet_a_requirement() -> None:
    mfa = AuthenticationRequirement(("urn:mfa",), 300)
    assert mfa.satisfied_by(acr="urn:mfa", auth_time=1000.0, now=1200.0)
    assert not mfa.satisfied_by(acr="urn:pwd", auth_time=1000.0, now=1200.0)
    assert not mfa.satisfied_by(acr="urn:mfa", auth_time=1000.0, now=1301.0)
    assert not mfa.satisfied_by(acr=None, auth_time=None, now=1000.0)  # unknown is never assumed strong
    assert AuthenticationRequirement().satisfied_by(acr=None, auth_time=None, now=0.0)


def test_the_prompt_says_why() -> None:
    text = AuthenticationRequirement(("urn:mfa",), description="MFA needed").explain("docs.example.com")
    assert text == "docs.example.com asks you to sign in with a stronger method (MFA needed)"
    assert "too old" in AuthenticationRequirement((), 5).explain("h")
