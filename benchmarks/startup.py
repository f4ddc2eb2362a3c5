"""Start-up cost of the CLI, measured side by side in one run.

An agent may start ``agentfetch`` once per fetch, so the wall time of a whole
process matters. This prints the median wall time of:

- ``python -c "import httpx"``                 (the floor of any httpx tool)
- a bare ``httpx.get(URL)`` script              (what agentfetch is compared to)
- ``agentfetch --version``
- ``agentfetch URL``                            (a full fetch + conversion of a loopback page)
- the same two on a 1 MB page: a large Wikipedia article from the corpus
  (``../shared/corpus/pages/wikipedia``, its article body repeated to 1 MB),
  with ``agentfetch --raw URL`` beside them to show what conversion costs

as ratios to the first two. Runs are interleaved round-robin, so machine noise
hits every command alike. Targets: a full CLI fetch within 1.5x the bare
script, on the small page and on the 1 MB one (issue 15).

    python benchmarks/startup.py [--rounds 15] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>Benchmark page</title></head><body>"
    b"<nav><a href='/'>Home</a></nav><main><article><h1>Benchmark page</h1>"
    + b"".join(b"<p>Paragraph %d with <a href='/x%d'>a link</a> and <code>code</code>.</p>" % (i, i) for i in range(200))
    + b"<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
    b"</article></main><footer>footer</footer></body></html>"
)
TARGET = 1.5
LARGE_BYTES = 1_000_000
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PAGES: dict[str, bytes] = {"/": PAGE}


def large_wikipedia_page(corpus: Path, size: int = LARGE_BYTES) -> bytes | None:
    """The corpus's Wikipedia article with its body (``#mw-content-text``) repeated to ``size`` bytes."""
    source = corpus / "pages" / "wikipedia" / "source.html"
    if not source.exists():
        return None
    import lxml.html

    root = lxml.html.fromstring(source.read_bytes(), parser=lxml.html.HTMLParser(encoding="utf-8"))
    content = root.get_element_by_id("mw-content-text")
    original = list(content)
    while len(lxml.html.tostring(root)) < size:
        for child in original:
            content.append(copy.deepcopy(child))
    return b"<!DOCTYPE html>\n" + lxml.html.tostring(root, encoding="utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = PAGES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _time(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("AGENTFETCH_CORPUS", DEFAULT_CORPUS)))
    args = parser.parse_args()
    large = large_wikipedia_page(args.corpus)
    if large is None:
        print(f"SKIP 1 MB case: no corpus at {args.corpus} (see ../shared/corpus/README.md)")
    else:
        PAGES["/wikipedia-1mb"] = large

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
    if large is not None:
        big = url + "wikipedia-1mb"
        commands |= {
            f"bare httpx.get script, {len(large) / 1e6:.1f} MB page": [
                sys.executable, "-c", f"import httpx; print(httpx.get({big!r}).text)"
            ],
            "agentfetch --raw URL, 1 MB page": [*agentfetch, "--raw", big],
            "agentfetch URL, 1 MB page": [*agentfetch, big],
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
    verdicts = [ratio <= TARGET]
    verdict = "PASS" if verdicts[-1] else "FAIL"
    print(f"\n{verdict}: full CLI fetch (default options) is {ratio:.2f}x the bare httpx script (target <= {TARGET}x)")
    if large is not None:
        bare_large = next(median for name, median in medians.items() if name.startswith("bare httpx.get script, "))
        for name in ("agentfetch --raw URL, 1 MB page", "agentfetch URL, 1 MB page"):
            print(f"  {name}: {medians[name] / bare_large:.2f}x the bare httpx script on the same page")
        ratio = medians["agentfetch URL, 1 MB page"] / bare_large
        verdicts.append(ratio <= TARGET)
        verdict = "PASS" if verdicts[-1] else "FAIL"
        print(f"{verdict}: full CLI fetch of the 1 MB page is {ratio:.2f}x the bare httpx script (target <= {TARGET}x)")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
