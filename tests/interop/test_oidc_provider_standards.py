"""node oidc-provider configured for the standards of issue 13: DPoP (RFC 9449) with nonces, required
pushed authorization requests (RFC 9126) and acr values (RFC 9470), with the protected resource of
``test_oidc_provider`` checking DPoP proofs and ``cnf.jkt``.

These tests drive the provider with a plain client written here from the RFCs (httpx, agentfetch's
proof maker ``agentfetch.oauth.rfc9449.DPoPKey`` and the scripted user agent), so they pin down how
the server side behaves; the provider is the independent judge of the proofs.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from test_oidc_provider import (
    PASSWORD,
    OidcProvider,
    ProtectedResource,
    _start_provider,
    _stop_provider,
)

from agentfetch.demo import DPoPVerifier
from agentfetch.demo.useragent import walk
from agentfetch.oauth.pkce import new_code_verifier, s256_challenge
from agentfetch.oauth.rfc9449 import DPoPKey

ACR = "urn:example:acr:mfa"


class Listener:
    """A loopback redirect listener (RFC 8252 §7.3) that keeps each callback's query."""

    def __init__(self) -> None:
        self.callbacks: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.callbacks.append({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.redirect_uri = f"http://127.0.0.1:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def strict_rs() -> Iterator[ProtectedResource]:
    rs = ProtectedResource()
    rs.dpop = DPoPVerifier()
    yield rs
    rs.stop()


@pytest.fixture(scope="module")
def strict_provider(strict_rs: ProtectedResource, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    server = _start_provider(strict_rs, tmp_path_factory.mktemp("oidc-strict") / "stderr.log",
                             args=("--dpop", "--dpop-nonce", "--par-required", "--acr", ACR))
    try:
        yield server
    finally:
        _stop_provider(server)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


class Client:
    """The RFC steps, one method each, with DPoP proofs and the provider's nonce."""

    def __init__(self, provider: OidcProvider, rs: ProtectedResource, listener: Listener) -> None:
        self.http = httpx.Client(timeout=10)
        self.metadata = self.http.get(provider.issuer + "/.well-known/openid-configuration").json()
        self.rs, self.listener = rs, listener
        self.key = DPoPKey.generate("ES256")
        self.nonce: str | None = None
        registered = self.http.post(self.metadata["registration_endpoint"], json={
            "redirect_uris": [listener.redirect_uri], "application_type": "native",
            "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"], "dpop_bound_access_tokens": True,
        })
        assert registered.status_code == 201, registered.text
        self.client_id = registered.json()["client_id"]

    def post(self, endpoint: str, form: dict[str, str], key: DPoPKey | None = None) -> httpx.Response:
        """POST with a proof; one retry when the provider asks for its nonce (§8)."""
        key = key or self.key
        for _ in range(2):
            answer = self.http.post(self.metadata[endpoint], data=form,
                                    headers={"DPoP": key.proof("POST", self.metadata[endpoint], nonce=self.nonce)})
            self.nonce = answer.headers.get("DPoP-Nonce", self.nonce)
            if not (answer.status_code == 400 and answer.json().get("error") == "use_dpop_nonce"):
                return answer
        return answer

    def push(self, **extra: str) -> tuple[dict[str, str], httpx.Response]:
        verifier = new_code_verifier()
        params = {"client_id": self.client_id, "response_type": "code", "redirect_uri": self.listener.redirect_uri,
                  "scope": "openid offline_access wiki:read", "prompt": "consent", "state": secrets.token_urlsafe(16),
                  "code_challenge": s256_challenge(verifier), "code_challenge_method": "S256",
                  "resource": self.rs.resource(), **extra}
        return params | {"code_verifier": verifier}, self.post("pushed_authorization_request_endpoint", params)

    def tokens(self, **extra: str) -> dict[str, Any]:
        params, pushed = self.push(**extra)
        assert pushed.status_code == 201, pushed.text
        url = f"{self.metadata['authorization_endpoint']}?" + urlencode(
            {"client_id": self.client_id, "request_uri": pushed.json()["request_uri"]})
        walk(url, username="alice", password=PASSWORD)
        callback = self.listener.callbacks[-1]
        assert callback["state"] == params["state"], callback
        answer = self.post("token_endpoint", {
            "grant_type": "authorization_code", "code": callback["code"], "client_id": self.client_id,
            "redirect_uri": self.listener.redirect_uri, "code_verifier": params["code_verifier"],
            "resource": self.rs.resource()})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def get(self, token: str, path: str = "/wiki/page", *, scheme: str = "DPoP", proof: str | None = None) -> httpx.Response:
        url = self.rs.origin + path
        return self.http.get(url, headers={"Authorization": f"{scheme} {token}",
                                           "DPoP": proof or self.key.proof("GET", url, access_token=token)})


@pytest.fixture
def client(strict_provider: OidcProvider, strict_rs: ProtectedResource, listener: Listener) -> Iterator[Client]:
    strict_rs.reset()
    driver = Client(strict_provider, strict_rs, listener)
    yield driver
    driver.http.close()


def _claims(jwt: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))


def test_the_provider_advertises_each_standard(client: Client) -> None:
    metadata = client.metadata
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert metadata["require_pushed_authorization_requests"] is True
    assert metadata["pushed_authorization_request_endpoint"]
    assert metadata["acr_values_supported"] == [ACR]


def test_full_flow_with_par_dpop_and_nonces(client: Client, strict_provider: OidcProvider) -> None:
    tokens = client.tokens()
    assert tokens["token_type"] == "DPoP"
    assert _claims(tokens["access_token"])["cnf"] == {"jkt": client.key.thumbprint}
    page = client.get(tokens["access_token"])
    assert page.status_code == 200 and "bound to your key" in page.text
    (authorization,) = strict_provider.events("authorization")[-1:]
    assert authorization["pushed"] is True


def test_the_resource_refuses_replays_bearer_use_and_other_keys(client: Client) -> None:
    token = client.tokens()["access_token"]
    url = client.rs.origin + "/wiki/page"
    proof = client.key.proof("GET", url, access_token=token)
    assert client.get(token, proof=proof).status_code == 200
    replay = client.get(token, proof=proof)
    assert replay.status_code == 401 and 'error="invalid_dpop_proof"' in replay.headers["www-authenticate"]
    assert client.get(token, scheme="Bearer").status_code == 401
    other = DPoPKey.generate().proof("GET", url, access_token=token)
    assert client.get(token, proof=other).status_code == 401


def test_refresh_and_revocation_with_proofs(client: Client) -> None:
    tokens = client.tokens()
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client.client_id,
               "resource": client.rs.resource()}
    # oidc-provider binds a public client's refresh token to its DPoP key (RFC 9449 §5).
    stolen = client.post("token_endpoint", refresh, key=DPoPKey.generate())
    assert stolen.status_code == 400, stolen.text
    renewed = client.post("token_endpoint", refresh)
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["token_type"] == "DPoP"
    assert _claims(renewed.json()["access_token"])["cnf"]["jkt"] == client.key.thumbprint
    revoked = client.post("revocation_endpoint", {"token": renewed.json()["refresh_token"],
                                                  "token_type_hint": "refresh_token", "client_id": client.client_id})
    assert revoked.status_code == 200, revoked.text
    again = client.post("token_endpoint", refresh | {"refresh_token": renewed.json()["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_the_provider_rejects_a_replayed_proof_and_a_missing_nonce(client: Client) -> None:
    params, pushed = client.push()
    assert pushed.status_code == 201
    endpoint = client.metadata["pushed_authorization_request_endpoint"]
    form = {k: v for k, v in params.items() if k != "code_verifier"}
    proof = client.key.proof("POST", endpoint, nonce=client.nonce)
    first = client.http.post(endpoint, data=form, headers={"DPoP": proof})
    assert first.status_code == 201, first.text
    replay = client.http.post(endpoint, data=form, headers={"DPoP": proof})
    assert replay.status_code == 400, replay.text
    assert replay.json()["error"] in ("invalid_dpop_proof", "invalid_request"), replay.text
    assert "replay" in replay.json()["error_description"].lower(), replay.text
    without = client.http.post(endpoint, data=form, headers={"DPoP": client.key.proof("POST", endpoint)})
    assert without.status_code == 400 and without.json()["error"] == "use_dpop_nonce"
    assert without.headers["DPoP-Nonce"]


def test_par_is_the_only_way_in(client: Client) -> None:
    url = f"{client.metadata['authorization_endpoint']}?" + urlencode({
        "client_id": client.client_id, "response_type": "code", "redirect_uri": client.listener.redirect_uri,
        "scope": "openid", "code_challenge": s256_challenge(new_code_verifier()), "code_challenge_method": "S256"})
    answer = client.http.get(url)
    assert answer.status_code == 400 or "error=invalid_request" in answer.headers.get("location", "")


def test_step_up_parameters_reach_the_provider(client: Client, strict_provider: OidcProvider) -> None:
    client.tokens(acr_values=ACR, max_age="0")
    (authorization,) = strict_provider.events("authorization")[-1:]
    # max_age=0 is a demand for a fresh login: oidc-provider turns it into prompt=login (OIDC Core §3.1.2.1).
    assert authorization["acr_values"] == ACR and "login" in authorization["prompt"].split()


def test_the_default_provider_offers_neither_dpop_nor_required_par(tmp_path: Path) -> None:
    rs = ProtectedResource()
    provider = _start_provider(rs, tmp_path / "plain.log")
    try:
        metadata = httpx.get(provider.issuer + "/.well-known/openid-configuration").json()
        assert "dpop_signing_alg_values_supported" not in metadata
        assert "require_pushed_authorization_requests" not in metadata or not metadata[
            "require_pushed_authorization_requests"]
    finally:
        _stop_provider(provider)
        rs.stop()
