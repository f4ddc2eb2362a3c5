"""The RFC 8252 loopback listener, with real HTTP requests."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from agentfetch.errors import AuthorizationTimeout
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


def test_wrong_state_is_answered_as_refused_and_handed_to_the_core() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "right"
        page = httpx.get(f"{listener.redirect_uri}?code=c&state=wrong")
        assert page.status_code == 400 and "refused" in page.text.lower()
        assert listener.wait(1)["state"] == "wrong"  # code_from_callback raises CallbackMismatch on it


def test_error_callback_page() -> None:
    with LoopbackListener() as listener:
        listener.expected_state = "s"
        page = httpx.get(f"{listener.redirect_uri}?error=access_denied&state=s")
        assert page.status_code == 200 and "not authorized" in page.text
        assert listener.wait(1)["error"] == "access_denied"


def test_times_out_with_a_clear_error() -> None:
    with LoopbackListener() as listener:
        started = time.monotonic()
        with pytest.raises(AuthorizationTimeout) as info:
            listener.wait(0.3)
        assert 0.25 < time.monotonic() - started < 3
        assert listener.redirect_uri in str(info.value) and info.value.exit_code == 5


def test_close_wakes_a_waiter() -> None:
    listener = LoopbackListener()
    errors: list[Exception] = []

    def wait() -> None:
        try:
            listener.wait(30)
        except AuthorizationTimeout as exc:
            errors.append(exc)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.1)
    listener.close()
    waiter.join(5)
    assert not waiter.is_alive() and errors


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
