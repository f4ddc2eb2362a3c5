"""``agentfetch demo``: a newcomer's first command.

Starts the embedded demo app on an ephemeral loopback port and fetches its
front page with a real :class:`~agentfetch.api.Fetcher`, through the whole
OAuth flow, showing each step on stderr. With a usable browser the sign-in
happens there; otherwise (no display, CI, SSH) the demo user's login and
consent pages are walked over HTTP, so the flow is still real end to end.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable


def browser_is_usable() -> bool:
    """A guess at whether ``webbrowser.open`` would show something to a person."""
    if os.environ.get("CI") or not sys.stdin.isatty():
        return False
    if os.environ.get("BROWSER"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def scripted_browser(username: str, password: str, on_error: Callable[[BaseException], None]) -> Callable[[str], bool]:
    """An ``open_browser`` that walks the demo's login and consent pages in a thread."""
    from .demo.useragent import walk

    def open_url(url: str) -> bool:
        def run() -> None:
            try:
                walk(url, username=username, password=password, approve=True)
            except BaseException as exc:  # reported to the human; the flow then times out cleanly
                on_error(exc)

        threading.Thread(target=run, name="agentfetch-demo-useragent", daemon=True).start()
        return True

    return open_url


def run_demo(*, user: str = "alice", use_browser: bool | None = None) -> None:
    from rich.console import Console
    from rich.markup import escape

    from .api import Fetcher
    from .demo import DEMO_USERS, DemoConfig, DemoServer
    from .errors import UsageError

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if user not in DEMO_USERS:
        raise UsageError(f"unknown demo user {user!r}; demo users: {', '.join(DEMO_USERS)}")
    if use_browser is None:
        use_browser = browser_is_usable()

    def step(message: str) -> None:
        console.print(f"[cyan]›[/] {escape(message)}")

    # A throwaway credential store: the demo's port changes every run, and a
    # newcomer's real store should not fill up with demo grants.
    home = tempfile.mkdtemp(prefix="agentfetch-demo-")
    previous_home = os.environ.get("AGENTFETCH_HOME")
    os.environ["AGENTFETCH_HOME"] = home
    try:
        with DemoServer(DemoConfig()) as server:
            console.print(f"[bold]agentfetch demo[/]: an internal wiki behind an identity-aware proxy at {server.url}")
            console.print(f"  authorization server {server.issuer}; demo users: "
                          + ", ".join(f"{name} / {password}" for name, password in DEMO_USERS.items()))
            if use_browser:
                step("your browser will open for sign-in and consent")
                open_browser = None
                consent = "ask" if sys.stdin.isatty() else "allow"
            else:
                step(f"no usable browser here (no display, CI or SSH): walking the login and consent pages as {user} over HTTP")
                open_browser = scripted_browser(user, DEMO_USERS[user], lambda exc: step(f"scripted sign-in failed: {exc}"))
                consent = "allow"
                step("consent given on your behalf for this demo (--consent allow)")
            with Fetcher(consent=consent, open_browser=open_browser, log=step, auth_timeout=120.0) as fetcher:
                result = fetcher.fetch(server.url)
            step(f"{result.status} {result.content_type} · ~{result.tokens} tokens · signed in as {user if not use_browser else 'you'}")
            text = result.markdown
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()
            step("try it yourself: `agentfetch demo serve` keeps the app running; point `agentfetch URL` at it")
    finally:
        if previous_home is None:
            os.environ.pop("AGENTFETCH_HOME", None)
        else:
            os.environ["AGENTFETCH_HOME"] = previous_home
        shutil.rmtree(home, ignore_errors=True)
