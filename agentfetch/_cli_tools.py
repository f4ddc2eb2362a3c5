"""``agentfetch auth``, ``agentfetch demo``, ``agentfetch mcp`` and ``agentfetch install``.

Loaded only when one of them is used, so ``agentfetch URL`` never pays for it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from .cli import _consent_from_env, guarded, verbose_sink

auth_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Sign in ahead of use, see what is stored, sign out, print a token.",
)

ConsentOpt = Annotated[
    str | None,
    typer.Option("--consent", help="allow, deny or ask before signing in [env AGENTFETCH_CONSENT; default ask].", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="Log each step on stderr (never tokens).")]
TimeoutOpt = Annotated[float, typer.Option("--auth-timeout", min=1, help="Seconds to wait for the browser sign-in.")]


def _console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _oauth(consent: str | None, verbose: bool, auth_timeout: float = 300.0, **extra: Any) -> Any:
    from .oauth import OAuth, default_consent

    return OAuth(
        consent=default_consent(_consent_from_env(consent)),
        log=verbose_sink(verbose),
        auth_timeout=auth_timeout,
        **extra,
    )


def _client() -> Any:
    import httpx

    from .api import USER_AGENT

    return httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=30.0, follow_redirects=False)


def _print_credentials(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"credentials": rows}, ensure_ascii=False) + "\n")
        return
    console = _console()
    if not rows:
        console.print("No stored credentials. Sign in with [bold]agentfetch auth login URL[/].")
        return
    from rich.table import Table

    table = Table(title="agentfetch credentials")
    for column in ("Resource", "Issuer", "User", "Scopes", "Expires", "Stored in"):
        table.add_column(column)
    for row in rows:
        expiry = "never" if row["expires_at"] is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["expires_at"]))
        if row["expired"]:
            expiry += " (expired" + (", refreshable)" if row["refreshable"] else ")")
        table.add_row(row["resource"], row["issuer"], row["user"] or "-", " ".join(row["scopes"]) or "-", expiry, row["storage"])
    # A table is for people: it goes to stdout only when asked for data, else stderr.
    console.print(table)


@auth_app.command("login")
def auth_login(
    url: Annotated[str, typer.Argument(help="A URL of the protected app.")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scope to request (repeatable).")] = None,
    consent: ConsentOpt = None,
    auth_timeout: TimeoutOpt = 300.0,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Run discovery and the browser sign-in now, ahead of use."""

    def action() -> None:
        from .api import _validate_url
        from .store import credential_summary, open_store

        target = _validate_url(url)
        store = open_store()
        oauth = _oauth(consent, verbose, auth_timeout, store=store)
        with _client() as client:
            credential = oauth.login(client, target, scopes=scope or None)
        summary = credential_summary(credential, store)
        if as_json:
            sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        else:
            who = f" as {summary['user']}" if summary["user"] else ""
            _console().print(f"[green]Signed in[/] to {summary['resource']}{who} (scopes: {' '.join(summary['scopes']) or '-'}).")

    guarded(action, as_json=as_json)


def _status(url: str | None, as_json: bool) -> None:
    from .api import _validate_url
    from .store import credential_summary, open_store

    store = open_store()
    if url is None:
        credentials = store.list()
    else:
        found = store.find(_validate_url(url))
        credentials = [found] if found is not None else []
    _print_credentials([credential_summary(c, store) for c in credentials], as_json)
    if url is not None and not credentials:
        from .errors import AuthorizationError

        raise AuthorizationError(f"no stored credential for {url}", hint=f"run `agentfetch auth login {url}`")


@auth_app.command("status")
def auth_status(
    url: Annotated[str | None, typer.Argument(help="Only the credential used for this URL.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show stored credentials (never secrets)."""
    guarded(lambda: _status(url, as_json), as_json=as_json)


@auth_app.command("list")
def auth_list(as_json: JsonOpt = False) -> None:
    """List every stored credential (never secrets)."""
    guarded(lambda: _status(None, as_json), as_json=as_json)


@auth_app.command("logout")
def auth_logout(
    url: Annotated[str | None, typer.Argument(help="Sign out of the resource serving this URL.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Sign out everywhere.")] = False,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Revoke (RFC 7009) where the server offers it, then delete locally."""

    def action() -> None:
        from .errors import UsageError

        if (url is None) == (not all_):
            raise UsageError("give a URL or --all, not both and not neither")
        from .api import _validate_url
        from .store import open_store

        target = _validate_url(url) if url else None
        oauth = _oauth("deny", verbose, store=open_store())
        with _client() as client:
            removed = oauth.logout(client, target, all=all_)
        if as_json:
            sys.stdout.write(json.dumps({"removed": [k.resource for k in removed]}) + "\n")
        elif removed:
            _console().print("Signed out of " + ", ".join(k.resource for k in removed) + ".")
        else:
            _console().print("Nothing to sign out of.")

    guarded(action, as_json=as_json)


@auth_app.command("token")
def auth_token(
    url: Annotated[str, typer.Argument(help="A URL of the protected app.")],
    verbose: VerboseOpt = False,
) -> None:
    """Print a valid access token for URL (refreshing it if needed). The only
    command that ever prints a secret."""

    def action() -> None:
        from .api import _validate_url
        from .store import open_store

        oauth = _oauth("deny", verbose, store=open_store(), interactive=False)
        with _client() as client:
            token = oauth.access_token(client, _validate_url(url))
        sys.stdout.write(token + "\n")

    guarded(action)


def register(app: typer.Typer) -> None:
    app.add_typer(auth_app, name="auth")

    from .demo.cli import serve

    demo_app = typer.Typer(add_completion=False, help="The embedded demo app: `agentfetch demo` runs the whole flow; `agentfetch demo serve` keeps it running.")
    demo_app.callback(invoke_without_command=True)(_demo_entry)
    demo_app.command("serve")(serve)
    app.add_typer(demo_app, name="demo")

    from .integrations.cli import install_app, mcp_command

    app.command("mcp", help="Run the MCP server on stdio (for Goose, Claude Code, Codex, Cursor...).")(mcp_command)
    app.add_typer(install_app, name="install", help="Install agentfetch into OpenCode or Goose.")


def _demo_entry(
    ctx: typer.Context,
    user: Annotated[str, typer.Option("--user", help="Demo user to sign in as when no browser is usable.")] = "alice",
    browser: Annotated[bool | None, typer.Option("--browser/--no-browser", help="Use the system browser (default: when one is usable).", show_default=False)] = None,
) -> None:
    """Start the embedded demo app and fetch its front page through the whole
    OAuth flow, showing each step. The Markdown goes to stdout."""
    if ctx.invoked_subcommand is None:
        from ._demo_run import run_demo

        guarded(lambda: run_demo(user=user, use_browser=browser))
