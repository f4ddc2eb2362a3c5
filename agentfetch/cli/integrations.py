"""``agentfetch mcp`` and ``agentfetch install opencode|goose``: the commands over :mod:`agentfetch.integrations`.

Import-light: the MCP SDK and the installers load only when their command runs.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..integrations.mcp_server import DEFAULT_AUTH_TIMEOUT
from ._output import guarded

__all__ = ["install_app", "mcp_command", "register"]


def mcp_command(
    auth_timeout: Annotated[
        float,
        typer.Option("--auth-timeout", min=1, help="Seconds a fetch may wait for the human to finish signing in."),
    ] = DEFAULT_AUTH_TIMEOUT,
) -> None:
    """Run the MCP server on stdio (for Goose, Claude Code, Codex, Cursor...)."""

    def action() -> None:
        from ..integrations.mcp_server import run

        try:
            import mcp.server.mcpserver  # noqa: F401 - the 2.x API the server is written for
        except ImportError:
            from ..errors import UsageError

            raise UsageError("the MCP server needs the mcp package, version 2 or later",
                             hint="pip install -U 'agentfetch[mcp]'") from None
        run(auth_timeout=auth_timeout)

    guarded(action)


install_app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Install agentfetch into an agent host (OpenCode, Goose).",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@install_app.command("opencode")
def install_opencode_command(
    global_: Annotated[
        bool, typer.Option("--global", help="Install for every project (~/.config/opencode/tools/).")
    ] = False,
    replace_webfetch: Annotated[
        bool, typer.Option("--replace-webfetch", help="Name the tool webfetch, taking the place of OpenCode's own.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite a different file of the same name.")] = False,
) -> None:
    """Write agentfetch's tool file into .opencode/tools/ (or the global tools directory)."""

    def action() -> None:
        from ..integrations.install import install_opencode

        done = install_opencode(global_=global_, replace_webfetch=replace_webfetch, force=force)
        tool = "webfetch" if replace_webfetch else "agentfetch"
        sys.stdout.write(f"wrote {done.path}\n")
        if done.removed is not None:
            sys.stdout.write(f"removed {done.removed} (the same tool under its other name)\n")
        sys.stdout.write(f"OpenCode now offers the {tool} tool (restart OpenCode to load it).\n")

    guarded(action)


@install_app.command("goose")
def install_goose_command(
    print_: Annotated[
        bool, typer.Option("--print", help="Print the config.yaml entry and the deep link; change nothing.")
    ] = False,
    merge: Annotated[
        bool, typer.Option("--merge", help="Add or update the entry in ~/.config/goose/config.yaml.")
    ] = False,
) -> None:
    """Add agentfetch to Goose as an MCP extension (prints the entry unless --merge)."""

    def action() -> None:
        from ..errors import UsageError
        from ..integrations.install import goose_deeplink, goose_entry_yaml, merge_goose_config

        if print_ and merge:
            raise UsageError("choose --print or --merge, not both")
        if not merge:
            sys.stdout.write("# Add to ~/.config/goose/config.yaml (or run: agentfetch install goose --merge)\n")
            sys.stdout.write(goose_entry_yaml())
            sys.stdout.write(f"\n# Or open this link to install it in Goose Desktop:\n# {goose_deeplink()}\n")
            return
        outcome = merge_goose_config()
        if outcome.action == "unchanged":
            sys.stdout.write(f"{outcome.path} already has the agentfetch extension\n")
            return
        sys.stdout.write(f"{outcome.action} the agentfetch extension in {outcome.path}\n")
        if outcome.backup is not None:
            sys.stdout.write(f"previous file kept as {outcome.backup}\n")

    guarded(action)


def register(app: typer.Typer) -> None:
    app.command("mcp", help="Run the MCP server on stdio (for Goose, Claude Code, Codex, Cursor...).")(mcp_command)
    app.add_typer(install_app, name="install", help="Install agentfetch into OpenCode or Goose.")
