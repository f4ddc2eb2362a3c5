"""``agentfetch apis URL``: the APIs a host lists in its RFC 9727 catalog, over :func:`agentfetch.discover_apis`.

Markdown (a table, then with ``--describe`` one summary per API) or ``--json``
on stdout; a failing nested catalog or description is listed with its error
and the command still succeeds; failing to read the host's own catalog is the
command's error.
"""

from __future__ import annotations

from typing import Annotated

import typer

from .._options import DEFAULT_AUTH_TIMEOUT, DEFAULT_TIMEOUT
from ._output import cli_consent, guarded, verbose_sink, write_json, write_text

__all__ = ["apis_command", "register"]


def apis_command(
    url: Annotated[str, typer.Argument(help="The host (https://host/), a page of it, or its catalog's URL.")],
    describe: Annotated[
        bool, typer.Option("--describe", help="Also fetch each API's description and summarise it (OpenAPI 3.x).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The catalogs, APIs and merged linkset as JSON.")] = False,
    max_depth: Annotated[int, typer.Option("--max-depth", min=0, help="How deep to follow nested catalogs.")] = 3,
    header: Annotated[
        list[str] | None, typer.Option("-H", "--header", help="Extra request header 'Name: value' (repeatable).")
    ] = None,
    consent: Annotated[
        str | None,
        typer.Option("--consent", help="allow, deny or ask before signing in [env AGENTFETCH_CONSENT; default ask].",
                     show_default=False),
    ] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Never send or obtain credentials.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.001, help="Network timeout in seconds.")
    ] = DEFAULT_TIMEOUT,
    auth_timeout: Annotated[
        float, typer.Option("--auth-timeout", min=1, help="Seconds to wait for the browser sign-in.")
    ] = DEFAULT_AUTH_TIMEOUT,
    cacert: Annotated[
        str | None,
        typer.Option("--cacert", metavar="FILE", show_default=False,
                     help="Trust the CA certificates in FILE (PEM), as for agentfetch URL."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log each request on stderr (never tokens).")
    ] = False,
) -> None:
    """List the APIs a host offers (RFC 9727 API catalog), signing in as you when it is protected."""

    def action() -> None:
        from ..api import Fetcher, parse_header
        from ..apis import discover_apis

        options = {
            "timeout": timeout,
            "headers": [parse_header(line) for line in header or ()],
            "auth": not no_auth,
            "consent": cli_consent(consent),
            "auth_timeout": auth_timeout,
            "log": verbose_sink(verbose),
            "cacert": cacert,
        }
        with Fetcher(**options) as fetcher:  # type: ignore[arg-type]
            catalog = discover_apis(url, describe=describe, fetcher=fetcher, max_depth=max_depth)
        if as_json:
            write_json(catalog.to_dict())
        else:
            write_text(catalog.to_markdown())

    guarded(action, as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command("apis")(apis_command)
