"""The whole flow with a real browser: agentfetch's own loopback listener
receives the code after headless Chromium signs in and consents."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from agentfetch import Fetcher

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.browser


def chromium_opener(seen: dict[str, object]):
    """An ``open_browser`` that drives Chromium in a thread, as a person would."""
    from playwright.sync_api import sync_playwright

    def drive(url: str) -> None:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_page()
                page.goto(url)
                page.fill("input[name=username]", "alice")
                page.fill("input[name=password]", "wonderland")
                page.click("button[type=submit]")
                page.wait_for_selector("text=Allow access?")
                seen["consent_page_names_agent"] = "agentfetch" in page.inner_text(".client-name")
                page.click("button[value=approve]")
                page.wait_for_url("http://127.0.0.1:*/**")
                page.wait_for_load_state()
                seen["final_url"] = page.url
                seen["final_page"] = page.content()
                browser.close()
        except Exception as exc:  # surfaced by the test's assertions
            seen["error"] = exc

    def open_browser(url: str) -> bool:
        seen["authorize_url"] = url
        thread = threading.Thread(target=drive, args=(url,), daemon=True)
        seen["thread"] = thread
        thread.start()
        return True

    return open_browser


def test_fetch_signs_in_through_chromium(demo, agentfetch_home):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    seen: dict[str, object] = {}
    with Fetcher(consent="allow", open_browser=chromium_opener(seen), auth_timeout=60) as fetcher:
        result = fetcher.fetch(demo.url + "pages/oncall")
    seen["thread"].join(30)  # type: ignore[union-attr]
    assert "error" not in seen, seen.get("error")
    assert result.status == 200 and result.title
    assert seen["consent_page_names_agent"] is True
    # The browser ended on agentfetch's loopback listener, which told the person to close the tab.
    assert str(seen["final_url"]).startswith("http://127.0.0.1:") and "code=" in str(seen["final_url"])
    assert "close" in str(seen["final_page"]).lower()
    # The audit log ties the agent's request to the human who approved it.
    fetches = [e for e in demo.audit if e.get("user") == "alice" and e.get("path", "").endswith("pages/oncall")]
    assert fetches and all(e.get("client_id") for e in fetches)
