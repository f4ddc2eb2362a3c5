"""The demo's REST API (reads need ``read``, writes ``write``), its API catalogs and its service token."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def test_reads_need_read_and_a_first_write_is_a_step_up(oauth, demo, parse_challenge):
    read = oauth.tokens(scope="read")["access_token"]
    assert oauth.get("/api/pages", read).status_code == 200
    response = oauth.http.post(demo.origin + "/api/pages", json={"title": "Hello"}, headers=bearer(read))
    assert response.status_code == 403
    challenge = parse_challenge(response.headers["www-authenticate"])
    # RFC 6750 §3.1: the scope the request needs, and the API's own metadata (RFC 9728 §5.1).
    assert challenge["error"] == "insufficient_scope" and challenge["scope"] == "write"
    assert challenge["resource_metadata"] == demo.origin + "/.well-known/oauth-protected-resource/api"
    assert demo.count("/api/pages", method="POST") == 1
    assert [p["slug"] for p in oauth.get("/api/pages", read).json()["pages"]].count("hello") == 0


def test_an_anonymous_write_is_challenged_for_write(demo, parse_challenge):
    response = httpx.delete(demo.origin + "/api/pages/deploy")
    assert response.status_code == 401
    challenge = parse_challenge(response.headers["www-authenticate"])
    assert challenge["scope"] == "read write" and "error" not in challenge
    assert httpx.get(demo.origin + "/.well-known/oauth-protected-resource/api").json()["scopes_supported"] == [
        "read", "write"]


def test_create_read_replace_delete_and_the_audit_trail(oauth, demo):
    tokens = oauth.tokens(scope="read write", user="bob")
    token, client_id = tokens["access_token"], tokens["client_id"]
    http, api = oauth.http, demo.origin + "/api/pages"
    created = http.post(api, json={"title": "Release notes 2.4", "markdown": "# 2.4\n\n- faster\n"},
                        headers=bearer(token))
    assert created.status_code == 201, created.text
    page = created.json()
    assert page["slug"] == "release-notes-2-4" and page["author"] == "bob" and page["client_id"] == client_id
    assert created.headers["location"] == f"{api}/release-notes-2-4"
    assert http.get(created.headers["location"], headers=bearer(token)).json()["markdown"] == "# 2.4\n\n- faster\n"
    # The same title again gets a free slug; the same explicit slug is a conflict.
    again = http.post(api, json={"title": "Release notes 2.4"}, headers=bearer(token)).json()
    assert again["slug"] == "release-notes-2-4-2"
    clash = http.post(api, json={"title": "x", "slug": "release-notes-2-4"}, headers=bearer(token))
    assert clash.status_code == 409
    replaced = http.put(f"{api}/release-notes-2-4", json={"title": "Release 2.4", "markdown": "shipped"},
                        headers=bearer(token))
    assert replaced.status_code == 200 and replaced.json()["title"] == "Release 2.4"
    listed = {p["slug"]: p for p in http.get(api, headers=bearer(token)).json()["pages"]}
    assert listed["release-notes-2-4"]["title"] == "Release 2.4" and "markdown" not in listed["release-notes-2-4"]
    assert listed["deploy"]["builtin"] is True
    deleted = http.delete(f"{api}/release-notes-2-4", headers=bearer(token))
    assert deleted.status_code == 204 and deleted.content == b""
    assert http.get(f"{api}/release-notes-2-4", headers=bearer(token)).status_code == 404
    writes = [e for e in demo.audit if e.get("event", "").startswith("page.")]
    assert [(e["method"], e["event"], e["status"]) for e in writes] == [
        ("POST", "page.created", 201), ("POST", "page.created", 201), ("PUT", "page.updated", 200),
        ("DELETE", "page.deleted", 204)]
    assert {(e["user"], e["client_id"], e["auth"]) for e in writes} == {("bob", client_id, "bearer")}
    on_disk = [json.loads(line) for line in demo.audit_path.read_text().splitlines()]
    assert writes[-1] in on_disk


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "error"), [
    ("POST", "/api/pages", b"{not json", {"Content-Type": "application/json"}, 400, "invalid_json"),
    ("POST", "/api/pages", b"title=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
     "unsupported_media_type"),
    ("POST", "/api/pages", b'{"markdown": "no title"}', {"Content-Type": "application/json"}, 400, "invalid_request"),
    ("POST", "/api/pages", b'{"title": "t", "owner": "me"}', {"Content-Type": "application/json"}, 400,
     "invalid_request"),
    ("POST", "/api/pages", b'{"title": "t", "slug": "Bad Slug"}', {"Content-Type": "application/json"}, 400,
     "invalid_request"),
    ("PUT", "/api/pages/deploy", b'{"title": "mine now"}', {"Content-Type": "application/json"}, 409, "read_only"),
    ("DELETE", "/api/pages/oncall", b"", {}, 409, "read_only"),
    ("PUT", "/api/pages/nope", b'{"title": "t"}', {"Content-Type": "application/json"}, 404, "not_found"),
    ("PATCH", "/api/pages/deploy", b"{}", {"Content-Type": "application/json"}, 405, "method_not_allowed"),
    ("POST", "/api/me", b"{}", {"Content-Type": "application/json"}, 405, "method_not_allowed"),
])
def test_bad_writes_get_clear_errors(oauth, demo, method, path, body, headers, status, error):
    token = oauth.tokens(scope="read write")["access_token"]
    response = oauth.http.request(method, demo.origin + path, content=body, headers=bearer(token, **headers))
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert not [e for e in demo.audit if e.get("event", "").startswith("page.")]


def test_writes_outside_the_api_are_refused(oauth, demo):
    token = oauth.tokens(scope="read write")["access_token"]
    response = oauth.http.post(demo.origin + "/pages/deploy", content=b"x", headers=bearer(token))
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"


def test_openapi_describes_reads_and_writes_with_their_scopes(oauth, demo):
    token = oauth.tokens()["access_token"]
    document = oauth.get("/api/openapi.json", token).json()
    assert document["openapi"] == "3.1.0" and document["security"] == [{"oauth": ["read"]}]
    operations = {(method, path): op for path, item in document["paths"].items()
                  for method, op in item.items() if method != "parameters"}
    assert set(operations) == {("get", "/pages"), ("post", "/pages"), ("get", "/pages/{slug}"),
                               ("put", "/pages/{slug}"), ("delete", "/pages/{slug}"), ("get", "/me")}
    for key in [("post", "/pages"), ("put", "/pages/{slug}"), ("delete", "/pages/{slug}")]:
        assert operations[key]["security"] == [{"oauth": ["write"]}]
    assert "write" in document["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"]["scopes"]


def test_the_host_catalog_in_both_linkset_formats(oauth, demo):
    token = oauth.tokens()["access_token"]
    as_json = oauth.get("/.well-known/api-catalog", token)
    assert as_json.headers["content-type"] == (
        'application/linkset+json; profile="https://www.rfc-editor.org/info/rfc9727"')
    assert as_json.headers["vary"] == "Accept"
    contexts = {c["anchor"]: c for c in as_json.json()["linkset"]}
    catalog = contexts[demo.origin + "/.well-known/api-catalog"]
    assert catalog["api-catalog"][0]["href"] == demo.origin + "/directory/api-catalog"
    wiki = contexts[demo.origin + "/api"]
    for rel in ("service-desc", "service-doc", "status", "service-meta"):
        assert oauth.get(wiki[rel][0]["href"].removeprefix(demo.origin), token).status_code == 200, rel
    as_text = oauth.get("/.well-known/api-catalog", token, Accept="application/linkset, application/linkset+json;q=0.5")
    assert as_text.headers["content-type"].startswith("application/linkset;")
    lines = as_text.text.strip().split(",\n")
    assert len(lines) == sum(len(targets) for c in contexts.values() for rel, targets in c.items() if rel != "anchor")
    assert (f'<{demo.origin}/api/openapi.json>; rel="service-desc"; anchor="{demo.origin}/api"; '
            'type="application/vnd.oai.openapi+json;version=3.1"') in lines


def test_the_nested_directory_catalog_and_its_yaml_description(oauth, demo):
    token = oauth.tokens()["access_token"]
    nested = oauth.get("/directory/api-catalog", token, Accept="application/linkset+json")
    # This team's server speaks only the text form, whatever is asked for.
    assert nested.headers["content-type"].startswith("application/linkset;")
    assert f'<{demo.origin}/directory/openapi.yaml>; rel="service-desc"' in nested.text
    assert "/.well-known/api-catalog" not in nested.text
    description = oauth.get("/directory/openapi.yaml", token)
    document = yaml.safe_load(description.text)
    assert document["openapi"] == "3.0.3" and document["servers"][0]["url"] == demo.origin + "/directory"
    assert set(document["paths"]) == {"/people", "/people/{user}"}
    people = oauth.get("/directory/people?team=platform", token).json()["people"]
    assert [p["user"] for p in people] == ["alice", "bob"]
    assert oauth.get("/directory/people/carol", token).json()["team"] == "billing"
    assert oauth.get("/directory/people/dave", token).status_code == 404
    with demo.configure(faults={"catalog_loop", "malformed_openapi"}):
        looped = oauth.get("/directory/api-catalog", token).text
        assert f'<{demo.origin}/.well-known/api-catalog>; rel="item"' in looped
        with pytest.raises(yaml.YAMLError):
            yaml.safe_load(oauth.get("/directory/openapi.yaml", token).text)


def test_api_answers_link_to_the_catalog(oauth, demo):
    token = oauth.tokens()["access_token"]
    for path in ("/api/pages", "/directory/people", "/pages/deploy"):
        response = oauth.get(path, token)
        assert response.links["api-catalog"]["url"] == "/.well-known/api-catalog", path


def test_service_token_pair_and_the_token_a_helper_gets_with_it(demo, parse_challenge):
    service = demo.service_token
    assert service.client_id.endswith(".access") and service.client_secret not in repr(service)
    me = httpx.get(demo.origin + "/api/me", headers=service.headers())
    assert me.status_code == 200
    assert me.json() == {"user": None, "client_id": service.client_id, "scopes": ["read", "write"], "auth": "service"}
    created = httpx.post(demo.origin + "/api/pages", json={"title": "Nightly build"}, headers=service.headers())
    assert created.status_code == 201 and created.json()["author"] is None
    wrong = httpx.get(demo.origin + "/api/me", headers=service.headers() | {"CF-Access-Client-Secret": "guess"})
    assert wrong.status_code == 401 and parse_challenge(wrong.headers["www-authenticate"])["scope"] == "read"
    issued = httpx.get(demo.origin + "/access/token", headers=service.headers())
    assert issued.status_code == 200 and issued.headers["cache-control"] == "no-store"
    jwt = issued.text.strip()
    me = httpx.get(demo.origin + "/api/me", headers={"cf-access-token": jwt}).json()
    assert me["auth"] == "app_token" and me["client_id"] == service.client_id
    assert httpx.get(demo.origin + "/", headers={"cf-access-token": jwt + "x"}).status_code == 401
    assert httpx.get(demo.origin + "/access/token").status_code == 401
    audit = {e["path"]: e for e in demo.audit}
    assert audit["/api/pages"]["auth"] == "service" and audit["/api/pages"]["user"] is None
    assert service.client_secret not in demo.audit_path.read_text() and jwt not in demo.audit_path.read_text()


def test_redirecting_endpoints_and_the_bad_gateway_fault(demo):
    service = demo.service_token.headers()
    with httpx.Client(headers=service, follow_redirects=False) as http:
        v1 = http.post(demo.origin + "/api/v1/pages?x=1", json={"title": "a"})
        assert v1.status_code == 308 and v1.headers["location"] == demo.origin + "/api/pages?x=1"
        moved = http.delete(demo.origin + "/api/moved/pages/a")
        assert moved.status_code == 307 and moved.headers["location"] == demo.alias_url + "api/pages/a"
        draft = http.post(demo.origin + "/api/drafts", json={"title": "Draft one"})
        assert draft.status_code == 303 and draft.headers["location"] == demo.origin + "/api/pages/draft-one"
        assert http.get(draft.headers["location"]).json()["title"] == "Draft one"
        assert http.get(demo.origin + "/api/drafts").status_code == 405
        assert [e["event"] for e in demo.audit if e.get("event")] == ["page.created"]
        with demo.configure(faults={"api_bad_gateway"}):
            assert http.post(demo.origin + "/api/pages", json={"title": "b"}).status_code == 502
            assert http.get(demo.origin + "/api/pages/draft-one").status_code == 200
        assert http.get(demo.origin + "/api/pages/b").status_code == 404
