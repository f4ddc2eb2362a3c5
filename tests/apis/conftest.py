"""Fixtures for API discovery: a fetcher that signs in to the demo as alice, and a static loopback server.

The static server plays hosts the demo cannot be made into: one whose page only
links its catalog in HTML, one whose nested catalog is huge, one with a catalog
cycle through relative references. It serves fixed documents over real HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentfetch import AsyncFetcher, Fetcher
from agentfetch.demo.useragent import ScriptedBrowser


@dataclass
class Document:
    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class StaticServer:
    def __init__(self) -> None:
        self.documents: dict[str, Document] = {}
        self.seen: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                owner.seen.append(self.path)
                doc = owner.documents.get(self.path) or Document(b"not found", "text/plain", 404)
                self.send_response(doc.status)
                self.send_header("Content-Type", doc.content_type)
                for name, value in doc.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(doc.body)))
                self.end_headers()
                self.wfile.write(doc.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve(self, path: str, body: str | bytes, content_type: str, **options: object) -> str:
        self.documents[path] = Document(body.encode() if isinstance(body, str) else body, content_type,
                                        **options)  # type: ignore[arg-type]
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def static() -> Iterator[StaticServer]:
    server = StaticServer()
    yield server
    server.close()


@pytest.fixture
def browser() -> ScriptedBrowser:
    return ScriptedBrowser()


@pytest.fixture
def fetcher(agentfetch_home: Path, browser: ScriptedBrowser) -> Iterator[Fetcher]:
    with Fetcher(consent="allow", open_browser=browser, auth_timeout=20.0) as f:
        yield f


@pytest.fixture
async def afetcher(agentfetch_home: Path, browser: ScriptedBrowser) -> AsyncFetcher:
    async with AsyncFetcher(consent="allow", open_browser=browser, auth_timeout=20.0) as f:
        yield f
