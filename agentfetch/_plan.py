"""The part of a fetch that does not depend on sync or async I/O, shared by
:class:`~agentfetch.Fetcher` and :class:`~agentfetch.AsyncFetcher`: the URL and
header checks, request headers, the redirect policy, status classification,
the body cap, conversion, and the mapping of httpx failures to
:mod:`agentfetch.errors`. The two fetchers only drive httpx.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._options import ConsentOption, HeadersOption, LogSink
from ._result import FetchResult
from ._urls import TRACED_EXTENSION, origin, redact_url
from ._version import __version__
from .errors import (
    AgentFetchError,
    AuthorizationError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    UsageError,
)

if TYPE_CHECKING:
    from .store import CredentialStore

__all__ = [
    "ACCEPT",
    "MAX_REDIRECTS",
    "USER_AGENT",
    "FetchCall",
    "FetchPlan",
    "aread_capped",
    "build_auth",
    "network_error",
    "parse_header",
    "read_capped",
    "request_headers",
    "trace_response",
    "validate_url",
]

#: Markdown first, so that servers offering "Markdown for Agents" answer in Markdown.
ACCEPT = "text/markdown, text/html;q=0.9, application/xhtml+xml;q=0.8, */*;q=0.5"
#: Names the tool honestly; never a browser User-Agent (access proxies would answer
#: a browser with a login redirect instead of an OAuth challenge).
USER_AGENT = f"agentfetch/{__version__} (+https://pypi.org/project/agentfetch/)"

MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Never carried across origins when the caller supplied them (-H).
_CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")


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


def network_error(exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> AgentFetchError:
    if isinstance(exc, httpx.InvalidURL):
        # httpx builds the next request of every redirect, followed or not: a
        # Location of "javascript:" or "http://[::1" fails there, inside send().
        return NetworkError(f"{redact_url(url)} answered with a redirect to an unusable URL")
    # Name the request that failed: during a sign-in it is an OAuth endpoint, not the page.
    try:
        failed: httpx.Request | None = exc.request
    except RuntimeError:
        failed = None
    step = failed.extensions.get(TRACED_EXTENSION) if failed is not None else None
    try:
        host = failed.url.netloc.decode("ascii", "replace") if failed is not None else urlsplit(url).netloc
    except ValueError:
        host = "the server"
    host = host.rpartition("@")[2] + (f" ({step})" if step else "")
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"timed out talking to {host}")
    if isinstance(exc, httpx.TooManyRedirects):
        return NetworkError(f"too many redirects from {host}")
    if isinstance(exc, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        # Our own request could not be written; the library's text quotes the
        # offending header, which may be an Authorization header with its token.
        return NetworkError(f"cannot send the request to {host}: {type(exc).__name__}")
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return NetworkError(f"TLS error with {host}: {text}")
    return NetworkError(f"cannot reach {host}: {text}")


@dataclass
class FetchCall:
    """One ``fetch()`` call's arguments, checked."""

    url: str
    max_length: int | None
    start_index: int
    raw: bool
    full_page: bool | None
    headers: httpx.Headers


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

    def client_options(self) -> dict[str, Any]:
        return {
            "timeout": httpx.Timeout(self.timeout),
            "follow_redirects": False,
            "headers": self.headers,
        }

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

    def requests(
        self, client: httpx.Client | httpx.AsyncClient, call: FetchCall
    ) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        """Yield each request of the redirect chain and receive its (streamed)
        response; return the final response once its status is acceptable."""
        url, extra = call.url, call.headers
        target, hops = url, 0
        while True:
            headers = httpx.Headers(self.caller_headers)
            headers.update(extra)
            # Caller-supplied credentials follow the httpx rule: never to another origin.
            if origin(target) != origin(url):
                for name in _CREDENTIAL_HEADERS:
                    headers.pop(name, None)
            response = yield client.build_request("GET", target, headers=headers)
            next_target = self._next_hop(response, hops)
            if next_target is None:
                self.check_status(response)
                return response
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
        status = response.status_code
        if status < 400:
            return
        url = redact_url(response.url)
        challenge = response.headers.get("www-authenticate", "")
        if status == 401 or (status == 403 and "insufficient_scope" in challenge):
            raise AuthorizationError(
                f"{url} answered {status}: authorization required and not obtained",
                hint=f"run `agentfetch auth login {response.url}`" if challenge else None,
            )
        reason = response.reason_phrase or "error"
        raise HTTPStatusError(f"{url} answered {status} {reason}", status=status, url=str(response.url))

    def trace(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    def finish(self, call: FetchCall, response: httpx.Response, body: bytes, body_truncated: bool) -> FetchResult:
        from .content import convert, estimate_tokens, paginate

        content_type = response.headers.get("content-type")
        final_url = str(response.url)
        raw, full_page, start_index = call.raw, call.full_page, call.start_index
        if raw:
            document_kind, title, metadata = "raw", None, {}
            text = body.decode(response.encoding or "utf-8", errors="replace")
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
) -> httpx.Auth | None:
    if auth is None or auth is False:
        return None
    if auth is not True:
        return auth
    from .oauth import OAuth, default_consent

    consent_callback = default_consent(consent) if isinstance(consent, str) else consent
    return OAuth(
        store=store,
        consent=consent_callback,
        open_browser=open_browser,
        auth_timeout=auth_timeout,
        log=log,
        interactive=interactive,
        client=client,
    )


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


