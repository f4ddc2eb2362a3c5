"""``agentfetch auth``: sign in ahead of use, see what is stored, sign out, print a token.

Loaded only when a subcommand is used, so ``agentfetch URL`` never pays for typer.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._options import DEFAULT_AUTH_TIMEOUT
from ._output import cli_consent, console, guarded, verbose_sink, write_json

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

    from ..oauth import OAuth

__all__ = ["auth_app", "register"]

auth_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Sign in ahead of use, see what is stored, sign out, print a token.",
)

ConsentOpt = Annotated[
    str | None,
    typer.Option(
        "--consent",
        help="allow, deny or ask before signing in [env AGENTFETCH_CONSENT; default ask].",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="Log each step on stderr (never tokens).")]
TimeoutOpt = Annotated[float, typer.Option("--auth-timeout", min=1, help="Seconds to wait for the browser sign-in.")]
CacertOpt = Annotated[
    str | None,
    typer.Option("--cacert", metavar="FILE", show_default=False,
                 help="Trust the CA certificates in FILE (PEM), as for agentfetch URL."),
]


def _oauth(consent: str | None, verbose: bool, auth_timeout: float = DEFAULT_AUTH_TIMEOUT, **extra: Any) -> OAuth:
    from ..oauth import OAuth, default_consent

    return OAuth(
        consent=default_consent(cli_consent(consent)),
        log=verbose_sink(verbose),
        auth_timeout=auth_timeout,
        **extra,
    )


def _client(cacert: str | None = None) -> httpx.Client:
    import httpx

    from .._network import ssl_context
    from ..api import USER_AGENT

    # The same trust (and proxies) as a fetch: OAuth's requests go through this client.
    return httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=30.0, follow_redirects=False,
                        verify=ssl_context(cacert))


def _result_console() -> Console:
    from rich.console import Console

    # A table is the result: stdout. Piped, it keeps its natural width (no URL cut at 80
    # columns) and no colour; in a terminal it fits the terminal.
    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 100_000)


def _print_service(rows: list[dict[str, Any]]) -> None:
    """``[[credentials]]`` from config.toml: machine credentials, shown apart from the human's grants."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Service credentials (config.toml [[credentials]]: a machine, not a person)")
    for column in ("Match", "Source", "Sent as", "Kept"):
        table.add_column(column)
    for row in rows:
        source = {"command": " ".join(row.get("command", ())), "env": f"${row.get('env')}"}.get(row["source"], "")
        if row["source"] == "headers":
            source = ", ".join(f"{k}={v}" for k, v in row["values"].items())
        kept = {True: "yes", False: "no", None: "-"}[row.get("kept")]
        table.add_row(escape(row["match"]), escape(source), ", ".join(row["headers"]), kept)
    _result_console().print(table)


def _print_credentials(rows: list[dict[str, Any]], as_json: bool,
                       service: list[dict[str, Any]] | None = None) -> None:
    if as_json:
        write_json({"credentials": rows} | ({"service_credentials": service} if service is not None else {}))
        return
    if service:
        _print_service(service)
    if not rows:
        console().print("No stored credentials. Sign in with [bold]agentfetch auth login URL[/].")
        return
    from rich.table import Table

    out = _result_console()
    table = Table(title="agentfetch credentials")
    for column in ("Resource", "Issuer", "User", "Scopes", "Expires", "Stored in"):
        table.add_column(column)
    for row in rows:
        expires_at = row["expires_at"]
        expiry = "never" if expires_at is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(expires_at))
        if row["expired"]:
            expiry += " (expired" + (", refreshable)" if row["refreshable"] else ")")
        scopes = " ".join(row["scopes"]) or "-"
        table.add_row(row["resource"], row["issuer"], row["user"] or "-", scopes, expiry, row["storage"])
    out.print(table)


@auth_app.command("login")
def auth_login(
    url: Annotated[str, typer.Argument(help="A URL of the protected app.")],
    scope: Annotated[list[str] | None, typer.Option("--scope", help="Scope to request (repeatable).")] = None,
    consent: ConsentOpt = None,
    auth_timeout: TimeoutOpt = DEFAULT_AUTH_TIMEOUT,
    cacert: CacertOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
    paste: Annotated[
        bool,
        typer.Option(
            "--paste",
            help="Open no browser here: open the printed URL in a browser on any machine, then paste the "
            "address it ends on (its redirect to 127.0.0.1 cannot load there) and press Enter.",
        ),
    ] = False,
) -> None:
    """Run discovery and the browser sign-in now, ahead of use."""

    def action() -> None:
        from ..api import validate_url
        from ..store import credential_summary, open_store

        target = validate_url(url)
        store = open_store()
        oauth = _oauth(consent, verbose, auth_timeout, store=store, paste=True if paste else None)
        with _client(cacert) as client:
            credential = oauth.login(client, target, scopes=scope or None)
        summary = credential_summary(credential, store)
        if as_json:
            write_json(summary)
        else:
            who = f" as {summary['user']}" if summary["user"] else ""
            scopes = " ".join(summary["scopes"]) or "-"
            console().print(f"[green]Signed in[/] to {summary['resource']}{who} (scopes: {scopes}).")

    guarded(action, as_json=as_json)


def _status(url: str | None, as_json: bool) -> None:
    from .._credentials import status_rows
    from ..api import validate_url
    from ..store import credential_summary, open_store

    store = open_store()
    if url is None:
        credentials = store.list()
        shown = status_rows(store)
    else:
        target = validate_url(url)
        found = store.find(target)
        credentials = [found] if found is not None else []
        shown = status_rows(store, target)
    _print_credentials([credential_summary(c, store) for c in credentials], as_json, shown)
    if url is not None and not credentials and not shown:
        from ..errors import AuthorizationError

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
    cacert: CacertOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Revoke (RFC 7009) where the server offers it, then delete locally."""

    def action() -> None:
        from ..errors import UsageError

        if (url is None) == (not all_):
            raise UsageError("give a URL or --all, not both and not neither")
        from ..api import validate_url
        from ..store import open_store

        target = validate_url(url) if url else None
        oauth = _oauth("deny", verbose, store=open_store())
        with _client(cacert) as client:
            removed = oauth.logout(client, target, all=all_)
        if as_json:
            write_json({"removed": [k.resource for k in removed]})
        elif removed:
            console().print("Signed out of " + ", ".join(k.resource for k in removed) + ".")
        else:
            console().print("Nothing to sign out of.")

    guarded(action, as_json=as_json)


@auth_app.command("token")
def auth_token(
    url: Annotated[str, typer.Argument(help="A URL of the protected app.")],
    cacert: CacertOpt = None,
    as_json: JsonOpt = False,
    verbose: VerboseOpt = False,
) -> None:
    """Print a valid access token for URL (refreshing it if needed). The only command that ever prints a secret."""

    def action() -> None:
        from ..api import validate_url
        from ..store import credential_summary, open_store

        target = validate_url(url)
        store = open_store()
        oauth = _oauth("deny", verbose, store=store, interactive=False)
        with _client(cacert) as client:
            token = oauth.access_token(client, target)
        if not as_json:
            sys.stdout.write(token + "\n")
            return
        credential = store.find(target)
        about = credential_summary(credential, store) if credential is not None else {}
        write_json({"access_token": token, "token_type": "Bearer",
                    **{key: about.get(key) for key in ("resource", "issuer", "scopes", "expires_at")}})

    guarded(action, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(auth_app, name="auth")
