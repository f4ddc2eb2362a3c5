"""The SDK: ``Fetcher`` / ``AsyncFetcher`` and the one-shot ``fetch`` / ``afetch``.

Both fetchers share :class:`~agentfetch._plan.FetchPlan`, which holds every
decision that does not depend on sync or async I/O: request headers, redirect
policy, the body cap, status classification and conversion. The two classes
here only drive httpx; they are sync/async twins and change together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from ._network import CAOption
from ._options import (
    CONSENT_CHOICES,
    DEFAULT_AUTH_TIMEOUT,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    ConsentOption,
    HeadersOption,
    LogSink,
)
from ._plan import (
    ACCEPT,
    MAX_REDIRECTS,
    MAX_REQUEST_BODY,
    NO_JSON,
    USER_AGENT,
    FetchCall,
    FetchPlan,
    aread_capped,
    build_auth,
    parse_header,
    read_capped,
    trace_response,
    validate_url,
)
from ._result import FetchResult
from ._terminal import escaping
from .errors import UsageError

if TYPE_CHECKING:
    from .oauth import SignInPrompt
    from .store import CredentialStore

__all__ = [
    "FetchResult",
    "Fetcher",
    "AsyncFetcher",
    "fetch",
    "afetch",
    "request",
    "arequest",
    "parse_header",
    "validate_url",
    "ACCEPT",
    "USER_AGENT",
    "DEFAULT_TIMEOUT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_AUTH_TIMEOUT",
    "MAX_REDIRECTS",
    "MAX_REQUEST_BODY",
]

#: A request body: bytes as they are, a str as UTF-8.
Content = bytes | bytearray | memoryview | str

_Client = TypeVar("_Client", httpx.Client, httpx.AsyncClient)


class _FetcherBase(Generic[_Client]):
    """The settings both fetchers take; the one signature IDEs and type checkers see."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        headers: HeadersOption = None,
        full_page: bool = False,
        auth: bool | httpx.Auth | None = True,
        consent: ConsentOption = "ask",
        open_browser: Callable[[str], bool] | None = None,
        interactive: bool = True,
        auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
        store: CredentialStore | None = None,
        log: LogSink | None = None,
        cacert: CAOption = None,
        on_sign_in: Callable[[SignInPrompt], None] | None = None,
    ) -> None:
        """
        :param timeout: network timeout in seconds, per request.
        :param max_bytes: stop reading a body after this many bytes (``body_truncated`` says so).
        :param headers: extra request headers; ``Authorization``, ``Cookie`` and
            ``Proxy-Authorization`` among them never follow a redirect to another origin.
        :param full_page: keep navigation, header, footer and sidebars.
        :param auth: ``True``: agentfetch's OAuth on a 401/403 challenge; ``False``/``None``: no
            credentials at all; an ``httpx.Auth``: that one instead.
        :param consent: before a sign-in: ``"allow"``, ``"deny"``, ``"ask"`` (on the terminal) or a
            callback taking a :class:`~agentfetch.oauth.ConsentRequest` (may be async for ``AsyncFetcher``).
        :param open_browser: opens the sign-in page; default: the system browser.
        :param interactive: ``False``: never start a sign-in, use only what is stored.
        :param auth_timeout: seconds to wait for the human to finish signing in.
        :param store: where credentials live; default: :func:`agentfetch.store.open_store`.
        :param log: receives one line per request and sign-in step (never a token).
        :param cacert: a PEM file (or directory) of CA certificates to trust instead of the default:
            ``$SSL_CERT_FILE``, ``$REQUESTS_CA_BUNDLE``, ``$CURL_CA_BUNDLE``, else the OS trust store
            (``docs/network.md``). OAuth's own requests use it too.
        :param on_sign_in: called once per sign-in that waits for the human, with a
            :class:`~agentfetch.oauth.SignInPrompt` (the URL, the device code, how to cancel).
        """
        if log is not None:
            # What is traced quotes servers (URLs, client ids, error texts): escaped once, here.
            log = escaping(log)
        self._plan = FetchPlan(timeout=timeout, max_bytes=max_bytes, headers=headers, full_page=full_page, log=log,
                               cacert=cacert)
        if isinstance(consent, str) and consent not in CONSENT_CHOICES:
            raise UsageError(f"consent must be allow, deny or ask, not {consent!r}")
        self._auth_options: dict[str, Any] = dict(
            consent=consent,
            open_browser=open_browser,
            interactive=interactive,
            auth_timeout=auth_timeout,
            log=log,
            store=store,
            on_sign_in=on_sign_in,
        )
        self._auth_setting = auth
        self._client: _Client = self._open_client()

    def _open_client(self) -> _Client:
        raise NotImplementedError

    @property
    def client(self) -> _Client:
        """The underlying httpx client (one connection pool for every fetch)."""
        return self._client

    @cached_property
    def auth(self) -> httpx.Auth | None:
        """The ``httpx.Auth`` used for every request, built on first use so that
        merely creating a fetcher never imports the OAuth machinery."""
        # OAuth's own requests share this fetcher's connection pool and settings.
        return build_auth(self._auth_setting, client=self._client, **self._auth_options)

    def _hooks(self, on_request: Callable[..., Any], on_response: Callable[..., Any]) -> dict[str, list[Any]]:
        """httpx event hooks for ``log``: none at all when nobody listens."""
        if self._plan.log is None:
            return {}
        return {"request": [on_request], "response": [on_response]}


class Fetcher(_FetcherBase[httpx.Client]):
    """A reusable synchronous fetcher holding one connection pool.

    >>> with Fetcher(consent="allow") as f:
    ...     page = f.fetch("https://docs.example.com/")
    """

    def _open_client(self) -> httpx.Client:
        hooks = self._hooks(self._on_request, self._on_response)
        return httpx.Client(event_hooks=hooks, **self._plan.client_options())

    def _on_request(self, request: httpx.Request) -> None:
        request.extensions["agentfetch_started"] = time.perf_counter()

    def _on_response(self, response: httpx.Response) -> None:
        trace_response(self._plan, response)

    def fetch(
        self,
        url: str,
        *,
        max_length: int | None = None,
        start_index: int = 0,
        raw: bool = False,
        full_page: bool | None = None,
        headers: HeadersOption = None,
    ) -> FetchResult:
        """Fetch ``url`` and convert it; ``full_page`` and ``headers`` override the fetcher's for this call."""
        return self._perform(self._plan.start(url, max_length=max_length, start_index=start_index, raw=raw,
                                              full_page=full_page, headers=headers))

    def request(
        self,
        method: str,
        url: str,
        *,
        content: Content | None = None,
        json: Any = NO_JSON,
        headers: HeadersOption = None,
        max_length: int | None = None,
        start_index: int = 0,
        raw: bool = False,
    ) -> FetchResult:
        """Send ``method`` to ``url`` with an optional body, as the human, and convert the answer.

        ``content`` (bytes or str) or ``json`` (serialised, with ``Content-Type: application/json``)
        is held whole, at most :data:`MAX_REQUEST_BODY` bytes, so that the same body can be sent
        again after a sign-in (a 401/403 challenge means the server did not act on it). No other
        failure is retried. Any final status is answered (``result.ok``, ``result.raise_for_status()``);
        ``to_dict()`` carries ``method`` and ``headers``. Redirects: 301/302/303 turn a non-GET into a
        GET (RFC 9110 §15.4); 307/308 repeat an unsafe method only on the same origin, else
        :class:`~agentfetch.SecurityError`."""
        return self._perform(self._plan.start_request(method, url, content=content, json=json, headers=headers,
                                                      max_length=max_length, start_index=start_index, raw=raw))

    def _perform(self, call: FetchCall) -> FetchResult:
        plan = self._plan
        steps = plan.requests(self._client, call)
        request = next(steps)
        try:
            while True:
                response = self._client.send(request, auth=self.auth, stream=True)
                try:
                    request = steps.send(response)
                except StopIteration:
                    body, cut = read_capped(response.iter_bytes(), plan.max_bytes)
                    break
                finally:
                    response.close()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise plan.network_error(exc, str(request.url)) from None
        return plan.finish(call, response, body, cut)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncFetcher(_FetcherBase[httpx.AsyncClient]):
    """The asyncio twin of :class:`Fetcher`."""

    def _open_client(self) -> httpx.AsyncClient:
        hooks = self._hooks(self._on_request, self._on_response)
        return httpx.AsyncClient(event_hooks=hooks, **self._plan.client_options())

    async def _on_request(self, request: httpx.Request) -> None:
        request.extensions["agentfetch_started"] = time.perf_counter()

    async def _on_response(self, response: httpx.Response) -> None:
        trace_response(self._plan, response)

    async def fetch(
        self,
        url: str,
        *,
        max_length: int | None = None,
        start_index: int = 0,
        raw: bool = False,
        full_page: bool | None = None,
        headers: HeadersOption = None,
    ) -> FetchResult:
        """Fetch ``url`` and convert it; ``full_page`` and ``headers`` override the fetcher's for this call."""
        return await self._perform(self._plan.start(url, max_length=max_length, start_index=start_index, raw=raw,
                                                    full_page=full_page, headers=headers))

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: Content | None = None,
        json: Any = NO_JSON,
        headers: HeadersOption = None,
        max_length: int | None = None,
        start_index: int = 0,
        raw: bool = False,
    ) -> FetchResult:
        """The asyncio twin of :meth:`Fetcher.request`."""
        return await self._perform(self._plan.start_request(method, url, content=content, json=json,
                                                            headers=headers, max_length=max_length,
                                                            start_index=start_index, raw=raw))

    async def _perform(self, call: FetchCall) -> FetchResult:
        plan = self._plan
        steps = plan.requests(self._client, call)
        request = next(steps)
        try:
            while True:
                response = await self._client.send(request, auth=self.auth, stream=True)
                try:
                    request = steps.send(response)
                except StopIteration:
                    body, cut = await aread_capped(response.aiter_bytes(), plan.max_bytes)
                    break
                finally:
                    await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise plan.network_error(exc, str(request.url)) from None
        return plan.finish(call, response, body, cut)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncFetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# fetch() and afetch() are sync/async twins: the same signature (Fetcher's settings
# and Fetcher.fetch's arguments, spelled out for IDEs), changed together.
def fetch(
    url: str,
    *,
    max_length: int | None = None,
    start_index: int = 0,
    raw: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: HeadersOption = None,
    full_page: bool = False,
    auth: bool | httpx.Auth | None = True,
    consent: ConsentOption = "ask",
    open_browser: Callable[[str], bool] | None = None,
    interactive: bool = True,
    auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
    store: CredentialStore | None = None,
    log: LogSink | None = None,
    cacert: CAOption = None,
    on_sign_in: Callable[[SignInPrompt], None] | None = None,
) -> FetchResult:
    """Fetch one URL as Markdown: the arguments of :meth:`Fetcher.fetch` and the
    settings of :class:`Fetcher`, for a fetcher used once."""
    with Fetcher(
        timeout=timeout,
        max_bytes=max_bytes,
        headers=headers,
        full_page=full_page,
        auth=auth,
        consent=consent,
        open_browser=open_browser,
        interactive=interactive,
        auth_timeout=auth_timeout,
        store=store,
        log=log,
        cacert=cacert,
        on_sign_in=on_sign_in,
    ) as fetcher:
        return fetcher.fetch(url, max_length=max_length, start_index=start_index, raw=raw)


async def afetch(
    url: str,
    *,
    max_length: int | None = None,
    start_index: int = 0,
    raw: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: HeadersOption = None,
    full_page: bool = False,
    auth: bool | httpx.Auth | None = True,
    consent: ConsentOption = "ask",
    open_browser: Callable[[str], bool] | None = None,
    interactive: bool = True,
    auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
    store: CredentialStore | None = None,
    log: LogSink | None = None,
    cacert: CAOption = None,
    on_sign_in: Callable[[SignInPrompt], None] | None = None,
) -> FetchResult:
    """The asyncio twin of :func:`fetch` (same arguments, kept in step with it)."""
    async with AsyncFetcher(
        timeout=timeout,
        max_bytes=max_bytes,
        headers=headers,
        full_page=full_page,
        auth=auth,
        consent=consent,
        open_browser=open_browser,
        interactive=interactive,
        auth_timeout=auth_timeout,
        store=store,
        log=log,
        cacert=cacert,
        on_sign_in=on_sign_in,
    ) as fetcher:
        return await fetcher.fetch(url, max_length=max_length, start_index=start_index, raw=raw)


# request() and arequest() are sync/async twins too: Fetcher.request's arguments and the
# fetcher's settings, for a fetcher used once.
def request(
    method: str,
    url: str,
    *,
    content: Content | None = None,
    json: Any = NO_JSON,
    headers: HeadersOption = None,
    max_length: int | None = None,
    start_index: int = 0,
    raw: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    auth: bool | httpx.Auth | None = True,
    consent: ConsentOption = "ask",
    open_browser: Callable[[str], bool] | None = None,
    interactive: bool = True,
    auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
    store: CredentialStore | None = None,
    log: LogSink | None = None,
    cacert: CAOption = None,
    on_sign_in: Callable[[SignInPrompt], None] | None = None,
) -> FetchResult:
    """One request with a method and a body (see :meth:`Fetcher.request`); ``headers`` are this request's."""
    with Fetcher(
        timeout=timeout,
        max_bytes=max_bytes,
        auth=auth,
        consent=consent,
        open_browser=open_browser,
        interactive=interactive,
        auth_timeout=auth_timeout,
        store=store,
        log=log,
        cacert=cacert,
        on_sign_in=on_sign_in,
    ) as fetcher:
        return fetcher.request(method, url, content=content, json=json, headers=headers, max_length=max_length,
                               start_index=start_index, raw=raw)


async def arequest(
    method: str,
    url: str,
    *,
    content: Content | None = None,
    json: Any = NO_JSON,
    headers: HeadersOption = None,
    max_length: int | None = None,
    start_index: int = 0,
    raw: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    auth: bool | httpx.Auth | None = True,
    consent: ConsentOption = "ask",
    open_browser: Callable[[str], bool] | None = None,
    interactive: bool = True,
    auth_timeout: float = DEFAULT_AUTH_TIMEOUT,
    store: CredentialStore | None = None,
    log: LogSink | None = None,
    cacert: CAOption = None,
    on_sign_in: Callable[[SignInPrompt], None] | None = None,
) -> FetchResult:
    """The asyncio twin of :func:`request` (same arguments, kept in step with it)."""
    async with AsyncFetcher(
        timeout=timeout,
        max_bytes=max_bytes,
        auth=auth,
        consent=consent,
        open_browser=open_browser,
        interactive=interactive,
        auth_timeout=auth_timeout,
        store=store,
        log=log,
        cacert=cacert,
        on_sign_in=on_sign_in,
    ) as fetcher:
        return await fetcher.request(method, url, content=content, json=json, headers=headers,
                                     max_length=max_length, start_index=start_index, raw=raw)
