"""``BROWSER`` for the hostile suite: open the authorization URL and follow its
redirects to the callback listener, as a browser that signs in at once would.
Loopback only; it never sends what agentfetch's tokens are."""

from __future__ import annotations

import sys
from urllib.parse import urljoin, urlsplit

import httpx


def main(url: str) -> int:
    with httpx.Client(timeout=10) as client:
        for _ in range(5):
            if urlsplit(url).hostname not in ("127.0.0.1", "::1", "localhost"):
                return 1
            response = client.get(url)
            location = response.headers.get("location")
            if response.status_code not in (301, 302, 303, 307, 308) or not location:
                return 0
            url = urljoin(url, location)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
