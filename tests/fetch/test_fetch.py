"""The SDK's fetch path against a real loopback server (no OAuth involved)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agentfetch import (
    AsyncFetcher,
    AuthorizationError,
    Fetcher,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    UsageError,
    afetch,
    fetch,
)
from agentfetch._urls import redact_url
from agentfetch.api import ACCEPT, USER_AGENT, parse_header


def test_html_becomes_markdown_with_title_and_absolute_links(pages):
    result = fetch(pages.url("/article"), auth=False)
    assert result.status == 200
    assert result.kind == "html"
    assert result.title == "Loopback article"
    assert result.markdown.startswith("# Loopback article")
    assert pages.url("/docs/next.html") in result.markdown
    assert "Copyright footer" not in result.markdown
    assert "```python" in result.markdown
    assert "| Name | Value |" in result.markdown
    assert result.tokens > 0 and result.total_length == len(result.markdown)


def test_content_negotiation_headers_are_sent(pages):
    result = fetch(pages.url("/echo-headers"), auth=False)
    headers = {k.lower(): v for k, v in json.loads(result.markdown.split("\n", 1)[1].rsplit("```", 1)[0]).items()}
    assert headers["accept"] == ACCEPT
    assert headers["user-agent"] == USER_AGENT and "agentfetch/" in USER_AGENT
    assert "sec-fetch-mode" not in headers


def test_markdown_passes_through_untouched_and_server_tokens_win(pages):
    result = fetch(pages.url("/markdown"), auth=False)
    assert result.kind == "markdown"
    assert result.markdown == "# Already Markdown\n\n* kept   as is\n"
    assert result.tokens == 7


def test_json_is_pretty_printed_in_a_fence(pages):
    result = fetch(pages.url("/json"), auth=False)
    assert result.kind == "json"
    assert result.markdown.startswith("```json\n")
    assert '"a": "é"' in result.markdown


def test_charset_from_header_and_from_meta(pages):
    assert "café plain text" in fetch(pages.url("/plain"), auth=False).markdown
    assert "Crème brûlée" in fetch(pages.url("/meta-charset"), auth=False).markdown


def test_binary_is_summarised_in_one_line(pages):
    result = fetch(pages.url("/png"), auth=False)
    assert result.kind == "binary"
    assert "image/png" in result.markdown and pages.url("/png") in result.markdown
    assert result.markdown.count("\n") <= 1
    assert "PNG" not in result.markdown.replace("image/png", "")


def test_gzip_body_is_decoded(pages):
    assert "zipped text body" in fetch(pages.url("/gzip"), auth=False).markdown


def test_redirects_are_followed_and_final_url_reported(pages):
    result = fetch(pages.url("/redirect/3"), auth=False)
    assert result.url == pages.url("/redirect/3")
    assert result.final_url == pages.url("/article")
    assert result.title == "Loopback article"


def test_more_than_ten_redirects_is_a_network_error(pages):
    fetch(pages.url("/redirect/9"), auth=False)  # ten hops: allowed
    with pytest.raises(NetworkError, match="more than 10 redirects"):
        fetch(pages.url("/redirect/10"), auth=False)


def test_caller_authorization_header_is_dropped_across_origins(pages):
    result = fetch(
        pages.url("/cross-origin"), auth=False, headers={"Authorization": "Bearer caller-secret", "X-Kept": "1"}
    )
    echoed = {k.lower(): v for k, v in json.loads(result.markdown.split("\n", 1)[1].rsplit("```", 1)[0]).items()}
    assert "authorization" not in echoed
    assert echoed["x-kept"] == "1"


def test_body_is_capped_while_streaming(pages):
    result = fetch(pages.url("/endless"), auth=False, max_bytes=300_000, raw=True)
    assert result.body_truncated
    assert result.body is not None and len(result.body) == 300_000


def test_pagination_round_trip(pages):
    whole = fetch(pages.url("/article"), auth=False).markdown
    first = fetch(pages.url("/article"), auth=False, max_length=120)
    assert first.truncated and first.next_start_index is not None
    assert f"{first.next_start_index}" in first.markdown.splitlines()[-1]
    rest = fetch(pages.url("/article"), auth=False, start_index=first.next_start_index)
    assert not rest.truncated
    assert whole.endswith(rest.markdown)


@pytest.mark.parametrize(
    ("path", "error", "code"),
    [
        ("/status/404", HTTPStatusError, 4),
        ("/status/500", HTTPStatusError, 4),
        ("/unauthorized", AuthorizationError, 5),
    ],
)
def test_error_statuses_are_typed(pages, path, error, code):
    with pytest.raises(error) as info:
        fetch(pages.url(path), auth=False)
    assert info.value.exit_code == code


def test_timeout_and_unreachable_host_are_network_errors(pages):
    with pytest.raises(FetchTimeout) as info:
        fetch(pages.url("/slow"), auth=False, timeout=0.5)
    assert info.value.exit_code == 3
    with pytest.raises(NetworkError):
        fetch("http://127.0.0.1:1/", auth=False, timeout=2)


@pytest.mark.parametrize("url", ["", "example.com", "ftp://example.com/", "http://", "http://host:99999/"])
def test_bad_urls_are_usage_errors(url):
    with pytest.raises(UsageError):
        fetch(url, auth=False)


@pytest.mark.parametrize("line", ["NoColon", ": value", "Bad Name: v", "X: a\r\nInjected: 1"])
def test_malformed_headers_are_usage_errors(line):
    with pytest.raises(UsageError):
        parse_header(line)


def test_redact_url_hides_secrets():
    assert redact_url("http://127.0.0.1:9/cb?code=abc&state=xyz&x=1") == "http://127.0.0.1:9/cb?code=redacted&state=redacted&x=1"


def test_fetcher_reuses_one_client(pages):
    with Fetcher(auth=False) as fetcher:
        assert fetcher.fetch(pages.url("/plain")).status == 200
        assert fetcher.fetch(pages.url("/json")).kind == "json"


async def test_async_fetch_and_fetcher(pages):
    result = await afetch(pages.url("/redirect/2"), auth=False)
    assert result.final_url == pages.url("/article")
    async with AsyncFetcher(auth=False, max_bytes=1000) as fetcher:
        capped = await fetcher.fetch(pages.url("/endless"), raw=True)
        assert capped.body_truncated and len(capped.body or b"") == 1000


def test_verbose_trace_logs_each_request(pages):
    lines: list[str] = []
    fetch(pages.url("/redirect/1"), auth=False, log=lines.append)
    assert any(line.startswith(f"GET {pages.url('/redirect/1')} → 302") for line in lines)
    assert any(line.startswith(f"GET {pages.url('/article')} → 200") for line in lines)


def test_importing_agentfetch_stays_light():
    import subprocess

    code = (
        "import sys, agentfetch; "
        "heavy = [m for m in ('httpx', 'lxml', 'markdownify', 'bs4', 'rich', 'typer', 'keyring', 'authlib', 'joserfc')"
        " if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is absent (it lives beside the project root)")
def test_real_corpus_page_over_http(pages):
    name = sorted(p.name for p in CORPUS.iterdir())[0]
    result = fetch(pages.url(f"/corpus/{name}/"), auth=False)
    assert result.status == 200 and result.kind == "html"
    assert len(result.markdown) > 200
