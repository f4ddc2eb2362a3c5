"""The two drivers of the sans-IO core: the only code that differs between sync and async.

A driver hands the request being authorized (and its retries) back to httpx,
sends OAuth's own requests (metadata, registration, token, device polling,
revocation) itself through a client of its own, and performs the core's
interactions (consent, browser, callback, locks, sleep), blocking or awaiting.

OAuth's own requests never go through httpx's auth machinery: httpx counts every
request an ``httpx.Auth`` flow yields against ``max_redirects`` (20), so a device
flow polled every 5 s would end in "too many redirects" after a minute and a half.
The client is the caller's when one is handed over (the ``Fetcher`` hands its own),
else one built when first needed and closed with the flow.

:class:`SyncDriver` and :class:`AsyncDriver` are intended twins, line for line:
a change to one belongs in the other. Each ``match`` ends in ``assert_never``,
so an interaction one of them does not handle is a type error.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Generic, TypeGuard, TypeVar, assert_never

import httpx

from .._network import network_error
from .._options import DEFAULT_TIMEOUT
from .._urls import redact_url
from ..errors import AgentFetchError, AuthorizationError, NetworkError
from ..store import CredentialStore
from ._http import MAX_BODY
from ._steps import AcquireLock, AskConsent, Flow, Interaction, OpenBrowser, ReleaseLock, WaitForCallback
from .consent import ConsentCallback, ConsentRequest

if TYPE_CHECKING:
    from ._waiting import Waiting

__all__ = ["SyncDriver", "AsyncDriver", "check_size", "send", "asend"]

T = TypeVar("T")
#: Seconds an async wait blocks a worker thread at a time.
_SLICE = 1.0
#: The lock type a driver holds: a context manager (sync) or an async one.
L = TypeVar("L")
#: The client type a driver sends OAuth's own requests with.
C = TypeVar("C", httpx.Client, httpx.AsyncClient)


class _Driver(Generic[L, C]):
    """What both drivers share: the collaborators, the locks a run holds, the
    client for OAuth's own requests (``client``, else one of the driver's own,
    built when first needed and closed with the run), and the way a sign-in waits
    in front of the human (``waiting``, built at the first wait: see :mod:`._waiting`)."""

    def __init__(
        self,
        store: CredentialStore,
        consent: ConsentCallback,
        open_browser: Callable[[str], bool],
        log: Callable[[str], None],
        client: C | None = None,
        waiting: Callable[[], Waiting] | None = None,
    ) -> None:
        self.store = store
        self.consent = consent
        self.open_browser = open_browser
        self.log = log
        self.locks: dict[str, L] = {}
        self.client: C | None = client
        self._own_client: C | None = None
        self._new_waiting = waiting
        self._waiting: Waiting | None = None

    def waiting(self) -> Waiting:
        if self._waiting is None:
            if self._new_waiting is not None:
                self._waiting = self._new_waiting()
            else:
                from ._waiting import Waiting

                self._waiting = Waiting(self.log)
        return self._waiting

    def screen(self, sink: Callable[[str], None]) -> Callable[[str], None]:
        """``sink``, made to share the terminal with a sign-in's status line."""

        def write(message: str) -> None:
            if self._waiting is None:
                sink(message)
            else:
                self._waiting.write(sink, message)

        return write

    def done_waiting(self) -> None:
        """Any step but a wait: a sign-in's status line goes, the terminal is restored."""
        if self._waiting is not None:
            self._waiting.done()

    def browser(self, url: str) -> bool:
        try:
            return bool(self.open_browser(url))
        except AgentFetchError:
            raise  # a deliberate answer from the opener (the human declined): end the flow now
        except Exception as exc:  # a broken BROWSER command must not end the flow: the URL was printed
            self.log(f"browser: could not be started ({type(exc).__name__})")
            return False

    def ask(self, request: ConsentRequest) -> bool | Awaitable[bool]:
        return self.consent(request)


class SyncDriver(_Driver[AbstractContextManager[None], httpx.Client]):
    """Blocking twin of :class:`AsyncDriver`."""

    def http(self) -> httpx.Client:
        """The client for OAuth's own requests."""
        if self.client is not None:
            return self.client
        if self._own_client is None:
            self._own_client = httpx.Client(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        return self._own_client

    def auth_flow(self, flow: Flow[None], request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """``httpx.Auth.sync_auth_flow``: only ``request`` (and its retries) goes back to httpx."""
        request.read()  # what httpx.Auth does for requires_request_body: it is sent again after sign-in
        try:
            outcome: Any = None
            failure: AgentFetchError | None = None
            while True:
                try:
                    step = flow.throw(failure) if failure is not None else flow.send(outcome)
                except StopIteration:
                    return
                failure = None
                if step is request:
                    outcome = yield step
                elif isinstance(step, httpx.Request):
                    try:
                        outcome = send(self.http(), step)
                    except NetworkError as exc:
                        failure = exc  # the core decides: another authorization server may answer
                else:
                    outcome = self.perform(step)
        finally:
            flow.close()
            self.close()

    def run(self, client: httpx.Client, flow: Flow[T]) -> T:
        """Drive a command's flow to its return value, sending with ``client`` (sync only)."""
        self.client = client
        try:
            outcome: Any = None
            failure: AgentFetchError | None = None
            while True:
                try:
                    step = flow.throw(failure) if failure is not None else flow.send(outcome)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                failure = None
                if isinstance(step, httpx.Request):
                    try:
                        outcome = send(client, step)
                    except NetworkError as exc:
                        failure = exc  # the core decides: logout goes on deleting locally
                else:
                    outcome = self.perform(step)
        finally:
            flow.close()
            self.close()

    def perform(self, step: Interaction) -> object:
        if not isinstance(step, WaitForCallback):
            self.done_waiting()
        match step:
            case AskConsent(request=request):
                answer = self.ask(request)
                if _is_awaitable(answer):
                    import asyncio

                    answer = asyncio.run(_awaited(answer))
                return bool(answer)
            case OpenBrowser(url=url):
                return self.browser(url)
            case WaitForCallback():
                return self.waiting().wait(step)
            case AcquireLock(name=name, timeout=timeout):
                lock = self.store.lock(name, timeout)
                lock.__enter__()
                self.locks[name] = lock
                return None
            case ReleaseLock(name=name):
                held = self.locks.pop(name, None)
                if held is not None:
                    held.__exit__(None, None, None)
                return None
            case _:
                assert_never(step)

    def close(self) -> None:
        self.done_waiting()
        for name in list(self.locks):
            self.perform(ReleaseLock(name))
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None


class AsyncDriver(_Driver[AbstractAsyncContextManager[None], httpx.AsyncClient]):
    """Awaiting twin of :class:`SyncDriver`; blocking callbacks run in a thread.
    A client of its own is built in the event loop that uses it."""

    def http(self) -> httpx.AsyncClient:
        """The client for OAuth's own requests."""
        if self.client is not None:
            return self.client
        if self._own_client is None:
            self._own_client = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
        return self._own_client

    async def auth_flow(
        self, flow: Flow[None], request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """``httpx.Auth.async_auth_flow``: only ``request`` (and its retries) goes back to httpx."""
        await request.aread()  # what httpx.Auth does for requires_request_body: it is sent again after sign-in
        try:
            outcome: Any = None
            failure: AgentFetchError | None = None
            while True:
                try:
                    step = flow.throw(failure) if failure is not None else flow.send(outcome)
                except StopIteration:
                    return
                failure = None
                if step is request:
                    outcome = yield step
                elif isinstance(step, httpx.Request):
                    try:
                        outcome = await asend(self.http(), step)
                    except NetworkError as exc:
                        failure = exc  # the core decides: another authorization server may answer
                else:
                    outcome = await self.perform(step)
        finally:
            flow.close()
            await self.close()

    async def perform(self, step: Interaction) -> object:
        import asyncio  # already loaded: this runs inside an event loop

        if not isinstance(step, WaitForCallback):
            self.done_waiting()
        match step:
            case AskConsent(request=request):
                # The default callback reads a TTY: keep the event loop free meanwhile.
                answer = await asyncio.to_thread(self.ask, request)
                if _is_awaitable(answer):
                    answer = await answer
                return bool(answer)
            case OpenBrowser(url=url):
                return await asyncio.to_thread(self.browser, url)
            case WaitForCallback(listener=listener, timeout=timeout):
                # In slices of a second: the thread cannot be cancelled, a slice ends soon after the task is.
                waiting = self.waiting()
                end = time.monotonic() + timeout
                while True:
                    left = end - time.monotonic()
                    params = await asyncio.to_thread(waiting.wait, step, min(left, _SLICE))
                    if params is not None or listener.cancelled is not None or left <= _SLICE:
                        return params
            case AcquireLock(name=name, timeout=timeout):
                lock = self.store.alock(name, timeout)
                await lock.__aenter__()
                self.locks[name] = lock
                return None
            case ReleaseLock(name=name):
                held = self.locks.pop(name, None)
                if held is not None:
                    await held.__aexit__(None, None, None)
                return None
            case _:
                assert_never(step)

    async def close(self) -> None:
        self.done_waiting()
        for name in list(self.locks):
            await self.perform(ReleaseLock(name))
        if self._own_client is not None:
            await self._own_client.aclose()
            self._own_client = None


def _is_awaitable(value: object) -> TypeGuard[Awaitable[Any]]:
    # inspect.isawaitable without importing inspect on the fetch path.
    return hasattr(value, "__await__")


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def check_size(response: httpx.Response) -> None:
    """OAuth documents are small; refuse a server that announces a huge one."""
    try:
        declared = int(response.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        raise AuthorizationError(f"{redact_url(response.request.url)} announced more than {MAX_BODY} bytes")


def send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """One of OAuth's own requests, body read (and capped); transport failures as NetworkError."""
    # Requests built outside the client carry no timeout: give them the client's.
    request.extensions.setdefault("timeout", client.timeout.as_dict())
    try:
        # auth=None: OAuth's own requests are never wrapped in OAuth again, and never
        # follow a redirect (a token endpoint that redirects is not followed blindly).
        response = client.send(request, auth=None, stream=True, follow_redirects=False)
        try:
            if not _body_unneeded(request, response):
                check_size(response)
                response.read()
        finally:
            response.close()
    except httpx.TransportError as exc:
        raise _transport_failure(request, exc) from exc
    return response


async def asend(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The awaiting twin of :func:`send`."""
    request.extensions.setdefault("timeout", client.timeout.as_dict())
    try:
        response = await client.send(request, auth=None, stream=True, follow_redirects=False)
        try:
            if not _body_unneeded(request, response):
                check_size(response)
                await response.aread()
        finally:
            await response.aclose()
    except httpx.TransportError as exc:
        raise _transport_failure(request, exc) from exc
    return response


def _transport_failure(request: httpx.Request, exc: httpx.TransportError) -> NetworkError:
    # The page fetch's wording: the host and step, and for a certificate or a proxy what to set.
    return network_error(exc, str(request.url), trust_known=False)


def _body_unneeded(request: httpx.Request, response: httpx.Response) -> bool:
    # login()'s first GET of the page itself: only its status and headers matter,
    # and the page may be large. OAuth's own requests always ask for JSON.
    return "json" not in request.headers.get("accept", "") and response.status_code < 300
