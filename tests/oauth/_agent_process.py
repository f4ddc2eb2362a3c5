"""One agent process for the concurrency test: fetch URL through OAuth, print the status.

The browser is the demo's scripted user agent; every browser it opens is
appended to BROWSER_LOG so the test can count flows across processes."""

from __future__ import annotations

import os
import sys

import httpx


def main() -> int:
    from agentfetch.demo.useragent import walk
    from agentfetch.oauth import OAuth, default_consent

    url, browser_log = sys.argv[1], os.environ["BROWSER_LOG"]

    def open_browser(authorize_url: str) -> bool:
        with open(browser_log, "a") as log:
            log.write("opened\n")
        walk(authorize_url)
        return True

    auth = OAuth(consent=default_consent("allow"), open_browser=open_browser, auth_timeout=60)
    with httpx.Client(auth=auth, timeout=60) as client:
        print(client.get(url).status_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
