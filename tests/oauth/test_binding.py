"""Where a token may be sent (RFC 6750 §5.3, RFC 9728 §7, RFC 8252 §8.3)."""

from __future__ import annotations

import pytest

from agentfetch._urls import is_loopback_host
from agentfetch.oauth.binding import may_send_token


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST", "localhost."])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


# "*.localhost" is loopback only if the resolver says so (RFC 6761 §6.3): not trusted by name (issue 17, item 7).
@pytest.mark.parametrize("host", ["example.com", "10.0.0.1", "localhost.evil.com", "127.0.0.1.nip.io", "", None,
                                  "app.localhost", "evil.localhost"])
def test_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("resource", "url", "allowed"),
    [
        ("https://h/docs", "https://h/docs", True),
        ("https://h/docs", "https://h/docs/a/b?x=1", True),
        ("https://h/docs/", "https://h/docs/a", True),
        ("https://h/", "https://h/anything", True),
        ("https://h", "https://h/anything", True),
        ("https://h:443/docs", "https://h/docs/a", True),
        ("https://h/docs", "https://h/docsevil", False),
        ("https://h/docs", "https://h/other", False),
        ("https://h/docs", "https://evil/docs", False),
        ("https://h/docs", "https://h:8443/docs", False),
        ("https://h/docs", "http://h/docs", False),
        ("http://h/docs", "http://h/docs", False),  # plain HTTP off loopback: never
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000/wiki", True),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8001/wiki", False),
        ("https://h/docs", "not a url", False),
    ],
)
def test_may_send_token(resource: str, url: str, allowed: bool) -> None:
    assert may_send_token(resource, url) is allowed
