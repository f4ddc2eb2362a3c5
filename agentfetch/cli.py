"""The ``agentfetch`` command: a thin layer over the SDK.

The Markdown result goes to stdout (pipeable); everything else (progress,
traces, errors) goes to stderr. Exit codes come from the exception tree in
:mod:`agentfetch.errors`, mapped in exactly one place: :func:`_fail`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from ._version import __version__
from .errors import EXIT_CODES, AgentFetchError, UsageError

#: Subcommands live in a separate typer app; the bare form is ``agentfetch URL``.
SUBCOMMANDS = ("auth", "demo", "mcp", "install")

_EXIT_CODE_HELP = "\n\n".join(f"{code}: {meaning}" for code, meaning in EXIT_CODES.items())

FETCH_HELP = f"""Fetch URL and print it as clean Markdown on stdout.

When the site answers 401/403 with an OAuth challenge, agentfetch asks you for
consent, signs you in through your browser and retries, on your behalf.

Other commands: agentfetch auth (login, status, list, logout, token),
agentfetch demo (try it against an embedded protected app), agentfetch mcp
(MCP server), agentfetch install (OpenCode, Goose).

Exit codes:

{_EXIT_CODE_HELP}
"""


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _print_error(error: AgentFetchError, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"error": error.to_dict()}, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    from rich.markup import escape

    _stderr_console().print(f"[bold red]error:[/] {escape(str(error))}")


def _fail(error: AgentFetchError, *, as_json: bool) -> NoReturn:
    _print_error(error, as_json=as_json)
    raise typer.Exit(error.exit_code)


def guarded(action: Callable[[], None], *, as_json: bool = False) -> None:
    """Run a CLI action; every failure becomes one line on stderr and an exit code."""
    try:
        action()
    except AgentFetchError as error:
        _fail(error, as_json=as_json)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except BrokenPipeError:
        # The reader went away (`agentfetch URL | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(0) from None
    except Exception as error:  # noqa: BLE001 - the user must never see a traceback
        if os.environ.get("AGENTFETCH_DEBUG"):
            raise
        internal = AgentFetchError(f"internal error: {type(error).__name__}: {error}",
                                   hint="set AGENTFETCH_DEBUG=1 for a traceback and report it")
        _fail(internal, as_json=as_json)


def verbose_sink(enabled: bool) -> Callable[[str], None] | None:
    if not enabled:
        return None

    def log(message: str) -> None:
        sys.stderr.write(f"· {message}\n")
        sys.stderr.flush()

    return log


def _consent_from_env(value: str | None) -> str:
    consent = (value or os.environ.get("AGENTFETCH_CONSENT") or "ask").strip().lower()
    if consent not in ("allow", "deny", "ask"):
        raise UsageError(f"--consent must be allow, deny or ask, not {consent!r}")
    return consent


fetch_app = typer.Typer(add_completion=False, rich_markup_mode=None, context_settings={"help_option_names": ["-h", "--help"]})


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"agentfetch {__version__}\n")
        raise typer.Exit(0)


@fetch_app.command(help=FETCH_HELP, no_args_is_help=True)
def fetch_command(
    url: Annotated[str, typer.Argument(help="The http(s) URL to fetch.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of Markdown.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print the body as received, unconverted.")] = False,
    max_length: Annotated[int | None, typer.Option("--max-length", min=1, help="Return at most N characters, cut on a block boundary.")] = None,
    start_index: Annotated[int, typer.Option("--start-index", min=0, help="Start at character N (from a previous truncated result).")] = 0,
    full_page: Annotated[bool, typer.Option("--full-page", help="Keep navigation, header, footer and sidebars.")] = False,
    max_bytes: Annotated[int, typer.Option("--max-bytes", min=1, help="Stop reading the body after N bytes.")] = 10_000_000,
    timeout: Annotated[float, typer.Option("--timeout", min=0.001, help="Network timeout in seconds.")] = 30.0,
    header: Annotated[list[str] | None, typer.Option("-H", "--header", help="Extra request header 'Name: value' (repeatable).")] = None,
    consent: Annotated[str | None, typer.Option("--consent", help="allow, deny or ask before signing in [env AGENTFETCH_CONSENT; default ask].", show_default=False)] = None,
    auth_timeout: Annotated[float, typer.Option("--auth-timeout", min=1, help="Seconds to wait for the browser sign-in.")] = 300.0,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Never send or obtain credentials.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Log each request and each step of the sign-in flow on stderr (never tokens).")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    def action() -> None:
        from .api import Fetcher, parse_header

        headers = [parse_header(line) for line in header or []]
        log = verbose_sink(verbose)
        with Fetcher(
            timeout=timeout,
            max_bytes=max_bytes,
            headers=headers,
            full_page=full_page,
            auth=not no_auth,
            consent=_consent_from_env(consent),
            auth_timeout=auth_timeout,
            log=log,
        ) as fetcher:
            result = fetcher.fetch(url, max_length=max_length, start_index=start_index, raw=raw)
        if as_json:
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        elif raw and result.body is not None and start_index == 0 and max_length is None:
            sys.stdout.buffer.write(result.body)
        else:
            text = result.markdown
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        if verbose or sys.stderr.isatty():
            _report(result, log or (lambda m: sys.stderr.write(m + "\n")))

    guarded(action, as_json=as_json)


def _report(result: Any, log: Callable[[str], None]) -> None:
    parts = [str(result.status), result.content_type or "no content type", f"~{result.tokens} tokens"]
    if result.final_url != result.url:
        parts.append(f"final URL {result.final_url}")
    if result.body_truncated:
        parts.append("body cut at --max-bytes")
    if result.truncated:
        parts.append(f"more with --start-index {result.next_start_index}")
    log(" · ".join(parts))


def _tools_app() -> typer.Typer:
    """The subcommands, built only when one is used."""
    app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]})
    from ._cli_tools import register

    register(app)
    return app


def run(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:  # the cheapest path: no typer, no httpx
        sys.stdout.write(f"agentfetch {__version__}\n")
        return
    if args and args[0] in SUBCOMMANDS:
        _tools_app()(args=args, prog_name="agentfetch")
    else:
        fetch_app(args=args, prog_name="agentfetch")
