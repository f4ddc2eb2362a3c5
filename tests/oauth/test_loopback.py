"""The RFC 8252 loopback listener, with real HTTP requests."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from agentfetch.oauth.loopback import LoopbackListener


def test_binds_loopback_ip_on_an_ephemeral_port() -> None:
    with LoopbackListener() as listener:
        assert listener.redirect_uri.startswith("http://127.0.0.1:") and listener.port > 0
        assert listener._server.server_address[0] == "127.0.0.1"


def test_one_valid_callback_then_nothing_more() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "s1"
        base = f"http://127.0.0.1:{listener.port}"
        assert httpx.get(base + "/favicon.ico").status_code == 404
        assert httpx.get(base + "/other?code=x&state=s1").status_code == 404
        assert httpx.get(base + "/callback").status_code == 400  # not an authorization response
        assert httpx.get(base + "/callback?code=a&code=b&state=s1").status_code == 400  # repeated parameter
        page = httpx.get(base + "/callback?code=the-code&state=s1&iss=https%3A%2F%2Fas")
        assert page.status_code == 200 and "close this tab" in page.text
        assert "the-code" not in page.text and page.headers["cache-control"] == "no-store"
        assert listener.wait(1) == {"code": "the-code", "state": "s1", "iss": "https://as"}
        assert httpx.get(base + "/callback?code=again&state=s1").status_code == 404


def test_stray_callbacks_get_an_error_page_and_the_listener_keeps_waiting() -> None:
    """A wrong state (an old tab, another local process), another path, a bare callback path: each
    is answered with an error page and reported, and the real callback still ends the wait."""
    heard: list[str] = []
    with LoopbackListener(log=heard.append) as listener:
        listener.expected_state = "right"
        page = httpx.get(f"{listener.redirect_uri}?code=c&state=wrong")
        assert page.status_code == 400 and "refused" in page.text.lower()
        assert httpx.get(f"{listener.redirect_uri}?error=access_denied&state=wrong").status_code == 400
        assert httpx.get(f"http://127.0.0.1:{listener.port}/elsewhere?code=c&state=right").status_code == 404
        assert httpx.get(listener.redirect_uri).status_code == 400
        assert listener.wait(0.2) is None and not listener.received
        assert listener.wrong_state == 2 and len(listener.refused) == 3
        assert all("still waiting" in line for line in heard if "refused" in line)
        assert not any("code=c" in line or "wrong" in line for line in heard)  # never the query
        assert httpx.get(f"{listener.redirect_uri}?code=good&state=right").status_code == 200
        assert listener.wait(1) == {"code": "good", "state": "right"}


def test_an_error_callback_with_the_right_state_ends_the_wait() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "s"
        assert httpx.get(f"{listener.redirect_uri}?error=access_denied&state=s").status_code == 200
        assert listener.wait(1) == {"error": "access_denied", "state": "s"}


def test_a_pasted_address_is_checked_like_a_callback() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "s1"
        good = f"{listener.redirect_uri}?code=the-code&state=s1&iss=https%3A%2F%2Fas"
        assert "not an address on" in (listener.offer(good.replace("127.0.0.1", "localhost")) or "")
        other_port = good.replace(f":{listener.port}/", f":{listener.port + 1}/")
        assert "not an address on" in (listener.offer(other_port) or "")
        assert "not an address on" in (listener.offer("not a url at all") or "")
        assert "path" in (listener.offer(good.replace("/callback", "/other")) or "")
        assert "state" in (listener.offer(good.replace("state=s1", "state=forged")) or "")
        assert not listener.received
        assert listener.offer(good) is None
        assert listener.wait(0) == {"code": "the-code", "state": "s1", "iss": "https://as"}
        assert "over" in (listener.offer(good) or "")  # single use: a replay is refused
        assert httpx.get(good).status_code == 404  # and so is the same response by redirect


def test_cancel_ends_the_wait_without_a_callback() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "s"
        waiter = threading.Timer(0.1, listener.cancel, args=("the host cancelled the sign-in",))
        waiter.start()
        assert listener.wait(10) is None and listener.cancelled == "the host cancelled the sign-in"
        assert httpx.get(f"{listener.redirect_uri}?code=late&state=s").status_code == 404


def test_error_callback_page() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "s"
        page = httpx.get(f"{listener.redirect_uri}?error=access_denied&state=s")
        assert page.status_code == 200 and "not authorized" in page.text
        assert listener.wait(1)["error"] == "access_denied"


def test_a_wait_that_times_out_returns_nothing() -> None:
    with LoopbackListener() as listener:
        started = time.monotonic()
        assert listener.wait(0.3) is None
        assert 0.25 < time.monotonic() - started < 3


def test_close_wakes_a_waiter() -> None:
    listener = LoopbackListener()
    outcomes: list[object] = []
    waiter = threading.Thread(target=lambda: outcomes.append(listener.wait(30)))
    waiter.start()
    time.sleep(0.1)
    listener.close()
    waiter.join(5)
    assert not waiter.is_alive() and outcomes == [None]


def test_localhost_redirect_form_still_binds_loopback_ip() -> None:
    with LoopbackListener(redirect_host="localhost") as listener:
        assert listener.redirect_uri.startswith("http://localhost:")
        assert listener._server.server_address[0] == "127.0.0.1"


def test_registered_port_busy_raises_oserror() -> None:
    with LoopbackListener() as first:
        with pytest.raises(OSError):
            LoopbackListener(port=first.port)


def test_pages_name_the_site_and_show_the_servers_reason_escaped() -> None:
    with LoopbackListener() as listener:
        listener.expected_state, listener.site = "s", "Acme <Wiki>"
        page = httpx.get(f"{listener.redirect_uri}?error=access_denied&state=s"
                         "&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E+said+no")
        assert page.status_code == 200
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; said no (access_denied)" in page.text
        assert "The sign-in to Acme &lt;Wiki&gt; was refused" in page.text and "Return to your terminal" in page.text
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    with LoopbackListener() as listener:
        # No site given: the issuer's host (RFC 9207 iss) names it.
        listener.expected_state = "s"
        page = httpx.get(f"{listener.redirect_uri}?code=c&state=s&iss=https%3A%2F%2Fid.example.com%2Ftenant")
        assert "<h1>Signed in to id.example.com</h1>" in page.text and "Return to your terminal" in page.text
