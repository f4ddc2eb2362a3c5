"""find(url): the longest resource prefix, on the same origin, on segment boundaries."""

from __future__ import annotations

import pytest
from store_builders import make_credential

from agentfetch.errors import UsageError
from agentfetch.store import CredentialStore


@pytest.fixture
def populated(file_store: CredentialStore) -> CredentialStore:
    for resource, token in [
        ("https://h.example/", "at-root"),
        ("https://h.example/docs", "at-docs"),
        ("https://h.example/docs/api/", "at-api"),
        ("https://h.example:8443/docs", "at-port"),
        ("http://h.example/docs", "at-http"),
        ("https://other.example/docs", "at-other"),
    ]:
        file_store.put(make_credential(resource, access_token=token))
    return file_store


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("https://h.example/docs", "at-docs"),
        ("https://h.example/docs/", "at-docs"),
        ("https://h.example/docs/guide?x=1#top", "at-docs"),
        ("https://h.example/docs/api", "at-api"),
        ("https://h.example/docs/api/v1/items", "at-api"),
        ("https://h.example/docs2", "at-root"),  # not under /docs: segment boundary
        ("https://h.example/doc", "at-root"),
        ("https://h.example", "at-root"),
        ("https://H.EXAMPLE:443/docs/x", "at-docs"),  # host case and default port
        ("https://h.example:8443/docs/x", "at-port"),
        ("http://h.example/docs/x", "at-http"),
        ("http://h.example:80/docs", "at-http"),
        ("https://other.example/docs/x", "at-other"),
    ],
)
def test_longest_prefix_on_same_origin(populated: CredentialStore, url: str, token: str) -> None:
    found = populated.find(url)
    assert found is not None
    assert found.tokens.access_token == token


@pytest.mark.parametrize(
    "url",
    [
        "https://other.example/",  # other origin, no root credential there
        "https://other.example/docs2",
        "http://other.example/docs",  # scheme is part of the origin
        "https://h.example:8443/",  # port is part of the origin
        "https://sub.h.example/docs",
    ],
)
def test_nothing_from_another_origin(populated: CredentialStore, url: str) -> None:
    assert populated.find(url) is None


def test_most_recent_wins_between_issuers_for_one_resource(file_store: CredentialStore) -> None:
    file_store.put(make_credential("https://h.example/docs", issuer="https://as-1.example", access_token="at-1"))
    file_store.put(make_credential("https://h.example/docs", issuer="https://as-2.example", access_token="at-2"))
    assert file_store.find("https://h.example/docs/x").tokens.access_token == "at-2"  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["not a url", "ftp://h.example/docs", "https://h.example:99999/", "https:///docs"])
def test_bad_urls_are_usage_errors(file_store: CredentialStore, url: str) -> None:
    with pytest.raises(UsageError):
        file_store.find(url)
