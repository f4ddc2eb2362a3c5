"""Several URLs in one call, as curl and xargs users expect: from the arguments and from stdin,
fetched a bounded number at a time, printed in order (a header line each, or JSON lines), into
files with ``-o``, and the worst exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


def run_cli(*args: str, home: Path, stdin: str | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AGENTFETCH_HOME": str(home), "AGENTFETCH_STORE": "file"}
    env.pop("AGENTFETCH_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "agentfetch", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, input=stdin, cwd=cwd, check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)


class Gate:
    """Holds each ``/held/...`` request until ``width`` of them are in flight together, and
    records the most that ever were: a pool that fetches fewer at once never opens the gate
    (the held requests time out), one that fetches more shows a higher peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.width = 0
        self.in_flight = 0
        self.peak = 0
        self.barrier: threading.Barrier | None = None

    def reset(self, width: int) -> None:
        self.width, self.in_flight, self.peak = width, 0, 0
        self.barrier = threading.Barrier(width, timeout=20)

    def enter(self) -> bool:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            assert self.barrier is not None
            self.barrier.wait()
            return True
        except threading.BrokenBarrierError:
            return False
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture(scope="module")
def site():
    gate = Gate()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            path = self.path
            if path.startswith("/held/") and not gate.enter():
                self._send(503, "<h1>gate broken</h1>")
            elif path.startswith(("/page/", "/held/")):
                name = path.rsplit("/", 1)[1].split("?")[0]
                self._send(200, f"<html><head><title>Page {name}</title></head><body><main><h1>Page {name}</h1>"
                                f"<p>The text of page {name}, long enough to be the main content.</p>"
                                "</main></body></html>")
            else:
                self._send(404, "<h1>Not here</h1>")

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, gate
    server.shutdown()
    server.server_close()


def test_several_urls_print_in_order_with_a_header_each(site, tmp_path):
    base, _ = site
    urls = [f"{base}/page/{name}" for name in ("one", "two", "three")]
    done = run_cli(*urls, home=tmp_path)
    assert done.returncode == 0, done.stderr
    sections = done.stdout.split("\n\n==> ")
    assert done.stdout.startswith(f"==> {urls[0]} <==\n# Page one")
    assert [section.split(" <==", 1)[0].removeprefix("==> ") for section in sections] == urls
    for name, section in zip(("one", "two", "three"), sections, strict=True):
        assert f"# Page {name}\n" in section and f"The text of page {name}" in section


def test_json_is_one_object_a_line_and_the_exit_code_is_the_worst(site, tmp_path):
    base, _ = site
    urls = [f"{base}/page/a", f"{base}/missing", "not a url", f"{base}/page/b"]
    done = run_cli(*urls, "--json", home=tmp_path)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line.get("url") for line in lines] == urls
    assert lines[0]["title"] == "Page a" and lines[3]["title"] == "Page b"
    assert lines[1]["error"]["type"] == "http_status" and lines[2]["error"]["type"] == "usage"
    # 4 (HTTP error) is worse than 2 (usage): the worst wins.
    assert done.returncode == 4
    assert "not a url" in done.stderr and f"{base}/missing answered 404" in done.stderr
    assert "Traceback" not in done.stderr


def test_stdin_gives_urls_one_a_line(site, tmp_path):
    base, _ = site
    stdin = f"{base}/page/x\n\n# a comment\n  {base}/page/y  \n{base}/page/x\n"
    done = run_cli("-", "--json", home=tmp_path, stdin=stdin)
    assert done.returncode == 0, done.stderr
    # Blank lines and comments skipped, each URL once.
    assert [json.loads(line)["title"] for line in done.stdout.splitlines()] == ["Page x", "Page y"]
    empty = run_cli("-", home=tmp_path, stdin="\n# nothing\n")
    assert empty.returncode == 2 and "no URL given" in empty.stderr


@pytest.mark.parametrize(("parallel", "count"), [(None, 8), ("2", 6), ("1", 3)])
def test_parallel_bounds_how_many_are_in_flight(site, tmp_path, parallel, count):
    base, gate = site
    width = int(parallel) if parallel else 4  # the documented default
    gate.reset(width)
    urls = [f"{base}/held/{i}" for i in range(count)]
    args = [*urls, "--json"] + (["--parallel", parallel] if parallel else [])
    done = run_cli(*args, home=tmp_path)
    assert done.returncode == 0, done.stderr
    # Exactly the bound at once: the gate opened for every group, and never saw more.
    assert gate.peak == width
    assert [json.loads(line)["url"] for line in done.stdout.splitlines()] == urls


def test_output_file_and_directory(site, tmp_path):
    base, _ = site
    out = tmp_path / "page.md"
    done = run_cli(f"{base}/page/solo", "-o", str(out), home=tmp_path)
    assert done.returncode == 0 and done.stdout == ""
    assert out.read_text().startswith("# Page solo")

    directory = tmp_path / "pages"
    urls = [f"{base}/page/one", f"{base}/page/two", f"{base}/page/two?tab=2", f"{base}/missing"]
    done = run_cli(*urls, "-o", str(directory), home=tmp_path)
    assert done.returncode == 4 and done.stdout == ""
    host = base.removeprefix("http://").replace(":", "_")
    files = sorted(path.name for path in directory.iterdir())
    assert f"{host}_page_one.md" in files and f"{host}_page_two.md" in files and len(files) == 3
    queried = next(name for name in files if name.startswith(f"{host}_page_two-"))
    assert queried.endswith(".md") and (directory / queried).read_text().startswith("# Page two")
    assert (directory / f"{host}_page_one.md").read_text().startswith("# Page one")

    as_json = run_cli(f"{base}/page/j", "--json", "-o", str(tmp_path / "json") + "/", home=tmp_path)
    assert as_json.returncode == 0
    assert json.loads((tmp_path / "json" / f"{host}_page_j.json").read_text())["title"] == "Page j"

    refused = run_cli(f"{base}/page/one", f"{base}/page/two", "-o", str(out), home=tmp_path)
    assert refused.returncode == 2 and "must name a directory" in refused.stderr
