"""The whole journey an agent makes, from the command line, as the human, against the demo app:
discover → describe → POST (with the step-up to write) → read back; then the redirect and retry rules."""

from __future__ import annotations

import json

from apis_support import run_cli


def test_discover_describe_write_read_back_and_the_rules(demo, tmp_path):
    home = tmp_path / "home"
    # 1. What APIs does the host offer? (the catalog is protected: the first sign-in, as alice, scope read)
    found = run_cli("apis", demo.url, "--describe", "--json", "--consent", "allow", home=home)
    assert found.returncode == 0, found.stderr
    catalog = json.loads(found.stdout)
    wiki = next(api for api in catalog["apis"] if api["title"] == "Acme Internal Wiki API")
    server = wiki["description"]["servers"][0]
    create = next(op for op in wiki["description"]["operations"] if op["operation_id"] == "createPage")
    assert (create["method"], create["path"], create["security"]) == ("post", "/pages", ["oauth: write"])
    assert create["request_body"].startswith("application/json PageInput {slug, title*")

    # 2. Act on it: read first (scope read), then the first write steps up to write.
    assert run_cli(server + "/pages", "-X", "GET", home=home).returncode == 0
    body = json.dumps({"title": "Quarterly review", "markdown": "# Q3\n\nAll green."})
    created = run_cli(server + create["path"], "-X", "POST", "--json-body", body, "--consent", "allow", "--json",
                      home=home)
    assert created.returncode == 0, created.stderr
    answer = json.loads(created.stdout)
    assert answer["status"] == 201 and answer["method"] == "POST"
    location = answer["headers"]["location"]
    posts = [(r.method, r.status) for r in demo.requests if r.path == "/api/pages" and r.method == "POST"]
    assert posts == [("POST", 403), ("POST", 201)]  # the step-up; the body went again, once
    back = run_cli(location, "--raw", home=home)
    assert json.loads(back.stdout)["markdown"] == "# Q3\n\nAll green."
    assert [(e["user"], e["method"], e["event"]) for e in demo.audit if e.get("event") == "page.created"] == [
        ("alice", "POST", "page.created")]

    # 3. The rules: 308 keeps the POST on the origin, 303 turns into GET, a cross-origin 307 is refused,
    #    and a POST the server answered 502 is not sent again.
    v1 = run_cli(demo.origin + "/api/v1/pages", "--json-body", '{"title": "Via v1"}', "--json", home=home)
    assert json.loads(v1.stdout)["status"] == 201 and json.loads(v1.stdout)["final_url"] == demo.origin + "/api/pages"
    draft = run_cli(demo.origin + "/api/drafts", "--json-body", '{"title": "Draft"}', "--json", home=home)
    assert json.loads(draft.stdout)["final_url"] == demo.origin + "/api/pages/draft"
    away = run_cli(demo.origin + "/api/moved/pages", "--json-body", '{"title": "Away"}', home=home)
    assert away.returncode == 6 and "another origin" in away.stderr
    with demo.configure(faults={"api_bad_gateway"}):
        demo.clear_requests()
        failed = run_cli(demo.origin + "/api/pages", "--json-body", '{"title": "Lost"}', home=home)
    assert failed.returncode == 4 and "answered 502" in failed.stderr
    assert [(r.method, r.status) for r in demo.requests if r.path == "/api/pages"] == [("POST", 502)]
