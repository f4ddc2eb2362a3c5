"""The ``agentfetch`` command: a thin layer over the SDK.

- :mod:`.fetch`: the bare ``agentfetch URL`` (argparse, import-light: it is what agents run).
- :mod:`.apis`: ``agentfetch apis URL``, the APIs a host lists (RFC 9727).
- :mod:`.auth`: ``agentfetch auth login|status|list|logout|token``.
- :mod:`.config`: ``agentfetch config``, the effective configuration with secrets masked.
- :mod:`.demo`: ``agentfetch demo`` and ``agentfetch demo serve``.
- :mod:`.integrations`: ``agentfetch mcp`` and ``agentfetch install opencode|goose``.
- :mod:`._output`: the one console, results on stdout, errors and exit codes, ``--consent``, ``-v``.

The subcommands form a typer app, built only when one of them is used, so that
``agentfetch URL`` never pays for typer. Nothing outside this package imports it
but the ``__main__`` entry points.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .._version import __version__

if TYPE_CHECKING:
    import typer

__all__ = ["SUBCOMMANDS", "app", "run"]

#: Handled by the typer app; anything else is ``agentfetch [OPTIONS] URL`` (argparse).
SUBCOMMANDS = ("apis", "auth", "config", "demo", "mcp", "install")


def app() -> typer.Typer:
    """The subcommands' typer app."""
    import typer

    from . import apis, auth, config, demo, integrations

    root = typer.Typer(
        add_completion=False, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]}
    )
    apis.register(root)
    auth.register(root)
    config.register(root)
    demo.register(root)
    integrations.register(root)
    return root


def run(argv: list[str] | None = None) -> None:
    """The console script: dispatch to the fetch command or to a subcommand."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # the cheapest path: no typer, no httpx
        sys.stdout.write(f"agentfetch {__version__}\n")
        return
    if args and args[0] in SUBCOMMANDS:
        app()(args=args, prog_name="agentfetch")
    else:
        from .fetch import main

        sys.exit(main(args))
