"""The ``agentfetch`` command: a thin layer over the SDK.

The Markdown result goes to stdout (pipeable); everything else (progress,
traces, errors) goes to stderr. Exit codes come from the exception tree in
:mod:`agentfetch.errors`, mapped in exactly one place: :func:`run_guarded`.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from ._version import __version__
from .errors import EXIT_CODES, AgentFetchError, UsageError

#: Subcommands live in a typer app; the bare form is ``agentfetch URL`` (argparse).
SUBCOMMANDS = ("auth", "demo", "mcp", "install")

FETCH_HELP = """Fetch URL and print it as clean Markdown on stdout.

When the site answers 401/403 with an OAuth challenge, agentfetch asks you for
consent, signs you in through your browser and retries, on your behalf.

Other commands: agentfetch auth (login, status, list, logout, token),
agentfetch demo (try it against an embedded protected app), agentfetch mcp
(MCP server), agentfetch install (OpenCode, Goose).
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


def run_guarded(action: Callable[[], None], *, as_json: bool = False) -> int:
    """Run a CLI action and return its exit code: every failure becomes one
    line on stderr (and an ``error`` object on stdout with ``--json``)."""
    try:
        action()
    except AgentFetchError as error:
        _print_error(error, as_json=as_json)
        return error.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (`agentfetch URL | head`): not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as error:  # noqa: BLE001 - the user must never see a traceback
        if os.environ.get("AGENTFETCH_DEBUG"):
            raise
        internal = AgentFetchError(f"internal error: {type(error).__name__}: {error}",
                                   hint="set AGENTFETCH_DEBUG=1 for a traceback and report it")
        _print_error(internal, as_json=as_json)
        return internal.exit_code
    return 0


def guarded(action: Callable[[], None], *, as_json: bool = False) -> None:
    """:func:`run_guarded` for typer commands."""
    code = run_guarded(action, as_json=as_json)
    if code:
        import typer

        raise typer.Exit(code)


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


def _fetch_parser() -> Any:
    """The bare ``agentfetch URL`` command.

    It uses argparse rather than typer on purpose: an agent may start a process
    per fetch, and typer (through pydantic) costs more import time than the
    whole fetch. The subcommands, used by people and scripts, use typer.
    """
    import argparse

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:  # one line, exit 2, and JSON with --json
            raise UsageError(f"{message} (see agentfetch --help)")

    parser = Parser(
        prog="agentfetch",
        usage="agentfetch [OPTIONS] URL\n       agentfetch {auth,demo,mcp,install} ...",
        description=FETCH_HELP,
        epilog="exit codes:\n" + "\n".join(f"  {code}: {meaning}" for code, meaning in EXIT_CODES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("url", metavar="URL", help="the http(s) URL to fetch")
    parser.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object on stdout instead of Markdown")
    parser.add_argument("--raw", action="store_true", help="print the body as received, unconverted")
    parser.add_argument("--max-length", type=_positive_int, metavar="N", help="return at most N characters, cut on a block boundary")
    parser.add_argument("--start-index", type=_non_negative_int, default=0, metavar="N", help="start at character N (from a previous truncated result)")
    parser.add_argument("--full-page", action="store_true", help="keep navigation, header, footer and sidebars")
    parser.add_argument("--max-bytes", type=_positive_int, default=10_000_000, metavar="N", help="stop reading the body after N bytes (default: 10000000)")
    parser.add_argument("--timeout", type=_positive_float, default=30.0, metavar="S", help="network timeout in seconds (default: 30)")
    parser.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'", help="extra request header (repeatable)")
    parser.add_argument("--consent", choices=("allow", "deny", "ask"), help="before signing in: allow, deny or ask (env AGENTFETCH_CONSENT; default: ask)")
    parser.add_argument("--auth-timeout", type=_positive_float, default=300.0, metavar="S", help="seconds to wait for the browser sign-in (default: 300)")
    parser.add_argument("--no-auth", action="store_true", help="never send or obtain credentials")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request and each sign-in step on stderr (never tokens)")
    parser.add_argument("--version", action="version", version=f"agentfetch {__version__}")
    return parser


def _number(convert: Callable[[str], Any], minimum: float, *, inclusive: bool, what: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        import argparse

        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum or (not inclusive and value == minimum):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


_positive_int = _number(int, 0, inclusive=False, what="a positive integer")
_non_negative_int = _number(int, 0, inclusive=True, what="a non-negative integer")
_positive_float = _number(float, 0, inclusive=False, what="a positive number")


def fetch_main(argv: list[str]) -> int:
    if not argv:
        _fetch_parser().print_usage(sys.stderr)
        return 2
    options: Any = None

    def parse() -> None:
        nonlocal options
        options = _fetch_parser().parse_args(argv)

    code = run_guarded(parse, as_json="--json" in argv)
    if options is None:
        return code

    def action() -> None:
        from .api import Fetcher, parse_header

        headers = [parse_header(line) for line in options.header]
        log = verbose_sink(options.verbose)
        with Fetcher(
            timeout=options.timeout,
            max_bytes=options.max_bytes,
            headers=headers,
            full_page=options.full_page,
            auth=not options.no_auth,
            consent=_consent_from_env(options.consent),
            auth_timeout=options.auth_timeout,
            log=log,
        ) as fetcher:
            result = fetcher.fetch(options.url, max_length=options.max_length, start_index=options.start_index, raw=options.raw)
        if options.as_json:
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        elif options.raw and result.body is not None and options.start_index == 0 and options.max_length is None:
            sys.stdout.buffer.write(result.body)
        else:
            text = result.markdown
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        if options.verbose or sys.stderr.isatty():
            _report(result, log or (lambda m: sys.stderr.write(m + "\n")))

    return run_guarded(action, as_json=options.as_json)


def _report(result: Any, log: Callable[[str], None]) -> None:
    parts = [str(result.status), result.content_type or "no content type", f"~{result.tokens} tokens"]
    if result.final_url != result.url:
        parts.append(f"final URL {result.final_url}")
    if result.body_truncated:
        parts.append("body cut at --max-bytes")
    if result.truncated:
        parts.append(f"more with --start-index {result.next_start_index}")
    log(" · ".join(parts))


def _tools_app() -> Any:
    """The subcommands, built only when one is used."""
    import typer

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
        sys.exit(fetch_main(args))
