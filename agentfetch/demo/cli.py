"""``agentfetch demo serve``: run the demo app in the foreground for a person to try."""

from __future__ import annotations

import typer

app = typer.Typer(help="The embedded demo: an internal wiki behind an identity-aware proxy with managed OAuth.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def _group() -> None:
    """Keep ``serve`` a subcommand even while it is the only one."""


@app.command()
def serve(
    port: int = typer.Option(8000, "--port", "-p", help="Port to listen on (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; keep it on loopback."),
    token_lifetime: int = typer.Option(300, "--token-lifetime", help="Access token lifetime in seconds."),
) -> None:
    """Serve the demo wiki and its authorization server until Ctrl-C."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from . import DEMO_ADMINS, DEMO_USERS, DemoConfig, DemoServer

    console = Console(stderr=True)
    if host not in ("127.0.0.1", "::1", "localhost"):
        # Plain-HTTP OAuth is only acceptable on loopback (RFC 8252 §8.3; agentfetch refuses otherwise).
        console.print(f"[red]--host must be a loopback address (127.0.0.1, ::1 or localhost), not {host}[/red]")
        raise typer.Exit(2)
    try:
        server = DemoServer(DemoConfig(host=host, port=port, token_lifetime=token_lifetime)).start()
    except OSError as exc:
        console.print(f"[red]Cannot listen on {host}:{port}: {exc.strerror or exc}[/red]")
        raise typer.Exit(3) from None
    users = Table(title="Demo users", show_edge=False)
    users.add_column("user")
    users.add_column("password")
    users.add_column("may grant")
    for user, password in DEMO_USERS.items():
        users.add_row(user, password, "read, admin" if user in DEMO_ADMINS else "read")
    url = escape(server.url)  # an IPv6 URL has brackets rich would read as markup
    console.print(f"[bold]Acme wiki[/bold] (protected) at {url}")
    console.print(f"Authorization server issuer: {escape(server.issuer)}")
    console.print(f"Audit log: {escape(str(server.audit_path))}")
    console.print(users)
    console.print(f"Try: [cyan]agentfetch {url}[/cyan]   (Ctrl-C stops the server)")
    # The URL alone on stdout, so scripts can read it.
    typer.echo(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
        console.print("Stopped.")
