"""RFC 9728 and RFC 8414 / OIDC discovery documents, the JWKS, and the faults that bend them."""

from __future__ import annotations

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from agentfetch.demo import DemoConfig, DemoServer


def get_json(url: str) -> tuple[int, dict]:
    response = httpx.get(url)
    return response.status_code, response.json()


def test_prm_root_and_path_inserted(demo):
    status, root = get_json(demo.origin + "/.well-known/oauth-protected-resource")
    assert status == 200
    assert root["resource"] == demo.resource == demo.origin
    assert root["authorization_servers"] == [demo.issuer]
    assert root["scopes_supported"] == ["read", "admin"]
    assert root["bearer_methods_supported"] == ["header"]
    status, api = get_json(demo.origin + "/.well-known/oauth-protected-resource/api")
    assert status == 200
    # RFC 9728 §3.3: identical to the identifier the well-known URL was built from.
    assert api["resource"] == demo.origin + "/api" == demo.api_resource
    assert httpx.get(demo.origin + "/.well-known/oauth-protected-resource/pages/deploy").status_code == 404


def test_as_metadata(demo):
    status, doc = get_json(demo.origin + "/.well-known/oauth-authorization-server")
    assert status == 200
    assert doc["issuer"] == demo.issuer
    assert doc["authorization_endpoint"] == demo.endpoint("authorize")
    assert doc["token_endpoint"] == demo.endpoint("token")
    assert doc["registration_endpoint"] == demo.endpoint("register")
    assert doc["revocation_endpoint"] == demo.endpoint("revoke")
    assert doc["device_authorization_endpoint"] == demo.endpoint("device_authorization")
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert "code" in doc["response_types_supported"]
    assert set(doc["grant_types_supported"]) >= {"authorization_code", "refresh_token",
                                                 "urn:ietf:params:oauth:grant-type:device_code"}
    assert "offline_access" in doc["scopes_supported"]
    assert "none" in doc["token_endpoint_auth_methods_supported"]
    status, oidc = get_json(demo.origin + "/.well-known/openid-configuration")
    assert status == 200 and oidc["issuer"] == demo.issuer
    assert oidc["subject_types_supported"] == ["public"]


def test_metadata_validates_with_authlib(demo):
    """A third-party validator agrees the documents are well-formed RFC 8414 metadata."""
    from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

    _, doc = get_json(demo.origin + "/.well-known/oauth-authorization-server")
    AuthorizationServerMetadata(doc).validate()


def test_issuer_with_path_uses_path_inserted_discovery():
    with DemoServer(DemoConfig(issuer_path="/tenant1")) as server:
        assert server.issuer == server.origin + "/tenant1"
        for url in (
            server.origin + "/.well-known/oauth-authorization-server/tenant1",
            server.origin + "/.well-known/openid-configuration/tenant1",
            server.origin + "/tenant1/.well-known/openid-configuration",
        ):
            status, doc = get_json(url)
            assert status == 200, url
            assert doc["issuer"] == server.issuer
            assert doc["token_endpoint"] == server.issuer + "/oauth/token"
        assert httpx.get(server.origin + "/.well-known/oauth-authorization-server").status_code == 404
        _, prm = get_json(server.origin + "/.well-known/oauth-protected-resource")
        assert prm["authorization_servers"] == [server.issuer]


def test_jwt_claims_verify_against_jwks(oauth, demo):
    tokens = oauth.tokens(scope="read offline_access")
    _, doc = get_json(demo.origin + "/.well-known/oauth-authorization-server")
    jwks = httpx.get(doc["jwks_uri"])
    assert jwks.headers["content-type"] == "application/jwk-set+json"
    assert all("d" not in key for key in jwks.json()["keys"])  # public parts only
    decoded = jwt.decode(tokens["access_token"], KeySet.import_key_set(jwks.json()))
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert claims["iss"] == demo.issuer
    assert claims["sub"] == "alice"
    assert claims["aud"] == demo.resource
    assert claims["client_id"] == tokens["client_id"]
    assert claims["scope"] == "read offline_access"
    assert claims["exp"] - claims["iat"] == tokens["expires_in"] == 300
    assert claims["jti"]


def test_fault_prm_resource_mismatch(demo):
    with demo.configure(faults={"prm_resource_mismatch"}):
        _, prm = get_json(demo.resource_metadata_url)
    assert prm["resource"] != demo.resource
    _, prm = get_json(demo.resource_metadata_url)
    assert prm["resource"] == demo.resource  # restored after the block


def test_fault_as_wrong_issuer(demo):
    with demo.configure(faults={"as_wrong_issuer"}):
        for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
            _, doc = get_json(demo.origin + path)
            assert doc["issuer"] != demo.issuer


def test_fault_oidc_only(demo):
    with demo.configure(faults={"oidc_only"}):
        assert httpx.get(demo.origin + "/.well-known/oauth-authorization-server").status_code == 404
        status, doc = get_json(demo.origin + "/.well-known/openid-configuration")
        assert status == 200 and doc["issuer"] == demo.issuer


def test_fault_no_s256(demo):
    with demo.configure(faults={"no_s256"}):
        _, doc = get_json(demo.origin + "/.well-known/oauth-authorization-server")
    assert doc["code_challenge_methods_supported"] == ["plain"]


def test_fault_first_as_broken(demo):
    with demo.configure(faults={"first_as_broken"}):
        _, prm = get_json(demo.resource_metadata_url)
        broken, working = prm["authorization_servers"]
        assert working == demo.issuer
        path = broken.removeprefix(demo.origin)
        assert httpx.get(demo.origin + "/.well-known/oauth-authorization-server" + path).status_code == 503
        assert httpx.get(demo.origin + "/.well-known/openid-configuration" + path).status_code == 503


def test_fault_no_resource_metadata_param(demo, parse_challenge):
    with demo.configure(faults={"no_resource_metadata_param"}):
        response = httpx.get(demo.url)
    assert response.status_code == 401
    params = parse_challenge(response.headers["www-authenticate"])
    assert "resource_metadata" not in params
    assert params["scope"] == "read"


def test_fault_no_offline_access(oauth, demo):
    with demo.configure(faults={"no_offline_access"}):
        _, doc = get_json(demo.origin + "/.well-known/oauth-authorization-server")
        assert "offline_access" not in doc["scopes_supported"]
        tokens = oauth.tokens(scope="read offline_access")
    assert tokens["scope"] == "read"
    assert "refresh_token" not in tokens


def test_registration_off(demo):
    with demo.configure(registration=False):
        _, doc = get_json(demo.origin + "/.well-known/oauth-authorization-server")
        assert "registration_endpoint" not in doc
        assert httpx.post(demo.endpoint("register"), json={"redirect_uris": []}).status_code == 404


def test_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="unknown demo fault"):
        DemoConfig(faults={"no_such_fault"})


def test_slow_endpoint(demo):
    import time

    with demo.configure(slow_seconds=0.5, slow_endpoints={"metadata"}):
        start = time.monotonic()
        httpx.get(demo.origin + "/.well-known/oauth-authorization-server")
        assert time.monotonic() - start >= 0.5
        start = time.monotonic()
        httpx.get(demo.resource_metadata_url)
        assert time.monotonic() - start < 0.5


def test_slow_seconds_must_name_endpoints():
    with pytest.raises(ValueError, match="slow_endpoints"):
        DemoConfig(slow_seconds=1.0)
    with pytest.raises(ValueError, match="unknown slow endpoint"):
        DemoConfig(slow_seconds=1.0, slow_endpoints={"callback"})


def test_fault_always_redirect(demo):
    with demo.configure(faults={"always_redirect"}):
        response = httpx.get(demo.url + "pages/deploy", headers={"Accept": "text/markdown"})
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith(demo.alias_url.rstrip("/") + "/oauth/login?")
        assert httpx.get(location).status_code == 200  # a real login page on the other origin
        status, prm = get_json(demo.resource_metadata_url)
        assert status == 200 and prm["resource"] == demo.resource
        assert httpx.post(demo.url + "api/pages").status_code == 401
