"""RFC 7636 PKCE, RFC 8707 resource, RFC 9207 iss and state on the callback; RFC 6749 §5 tokens."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from agentfetch.errors import AccessDenied, AuthorizationError, CallbackMismatch
from agentfetch.oauth.authorize import RedirectUriRejected, code_from_callback, new_authorization_request
from agentfetch.oauth.pkce import new_code_verifier, s256_challenge
from agentfetch.oauth.tokens import (
    ClientIdentity,
    TokenEndpointError,
    authorization_code_request,
    parse_token_response,
)
from agentfetch.store import TokenSet


def test_verifier_shape_and_s256_rfc7636_appendix_b() -> None:
    verifier = new_code_verifier()
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)
    assert new_code_verifier() != verifier
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert s256_challenge(verifier) == expected


def _request():
    return new_authorization_request(
        authorization_endpoint="https://as/authorize?tenant=1",
        client_id="cid",
        redirect_uri="http://127.0.0.1:5000/callback",
        scopes=("read", "offline_access"),
        resource="https://h/docs",
    )


def test_authorization_url_carries_pkce_state_and_resource() -> None:
    request = _request()
    query = parse_qs(urlsplit(request.url).query)
    assert query["tenant"] == ["1"]
    assert query["response_type"] == ["code"] and query["client_id"] == ["cid"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["code_challenge"] == [s256_challenge(request.code_verifier)]
    assert query["resource"] == ["https://h/docs"]
    assert query["scope"] == ["read offline_access"]
    assert query["state"] == [request.state] and len(request.state) >= 32
    assert query["redirect_uri"] == ["http://127.0.0.1:5000/callback"]
    assert request.code_verifier not in request.url
    assert _request().state != request.state
    assert request.state not in repr(request) and request.code_verifier not in repr(request)


STATE = object()


def test_good_callback_gives_the_code() -> None:
    request = _request()
    params = {"code": "c0de", "state": request.state, "iss": "https://as"}
    assert code_from_callback(params, request=request, issuer="https://as", iss_required=True) == "c0de"
    no_iss = {"code": "c0de", "state": request.state}
    assert code_from_callback(no_iss, request=request, issuer="https://as", iss_required=False) == "c0de"


@pytest.mark.parametrize(
    ("params", "required", "error"),
    [
        ({"code": "c", "state": "wrong"}, False, CallbackMismatch),
        ({"code": "c"}, False, CallbackMismatch),  # no state at all
        ({"code": "c", "state": STATE, "iss": "https://evil"}, False, CallbackMismatch),
        ({"code": "c", "state": STATE}, True, CallbackMismatch),  # iss promised, missing
        ({"error": "access_denied", "error_description": "user said no", "state": STATE}, False, AccessDenied),
        ({"error": "access_denied", "state": STATE, "iss": "https://evil"}, False, CallbackMismatch),
        ({"error": "invalid_request", "error_description": "bad redirect_uri", "state": STATE}, False,
         RedirectUriRejected),
        ({"error": "server_error", "state": STATE}, False, AuthorizationError),
        ({"state": STATE}, False, AuthorizationError),
    ],
)
def test_bad_callbacks(params: dict, required: bool, error: type[Exception]) -> None:
    request = _request()
    params = {k: request.state if v is STATE else v for k, v in params.items()}
    with pytest.raises(error) as info:
        code_from_callback(params, request=request, issuer="https://as", iss_required=required)
    if isinstance(info.value, AccessDenied):
        assert "user said no" in str(info.value)


def test_code_exchange_request_is_a_public_client_form() -> None:
    request = authorization_code_request(
        "https://as/token",
        client=ClientIdentity("cid"),
        code="c0de",
        redirect_uri="http://127.0.0.1:1/callback",
        code_verifier="v" * 43,
        resource="https://h/docs",
    )
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["c0de"],
        "redirect_uri": ["http://127.0.0.1:1/callback"],
        "code_verifier": ["v" * 43],
        "resource": ["https://h/docs"],
        "client_id": ["cid"],
    }
    assert "authorization" not in request.headers


def test_confidential_client_uses_basic_with_urlencoded_parts() -> None:
    request = authorization_code_request(
        "https://as/token",
        client=ClientIdentity("c:id", "s/cret", "client_secret_basic"),
        code="c",
        redirect_uri="r",
        code_verifier="v",
        resource="x",
    )
    import base64

    assert base64.b64decode(request.headers["authorization"].split()[1]) == b"c%3Aid:s%2Fcret"
    assert "client_secret" not in request.content.decode()
    assert "s/cret" not in repr(ClientIdentity("c", "s/cret"))


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("POST", "https://as/token"))


def test_token_response_expiry_is_absolute_and_type_case_insensitive() -> None:
    tokens = parse_token_response(
        _response(200, {"access_token": "at", "token_type": "bEaReR", "expires_in": 300, "refresh_token": "rt"}),
        requested_scopes=("read",),
        now=1000.0,
    )
    assert tokens.expires_at == 1300.0 and tokens.refresh_token == "rt" and tokens.scope == "read"


def test_refresh_keeps_unrotated_refresh_token() -> None:
    previous = TokenSet(access_token="old", refresh_token="rt1", scope="read admin")
    tokens = parse_token_response(_response(200, {"access_token": "new", "token_type": "Bearer"}), previous=previous)
    assert tokens.refresh_token == "rt1" and tokens.scope == "read admin" and tokens.expires_at is None


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "at", "token_type": "mac"},
        {"access_token": "at"},
        {"token_type": "Bearer"},
        ["not", "an", "object"],
    ],
)
def test_bad_token_responses(body: object) -> None:
    with pytest.raises(AuthorizationError) as info:
        parse_token_response(_response(200, body))
    assert "at" not in str(info.value).split() and info.value.exit_code == 5


def test_token_error_is_typed() -> None:
    with pytest.raises(TokenEndpointError) as info:
        parse_token_response(_response(400, {"error": "invalid_grant", "error_description": "gone"}))
    assert info.value.error == "invalid_grant" and "gone" in str(info.value)


def test_oidc_offline_access_asks_for_prompt_consent() -> None:
    def url(scopes: tuple[str, ...]) -> dict:
        request = new_authorization_request(
            authorization_endpoint="https://as/authorize",
            client_id="cid",
            redirect_uri="http://127.0.0.1:5000/callback",
            scopes=scopes,
            resource="https://h/",
        )
        return parse_qs(urlsplit(request.url).query)

    assert url(("openid", "read", "offline_access"))["prompt"] == ["consent"]
    assert "prompt" not in url(("read", "offline_access"))
    assert "prompt" not in url(("openid", "read"))
