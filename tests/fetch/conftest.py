"""A real HTTP server on 127.0.0.1 serving every kind of body the fetcher meets."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"

ARTICLE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loopback article</title></head>
<body><header><nav><a href="/">Home</a> <a href="/about">About</a></nav></header>
<main><article><h1>Loopback article</h1>
<p>The first paragraph explains why agents need clean Markdown instead of raw HTML soup.</p>
<p>See <a href="docs/next.html">the next page</a> and <img src="/img/logo.png" alt="logo">.</p>
<table><tr><th>Name</th><th>Value</th></tr><tr><td>alpha</td><td>1</td></tr></table>
<pre><code class="language-python">print("hello")
</code></pre>
</article></main><footer>Copyright footer text</footer></body></html>"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: C901 - a route table
        path, _, query = self.path.partition("?")
        server: PageServer = self.server.owner  # type: ignore[attr-defined]
        server.seen.append((path, dict(self.headers.items())))
        if path == "/article":
            self._send(200, ARTICLE.encode(), "text/html; charset=utf-8")
        elif path == "/markdown":
            self._send(200, b"# Already Markdown\n\n* kept   as is\n", "text/markdown; charset=utf-8",
                       {"x-markdown-tokens": "7", "Vary": "Accept"})
        elif path == "/json":
            self._send(200, b'{"b": [1, 2], "a": "\xc3\xa9"}', "application/json")
        elif path == "/plain":
            self._send(200, "caf\u00e9 plain text\n".encode("latin-1"), "text/plain; charset=iso-8859-1")
        elif path == "/meta-charset":
            body = (
                '<html><head><meta charset="windows-1252"><title>Caf\u00e9</title></head><body><main>'
                "<p>Cr\u00e8me br\u00fbl\u00e9e for everyone at the caf\u00e9, served warm.</p></main></body></html>"
            )
            self._send(200, body.encode("cp1252"), "text/html")
        elif path == "/png":
            self._send(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png")
        elif path == "/gzip":
            self._send(200, gzip.compress(b"zipped text body\n"), "text/plain", {"Content-Encoding": "gzip"})
        elif path.startswith("/redirect/"):
            remaining = int(path.rsplit("/", 1)[1])
            target = "/article" if remaining == 0 else f"/redirect/{remaining - 1}"
            self._send(302, b"", None, {"Location": target})
        elif path == "/cross-origin":
            self._send(302, b"", None, {"Location": server.other.url("/echo-headers")})
        elif path == "/echo-headers":
            self._send(200, json.dumps(dict(self.headers.items())).encode(), "application/json")
        elif path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(2000):  # 128 MiB at most; the client must stop long before
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                return
            self.wfile.write(b"0\r\n\r\n")
        elif path.startswith("/status/"):
            status = int(path.rsplit("/", 1)[1])
            self._send(status, b"status page", "text/plain")
        elif path == "/unauthorized":
            self._send(401, b"", "text/plain", {"WWW-Authenticate": 'Basic realm="x"'})
        elif path == "/slow":
            import time

            time.sleep(3)
            self._send(200, b"late", "text/plain")
        elif path.startswith("/corpus/"):
            name = path.split("/")[2]
            self._send(200, (CORPUS / name / "source.html").read_bytes(), "text/html")
        else:
            self._send(404, b"not found", "text/plain")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (timeouts, capped bodies) are part of the tests


class PageServer:
    def __init__(self) -> None:
        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.other: PageServer | None = None
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    server, other = PageServer(), PageServer()
    server.other = other
    yield server
    server.close()
    other.close()


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTFETCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AGENTFETCH_STORE", "file")
    return tmp_path / "home"
