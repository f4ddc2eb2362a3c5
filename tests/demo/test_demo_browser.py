"""The demo's pages in a real headless Chromium, at a desktop and a phone width, end to end to a
client's loopback listener. Each test takes screenshots and checks what a person sees: the
roles and names of the buttons, who is signed in, which app and agent ask, each permission."""

from __future__ import annotations

import struct
import threading
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
#: A laptop screen, and a phone (390 × 844 CSS pixels, touch, the mobile viewport honoured).
SCREENS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
}
APP = "Acme Internal Wiki"

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


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def page(chromium: Any, screen: str) -> Any:
    context = chromium.new_context(**SCREENS[screen])
    page = context.new_page()
    yield page
    context.close()


def shoot(page: Any, tmp_path: Path, name: str, screen: str) -> Path:
    """A full-page screenshot, checked to be a PNG as wide as the screen (no sideways overflow)."""
    path = tmp_path / f"{name}-{screen}.png"
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = struct.unpack(">I", data[16:20])[0]
    scale = SCREENS[screen].get("device_scale_factor", 1)
    assert width == SCREENS[screen]["viewport"]["width"] * scale, f"{path.name} is {width} px wide"
    return path


def fits_the_screen(page: Any) -> None:
    """The page has the device's viewport and nothing pokes out sideways."""
    assert page.locator('meta[name=viewport]').get_attribute("content") == "width=device-width, initial-scale=1"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than the screen"


def within_view(page: Any, locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    return box


def test_login_then_consent_show_who_asks_for_what(page, screen, tmp_path, oauth, demo, loopback):
    client = oauth.register(client_name="Browser test agent")
    request = oauth.authorization(client["client_id"], scope="read offline_access")
    page.goto(request.url)

    # The login page says which app is asking, before any password is typed.
    assert page.title() == "Sign in to Acme · Acme Access"
    assert page.get_by_role("heading", name="Sign in to Acme").is_visible()
    asking = page.locator(".asking")
    assert asking.is_visible() and asking.inner_text() == (
        f"Browser test agent wants to access {APP} as you. Sign in to review the request.")
    fits_the_screen(page)
    shoot(page, tmp_path, "login", screen)

    # A wrong password keeps the username, empties the password and puts the cursor there.
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    assert page.get_by_label("Username").input_value() == "alice"
    assert page.get_by_label("Password").input_value() == ""
    assert page.evaluate("document.activeElement.name") == "password"
    assert asking.is_visible()
    shoot(page, tmp_path, "login-wrong-password", screen)

    page.get_by_label("Password").fill("wonderland")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Allow access?").wait_for()

    # Consent: the app by its name, the agent, the user (with a way out), every permission described.
    fits_the_screen(page)
    assert page.locator(".user").inner_text() == "alice" and page.locator(".user").is_visible()
    assert page.get_by_role("link", name="Not you?").is_visible()
    assert page.locator(".client-name").inner_text() == "Browser test agent"
    assert page.locator(".app").inner_text() == APP and page.locator(".app").is_visible()
    assert page.locator(".resource").inner_text() == demo.resource
    scopes = page.locator("ul.scopes li")
    assert scopes.count() == 2
    assert scopes.nth(0).is_visible() and scopes.nth(0).inner_text().splitlines() == ["Read the wiki's pages and API",
                                                                                      "read"]
    assert scopes.nth(1).inner_text().splitlines() == ["Stay signed in: refresh access without asking you again",
                                                       "offline_access"]
    unverified = page.locator(".unverified")
    assert unverified.is_visible() and "has not been verified" in unverified.inner_text()

    allow, deny = page.get_by_role("button", name="Allow"), page.get_by_role("button", name="Deny")
    allow_box, deny_box = within_view(page, allow), within_view(page, deny)
    # Allow is the primary action, Deny the secondary one: they look different.
    colours = [b.evaluate("e => getComputedStyle(e).backgroundColor") for b in (allow, deny)]
    assert colours[0] != colours[1] and colours[1] == "rgb(255, 255, 255)"
    if screen == "phone":  # stacked, each as wide as the card: an easy target for a thumb
        assert deny_box["y"] >= allow_box["y"] + allow_box["height"]
        assert allow_box["width"] > 0.7 * page.viewport_size["width"]
    else:  # side by side
        assert deny_box["y"] == allow_box["y"] and deny_box["x"] > allow_box["x"] + allow_box["width"]
    shoot(page, tmp_path, "consent", screen)

    allow.click()
    page.wait_for_url(loopback.redirect_uri + "?*")
    callback = loopback.last
    assert callback["state"] == request.state and callback["iss"] == demo.issuer
    response = oauth.exchange(client["client_id"], request, callback["code"])
    assert response.status_code == 200, response.text
    assert oauth.get("/api/me", response.json()["access_token"]).json()["user"] == "alice"


def test_not_you_signs_in_as_someone_else_for_the_same_request(page, screen, tmp_path, oauth, loopback):
    client = oauth.register(client_name="Browser test agent")
    request = oauth.authorization(client["client_id"], scope="read admin")
    page.goto(request.url)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wonderland")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Not you?").click()

    # Back at the login page, still for the same agent and app.
    assert page.locator(".asking").inner_text().startswith("Browser test agent wants to access")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("builder")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Allow access?").wait_for()
    assert page.locator(".user").inner_text() == "bob"
    # bob's account may not grant admin: the page says so and lists only what he can give.
    assert page.locator("ul.scopes li").all_inner_texts() == ["Read the wiki's pages and API\nread"]
    assert "may not grant: admin" in page.locator(".error").inner_text()
    fits_the_screen(page)
    shoot(page, tmp_path, "consent-bob", screen)
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(loopback.redirect_uri + "?*")
    response = oauth.exchange(client["client_id"], request, loopback.last["code"])
    token = response.json()["access_token"]
    assert oauth.get("/api/me", token).json()["user"] == "bob"


def test_deny(page, oauth, loopback):
    request = oauth.authorization(oauth.register()["client_id"])
    page.goto(request.url)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wonderland")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(loopback.redirect_uri + "?*")
    assert loopback.last["error"] == "access_denied"


def test_navigation_is_redirected_to_login_and_back(page, screen, tmp_path, demo):
    page.goto(demo.url + "pages/oncall")
    assert page.url.startswith(demo.endpoint("login"))
    # A person on their way to the wiki is told where they are going.
    assert page.locator(".asking").inner_text() == f"Sign in to continue to {APP}."
    fits_the_screen(page)
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("builder")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo.url + "pages/oncall")
    assert page.inner_text("header .who") == "Signed in as bob"
    assert page.inner_text("main table").startswith("Week")
    assert any(r.path == "/pages/oncall" and r.status == 200 and r.user == "bob" for r in demo.requests)


def test_wiki_layout_holds_at_both_widths(page, screen, tmp_path, demo):
    page.goto(demo.url + "pages/deploy")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wonderland")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(demo.url + "pages/deploy")
    assert page.get_by_role("heading", name="Deploying a service", level=1).is_visible()
    fits_the_screen(page)
    nav = page.get_by_role("navigation", name="Wiki pages")
    main = page.locator("main")
    nav_box, main_box = nav.bounding_box(), main.bounding_box()
    assert nav_box is not None and main_box is not None
    width = page.viewport_size["width"]
    if screen == "phone":  # the page list above the text, the text across the screen
        assert nav_box["y"] + nav_box["height"] <= main_box["y"] + 1
        assert main_box["width"] >= width - 1
    else:  # the page list beside the text
        assert nav_box["x"] + nav_box["width"] <= main_box["x"] + 1
        assert main_box["y"] < nav_box["y"] + nav_box["height"]
    # Every link of the page list can be seen and tapped; the text column is readable.
    for link in nav.get_by_role("link").all():
        within_view(page, link)
    for block in (page.locator("main table"), page.locator("main pre").first, page.locator("main p").first):
        box = within_view(page, block)
        assert box["width"] >= min(300, width - 40)
    assert page.get_by_role("link", name="Deploying a service").get_attribute("aria-current") == "page"
    shoot(page, tmp_path, "wiki", screen)


def _chromium_opener(screen: str, approve: bool, seen: dict[str, Any], shots: Path) -> Any:
    """An ``open_browser`` for agentfetch that drives its own Chromium in a thread (Playwright's
    sync API belongs to the thread that started it), as the person at the screen would."""
    from playwright.sync_api import sync_playwright

    def drive(url: str) -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_context(**SCREENS[screen]).new_page()
                page.goto(url)
                page.get_by_label("Username").fill("alice")
                page.get_by_label("Password").fill("wonderland")
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("button", name="Allow" if approve else "Deny").click()
                page.wait_for_url("http://127.0.0.1:*/callback?*")
                page.get_by_role("heading").wait_for()
                seen["heading"] = page.get_by_role("heading").inner_text()
                seen["text"] = page.locator("p").inner_text()
                seen["overflow"] = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                seen["viewport"] = page.locator("meta[name=viewport]").get_attribute("content")
                page.screenshot(path=str(shots / f"callback-{'allow' if approve else 'deny'}-{screen}.png"))
                browser.close()
        except Exception as exc:  # noqa: BLE001 - surfaced by the test's assertions
            seen["error"] = exc

    def open_browser(url: str) -> bool:
        thread = threading.Thread(target=drive, args=(url,), daemon=True)
        seen["thread"] = thread
        thread.start()
        return True

    return open_browser


@pytest.mark.parametrize("approve", [True, False], ids=["allow", "deny"])
def test_agentfetch_callback_page_names_the_site_and_the_way_back(screen, approve, tmp_path, demo, agentfetch_home):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from agentfetch import Fetcher
    from agentfetch.errors import AccessDenied

    seen: dict[str, Any] = {}
    with Fetcher(consent="allow", open_browser=_chromium_opener(screen, approve, seen, tmp_path),
                 auth_timeout=60) as fetcher:
        if approve:
            assert fetcher.fetch(demo.url + "pages/oncall").status == 200
        else:
            with pytest.raises(AccessDenied):
                fetcher.fetch(demo.url + "pages/oncall")
    seen["thread"].join(30)
    assert "error" not in seen, seen.get("error")
    assert seen["viewport"] == "width=device-width, initial-scale=1" and seen["overflow"] <= 0
    # The page agentfetch's own listener served: which site, and back to the terminal.
    assert "Return to your terminal" in seen["text"]
    if approve:
        assert seen["heading"] == f"Signed in to {APP}"
        assert f"agentfetch is authorized for {APP}" in seen["text"]
    else:
        assert seen["heading"] == "Sign-in did not complete"
        # The server's reason, in its words.
        assert f"The sign-in to {APP} was refused: the user denied access (access_denied)" in seen["text"]
