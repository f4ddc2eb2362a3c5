"""convert() on bodies and headers as a real HTTP server on 127.0.0.1 sends them."""

from __future__ import annotations

import functools
import http.server
import threading

import httpx
import pytest
from content_support import REPO_CORPUS

from agentfetch.content import convert, paginate


@pytest.fixture
def corpus_server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(REPO_CORPUS / "pages"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("name", ["wikipedia", "qq", "links-in-tables", "base-url-base-element-relative"])
def test_served_page_converts_with_its_real_headers(corpus_server, name):
    response = httpx.get(f"{corpus_server}/{name}/source.html")
    assert response.status_code == 200
    doc = convert(response.content, response.headers.get("content-type"), str(response.url))
    assert doc.kind == "html" and doc.title
    assert doc.markdown.startswith(f"# {doc.title}\n\n")
    # Relative links resolve against the URL the page was served from.
    assert f"]({corpus_server}/" in doc.markdown or "](http" in doc.markdown
    pages, start = [], 0
    while True:
        page = paginate(doc.markdown, start, 4000)
        pages.append(page)
        if not page.truncated:
            break
        start = page.next_start_index
    assert sum(len(p.text) for p in pages) >= len(doc.markdown)


def test_served_expected_metadata_json_is_fenced(corpus_server):
    response = httpx.get(f"{corpus_server}/wikipedia/expected-metadata.json")
    doc = convert(response.content, response.headers.get("content-type"), str(response.url))
    assert doc.kind == "json" and doc.markdown.startswith("```json\n{\n")


class _MarkdownSite(http.server.BaseHTTPRequestHandler):
    """A "Markdown for Agents" server: a redirect, then Markdown with relative links and its headers."""

    BODY = b"# Guide\n\nRead [the next page](next.md) and [the index](/index.md).\n"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/old":
            self.send_response(302)
            self.send_header("Location", "/docs/guide.md")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/markdown; charset=utf-8")
        self.send_header("x-markdown-tokens", "17")
        self.send_header("Content-Signal", "ai-train=no, search=yes, ai-input=yes")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)


@pytest.fixture
def markdown_site():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MarkdownSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetched_server_markdown_has_absolute_links_and_its_headers_in_metadata(markdown_site):
    from agentfetch import fetch

    result = fetch(f"{markdown_site}/old", auth=False)
    assert result.kind == "markdown" and result.final_url == f"{markdown_site}/docs/guide.md"
    assert f"[the next page]({markdown_site}/docs/next.md)" in result.markdown
    assert f"[the index]({markdown_site}/index.md)" in result.markdown
    assert result.metadata["markdown_tokens"] == "17"
    assert result.metadata["content_signal"] == "ai-train=no, search=yes, ai-input=yes"
    assert result.to_dict()["metadata"]["content_signal"].startswith("ai-train=no")
    assert result.tokens == 17
