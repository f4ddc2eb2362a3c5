"""Start-up cost of the CLI, measured side by side in one run.

An agent may start ``agentfetch`` once per fetch, so the wall time of a whole
process matters. This prints the median wall time of:

- ``python -c "import httpx"``                 (the floor of any httpx tool)
- a bare ``httpx.get(URL)`` script              (what agentfetch is compared to)
- ``agentfetch --version``
- ``agentfetch URL``                            (a full fetch + conversion of a loopback page)

as ratios to the first two. Runs are interleaved round-robin, so machine noise
hits every command alike. Target: a full CLI fetch within 1.5x the bare script.

    python benchmarks/startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Benchmark page</title></head><body>"
    b"<nav><a href='/'>Home</a></nav><main><article><h1>Benchmark page</h1>"
    + b"".join(b"<p>Paragraph %d with <a href='/x%d'>a link</a> and <code>code</code>.</p>" % (i, i) for i in range(200))
    + b"<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
    b"</article></main><footer>footer</footer></body></html>"
)
TARGET = 1.5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)


def _time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    cli = shutil.which("agentfetch")
    agentfetch = [cli] if cli else [sys.executable, "-m", "agentfetch"]
    commands = {
        "import httpx": [sys.executable, "-c", "import httpx"],
        "bare httpx.get script": [sys.executable, "-c", f"import httpx; print(httpx.get({url!r}).text)"],
        "agentfetch --version": [*agentfetch, "--version"],
        "agentfetch URL": [*agentfetch, "--no-auth", url],
        "agentfetch URL (auth on, nothing stored)": [*agentfetch, url],
    }
    for argv in commands.values():  # warm the page cache and .pyc files
        _time(argv)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, argv in commands.items():
            samples[name].append(_time(argv))
    server.shutdown()

    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor, bare = medians["import httpx"], medians["bare httpx.get script"]
    print(f"{'command':42} {'median ms':>10} {'x import httpx':>15} {'x bare script':>14}")
    for name, median in medians.items():
        print(f"{name:42} {median * 1000:10.1f} {median / floor:15.2f} {median / bare:14.2f}")
    ratio = medians["agentfetch URL (auth on, nothing stored)"] / bare
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"\n{verdict}: full CLI fetch (default options) is {ratio:.2f}x the bare httpx script (target <= {TARGET}x)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
