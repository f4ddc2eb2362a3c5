"""The SDK: ``Fetcher`` / ``AsyncFetcher`` and the one-shot ``fetch`` / ``afetch``.

Both fetchers share :class:`_FetchPlan`, which holds every decision that does
not depend on sync or async I/O: request headers, redirect policy, the body
cap, status classification and conversion. The two classes only drive httpx.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

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
    from .oauth import ConsentRequest

__all__ = ["FetchResult", "Fetcher", "AsyncFetcher", "fetch", "afetch", "ACCEPT", "USER_AGENT"]

#: Markdown first, so that servers offering "Markdown for Agents" answer in Markdown.
ACCEPT = "text/markdown, text/html;q=0.9, application/xhtml+xml;q=0.8, */*;q=0.5"
#: Names the tool honestly; never a browser User-Agent (access proxies would answer
#: a browser with a login redirect instead of an OAuth challenge).
USER_AGENT = f"agentfetch/{__version__} (+https://pypi.org/project/agentfetch/)"

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_BYTES = 10_000_000
MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Never carried across origins when the caller supplied them (-H).
_CREDENTIAL_HEADERS = ("Authorization", "Cookie", "Proxy-Authorization")

ConsentOption = str | Callable[["ConsentRequest"], "bool | Awaitable[bool]"]
LogSink = Callable[[str], None]


@dataclass
class FetchResult:
    """One fetched page, converted. ``to_dict()`` is the CLI's ``--json`` object."""

    url: str
    final_url: str
    status: int
    content_type: str | None
    title: str | None
    markdown: str
    truncated: bool
    next_start_index: int | None
    total_length: int
    tokens: int
    #: Byline, published date, canonical URL, language... when the page says so.
    metadata: dict[str, str] = field(default_factory=dict)
    #: "html", "markdown", "json", "text", "pdf", "binary" or "raw".
    kind: str = "html"
    #: True when the body was longer than ``max_bytes`` and was cut while reading.
    body_truncated: bool = False
    #: The body as received (after content-encoding), only kept with ``raw=True``.
    body: bytes | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "content_type": self.content_type,
            "title": self.title,
            "markdown": self.markdown,
            "truncated": self.truncated,
            "next_start_index": self.next_start_index,
            "total_length": self.total_length,
            "tokens": self.tokens,
            "metadata": self.metadata,
            "kind": self.kind,
            "body_truncated": self.body_truncated,
        }


def validate_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise UsageError("no URL given")
    url = url.strip()
    parts = urlsplit(url)
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


def _network_error(exc: httpx.HTTPError, url: str) -> AgentFetchError:
    host = urlsplit(url).netloc
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"timed out talking to {host}")
    if isinstance(exc, httpx.TooManyRedirects):
        return NetworkError(f"too many redirects from {host}")
    text = str(exc) or type(exc).__name__
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return NetworkError(f"TLS error with {host}: {text}")
    return NetworkError(f"cannot reach {host}: {text}")


@dataclass
class _Call:
    """One ``fetch()`` call's arguments, checked."""

    url: str
    max_length: int | None
    start_index: int
    raw: bool
    full_page: bool | None
    headers: httpx.Headers


class _FetchPlan:
    """The sync/async-independent part of a fetch."""

    def __init__(
        self,
        *,
        timeout: float,
        max_bytes: int,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
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
        self.caller_headers = httpx.Headers(headers or {})

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
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None,
    ) -> _Call:
        if max_length is not None and max_length <= 0:
            raise UsageError("max_length must be positive")
        if start_index < 0:
            raise UsageError("start_index must not be negative")
        return _Call(validate_url(url), max_length, start_index, raw, full_page, httpx.Headers(headers or {}))

    def requests(
        self, client: httpx.Client | httpx.AsyncClient, call: _Call
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
            raise NetworkError(f"more than {MAX_REDIRECTS} redirects, last to {redact_url(response.headers['location'])}")
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

    def finish(self, call: _Call, response: httpx.Response, body: bytes, body_truncated: bool) -> FetchResult:
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
        )


def _build_auth(
    auth: bool | httpx.Auth | None,
    *,
    consent: ConsentOption,
    open_browser: Callable[[str], bool] | None,
    interactive: bool,
    auth_timeout: float,
    log: LogSink | None,
    store: Any,
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
    )


class _FetcherBase:
    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        full_page: bool = False,
        auth: bool | httpx.Auth | None = True,
        consent: ConsentOption = "ask",
        open_browser: Callable[[str], bool] | None = None,
        interactive: bool = True,
        auth_timeout: float = 300.0,
        store: Any = None,
        log: LogSink | None = None,
    ) -> None:
        self._plan = _FetchPlan(timeout=timeout, max_bytes=max_bytes, headers=headers, full_page=full_page, log=log)
        if isinstance(consent, str) and consent not in ("allow", "deny", "ask"):
            raise UsageError(f"consent must be allow, deny or ask, not {consent!r}")
        self._auth_options = dict(
            consent=consent,
            open_browser=open_browser,
            interactive=interactive,
            auth_timeout=auth_timeout,
            log=log,
            store=store,
        )
        self._auth_setting = auth

    @cached_property
    def auth(self) -> httpx.Auth | None:
        """The ``httpx.Auth`` used for every request, built on first use so that
        merely creating a fetcher never imports the OAuth machinery."""
        return _build_auth(self._auth_setting, **self._auth_options)


class Fetcher(_FetcherBase):
    """A reusable synchronous fetcher holding one connection pool.

    >>> with Fetcher(consent="allow") as f:
    ...     page = f.fetch("https://docs.example.com/")
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        plan = self._plan
        hooks: dict[str, list[Any]] = {}
        if plan.log is not None:
            hooks = {"request": [self._on_request], "response": [self._on_response]}
        self._client = httpx.Client(event_hooks=hooks, **plan.client_options())

    @property
    def client(self) -> httpx.Client:
        return self._client

    def _on_request(self, request: httpx.Request) -> None:
        request.extensions["agentfetch_started"] = time.perf_counter()

    def _on_response(self, response: httpx.Response) -> None:
        _trace_response(self._plan, response)

    def fetch(
        self,
        url: str,
        *,
        max_length: int | None = None,
        start_index: int = 0,
        raw: bool = False,
        full_page: bool | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> FetchResult:
        plan = self._plan
        call = plan.start(url, max_length=max_length, start_index=start_index, raw=raw, full_page=full_page, headers=headers)
        steps = plan.requests(self._client, call)
        request = next(steps)
        try:
            while True:
                response = self._client.send(request, auth=self.auth, stream=True)
                try:
                    request = steps.send(response)
                except StopIteration:
                    body, cut = _read_capped(response.iter_bytes(), plan.max_bytes)
                    break
                finally:
                    response.close()
        except httpx.HTTPError as exc:
            raise _network_error(exc, str(request.url)) from None
        return plan.finish(call, response, body, cut)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncFetcher(_FetcherBase):
    """The asyncio twin of :class:`Fetcher`."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        plan = self._plan
        hooks: dict[str, list[Any]] = {}
        if plan.log is not None:
            hooks = {"request": [self._on_request], "response": [self._on_response]}
        self._client = httpx.AsyncClient(event_hooks=hooks, **plan.client_options())

    @property
    def client(self) -> httpx.AsyncClient:
        return self._client

    async def _on_request(self, request: httpx.Request) -> None:
        request.extensions["agentfetch_started"] = time.perf_counter()

    async def _on_response(self, response: httpx.Response) -> None:
        _trace_response(self._plan, response)

    async def fetch(
        self,
        url: str,
        *,
        max_length: int | None = None,
        start_index: int = 0,
        raw: bool = False,
        full_page: bool | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> FetchResult:
        plan = self._plan
        call = plan.start(url, max_length=max_length, start_index=start_index, raw=raw, full_page=full_page, headers=headers)
        steps = plan.requests(self._client, call)
        request = next(steps)
        try:
            while True:
                response = await self._client.send(request, auth=self.auth, stream=True)
                try:
                    request = steps.send(response)
                except StopIteration:
                    body, cut = await _aread_capped(response.aiter_bytes(), plan.max_bytes)
                    break
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            raise _network_error(exc, str(request.url)) from None
        return plan.finish(call, response, body, cut)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _trace_response(plan: _FetchPlan, response: httpx.Response) -> None:
    request = response.request
    if TRACED_EXTENSION in request.extensions:
        return  # the OAuth flow traces its own requests, labelled by step
    started = request.extensions.get("agentfetch_started")
    elapsed = f" ({(time.perf_counter() - started) * 1000:.0f} ms)" if started else ""
    plan.trace(f"{request.method} {redact_url(request.url)} → {response.status_code}{elapsed}")


class _CappedBody:
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


def _read_capped(chunks: Iterable[bytes], limit: int) -> tuple[bytes, bool]:
    body = _CappedBody(limit)
    for chunk in chunks:
        if not body.add(chunk):
            break
    return bytes(body.buffer), body.cut


async def _aread_capped(chunks: AsyncIterable[bytes], limit: int) -> tuple[bytes, bool]:
    body = _CappedBody(limit)
    async for chunk in chunks:
        if not body.add(chunk):
            break
    return bytes(body.buffer), body.cut


_FETCHER_OPTIONS = ("timeout", "max_bytes", "headers", "full_page", "auth", "consent", "open_browser",
                    "interactive", "auth_timeout", "store", "log")


def _split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    fetcher_options = {k: v for k, v in options.items() if k in _FETCHER_OPTIONS}
    call_options = {k: v for k, v in options.items() if k not in _FETCHER_OPTIONS}
    return fetcher_options, call_options


def fetch(url: str, **options: Any) -> FetchResult:
    """Fetch one URL as Markdown. Takes every :class:`Fetcher` option and every
    :meth:`Fetcher.fetch` argument (``max_length``, ``start_index``, ``raw``)."""
    fetcher_options, call_options = _split_options(options)
    with Fetcher(**fetcher_options) as fetcher:
        return fetcher.fetch(url, **call_options)


async def afetch(url: str, **options: Any) -> FetchResult:
    """The asyncio twin of :func:`fetch`."""
    fetcher_options, call_options = _split_options(options)
    async with AsyncFetcher(**fetcher_options) as fetcher:
        return await fetcher.fetch(url, **call_options)
