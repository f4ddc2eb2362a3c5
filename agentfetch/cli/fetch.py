"""The bare ``agentfetch URL`` command.

It uses argparse rather than typer on purpose: an agent may start a process
per fetch, and typer (through pydantic) costs more import time than the whole
fetch. Nothing here may import typer, rich or pydantic on the way to a result
(``tests/fetch/test_cli.py`` and ``benchmarks/startup.py`` watch it).

To add an option: declare it in :func:`build_parser`, then map it in
:func:`fetcher_options` (settings of the :class:`~agentfetch.Fetcher`),
:func:`fetch_arguments` (arguments of one ``fetch()`` call) or
:func:`request_arguments` (``-X``, ``-d``, ``--json-body``: a ``request()``), and, if it
changes what is printed, in :func:`rendered`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .._options import DEFAULT_AUTH_TIMEOUT, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, LogSink
from .._version import __version__
from ..errors import EXIT_CODES, AgentFetchError, StoreError, UsageError
from ._output import cli_consent, print_error, run_guarded, verbose_sink, write_json

if TYPE_CHECKING:
    from ..api import FetchResult

__all__ = ["DEFAULT_PARALLEL", "build_parser", "fetch_arguments", "fetcher_options", "main", "output_name",
           "read_urls", "rendered", "request_arguments"]

#: URLs fetched at once: enough to hide latency, few enough not to look like a flood to a site.
DEFAULT_PARALLEL = 4

FETCH_HELP = """Fetch URL and print it as clean Markdown on stdout.

When the site answers 401/403 with an OAuth challenge, agentfetch asks you for
consent, signs you in through your browser and retries, on your behalf.

With -X, -d or --json-body it sends that request instead (curl-style), as
you: JSON answers are pretty-printed, any status is shown, and exit 4 or 5
says the status was an error.

Other commands: agentfetch apis (the APIs a host lists, RFC 9727),
agentfetch auth (login, status, list, logout, token), agentfetch config
(the effective configuration, secrets masked), agentfetch demo (try it
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
    add("urls", metavar="URL", nargs="+",
        help="the http(s) URL to fetch; several are fetched at once, and - reads more from stdin, one a line")
    add("--json", dest="as_json", action="store_true",
        help="print one JSON object on stdout instead of Markdown (one a line for several URLs)")
    add("-o", "--output", metavar="FILE|DIR",
        help="write to FILE instead of stdout; with several URLs (or an existing directory), one file each in DIR, "
             "named from the URL")
    add("--parallel", type=positive_int, default=DEFAULT_PARALLEL, metavar="N",
        help=f"fetch at most N URLs at once (default: {DEFAULT_PARALLEL})")
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
    add("--cacert", metavar="FILE",
        help="trust the CA certificates in FILE (PEM) instead of the system's; default: $SSL_CERT_FILE, "
             "$REQUESTS_CA_BUNDLE, $CURL_CA_BUNDLE, else the OS trust store")
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
        "cacert": options.cacert,
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


def rendered(result: FetchResult, options: argparse.Namespace) -> bytes:
    """What a result prints as: its JSON object (one line), or the body as received or as Markdown
    (after the status line and headers with ``-i``; nothing for an empty answer)."""
    if options.as_json:
        return (json.dumps(result.to_dict(), ensure_ascii=False) + "\n").encode()
    head = _status_block(result).encode() if getattr(options, "include", False) else b""
    if options.raw and result.body is not None and options.start_index == 0 and options.max_length is None:
        return head + result.body
    if result.kind == "empty":
        return head
    text = result.markdown
    return head + (text if text.endswith("\n") else text + "\n").encode()


def output_name(url: str, options: argparse.Namespace, content_type: str | None = None) -> str:
    """A file name for ``url`` in an ``-o DIR``: host and path, made safe (``docs.example.com_guide.md``);
    a query adds a short hash of the whole URL, so that two pages never share a name."""
    import hashlib
    import re
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    stem = (parts.netloc + parts.path.rstrip("/")).replace(":", "_").replace("/", "_") or "page"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")[:150] or "page"
    if parts.query:
        stem += "-" + hashlib.sha256(url.encode()).hexdigest()[:8]
    if options.as_json:
        suffix = ".json"
    elif options.raw:
        import mimetypes

        media = (content_type or "").split(";")[0].strip()
        suffix = (mimetypes.guess_extension(media) if media else None) or ".txt"
    else:
        suffix = ".md"
    return stem if stem.endswith(suffix) else stem + suffix


def _write_file(path: Path, data: bytes) -> None:
    """Whole or not at all: a temporary file beside it, then a rename."""
    import os

    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise StoreError(f"cannot write {path}: {error.strerror or error}") from None


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


def read_urls(arguments: list[str], stdin: Iterator[str] | None = None) -> list[str]:
    """The URLs to fetch: the arguments, with ``-`` standing for the lines of stdin (blank
    lines and ``#`` comments skipped), each URL once."""
    urls: list[str] = []
    for argument in arguments:
        if argument != "-":
            urls.append(argument)
            continue
        lines = stdin if stdin is not None else sys.stdin
        urls += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        stdin = iter(())  # stdin is read once
    if not urls:
        raise UsageError("no URL given (stdin had none)")
    return list(dict.fromkeys(urls))


class _Outcome:
    """One URL's result or error; both for an answer printed with an error status (``-X``, ``-d``)."""

    def __init__(self, url: str, result: FetchResult | None = None, error: AgentFetchError | None = None) -> None:
        self.url, self.result, self.error = url, result, error

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error is not None else 0


def _fetch_all(urls: list[str], options: argparse.Namespace, log: LogSink | None) -> Iterator[_Outcome]:
    """Each URL's outcome, in the order given. Several are fetched ``--parallel`` at a time with
    one fetcher (one connection pool; a sign-in that several URLs need happens once), on daemon
    threads, so that Ctrl-C ends the command at once."""
    from ..api import Fetcher

    settings = fetcher_options(options, log)
    if len(urls) > 1:
        settings["consent"] = _one_prompt_at_a_time(settings["consent"])
    with Fetcher(**settings) as fetcher:

        send = request_arguments(options)

        def one(url: str) -> _Outcome:
            try:
                if send is None:
                    return _Outcome(url, fetcher.fetch(url, **fetch_arguments(options)))
                # -X/-d: the answer is printed whatever its status; the status then decides the exit code.
                result = fetcher.request(url=url, **send)
                return _Outcome(url, result, result.status_error())
            except AgentFetchError as error:
                return _Outcome(url, error=error)

        if len(urls) == 1:
            yield one(urls[0])
            return
        import queue
        import threading

        outcomes: list[_Outcome | BaseException | None] = [None] * len(urls)
        finished = [threading.Event() for _ in urls]
        todo: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(len(urls)):
            todo.put(index)

        def work() -> None:
            while True:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcomes[index] = one(urls[index])
                except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
                    outcomes[index] = error
                finished[index].set()

        for _ in range(min(options.parallel, len(urls))):
            threading.Thread(target=work, name="agentfetch-fetch", daemon=True).start()
        for index in range(len(urls)):
            finished[index].wait()
            outcome = outcomes[index]
            if isinstance(outcome, BaseException):
                raise outcome
            assert outcome is not None
            yield outcome


def _one_prompt_at_a_time(consent: Any) -> Any:
    """Threads may need consent together (two sites at once); the human answers one question at a time."""
    if consent != "ask":
        return consent
    import threading

    from ..oauth import default_consent

    ask, lock = default_consent("ask"), threading.Lock()

    def serial(request: Any) -> bool:
        with lock:
            return ask(request)

    return serial


class _Printer:
    """Where results go: stdout (a header line per URL when there are several), ``-o FILE``,
    or one file per URL in ``-o DIR``. Errors go to stderr, naming the URL when there are several."""

    def __init__(self, options: argparse.Namespace, several: bool, log: LogSink | None) -> None:
        self.options, self.several = options, several
        self.say = log or _stderr_line
        self.file: Path | None = None
        self.directory: Path | None = None
        self.names: set[str] = set()
        self.printed = 0
        if options.output is not None:
            target = Path(options.output).expanduser()
            if several or target.is_dir() or options.output.endswith(("/", "\\")):
                if target.exists() and not target.is_dir():
                    raise UsageError(f"-o {options.output} is a file; with several URLs it must name a directory")
                try:
                    target.mkdir(parents=True, exist_ok=True)
                except OSError as error:
                    raise StoreError(f"cannot create {target}: {error.strerror or error}") from None
                self.directory = target
            else:
                self.file = target

    def __call__(self, outcome: _Outcome) -> None:
        options = self.options
        if outcome.result is None:
            assert outcome.error is not None
            if not self.several:
                print_error(outcome.error, as_json=options.as_json)
                return
            if options.as_json:
                write_json({"url": outcome.url, "error": outcome.error.to_dict()})
            print_error(outcome.error, as_json=False, about=outcome.url)
            return
        self._result(outcome.result)
        if outcome.error is not None:
            # The answer, with its status, is out already; the error line says what it means.
            print_error(outcome.error, as_json=False, about=outcome.url if self.several else None)

    def _result(self, result: FetchResult) -> None:
        options = self.options
        data = rendered(result, options)
        chatty = options.verbose or sys.stderr.isatty()
        if self.file is not None or self.directory is not None:
            path = self.file or self._file_for(result)
            _write_file(path, data)
            if chatty:
                self.say(f"{result.url} → {path}")
        else:
            if self.several and not options.as_json:
                sys.stdout.write(("\n" if self.printed else "") + f"==> {result.url} <==\n")
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        self.printed += 1
        if chatty:
            report(result, lambda line: self.say(f"{result.url}: {line}" if self.several else line))

    def _file_for(self, result: FetchResult) -> Path:
        assert self.directory is not None
        name = output_name(result.url, self.options, result.content_type)
        stem, dot, suffix = name.rpartition(".")
        number = 2
        while name in self.names:
            name, number = f"{stem}-{number}{dot}{suffix}", number + 1
        self.names.add(name)
        return self.directory / name


def main(argv: list[str]) -> int:
    """Run ``agentfetch [OPTIONS] URL...`` and return its exit code: the worst of the URLs'."""
    if not argv:
        build_parser().print_usage(sys.stderr)
        return 2
    parsed: list[argparse.Namespace] = []
    code = run_guarded(lambda: parsed.append(build_parser().parse_args(argv)), as_json="--json" in argv)
    if not parsed:
        return code
    options = parsed[0]
    codes: list[int] = []

    def action() -> None:
        if "-" in options.urls and options.data == "@-":
            raise UsageError("-d @- and the URL - both read stdin; give the body or the URLs another way")
        urls = read_urls(options.urls)
        log = verbose_sink(options.verbose)
        deliver = _Printer(options, len(urls) > 1 or "-" in options.urls, log)
        for outcome in _fetch_all(urls, options, log):
            codes.append(outcome.exit_code)
            deliver(outcome)

    code = run_guarded(action, as_json=options.as_json)
    return max([code, *codes])
