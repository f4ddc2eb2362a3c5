"""RFC 9728 and RFC 8414 / OIDC discovery: URL construction and validation."""

from __future__ import annotations

import pytest

from agentfetch.errors import AuthorizationError, InsecureTransport, MetadataMismatch, SecurityError
from agentfetch.oauth.rfc8414 import metadata_urls, parse_authorization_server
from agentfetch.oauth.rfc9728 import parse_protected_resource, well_known_urls

from .conftest import as_metadata


def test_prm_well_known_path_inserted_then_root() -> None:
    assert well_known_urls("https://h/docs/x") == [
        "https://h/.well-known/oauth-protected-resource/docs/x",
        "https://h/.well-known/oauth-protected-resource",
    ]
    assert well_known_urls("https://h:8443/docs/?q=1") == [
        "https://h:8443/.well-known/oauth-protected-resource/docs",
        "https://h:8443/.well-known/oauth-protected-resource",
    ]
    assert well_known_urls("https://h/") == ["https://h/.well-known/oauth-protected-resource"]


def test_as_metadata_urls_in_protocol_order() -> None:
    assert metadata_urls("https://as/tenant1") == [
        "https://as/.well-known/oauth-authorization-server/tenant1",
        "https://as/.well-known/openid-configuration/tenant1",
        "https://as/tenant1/.well-known/openid-configuration",
    ]
    assert metadata_urls("https://as") == [
        "https://as/.well-known/oauth-authorization-server",
        "https://as/.well-known/openid-configuration",
    ]


def _prm(resource: str, **extra: object) -> dict:
    return {"resource": resource, "authorization_servers": ["https://as"], **extra}


def test_prm_from_challenge_accepts_same_origin_path_prefix() -> None:
    prm = parse_protected_resource(
        _prm("https://h/docs", scopes_supported=["read"]),
        metadata_url="https://h/.well-known/oauth-protected-resource/docs",
        request_url="https://h/docs/page?x=1",
        from_challenge=True,
    )
    assert prm.resource == "https://h/docs" and prm.scopes_supported == ("read",)


@pytest.mark.parametrize(
    "resource",
    [
        "https://evil/docs",  # another host
        "http://h/docs",  # another scheme
        "https://h:444/docs",  # another port
        "https://h/doc",  # not on a segment boundary
        "https://h/docs/page/deeper",  # below the requested URL
        "not a url",
    ],
)
def test_prm_from_challenge_refuses_foreign_resource(resource: str) -> None:
    with pytest.raises(MetadataMismatch) as info:
        parse_protected_resource(
            _prm(resource), metadata_url="https://h/m", request_url="https://h/docs/page", from_challenge=True
        )
    assert info.value.exit_code == 6


def test_prm_from_probe_must_be_identical_to_the_identifier() -> None:
    url = "https://h/.well-known/oauth-protected-resource/docs"
    assert parse_protected_resource(
        _prm("https://h/docs"), metadata_url=url, request_url="https://h/docs", from_challenge=False
    ).resource == "https://h/docs"
    with pytest.raises(MetadataMismatch):
        parse_protected_resource(_prm("https://h/"), metadata_url=url, request_url="https://h/docs", from_challenge=False)
    root = "https://h/.well-known/oauth-protected-resource"
    assert parse_protected_resource(_prm("https://h/"), metadata_url=root, request_url="https://h/a", from_challenge=False)


@pytest.mark.parametrize("servers", [None, [], [""], "https://as", [3]])
def test_prm_needs_authorization_servers(servers: object) -> None:
    document = {"resource": "https://h/", "authorization_servers": servers}
    with pytest.raises(AuthorizationError):
        parse_protected_resource(document, metadata_url="https://h/m", request_url="https://h/", from_challenge=True)


def test_valid_as_metadata() -> None:
    server = parse_authorization_server(as_metadata(), issuer="https://as/t1", metadata_url="https://as/m")
    assert server.token_endpoint == "https://as/t1/token"
    assert server.iss_parameter_supported is True
    assert server.registration_endpoint == "https://as/t1/register"


def test_loopback_http_issuer_is_allowed() -> None:
    issuer = "http://127.0.0.1:8080"
    assert parse_authorization_server(as_metadata(issuer), issuer=issuer, metadata_url=issuer + "/m").issuer == issuer


def test_issuer_must_be_identical() -> None:
    with pytest.raises(MetadataMismatch):
        parse_authorization_server(as_metadata("https://as/t1/"), issuer="https://as/t1", metadata_url="https://as/m")


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge_methods_supported": ["plain"]}, SecurityError),
        ({"code_challenge_methods_supported": None}, SecurityError),
        ({"response_types_supported": ["token"]}, AuthorizationError),
        ({"authorization_endpoint": None}, AuthorizationError),
        ({"token_endpoint": None}, AuthorizationError),
        ({"token_endpoint": "http://as.example/token"}, InsecureTransport),
        ({"authorization_endpoint": "http://as.example/authorize"}, InsecureTransport),
        ({"registration_endpoint": "http://as.example/register"}, InsecureTransport),
        ({"scopes_supported": "read"}, AuthorizationError),
        ({"authorization_response_iss_parameter_supported": "yes"}, AuthorizationError),
    ],
)
def test_invalid_as_metadata_is_refused(changes: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_authorization_server(as_metadata(**changes), issuer="https://as/t1", metadata_url="https://as/m")


def test_plain_http_issuer_on_the_network_is_refused() -> None:
    with pytest.raises(InsecureTransport):
        parse_authorization_server(as_metadata("http://as.example"), issuer="http://as.example", metadata_url="x")


def test_root_issuer_trailing_slash_is_the_one_tolerated_difference() -> None:
    server = parse_authorization_server(as_metadata("https://as/"), issuer="https://as", metadata_url="https://as/m")
    assert server.issuer == "https://as/"  # what the server states, for RFC 9207 iss
    assert parse_authorization_server(as_metadata("https://as"), issuer="https://as/", metadata_url="m").issuer == "https://as"
    with pytest.raises(MetadataMismatch):
        parse_authorization_server(as_metadata("https://as/t1/"), issuer="https://as/t1", metadata_url="m")
    with pytest.raises(MetadataMismatch):
        parse_authorization_server(as_metadata("https://as.evil/"), issuer="https://as", metadata_url="m")
