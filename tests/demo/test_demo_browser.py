"""The login and consent pages in a real headless Chromium, end to end to the client's loopback listener."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


def test_chromium_logs_in_consents_and_the_listener_gets_the_code(chromium, oauth, demo, loopback):
    client = oauth.register(client_name="Browser test agent")
    request = oauth.authorization(client["client_id"], scope="read offline_access")
    page = chromium.new_page()
    try:
        page.goto(request.url)
        assert "Sign in" in page.title()
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "wonderland")
        page.click("button[type=submit]")
        page.wait_for_selector("text=Allow access?")
        assert page.inner_text(".client-name") == "Browser test agent"
        assert page.inner_text(".resource") == demo.resource
        assert page.inner_text(".scopes").split("\n")[0].startswith("read")
        page.click("button[value=approve]")
        page.wait_for_url(loopback.redirect_uri + "?*")
        assert "You can close this tab" in page.content()
    finally:
        page.close()
    callback = loopback.last
    assert callback["state"] == request.state
    assert callback["iss"] == demo.issuer
    response = oauth.exchange(client["client_id"], request, callback["code"])
    assert response.status_code == 200, response.text
    assert oauth.get("/api/me", response.json()["access_token"]).json()["user"] == "alice"


def test_chromium_navigation_is_redirected_to_login_and_back(chromium, demo):
    page = chromium.new_page()
    try:
        page.goto(demo.url + "pages/oncall")
        assert page.url.startswith(demo.endpoint("login"))
        page.fill("input[name=username]", "bob")
        page.fill("input[name=password]", "builder")
        page.click("button[type=submit]")
        page.wait_for_url(demo.url + "pages/oncall")
        assert page.inner_text("header .who") == "Signed in as bob"
        assert page.inner_text("main table").startswith("Week")
    finally:
        page.close()
    assert any(r.path == "/pages/oncall" and r.status == 200 and r.user == "bob" for r in demo.requests)


def test_chromium_deny(chromium, oauth, loopback):
    request = oauth.authorization(oauth.register()["client_id"])
    page = chromium.new_page()
    try:
        page.goto(request.url)
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", "wonderland")
        page.click("button[type=submit]")
        page.click("button[value=deny]")
        page.wait_for_url(loopback.redirect_uri + "?*")
    finally:
        page.close()
    assert loopback.last["error"] == "access_denied"
