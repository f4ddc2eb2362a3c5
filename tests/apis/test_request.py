"""``request()``: a method and a body, as the human, against the demo's REST API on loopback."""

from __future__ import annotations

import json

import pytest

from agentfetch import (
    AuthorizationError,
    HTTPStatusError,
    SecurityError,
    UsageError,
    arequest,
    request,
)
from agentfetch.api import MAX_REQUEST_BODY


def api_log(demo, prefix="/api"):
    """What agentfetch sent under ``prefix`` (the browser's sign-in pages are elsewhere)."""
    return [(r.method, r.path, r.status) for r in demo.requests if r.path.startswith(prefix)]


def test_a_first_write_steps_up_and_the_body_is_sent_again(demo, fetcher, browser):
    listed = fetcher.request("GET", demo.origin + "/api/pages")
    assert listed.ok and listed.method == "GET" and len(browser.opened) == 1
    created = fetcher.request("POST", demo.origin + "/api/pages", json={"title": "Runbook", "markdown": "# Steps"})
    assert created.status == 201, created.markdown
    # The read token got 403 insufficient_scope; the human approved write; the same POST went again.
    assert len(browser.opened) == 2 and not browser.errors
    assert "write" in browser.authorize_params()["scope"].split()
    assert api_log(demo) == [("GET", "/api/pages", 401), ("GET", "/api/pages", 200),
                             ("POST", "/api/pages", 403), ("POST", "/api/pages", 201)]
    assert created.kind == "json" and created.markdown.startswith("```json\n{\n")
    page = json.loads(created.markdown.removeprefix("```json\n").rsplit("```", 1)[0])
    assert page["title"] == "Runbook" and page["author"] == "alice"
    assert created.to_dict()["headers"]["location"] == demo.origin + "/api/pages/runbook"
    assert created.to_dict()["method"] == "POST"
    back = fetcher.request("GET", demo.origin + "/api/pages/runbook", raw=True)
    assert json.loads(back.body)["markdown"] == "# Steps"
    writes = [e for e in demo.audit if e.get("event") == "page.created"]
    assert [(e["user"], e["method"]) for e in writes] == [("alice", "POST")]


def test_the_body_survives_the_first_sign_in(demo, fetcher):
    body = "Ünïcode body, " * 50
    created = fetcher.request("POST", demo.origin + "/api/pages", content=json.dumps({"title": "T", "markdown": body}),
                              headers={"Content-Type": "application/json"})
    assert created.status == 201
    assert api_log(demo) == [("POST", "/api/pages", 401), ("POST", "/api/pages", 201)]
    assert fetcher.request("GET", demo.origin + "/api/pages/t").to_dict()["markdown"].count("Ünïcode") == 50


def test_redirects_307_308_keep_the_method_on_the_origin_and_303_becomes_get(demo, fetcher):
    moved = fetcher.request("POST", demo.origin + "/api/v1/pages", json={"title": "Via v1"})
    assert moved.status == 201 and moved.final_url == demo.origin + "/api/pages"
    demo.clear_requests()
    seen = fetcher.request("POST", demo.origin + "/api/drafts", json={"title": "Draft"})
    assert seen.status == 200 and seen.final_url == demo.origin + "/api/pages/draft"
    assert api_log(demo) == [("POST", "/api/drafts", 303), ("GET", "/api/pages/draft", 200)]
    assert json.loads(fetcher.request("GET", seen.final_url, raw=True).body)["title"] == "Draft"


def test_a_cross_origin_307_with_a_body_is_refused(demo, fetcher):
    fetcher.request("GET", demo.origin + "/api/pages")  # signed in with read
    demo.clear_requests()
    with pytest.raises(SecurityError, match=r"refused to repeat POST with its body at another origin") as caught:
        fetcher.request("POST", demo.origin + "/api/moved/pages", json={"title": "Nope"}, headers={"X-Req": "1"})
    assert caught.value.exit_code == 6
    assert demo.alias_url.rstrip("/") in str(caught.value)
    # The step-up to write happened on the first origin; the redirect was then refused, not followed.
    assert api_log(demo) == [("POST", "/api/moved/pages", 403), ("POST", "/api/moved/pages", 307)]
    assert not [r for r in demo.requests if r.path == "/api/pages"]
    # A GET may follow it (it asks the other origin for its own token).
    assert fetcher.request("GET", demo.origin + "/api/moved/pages").final_url == demo.alias_url + "api/pages"


def test_no_retry_of_a_post_after_a_502(demo, fetcher):
    fetcher.request("GET", demo.origin + "/api/pages")
    with demo.configure(faults={"api_bad_gateway"}):
        demo.clear_requests()
        answer = fetcher.request("POST", demo.origin + "/api/pages", json={"title": "Lost"})
    assert answer.status == 502 and not answer.ok
    # One step-up (403), then the one POST the server answered 502: not sent again.
    assert [r for r in api_log(demo) if r[0] == "POST"] == [("POST", "/api/pages", 403), ("POST", "/api/pages", 502)]
    error = answer.status_error()
    assert isinstance(error, HTTPStatusError) and error.exit_code == 4 and error.status == 502
    with pytest.raises(HTTPStatusError):
        answer.raise_for_status()


def test_statuses_are_answered_not_raised(demo, fetcher):
    token_less = request("DELETE", demo.origin + "/api/pages/deploy", auth=False)
    assert token_less.status == 401 and isinstance(token_less.status_error(), AuthorizationError)
    fetcher.request("POST", demo.origin + "/api/pages", json={"title": "Temp"})
    gone = fetcher.request("delete", demo.origin + "/api/pages/temp")
    assert gone.status == 204 and gone.markdown == "" and gone.method == "DELETE"
    conflict = fetcher.request("PUT", demo.origin + "/api/pages/deploy", json={"title": "x"})
    assert conflict.status == 409 and '"read_only"' in conflict.markdown
    head = fetcher.request("HEAD", demo.origin + "/api/pages")
    assert head.status == 200 and head.markdown == ""


def test_a_body_over_the_limit_is_refused_before_anything_is_sent(demo, fetcher):
    with pytest.raises(UsageError, match=f"at most {MAX_REQUEST_BODY} can be held"):
        fetcher.request("POST", demo.origin + "/api/pages", content=b"x" * (MAX_REQUEST_BODY + 1))
    assert demo.requests == []


@pytest.mark.parametrize(("method", "options", "message"), [
    ("POST", {"content": b"a", "json": {}}, "content or json, not both"),
    ("GE T", {}, "not an HTTP method"),
    ("CONNECT", {}, "tunnel"),
    ("POST", {"content": iter([b"a"])}, "content must be bytes or str"),
    ("POST", {"json": {1, 2}}, "not serialisable"),
])
def test_bad_requests_are_usage_errors(demo, fetcher, method, options, message):
    with pytest.raises(UsageError, match=message):
        fetcher.request(method, demo.origin + "/api/pages", **options)
    assert demo.requests == []


async def test_async_request_with_step_up(demo, afetcher, browser):
    await afetcher.request("GET", demo.origin + "/api/pages")
    created = await afetcher.request("POST", demo.origin + "/api/pages", json={"title": "Async"})
    assert created.status == 201 and len(browser.opened) == 2
    answer = await arequest("GET", demo.origin + "/api/pages/async", auth=False)
    assert answer.status == 401
