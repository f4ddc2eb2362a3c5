"""The proxy's classification (302 / 401 / 403) and the wiki behind it."""

from __future__ import annotations

import re
import time

import httpx
import pytest

BROWSER = {"Accept": "text/html,application/xhtml+xml", "Sec-Fetch-Mode": "navigate",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"}


def test_browser_navigation_is_sent_to_login(demo):
    response = httpx.get(demo.url + "pages/deploy?x=1", headers=BROWSER)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(demo.endpoint("login") + "?")
    assert "next=%2Fpages%2Fdeploy%3Fx%3D1" in location
    assert "www-authenticate" not in response.headers


def test_request_without_accept_counts_as_browser(demo):
    with httpx.Client() as client:
        request = client.build_request("GET", demo.url)
        del request.headers["Accept"]
        response = client.send(request)
    assert response.status_code == 302


@pytest.mark.parametrize("headers", [
    {"Accept": "text/markdown, text/html;q=0.9", "User-Agent": "agentfetch/0.1"},
    {"Accept": "*/*"},
    {"Accept": "text/html", "User-Agent": "agentfetch/0.1"},
    {"Accept": "text/html", "Sec-Fetch-Mode": "cors", "User-Agent": "Mozilla/5.0"},
])
def test_programs_get_a_401_challenge(demo, parse_challenge, headers):
    response = httpx.get(demo.url, headers=headers)
    assert response.status_code == 401
    params = parse_challenge(response.headers["www-authenticate"])
    assert params["resource_metadata"] == demo.origin + "/.well-known/oauth-protected-resource"
    assert params["scope"] == "read"
    assert "error" not in params  # RFC 6750 §3.1: no error code when no credentials were sent
    assert response.json()["error"] == "unauthorized"


def test_post_is_never_redirected(demo):
    response = httpx.post(demo.url + "api/pages", headers=BROWSER)
    assert response.status_code == 401


def test_api_challenge_points_at_path_inserted_metadata(demo, parse_challenge):
    response = httpx.get(demo.url + "api/pages")
    assert response.status_code == 401
    params = parse_challenge(response.headers["www-authenticate"])
    assert params["resource_metadata"] == demo.origin + "/.well-known/oauth-protected-resource/api"


def test_admin_challenge_asks_for_admin(demo, parse_challenge):
    response = httpx.get(demo.url + "admin")
    assert parse_challenge(response.headers["www-authenticate"])["scope"] == "admin"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSJ9."])
def test_bad_token_is_invalid_token(demo, parse_challenge, token):
    response = httpx.get(demo.url, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    params = parse_challenge(response.headers["www-authenticate"])
    assert params["error"] == "invalid_token"
    assert params["resource_metadata"].endswith("/.well-known/oauth-protected-resource")


def test_empty_bearer_is_invalid_request(demo, parse_challenge):
    response = httpx.get(demo.url, headers={"Authorization": "Bearer"})
    assert response.status_code == 400
    assert parse_challenge(response.headers["www-authenticate"])["error"] == "invalid_request"


def test_valid_token_reads_pages_and_is_attributed(oauth, demo):
    tokens = oauth.tokens()
    response = oauth.get("/pages/oncall", tokens["access_token"])
    assert response.status_code == 200
    assert demo.requests[-1].path == "/pages/oncall"
    assert demo.requests[-1].user == "alice"
    assert demo.requests[-1].client_id == tokens["client_id"]


def test_expired_token_is_invalid_token(oauth, demo, parse_challenge):
    with demo.configure(token_lifetime=1):
        tokens = oauth.tokens()
    assert oauth.get("/", tokens["access_token"]).status_code == 200
    time.sleep(1.1)
    response = oauth.get("/", tokens["access_token"])
    assert response.status_code == 401
    params = parse_challenge(response.headers["www-authenticate"])
    assert params["error"] == "invalid_token"
    assert "expired" in params["error_description"]


def test_expire_tokens_helper(oauth, demo):
    tokens = oauth.tokens()
    demo.expire_tokens()
    assert oauth.get("/", tokens["access_token"]).status_code == 401
    refreshed = oauth.refresh(tokens["client_id"], tokens["refresh_token"]).json()
    assert oauth.get("/", refreshed["access_token"]).status_code == 200


def test_wrong_aud_tokens_are_rejected(oauth, demo, parse_challenge):
    with demo.configure(faults={"wrong_aud"}):
        tokens = oauth.tokens()
    response = oauth.get("/", tokens["access_token"])
    assert response.status_code == 401
    assert "another resource" in parse_challenge(response.headers["www-authenticate"])["error_description"]


def test_api_token_does_not_open_the_wiki_but_root_token_opens_the_api(oauth, demo):
    client_id = oauth.register()["client_id"]
    api = oauth.tokens(client_id, resource=demo.api_resource)
    assert oauth.get("/api/pages", api["access_token"]).status_code == 200
    assert oauth.get("/", api["access_token"]).status_code == 401
    root = oauth.tokens(client_id)
    assert oauth.get("/api/pages", root["access_token"]).status_code == 200


def test_admin_needs_admin_scope(oauth, demo, parse_challenge):
    reader = oauth.tokens(scope="read")
    response = oauth.get("/admin", reader["access_token"])
    assert response.status_code == 403
    params = parse_challenge(response.headers["www-authenticate"])
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == "admin"
    admin = oauth.tokens(scope="read admin")
    response = oauth.get("/admin", admin["access_token"], Accept="text/markdown")
    assert response.status_code == 200
    assert "# Admin" in response.text
    assert "| time | user | client_id |" in response.text


def test_bob_cannot_get_admin_even_when_asking(oauth):
    client_id = oauth.register()["client_id"]
    tokens = oauth.tokens(client_id, user="bob", scope="read admin")
    assert tokens["scope"] == "read"
    assert oauth.get("/admin", tokens["access_token"]).status_code == 403


def test_html_page_has_site_chrome_table_and_code(oauth):
    token = oauth.tokens()["access_token"]
    response = oauth.get("/pages/deploy", token, Accept="text/html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["vary"] == "Accept"
    html = response.text
    for tag in ("<nav", "<header>", "<footer>", "<table>", "<th>Environment</th>"):
        assert tag in html
    assert '<code class="language-bash">' in html
    assert '<code class="language-python">' in html
    assert '<a href="oncall">' in html  # relative link
    assert "&quot;{base}/healthz&quot;" in html  # code is escaped, not interpreted


def test_markdown_variant(oauth):
    token = oauth.tokens()["access_token"]
    response = oauth.get("/pages/deploy", token, Accept="text/markdown")
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["vary"] == "Accept"
    assert int(response.headers["x-markdown-tokens"]) == pytest.approx(len(response.text) / 4, rel=0.05)
    text = response.text
    assert text.startswith("# Deploying a service\n")
    assert "```python\nimport httpx" in text
    assert "| staging | https://staging.acme.example | none |" in text
    assert "<nav" not in text and "Internal use only" not in text


def test_markdown_only_when_preferred(oauth):
    token = oauth.tokens()["access_token"]
    html_first = oauth.get("/", token, Accept="text/html, text/markdown;q=0.5")
    assert html_first.headers["content-type"].startswith("text/html")
    md_first = oauth.get("/", token, Accept="text/markdown, text/html;q=0.8")
    assert md_first.headers["content-type"].startswith("text/markdown")


def test_every_nav_link_resolves(oauth):
    token = oauth.tokens(scope="read admin")["access_token"]
    html = oauth.get("/", token, Accept="text/html").text
    links = set(re.findall(r'href="(/[^"]*)"', html)) - {"/.well-known/api-catalog"}
    assert len(links) >= 5
    for link in links:
        assert oauth.get(link, token).status_code == 200, link
    assert oauth.get("/pages/nope", token).status_code == 404


def test_json_api(oauth, demo):
    token = oauth.tokens()["access_token"]
    pages = oauth.get("/api/pages", token).json()["pages"]
    assert {p["slug"] for p in pages} >= {"home", "deploy", "oncall"}
    page = oauth.get("/api/pages/deploy", token).json()
    assert page["url"] == demo.origin + "/pages/deploy"
    assert page["markdown"].startswith("# Deploying a service")
    me = oauth.get("/api/me", token).json()
    assert me["user"] == "alice" and me["auth"] == "bearer"
    assert oauth.get("/api/pages/nope", token).status_code == 404


def test_api_catalog_and_openapi(oauth, demo):
    token = oauth.tokens()["access_token"]
    response = oauth.get("/.well-known/api-catalog", token)
    assert response.headers["content-type"].startswith("application/linkset+json")
    entry = response.json()["linkset"][0]
    assert entry["anchor"] == demo.origin + "/api"
    desc = entry["service-desc"][0]
    openapi = oauth.get(desc["href"].removeprefix(demo.origin), token)
    assert openapi.status_code == 200
    document = openapi.json()
    assert document["openapi"].startswith("3.1")
    assert "/pages/{slug}" in document["paths"]
    flows = document["components"]["securitySchemes"]["oauth"]["flows"]["authorizationCode"]
    assert flows["tokenUrl"] == demo.endpoint("token")
    for item in entry["item"]:
        assert oauth.get(item["href"].removeprefix(demo.origin), token).status_code == 200


def test_browser_session_after_login(demo):
    from agentfetch.demo.useragent import walk

    with httpx.Client(headers=BROWSER, follow_redirects=True) as browser:
        login = browser.get(demo.url + "pages/oncall")
        assert login.url.path == "/oauth/login"
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
        page = browser.post(str(login.url).split("?")[0], data={
            "username": "bob", "password": "builder", "csrf": csrf, "next": "/pages/oncall"})
        assert page.url.path == "/pages/oncall"
        assert "Signed in as bob" in page.text
        assert browser.get(demo.url + "admin").status_code == 403
    assert demo.requests[-1].user == "bob"
    assert callable(walk)


@pytest.mark.slow
def test_many_concurrent_clients(oauth, demo):
    """Twenty client processes at once, each with its own connection, all answered."""
    import subprocess
    import sys

    token = oauth.tokens()["access_token"]
    demo.clear_requests()
    code = (
        "import httpx,sys\n"
        "c=httpx.Client(headers={'Authorization':'Bearer '+sys.argv[2],'Accept':'text/markdown'})\n"
        "r=[c.get(sys.argv[1]) for _ in range(5)]\n"
        "sys.exit(0 if all(x.status_code==200 for x in r) else 1)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, demo.url, token]) for _ in range(20)]
    assert [p.wait(timeout=60) for p in procs] == [0] * 20
    assert demo.count("/", method="GET") == 100


def test_second_domain_has_its_own_resource_but_honours_tokens(oauth, demo, parse_challenge):
    assert demo.alias_url.startswith("http://localhost:")
    response = httpx.get(demo.alias_url)
    assert response.status_code == 401
    prm_url = parse_challenge(response.headers["www-authenticate"])["resource_metadata"]
    assert prm_url == demo.alias_resource + "/.well-known/oauth-protected-resource"
    prm = httpx.get(prm_url).json()
    assert prm["resource"] == demo.alias_resource
    assert prm["authorization_servers"] == [demo.issuer]  # one shared authorization server
    client_id = oauth.register()["client_id"]
    alias_token = oauth.tokens(client_id, resource=demo.alias_resource)["access_token"]
    from joserfc import jwt
    from joserfc.jwk import KeySet

    keys = KeySet.import_key_set(httpx.get(demo.endpoint("jwks")).json())
    assert jwt.decode(alias_token, keys).claims["aud"] == demo.alias_resource
    assert httpx.get(demo.alias_url, headers={"Authorization": f"Bearer {alias_token}"}).status_code == 200
    root_token = oauth.tokens(client_id)["access_token"]
    assert httpx.get(demo.alias_url + "api/me", headers={"Authorization": f"Bearer {root_token}"}).status_code == 200
    pages = httpx.get(demo.alias_url + "api/pages", headers={"Authorization": f"Bearer {root_token}"}).json()
    assert pages["pages"][0]["url"].startswith(demo.alias_resource)
