"""Values a hostile server sends, one parser at a time (issue 17): each gives a
result or a typed error, and what it refuses never shows up in a message."""

from __future__ import annotations

import json

import httpx
import pytest

from agentfetch._terminal import escape_controls, strip_controls
from agentfetch._urls import normalised_path, redact_url
from agentfetch.errors import (
    AuthorizationError,
    ClientIdentityError,
    MetadataMismatch,
    SecurityError,
)
from agentfetch.oauth.binding import may_send_token
from agentfetch.oauth.rfc7591 import parse_registration
from agentfetch.oauth.rfc8414 import parse_authorization_server
from agentfetch.oauth.rfc9728 import parse_protected_resource
from agentfetch.oauth.tokens import parse_token_response

from .conftest import as_metadata


def _response(body: object, status: int = 200) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, request=httpx.Request("POST", "https://as/token"))


def _tokens(**fields: object) -> dict[str, object]:
    return {"access_token": "at-1", "token_type": "Bearer", **fields}


@pytest.mark.parametrize("url", [
    "https://h/page/%2e%2e/admin", "https://h/page/%2E%2E/admin", "https://h/page/..;x/admin",
    "https://h/page/..%2fadmin", "https://h/page/..%5cadmin", "https://h/page/%2e./admin",
])
def test_a_token_for_a_path_never_goes_where_the_server_resolves_dot_segments_out_of_it(url: str) -> None:
    assert not may_send_token("https://h/page", url)


def test_dot_segments_that_stay_under_the_resource_are_fine() -> None:
    assert may_send_token("https://h/page", "https://h/page/a/%2e%2e/b")
    assert normalised_path("/page/a/%2e%2e/b") == "/page/b"


@pytest.mark.parametrize("token", ["oauth:Cv9-x_y", "00Dxx0000001gPL!AR8AQ.x", "eyJ.eyJ.sig", "a+b/c=="])
def test_real_world_opaque_tokens_are_accepted(token: str) -> None:
    assert parse_token_response(_response(_tokens(access_token=token))).access_token == token


@pytest.mark.parametrize("token", ["a\r\nb", "a b", "t\u00f6k", "a\x00", "\u202eab"])
def test_tokens_no_header_can_carry_are_refused_without_quoting_them(token: str) -> None:
    for field in ("access_token", "refresh_token"):
        with pytest.raises(AuthorizationError) as caught:
            parse_token_response(_response(_tokens(**{field: token})))
        assert token not in str(caught.value)


@pytest.mark.parametrize(("expires_in", "lifetime"), [(300, 300.0), ("300", 300.0), (-5, 0.0), ("-5", 0.0), (0, 0.0),
                                                       (True, None), ("5 minutes", None), (None, None)])
def test_expires_in(expires_in: object, lifetime: float | None) -> None:
    tokens = parse_token_response(_response(_tokens(expires_in=expires_in)), now=1000.0)
    assert tokens.expires_at == (None if lifetime is None else 1000.0 + lifetime)


@pytest.mark.parametrize("body", [
    json.dumps(_tokens(expires_in=10**400)).encode(),
    json.dumps(_tokens(expires_in="9" * 400)).encode(),
    json.dumps(_tokens(expires_in=1e300)).encode(),
    b'{"access_token": "a", "token_type": "Bearer", "expires_in": Infinity}',
    b'{"access_token": "a", "token_type": "Bearer", "expires_in": NaN}',
    b"[" * 100_000,
])
def test_unusable_lifetimes_and_documents_are_refused(body: bytes) -> None:
    with pytest.raises(AuthorizationError):
        parse_token_response(_response(body))


def test_a_granted_scope_wider_than_asked_is_kept_as_granted() -> None:
    tokens = parse_token_response(_response(_tokens(scope="read admin")), requested_scopes=("read",))
    assert tokens.scope == "read admin"


def test_null_metadata_fields_are_absent_fields() -> None:
    document = as_metadata(issuer="https://as/t1")
    document.update({"token_endpoint_auth_methods_supported": None, "revocation_endpoint_auth_methods_supported": None})
    assert parse_authorization_server(document, issuer="https://as/t1", metadata_url="https://as/m").token_endpoint


@pytest.mark.parametrize("field, value",
                         [("op_policy_uri", ["x"]), ("service_documentation", 5), ("op_tos_uri", {"a": 1})])
def test_wrongly_typed_metadata_fields_are_a_typed_error(field: str, value: object) -> None:
    with pytest.raises(AuthorizationError):
        parse_authorization_server(as_metadata(**{field: value}), issuer="https://as/t1", metadata_url="https://as/m")


@pytest.mark.parametrize("issuer", ["https://user@as/t1", "https://as/t1\x1b[2J", "https://as/t1\u202e"])
def test_issuers_with_userinfo_or_controls_are_refused(issuer: str) -> None:
    with pytest.raises(SecurityError):
        parse_authorization_server(as_metadata(issuer=issuer), issuer=issuer, metadata_url="https://as/m")


@pytest.mark.parametrize("resource", ["https://accounts.example.com@h/", "http://[zz]/", "https://h/\x1b[2J"])
def test_prm_resources_with_userinfo_bad_hosts_or_controls_are_refused(resource: str) -> None:
    document = {"resource": resource, "authorization_servers": ["https://as"]}
    for from_challenge in (True, False):
        with pytest.raises(MetadataMismatch):
            parse_protected_resource(document, metadata_url="https://h/.well-known/oauth-protected-resource",
                                     request_url="https://h/", from_challenge=from_challenge)


REDIRECT = "http://127.0.0.1:5000/callback"


def _registration(**fields: object) -> httpx.Response:
    return _response({"client_id": "c1", "redirect_uris": [REDIRECT], **fields}, 201)


def test_registration_keeps_only_our_redirect_uri() -> None:
    record = parse_registration(_registration(redirect_uris=[REDIRECT, "http://other/cb"]), issuer="https://as",
                                redirect_uri=REDIRECT)
    assert record["redirect_uris"] == [REDIRECT]
    # A library that writes the host in upper case still names our listener.
    assert parse_registration(_registration(redirect_uris=["HTTP://127.0.0.1:5000/callback"]), issuer="https://as",
                              redirect_uri=REDIRECT)["client_id"] == "c1"


@pytest.mark.parametrize("uris", [["http://evil.example/callback"], [], "http://127.0.0.1:5000/callback",
                                  ["http://127.0.0.1:5001/callback"]])
def test_registration_that_replaces_the_redirect_uri_is_refused(uris: object) -> None:
    with pytest.raises(SecurityError):
        parse_registration(_registration(redirect_uris=uris), issuer="https://as", redirect_uri=REDIRECT)


@pytest.mark.parametrize("fields", [{"token_endpoint_auth_method": "private_key_jwt"},
                                    {"token_endpoint_auth_method": "client_secret_post"}])
def test_registration_demanding_what_we_cannot_do_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ClientIdentityError):
        parse_registration(_registration(**fields), issuer="https://as", redirect_uri=REDIRECT)


def test_redaction_survives_urls_that_do_not_split() -> None:
    assert redact_url("http://[::1/cb?code=s3cret&x=1") == "http://[::1/cb?code=redacted&x=1"
    assert "s3cret" not in redact_url("http://h/cb?code=s3cret&x=\udfff")


def test_terminal_escapes() -> None:
    assert escape_controls("a\x1b[2Jb\u202ec\n") == "a\\x1b[2Jb\\u202ec\\x0a"
    assert escape_controls("\U000e0041") == "\\U000e0041"
    assert strip_controls("a\x1b[2J\tb\r\nc\x85") == "a[2J\tb\nc"
