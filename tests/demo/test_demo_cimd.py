"""Client ID Metadata Documents: the client_id is a URL the server fetches instead of a registration."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from agentfetch.demo.useragent import walk


class DocumentHost:
    """Serves whatever JSON a test puts in ``documents`` by path, and counts the fetches."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.fetches = 0
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.fetches += 1
                body = json.dumps(host.documents[self.path]).encode() if self.path in host.documents else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def publish(self, path: str, **metadata: Any) -> str:
        client_id = self.origin + path
        self.documents[path] = {"client_id": client_id} | metadata
        return client_id


@pytest.fixture
def docs() -> Iterator[DocumentHost]:
    host = DocumentHost()
    yield host
    host.server.shutdown()
    host.server.server_close()


def test_off_by_default(demo, docs, oauth):
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert "client_id_metadata_document_supported" not in doc
    client_id = docs.publish("/agent.json", redirect_uris=[oauth.loopback.redirect_uri])
    assert httpx.get(oauth.authorization(client_id).url).status_code == 400
    assert docs.fetches == 0


def test_flow_with_a_metadata_document(demo, docs, oauth, loopback):
    demo.reconfigure(client_id_metadata_documents=True)
    doc = httpx.get(demo.origin + "/.well-known/oauth-authorization-server").json()
    assert doc["client_id_metadata_document_supported"] is True
    client_id = docs.publish("/agent.json", client_name="Agent from a document",
                             redirect_uris=["http://127.0.0.1/callback"],
                             grant_types=["authorization_code", "refresh_token"])
    request, code = oauth.code(client_id)  # any loopback port, as for registered clients
    response = oauth.exchange(client_id, request, code)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert oauth.get("/api/me", tokens["access_token"]).json()["client_id"] == client_id
    assert oauth.refresh(client_id, tokens["refresh_token"]).status_code == 200
    assert docs.fetches == 1
    assert demo.count("/oauth/register") == 0


@pytest.mark.parametrize(("metadata", "reason"), [
    ({"redirect_uris": []}, "redirect_uris"),
    ({"redirect_uris": ["http://127.0.0.1/callback"], "token_endpoint_auth_method": "client_secret_basic"},
     "not allowed"),
    ({"redirect_uris": ["http://127.0.0.1/callback"], "client_id": "https://someone-else.example/a.json"},
     "not the URL"),
])
def test_bad_documents_are_refused_on_the_page(demo, docs, oauth, metadata, reason):
    demo.reconfigure(client_id_metadata_documents=True)
    client_id = docs.publish("/bad.json")
    docs.documents["/bad.json"] |= metadata
    response = httpx.get(oauth.authorization(client_id).url)
    assert response.status_code == 400
    assert reason in response.text
    assert "location" not in response.headers


def test_missing_document_and_unfetched_client_at_token_endpoint(demo, docs, oauth):
    demo.reconfigure(client_id_metadata_documents=True)
    response = httpx.get(oauth.authorization(docs.origin + "/missing.json").url)
    assert response.status_code == 400 and "answered 404" in response.text
    token = httpx.post(demo.endpoint("token"), data={
        "grant_type": "authorization_code", "code": "x", "code_verifier": "y" * 43,
        "client_id": docs.origin + "/missing.json"})
    assert token.status_code == 401 and token.json()["error"] == "invalid_client"


def test_redirect_uri_must_be_in_the_document(demo, docs, oauth):
    demo.reconfigure(client_id_metadata_documents=True)
    client_id = docs.publish("/agent.json", redirect_uris=["http://127.0.0.1/callback"])
    response = httpx.get(oauth.authorization(client_id, redirect_uri="http://127.0.0.1:9/elsewhere").url)
    assert response.status_code == 400
    walk_target = oauth.authorization(client_id).url
    walk(walk_target)
    assert "code" in oauth.loopback.last
