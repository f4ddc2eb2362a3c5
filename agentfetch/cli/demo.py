"""``agentfetch demo`` (a newcomer's first command) and ``agentfetch demo serve``.

``agentfetch demo`` starts the embedded demo app on an ephemeral loopback port
and fetches its front page with a real :class:`~agentfetch.Fetcher`, through
the whole OAuth flow, showing each step on stderr. With a usable browser the
sign-in happens there; otherwise (no display, CI, SSH) the demo user's login
and consent pages are walked over HTTP, so the flow is still real end to end.

``agentfetch demo serve`` (also ``python -m agentfetch.demo serve``, through
:data:`serve_app`) keeps the app running in the foreground for a person to try.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from ._output import console, guarded, write_text

__all__ = ["browser_is_usable", "register", "run_demo", "scripted_browser", "serve", "serve_app"]


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
    from ..demo.useragent import walk

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
    from rich.markup import escape

    from ..api import Fetcher
    from ..demo import DEMO_USERS, DemoConfig, DemoServer
    from ..errors import UsageError

    out = console()
    if user not in DEMO_USERS:
        raise UsageError(f"unknown demo user {user!r}; demo users: {', '.join(DEMO_USERS)}")
    if use_browser is None:
        use_browser = browser_is_usable()

    def step(message: str) -> None:
        out.print(f"[cyan]›[/] {escape(message)}")

    # A throwaway credential store: the demo's port changes every run, and a
    # newcomer's real store should not fill up with demo grants.
    home = tempfile.mkdtemp(prefix="agentfetch-demo-")
    previous_home = os.environ.get("AGENTFETCH_HOME")
    os.environ["AGENTFETCH_HOME"] = home
    try:
        with DemoServer(DemoConfig()) as server:
            out.print(f"[bold]agentfetch demo[/]: an internal wiki behind an identity-aware proxy at {server.url}")
            out.print(f"  authorization server {server.issuer}; demo users: "
                      + ", ".join(f"{name} / {password}" for name, password in DEMO_USERS.items()))
            open_browser: Callable[[str], bool] | None
            if use_browser:
                step("your browser will open for sign-in and consent")
                open_browser = None
                consent = "ask" if sys.stdin.isatty() else "allow"
            else:
                step(f"no usable browser here (no display, CI or SSH): walking the login and consent pages as {user} "
                     "over HTTP")
                open_browser = scripted_browser(
                    user, DEMO_USERS[user], lambda exc: step(f"scripted sign-in failed: {exc}")
                )
                consent = "allow"
                step("consent given on your behalf for this demo (--consent allow)")
            with Fetcher(consent=consent, open_browser=open_browser, log=step, auth_timeout=120.0) as fetcher:
                result = fetcher.fetch(server.url)
            signed_in_as = user if not use_browser else "you"
            step(f"{result.status} {result.content_type} · ~{result.tokens} tokens · signed in as {signed_in_as}")
            write_text(result.markdown)
            step("try it yourself: `agentfetch demo serve` keeps the app running; point `agentfetch URL` at it")
    finally:
        if previous_home is None:
            os.environ.pop("AGENTFETCH_HOME", None)
        else:
            os.environ["AGENTFETCH_HOME"] = previous_home
        shutil.rmtree(home, ignore_errors=True)


def serve(
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; keep it on loopback."),
    token_lifetime: int = typer.Option(300, "--token-lifetime", help="Access token lifetime in seconds."),
) -> None:
    """Serve the demo wiki and its authorization server until Ctrl-C."""
    from rich.markup import escape
    from rich.table import Table

    from ..demo import DEMO_ADMINS, DEMO_USERS, DemoConfig, DemoServer

    out = console()
    if host not in ("127.0.0.1", "::1", "localhost"):
        # Plain-HTTP OAuth is only acceptable on loopback (RFC 8252 §8.3; agentfetch refuses otherwise).
        out.print(f"[red]--host must be a loopback address (127.0.0.1, ::1 or localhost), not {host}[/red]")
        raise typer.Exit(2)
    try:
        server = DemoServer(DemoConfig(host=host, port=port, token_lifetime=token_lifetime)).start()
    except OSError as exc:
        out.print(f"[red]Cannot listen on {host}:{port}: {exc.strerror or exc}[/red]")
        raise typer.Exit(3) from None
    users = Table(title="Demo users", show_edge=False)
    users.add_column("user")
    users.add_column("password")
    users.add_column("may grant")
    for user, password in DEMO_USERS.items():
        users.add_row(user, password, "read, write, admin" if user in DEMO_ADMINS else "read, write")
    url = escape(server.url)  # an IPv6 URL has brackets rich would read as markup
    out.print(f"[bold]Acme wiki[/bold] (protected) at {url}")
    out.print(f"Authorization server issuer: {escape(server.issuer)}")
    out.print(f"Audit log: {escape(str(server.audit_path))}")
    out.print(users)
    # A demo's machine credential, printed so a person can try the "hosts without managed OAuth" path.
    out.print("Service token (machine access, no OAuth; GET /access/token with it gives a cf-access-token):")
    for name, value in server.service_token.headers().items():
        out.print(f"  {name}: {value}", highlight=False)
    out.print(f"Try: [cyan]agentfetch {url}[/cyan]   (Ctrl-C stops the server)")
    # The URL alone on stdout, so scripts can read it.
    typer.echo(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
        out.print("Stopped.")


def _demo_entry(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Demo user to sign in as when no browser is usable.")] = "alice",
    browser: Annotated[
        bool | None,
        typer.Option("--browser/--no-browser", help="Use the system browser (default: when one is usable).",
                     show_default=False),
    ] = None,
) -> None:
    """Start the embedded demo app and fetch its front page through the whole
    OAuth flow, showing each step. The Markdown goes to stdout."""
    if ctx.invoked_subcommand is None:
        guarded(lambda: run_demo(user=user, use_browser=browser))


def register(app: typer.Typer) -> None:
    demo_app = typer.Typer(
        add_completion=False,
        help="The embedded demo app: `agentfetch demo` runs the whole flow; `agentfetch demo serve` keeps it running.",
    )
    demo_app.callback(invoke_without_command=True)(_demo_entry)
    demo_app.command("serve")(serve)
    app.add_typer(demo_app, name="demo")


#: ``python -m agentfetch.demo serve``: the demo without the main CLI.
serve_app = typer.Typer(help="The embedded demo: an internal wiki behind an identity-aware proxy with managed OAuth.",
                        no_args_is_help=True, add_completion=False)


@serve_app.callback()
def _group() -> None:
    """Keep ``serve`` a subcommand even while it is the only one."""


serve_app.command("serve")(serve)
