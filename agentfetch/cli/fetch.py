"""The bare ``agentfetch URL`` command.

It uses argparse rather than typer on purpose: an agent may start a process
per fetch, and typer (through pydantic) costs more import time than the whole
fetch. Nothing here may import typer, rich or pydantic on the way to a result
(``tests/fetch/test_cli.py`` and ``benchmarks/startup.py`` watch it).

To add an option: declare it in :func:`build_parser`, then map it in
:func:`fetcher_options` (settings of the :class:`~agentfetch.Fetcher`),
:func:`fetch_arguments` (arguments of one ``fetch()`` call) or
:func:`request_arguments` (``-X``, ``-d``, ``--json-body``: a ``request()``), and, if it
changes what is printed, in :func:`write_result`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from .._options import DEFAULT_AUTH_TIMEOUT, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, LogSink
from .._version import __version__
from ..errors import EXIT_CODES, AgentFetchError, UsageError
from ._output import (
    cli_consent,
    print_error,
    run_guarded,
    verbose_sink,
    write_json,
    write_text,
)

if TYPE_CHECKING:
    from ..api import FetchResult

__all__ = ["build_parser", "fetch_arguments", "fetcher_options", "main", "request_arguments", "write_result"]

FETCH_HELP = """Fetch URL and print it as clean Markdown on stdout.

When the site answers 401/403 with an OAuth challenge, agentfetch asks you for
consent, signs you in through your browser and retries, on your behalf.

With -X, -d or --json-body it sends that request instead (curl-style), as
you: JSON answers are pretty-printed, any status is shown, and exit 4 or 5
says the status was an error.

Other commands: agentfetch apis (the APIs a host lists, RFC 9727),
agentfetch auth (login, status, list, logout, token), agentfetch demo (try it
against an embedded protected app), agentfetch mcp (MCP server),
agentfetch install (OpenCode, Goose).
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, and JSON with --json
        raise UsageError(f"{message} (see agentfetch --help)")


def _number(convert: Callable[[str], float], minimum: float, *, inclusive: bool, what: str) -> Callable[[str], Any]:
    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum or (not inclusive and value == minimum):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return parse


positive_int = _number(int, 0, inclusive=False, what="a positive integer")
non_negative_int = _number(int, 0, inclusive=True, what="a non-negative integer")
positive_float = _number(float, 0, inclusive=False, what="a positive number")


def build_parser() -> argparse.ArgumentParser:
    from . import SUBCOMMANDS

    parser = _Parser(
        prog="agentfetch",
        usage=f"agentfetch [OPTIONS] URL\n       agentfetch {{{','.join(SUBCOMMANDS)}}} ...",
        description=FETCH_HELP,
        epilog="exit codes:\n" + "\n".join(f"  {code}: {meaning}" for code, meaning in EXIT_CODES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("url", metavar="URL", help="the http(s) URL to fetch")
    add("--json", dest="as_json", action="store_true", help="print one JSON object on stdout instead of Markdown")
    add("--raw", action="store_true", help="print the body as received, unconverted")
    add("--max-length", type=positive_int, metavar="N", help="return at most N characters, cut on a block boundary")
    add("--start-index", type=non_negative_int, default=0, metavar="N",
        help="start at character N (from a previous truncated result)")
    add("--full-page", action="store_true", help="keep navigation, header, footer and sidebars")
    add("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
        help=f"stop reading the body after N bytes (default: {DEFAULT_MAX_BYTES})")
    add("--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="S",
        help=f"network timeout in seconds (default: {DEFAULT_TIMEOUT:g})")
    add("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
        help="extra request header (repeatable)")
    add("-X", "--request", dest="method", metavar="METHOD",
        help="send METHOD (POST, PUT, DELETE...) instead of GET; with -d or --json-body the default is POST")
    add("-d", "--data", metavar="DATA",
        help="request body: a string, @FILE or @- for stdin (Content-Type application/x-www-form-urlencoded "
             "unless -H sets one)")
    add("--json-body", metavar="JSON", help="a JSON request body (sets Content-Type and Accept to application/json)")
    add("-i", "--include", action="store_true", help="print the status line and response headers before the body")
    add("--consent", choices=("allow", "deny", "ask"),
        help="before signing in: allow, deny or ask (env AGENTFETCH_CONSENT; default: ask)")
    add("--auth-timeout", type=positive_float, default=DEFAULT_AUTH_TIMEOUT, metavar="S",
        help=f"seconds to wait for the browser sign-in (default: {DEFAULT_AUTH_TIMEOUT:g})")
    add("--no-auth", action="store_true", help="never send or obtain credentials")
    add("-v", "--verbose", action="store_true",
        help="log each request and each sign-in step on stderr (never tokens)")
    add("--version", action="version", version=f"agentfetch {__version__}")
    return parser


def fetcher_options(options: argparse.Namespace, log: LogSink | None) -> dict[str, Any]:
    """The :class:`~agentfetch.Fetcher` settings the command line asks for."""
    from ..api import parse_header

    return {
        "timeout": options.timeout,
        "max_bytes": options.max_bytes,
        "headers": [parse_header(line) for line in options.header],
        "full_page": options.full_page,
        "auth": not options.no_auth,
        "consent": cli_consent(options.consent),
        "auth_timeout": options.auth_timeout,
        "log": log,
    }


def fetch_arguments(options: argparse.Namespace) -> dict[str, Any]:
    """The arguments of the ``fetch()`` call."""
    return {"max_length": options.max_length, "start_index": options.start_index, "raw": options.raw}


def _read_data(value: str) -> bytes:
    """``-d``: the string itself, ``@FILE`` or ``@-`` (stdin), refused above the replay limit before sending."""
    from .._plan import MAX_REQUEST_BODY

    if not value.startswith("@"):
        return value.encode()
    name = value[1:]
    try:
        if name == "-":
            data = sys.stdin.buffer.read(MAX_REQUEST_BODY + 1)
        else:
            if os.path.getsize(name) > MAX_REQUEST_BODY:
                raise UsageError(f"{name} is larger than {MAX_REQUEST_BODY} bytes, the most a request body may be")
            with open(name, "rb") as handle:
                data = handle.read(MAX_REQUEST_BODY + 1)
    except OSError as exc:
        raise UsageError(f"cannot read the request body from {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_REQUEST_BODY:
        raise UsageError(f"the request body is larger than {MAX_REQUEST_BODY} bytes, the most it may be")
    return data


def request_arguments(options: argparse.Namespace) -> dict[str, Any] | None:
    """The ``request()`` that ``-X``, ``-d``, ``--json-body`` or ``-i`` ask for; None for a plain fetch."""
    if options.method is None and options.data is None and options.json_body is None and not options.include:
        return None
    if options.data is not None and options.json_body is not None:
        raise UsageError("give -d/--data or --json-body, not both")
    arguments: dict[str, Any] = fetch_arguments(options)
    headers: dict[str, str] = {}
    if options.json_body is not None:
        try:
            arguments["json"] = json.loads(options.json_body)
        except ValueError as exc:
            raise UsageError(f"--json-body is not valid JSON: {exc}") from None
    elif options.data is not None:
        arguments["content"] = _read_data(options.data)
        if "content-type" not in {line.partition(":")[0].strip().lower() for line in options.header}:
            headers["Content-Type"] = "application/x-www-form-urlencoded"  # as curl -d does
    has_body = "json" in arguments or "content" in arguments
    arguments["method"] = options.method or ("POST" if has_body else "GET")
    arguments["headers"] = headers
    return arguments


def _status_block(result: FetchResult) -> str:
    """``-i``: the status line and the response header fields, as on the wire."""
    from http import HTTPStatus

    try:
        reason = HTTPStatus(result.status).phrase
    except ValueError:
        reason = ""
    lines = [f"HTTP {result.status} {reason}".rstrip()]
    lines += [f"{name}: {value}" for name, value in result.headers]
    return "\n".join(lines) + "\n\n"


def write_result(result: FetchResult, options: argparse.Namespace) -> None:
    """The result on stdout: JSON, the body as received, or Markdown (after the headers with ``-i``)."""
    if options.as_json:
        write_json(result.to_dict())
        return
    if getattr(options, "include", False):
        sys.stdout.write(_status_block(result))
    if options.raw and result.body is not None and options.start_index == 0 and options.max_length is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(result.body)
        sys.stdout.flush()
    elif result.kind != "empty":
        write_text(result.markdown)
    else:
        sys.stdout.flush()


def report(result: FetchResult, log: LogSink) -> None:
    """One line about the result on stderr: status, type, size and how to read on."""
    parts = [str(result.status), result.content_type or "no content type", f"~{result.tokens} tokens"]
    if result.final_url != result.url:
        parts.append(f"final URL {result.final_url}")
    if result.body_truncated:
        parts.append("body cut at --max-bytes")
    if result.truncated:
        parts.append(f"more with --start-index {result.next_start_index}")
    log(" · ".join(parts))


def _stderr_line(message: str) -> None:
    sys.stderr.write(message + "\n")


def main(argv: list[str]) -> int:
    """Run ``agentfetch [OPTIONS] URL`` and return its exit code."""
    if not argv:
        build_parser().print_usage(sys.stderr)
        return 2
    parsed: list[argparse.Namespace] = []
    code = run_guarded(lambda: parsed.append(build_parser().parse_args(argv)), as_json="--json" in argv)
    if not parsed:
        return code
    options = parsed[0]

    failed: list[AgentFetchError] = []

    def action() -> None:
        from ..api import Fetcher

        log = verbose_sink(options.verbose)
        send = request_arguments(options)
        with Fetcher(**fetcher_options(options, log)) as fetcher:
            if send is None:
                result = fetcher.fetch(options.url, **fetch_arguments(options))
            else:
                result = fetcher.request(url=options.url, **send)
        write_result(result, options)
        if options.verbose or sys.stderr.isatty():
            report(result, log or _stderr_line)
        error = result.status_error() if send is not None else None
        if error is not None:
            failed.append(error)

    code = run_guarded(action, as_json=options.as_json)
    if code == 0 and failed:
        # The answer, with its status, is on stdout already; the error line says what it means.
        print_error(failed[0], as_json=False)
        return failed[0].exit_code
    return code
