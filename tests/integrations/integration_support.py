"""Helpers shared by the integration tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Long enough to be cut at a small max_length; each paragraph is unique so a
#: test can tell which part of the page an answer holds.
ARTICLE_HTML = (
    "<!doctype html><html><head><title>Loopback article</title></head><body>"
    "<nav><a href='/'>Home</a> <a href='/about'>About</a></nav>"
    "<main><article><h1>Loopback article</h1>"
    + "".join(f"<p>Paragraph number {i} says something worth reading about tide pools.</p>" for i in range(60))
    + "</article></main><footer>Footer text</footer></body></html>"
)


class SiteHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/article":
            self._answer(200, "text/html; charset=utf-8", ARTICLE_HTML.encode())
        elif self.path == "/data.json":
            self._answer(200, "application/json", b'{"name": "tide pools", "count": 3}')
        else:
            self._answer(404, "text/html", b"<html><body><h1>Not here</h1></body></html>")

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
        pass


@dataclass(frozen=True)
class Site:
    base: str

    def url(self, path: str) -> str:
        return self.base + path




def cli_markdown(url: str, env: dict[str, str], *args: str) -> str:
    """What ``agentfetch URL`` prints: the reference every integration must match."""
    done = subprocess.run(
        [sys.executable, "-m", "agentfetch", url, *args],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    return done.stdout
