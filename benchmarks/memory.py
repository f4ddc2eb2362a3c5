"""Peak memory of the content path, each case in a fresh Python process.

Usage: ``python benchmarks/memory.py [--corpus DIR]``

Cases (target for each: peak RSS under 200 MB, issue 7):

1. ``convert()`` of the largest page in ``../shared/corpus`` (skipped when the
   corpus is absent).
2. Reading a 100 MB body from a loopback HTTP server, streamed with httpx and
   capped at 10 MB, as the fetcher does with ``--max-bytes``.
3. The whole fetch path on it: the capped read, then converting those 10 MB
   of HTML (one long article, the worst case for extraction).

Each case runs in its own interpreter so one case's heap cannot hide or
inflate another's; peak RSS is ``ru_maxrss`` of that process (Linux: KiB).
A bare ``python -c "import httpx"`` is printed as the baseline.
"""

from __future__ import annotations

import argparse
import http.server
import os
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
LIMIT_MB = 200.0
BODY_BYTES = 100 * 1024 * 1024
CAP_BYTES = 10 * 1024 * 1024
CHUNK = b"<p>" + b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 17 + b"</p>\n"

_PEAK = "import resource; print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"

BASELINE = "import httpx\n" + _PEAK

CONVERT_PAGE = """
import sys
from agentfetch.content import convert
body = open(sys.argv[1], 'rb').read()
doc = convert(body, 'text/html', 'http://fakehost/test/page.html')
assert doc.markdown
""" + _PEAK

READ_CAPPED = """
import sys, httpx
cap = int(sys.argv[2])
chunks, size = [], 0
with httpx.stream('GET', sys.argv[1], timeout=30) as response:
    for chunk in response.iter_bytes():
        chunks.append(chunk[: cap - size])
        size += len(chunks[-1])
        if size >= cap:
            break
body = b''.join(chunks)
del chunks
assert len(body) == cap, len(body)
""" + (
    "\nif len(sys.argv) > 3:\n"
    "    from agentfetch.content import convert\n"
    "    doc = convert(body, 'text/html', sys.argv[1], body_truncated=True)\n"
    "    assert 'size cap' in doc.markdown\n"
) + _PEAK


class _HugeBody(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(BODY_BYTES))
        self.end_headers()
        block = CHUNK * (65536 // len(CHUNK))
        sent = 0
        try:
            while sent < BODY_BYTES:
                piece = block[: BODY_BYTES - sent]
                self.wfile.write(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped at its cap, as it should

    def log_message(self, *args) -> None:
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def peak_mb(code: str, *args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "failed")
    line = next(line for line in out.stdout.splitlines() if line.startswith("PEAK"))
    return int(line.split()[1]) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("AGENTFETCH_CORPUS", DEFAULT_CORPUS)))
    args = parser.parse_args(argv)

    rows: list[tuple[str, float, bool]] = []
    print(f"baseline: python + import httpx: {peak_mb(BASELINE):.0f} MB peak RSS")

    pages = sorted((args.corpus / "pages").glob("*/source.html"), key=lambda p: p.stat().st_size)
    if pages:
        largest = pages[-1]
        label = f"convert largest corpus page ({largest.parent.name}, {largest.stat().st_size / 1e6:.1f} MB)"
        rows.append((label, peak_mb(CONVERT_PAGE, str(largest)), True))
    else:
        print(f"SKIP: no corpus at {args.corpus / 'pages'}; case 1 not measured")

    server = _Server(("127.0.0.1", 0), _HugeBody)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/huge"
    try:
        rows.append(("read 100 MB body capped at 10 MB (httpx stream)", peak_mb(READ_CAPPED, url, str(CAP_BYTES)), True))
        rows.append(
            ("read capped + convert those 10 MB of HTML", peak_mb(READ_CAPPED, url, str(CAP_BYTES), "convert"), True)
        )
    finally:
        server.shutdown()
        server.server_close()

    print()
    print(f"{'case':64s} {'peak RSS':>10s}")
    for label, mb, _ in rows:
        print(f"{label:64s} {mb:8.0f} MB")
    print()
    for label, mb, target in rows:
        if target:
            print(f"{'PASS' if mb < LIMIT_MB else 'FAIL'}  {label} < {LIMIT_MB:.0f} MB  ({mb:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
