"""The part of a fetch that does not depend on sync or async I/O, shared by
:class:`~agentfetch.Fetcher` and :class:`~agentfetch.AsyncFetcher`: the URL and
header checks, request headers, the redirect policy, status classification,
the body cap, conversion, and the mapping of httpx failures to
:mod:`agentfetch.errors`. The two fetchers only drive httpx.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import AsyncIterable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._network import CAOption, network_error, ssl_context
from ._options import ConsentOption, HeadersOption, LogSink
from ._result import FetchResult, status_error
from ._urls import TRACED_EXTENSION, origin, redact_url
from ._version import USER_AGENT
from .errors import (
    AgentFetchError,
    NetworkError,
    SecurityError,
    UsageError,
)

if TYPE_CHECKING:
    from .oauth import SignInPrompt
    from .store import CredentialStore

__all__ = [
    "ACCEPT",
    "MAX_REDIRECTS",
    "MAX_REQUEST_BODY",
    "NO_JSON",
    "USER_AGENT",
    "FetchCall",
    "FetchPlan",
    "aread_capped",
    "build_auth",
    "parse_header",
    "read_capped",
    "request_headers",
    "trace_response",
    "validate_url",
]

#: Markdown first, so that servers offering "Markdown for Agents" answer in Markdown.
ACCEPT = "text/markdown, text/html;q=0.9, application/xhtml+xml;q=0.8, */*;q=0.5"

MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Never carried across origins when the caller supplied them (-H).
_CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")
#: A request body is held in memory whole, so that it can be sent again after a sign-in:
#: one larger than this is refused before anything is sent.
MAX_REQUEST_BODY = 10_000_000
#: RFC 9110 §9.2.1-§9.2.2: the methods a redirect or a retry may repeat without asking.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Describe the body a redirect turned into a GET no longer has.
_BODY_HEADERS = ("Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location",
                 "Transfer-Encoding", "Digest", "Content-Digest")
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class _NoJson:
    def __repr__(self) -> str:
        return "NO_JSON"


#: ``request(json=...)`` left out (``None`` is a JSON value: ``null``).
NO_JSON: Any = _NoJson()


def validate_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise UsageError("no URL given")
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unbalanced IPv6 bracket: "http://[::1:bad/"
        raise UsageError(f"invalid URL {url!r}: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        if not parts.scheme and not url.startswith("/"):
            raise UsageError(f"not an absolute http(s) URL: {url!r} (did you mean https://{url}?)")
        raise UsageError(f"not an http(s) URL: {url!r}")
    if not parts.hostname:
        raise UsageError(f"URL has no host: {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise UsageError(f"invalid URL {url!r}: {exc}") from None
    return url


def parse_header(line: str) -> tuple[str, str]:
    """``"Name: value"`` → (name, value), as given to ``-H``."""
    name, sep, value = line.partition(":")
    name = name.strip()
    if not sep or not name or any(c in name for c in " \t\r\n") or any(c in value for c in "\r\n"):
        raise UsageError(f"malformed header {line!r}: expected 'Name: value'")
    return name, value.strip()


def request_headers(headers: HeadersOption) -> httpx.Headers:
    """Headers as the caller gives them: a mapping or any iterable of (name, value) pairs."""
    if headers is None or isinstance(headers, Mapping):
        return httpx.Headers(headers)
    return httpx.Headers(list(headers))


@dataclass
class FetchCall:
    """One ``fetch()`` or ``request()`` call's arguments, checked."""

    url: str
    max_length: int | None
    start_index: int
    raw: bool
    full_page: bool | None
    headers: httpx.Headers
    method: str = "GET"
    body: bytes | None = None
    #: ``fetch()`` raises on an error status; ``request()`` answers with it.
    raise_status: bool = True


def check_method(method: str) -> str:
    """An RFC 9110 §9.1 method token, upper-cased (methods are case-sensitive; the standard ones are upper)."""
    if not isinstance(method, str) or not method or not set(method) <= _TOKEN_CHARS:
        raise UsageError(f"not an HTTP method: {method!r}")
    method = method.upper()
    if method == "CONNECT":
        raise UsageError("CONNECT opens a tunnel, not a request agentfetch can make")
    return method


def request_body(content: bytes | bytearray | memoryview | str | None, json: Any,
                 headers: httpx.Headers) -> bytes | None:
    """The body of a ``request()`` as bytes, checked against :data:`MAX_REQUEST_BODY`; ``json``
    sets ``Content-Type`` (and ``Accept``) unless the caller did."""
    if content is not None and json is not NO_JSON:
        raise UsageError("give content or json, not both")
    if json is not NO_JSON:
        try:
            body: bytes | None = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise UsageError(f"json body is not serialisable: {exc}") from None
        headers.setdefault("Content-Type", "application/json")
        headers.setdefault("Accept", "application/json, */*;q=0.5")
    elif content is None:
        body = None
    elif isinstance(content, str):
        body = content.encode()
    elif isinstance(content, (bytes, bytearray, memoryview)):
        body = bytes(content)
    else:
        raise UsageError(f"content must be bytes or str, not {type(content).__name__}: a body is held whole so "
                         "that it can be sent again after a sign-in")
    if body is not None and len(body) > MAX_REQUEST_BODY:
        raise UsageError(f"the request body is {len(body)} bytes; at most {MAX_REQUEST_BODY} can be held for "
                         "a retry after sign-in, so nothing was sent")
    return body


class FetchPlan:
    """The sync/async-independent part of a fetch."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        headers: HeadersOption,
        full_page: bool,
        log: LogSink | None,
        cacert: CAOption = None,
    ) -> None:
        if max_bytes <= 0:
            raise UsageError("max_bytes must be positive")
        if timeout <= 0:
            raise UsageError("timeout must be positive")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.full_page = full_page
        self.log = log
        self.headers = httpx.Headers({"Accept": ACCEPT, "User-Agent": USER_AGENT})
        # Caller headers are applied per request, never as client defaults, so that
        # credentials among them can be kept from other origins.
        self.caller_headers = request_headers(headers)
        self.cacert = cacert
        # Checked now: a bundle that does not exist is a usage error before any request.
        self.verify = ssl_context(cacert)

    def client_options(self) -> dict[str, Any]:
        return {
            "timeout": httpx.Timeout(self.timeout),
            "follow_redirects": False,
            "headers": self.headers,
            "verify": self.verify,
        }

    def network_error(self, exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> AgentFetchError:
        return network_error(exc, url, cacert=self.cacert)

    def start(
        self,
        url: str,
        *,
        max_length: int | None,
        start_index: int,
        raw: bool,
        full_page: bool | None,
        headers: HeadersOption,
    ) -> FetchCall:
        if max_length is not None and max_length <= 0:
            raise UsageError("max_length must be positive")
        if start_index < 0:
            raise UsageError("start_index must not be negative")
        return FetchCall(validate_url(url), max_length, start_index, raw, full_page, request_headers(headers))

    def start_request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | bytearray | memoryview | str | None,
        json: Any,
        headers: HeadersOption,
        max_length: int | None,
        start_index: int,
        raw: bool,
    ) -> FetchCall:
        call = self.start(url, max_length=max_length, start_index=start_index, raw=raw, full_page=None,
                          headers=headers)
        call.method = check_method(method)
        call.body = request_body(content, json, call.headers)
        call.raise_status = False
        return call

    def requests(
        self, client: httpx.Client | httpx.AsyncClient, call: FetchCall
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        """Yield each request of the redirect chain and receive its (streamed)
        response; return the final response (``fetch()``: once its status is acceptable)."""
        url, extra = call.url, call.headers
        target, hops, method, body = url, 0, call.method, call.body
        while True:
            headers = httpx.Headers(self.caller_headers)
            headers.update(extra)
            if body is None and method != call.method:
                for name in _BODY_HEADERS:  # the fetcher's own headers may describe the body too
                    headers.pop(name, None)
            # Caller-supplied credentials follow the httpx rule: never to another origin.
            if origin(target) != origin(url):
                for name in _CREDENTIAL_HEADERS:
                    headers.pop(name, None)
            response = yield client.build_request(method, target, headers=headers, content=body)
            next_target = self._next_hop(response, hops)
            if next_target is None:
                if call.raise_status:
                    self.check_status(response)
                return response
            status = response.status_code
            if status in (301, 302, 303) and method not in ("GET", "HEAD"):
                # RFC 9110 §15.4.2-§15.4.4: what browsers do; the new request has no body.
                self.trace(f"redirect {status}: {method} becomes GET")
                method, body = "GET", None
            elif method not in _SAFE_METHODS and origin(next_target) != origin(url):
                # RFC 9110 §15.4.8-§15.4.9: 307/308 repeat the method and the body, and an action
                # taken as the human is not repeated on a host it was not addressed to.
                what = f"{method} with its body" if body else method
                raise SecurityError(
                    f"refused to repeat {what} at another origin: {redact_url(str(response.url))} answered {status} "
                    f"to {redact_url(next_target)}"
                )
            target, hops = next_target, hops + 1

    def _next_hop(self, response: httpx.Response, hops: int) -> str | None:
        if response.status_code not in _REDIRECT_STATUSES or "location" not in response.headers:
            return None
        if hops >= MAX_REDIRECTS:
            last = redact_url(response.headers["location"])
            raise NetworkError(f"more than {MAX_REDIRECTS} redirects, last to {last}")
        target = urljoin(str(response.url), response.headers["location"])
        if urlsplit(target).scheme not in ("http", "https"):
            raise NetworkError(f"redirect to a non-http URL refused: {target[:200]}")
        self.trace(f"redirect {response.status_code} → {redact_url(target)}")
        return target

    def check_status(self, response: httpx.Response) -> None:
        error = status_error(response.status_code, str(response.url), reason=response.reason_phrase,
                             challenge=response.headers.get("www-authenticate", ""))
        if error is not None:
            raise error

    def trace(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    def finish(self, call: FetchCall, response: httpx.Response, body: bytes, body_truncated: bool) -> FetchResult:
        from .content import convert, estimate_tokens, paginate

        content_type = response.headers.get("content-type")
        final_url = str(response.url)
        raw, full_page, start_index = call.raw, call.full_page, call.start_index
        metadata: dict[str, str] = {}
        if raw:
            document_kind, title = "raw", None
            text = body.decode(response.encoding or "utf-8", errors="replace")
        elif not body and not call.raise_status:
            # An API's 204, a HEAD: nothing to convert, and no empty fence for a JSON content type.
            document_kind, title, text = "empty", None, ""
        else:
            document = convert(
                body,
                content_type,
                final_url,
                full_page=self.full_page if full_page is None else full_page,
                body_truncated=body_truncated,
                headers=response.headers,
            )
            document_kind, title, metadata, text = document.kind, document.title, document.metadata, document.markdown
        page = paginate(text, start_index, call.max_length)
        tokens = estimate_tokens(page.text)
        server_tokens = response.headers.get("x-markdown-tokens", "")
        if document_kind == "markdown" and not page.truncated and start_index == 0 and server_tokens.isdigit():
            tokens = int(server_tokens)
        return FetchResult(
            url=call.url,
            final_url=final_url,
            status=response.status_code,
            content_type=content_type,
            title=title,
            markdown=page.text,
            truncated=page.truncated,
            next_start_index=page.next_start_index,
            total_length=page.total_length,
            tokens=tokens,
            metadata=metadata,
            kind=document_kind,
            body_truncated=body_truncated,
            body=body if raw else None,
            headers=list(response.headers.multi_items()),
            method=None if call.raise_status else call.method,
        )


def build_auth(
    auth: bool | httpx.Auth | None,
    *,
    consent: ConsentOption,
    open_browser: Callable[[str], bool] | None,
    interactive: bool,
    auth_timeout: float,
    log: LogSink | None,
    store: CredentialStore | None,
    client: httpx.Client | httpx.AsyncClient | None = None,
    on_sign_in: Callable[[SignInPrompt], None] | None = None,
) -> httpx.Auth | None:
    if auth is None or auth is False:
        return None
    if auth is not True:
        return auth
    from ._credentials import ServiceCredentialAuth, load_credentials
    from .oauth import OAuth, default_consent

    consent_callback = default_consent(consent) if isinstance(consent, str) else consent
    oauth = OAuth(
        store=store,
        consent=consent_callback,
        open_browser=open_browser,
        auth_timeout=auth_timeout,
        log=log,
        interactive=interactive,
        client=client,
        on_sign_in=on_sign_in,
    )
    # config.toml [[credentials]]: hosts without managed OAuth get their service credential first.
    credentials = load_credentials()
    if not credentials:
        return oauth

    opened: list[CredentialStore] = [] if store is None else [store]

    def the_store() -> CredentialStore:  # opened on first use: only a helper's output is kept there
        if not opened:
            from .store import open_store

            opened.append(open_store())
        return opened[0]

    return ServiceCredentialAuth(credentials, oauth, store=the_store, log=log)


def trace_response(plan: FetchPlan, response: httpx.Response) -> None:
    request = response.request
    if TRACED_EXTENSION in request.extensions:
        return  # the OAuth flow traces its own requests, labelled by step
    started = request.extensions.get("agentfetch_started")
    elapsed = f" ({(time.perf_counter() - started) * 1000:.0f} ms)" if started else ""
    plan.trace(f"{request.method} {redact_url(request.url)} → {response.status_code}{elapsed}")


class CappedBody:
    """Collects a streamed body up to ``limit`` bytes, so that a huge or endless
    body cannot exhaust memory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.cut = False

    def add(self, chunk: bytes) -> bool:
        """Append a chunk; False once the cap is reached and reading must stop."""
        room = self.limit - len(self.buffer)
        if len(chunk) > room:
            self.buffer += chunk[:room]
            self.cut = True
            return False
        self.buffer += chunk
        return True


def read_capped(chunks: Iterable[bytes], limit: int) -> tuple[bytes, bool]:
    body = CappedBody(limit)
    for chunk in chunks:
        if not body.add(chunk):
            break
    return bytes(body.buffer), body.cut


async def aread_capped(chunks: AsyncIterable[bytes], limit: int) -> tuple[bytes, bool]:
    body = CappedBody(limit)
    async for chunk in chunks:
        if not body.add(chunk):
            break
    return bytes(body.buffer), body.cut


