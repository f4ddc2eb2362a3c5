"""Compliance: a third-party OAuth client (authlib) completes the flow against the demo.

Nothing here uses agentfetch's client: discovery from the 401, RFC 7591
registration, authlib's PKCE authorization URL, the scripted user agent as the
browser, authlib's code exchange and refresh.
"""

from __future__ import annotations

import re

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from agentfetch.demo.useragent import walk


def test_authlib_client_full_flow(demo, loopback):
    # 1. The 401 names the Protected Resource Metadata (RFC 9728 §5.1).
    challenge = httpx.get(demo.url).headers["www-authenticate"]
    prm_url = re.search(r'resource_metadata="([^"]+)"', challenge).group(1)
    prm = httpx.get(prm_url).json()
    issuer = prm["authorization_servers"][0]
    # 2. RFC 8414 discovery for that issuer.
    meta = httpx.get(issuer.rstrip("/") + "/.well-known/oauth-authorization-server").json()
    assert meta["issuer"] == issuer
    # 3. RFC 7591 registration of a public loopback client.
    registration = httpx.post(meta["registration_endpoint"], json={
        "client_name": "authlib compliance test",
        "redirect_uris": [loopback.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
    }).json()
    client = OAuth2Client(
        client_id=registration["client_id"],
        redirect_uri=loopback.redirect_uri,
        scope="read offline_access",
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(64)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, resource=prm["resource"])
    # 4. The human (scripted) signs in and consents; the callback reaches our listener.
    callback_url = walk(url)
    assert loopback.last["iss"] == issuer  # RFC 9207, which authlib does not check itself
    token = client.fetch_token(meta["token_endpoint"], authorization_response=callback_url,
                               code_verifier=verifier, resource=prm["resource"])
    assert token["token_type"] == "Bearer"
    # 5. authlib's client sends the token and reads the protected page.
    page = client.get(demo.url, headers={"Accept": "text/markdown"})
    assert page.status_code == 200
    assert page.text.startswith("# Welcome to the Acme wiki")
    # 6. Refresh through authlib; the rotated token replaces the old one.
    old_refresh = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh, resource=prm["resource"])
    assert new["refresh_token"] != old_refresh
    assert client.get(demo.url + "api/me").json()["client_id"] == registration["client_id"]
    # 7. RFC 7009 revocation through authlib.
    client.revoke_token(meta["revocation_endpoint"], token=new["refresh_token"], token_type_hint="refresh_token")
    assert httpx.post(meta["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": new["refresh_token"],
        "client_id": registration["client_id"]}).json()["error"] == "invalid_grant"
    assert state == loopback.last["state"]
