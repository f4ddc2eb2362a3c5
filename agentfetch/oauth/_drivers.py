"""The two drivers of the sans-IO core: the only code that differs between sync and async.

A driver sends the core's requests through the caller's client and performs its
interactions (consent, browser, callback, locks, sleep), blocking or awaiting.
:class:`SyncDriver` and :class:`AsyncDriver` are intended twins, line for line:
a change to one belongs in the other. Each ``match`` ends in ``assert_never``,
so an interaction one of them does not handle is a type error.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Generic, TypeGuard, TypeVar, assert_never

import httpx

from .._urls import redact_url
from ..errors import AgentFetchError, AuthorizationError, FetchTimeout, NetworkError
from ..store import CredentialStore
from ._http import MAX_BODY
from ._steps import AcquireLock, AskConsent, Flow, Interaction, OpenBrowser, ReleaseLock, Sleep, WaitForCallback
from .consent import ConsentCallback, ConsentRequest

__all__ = ["SyncDriver", "AsyncDriver", "check_size"]

T = TypeVar("T")
#: The lock type a driver holds: a context manager (sync) or an async one.
L = TypeVar("L")


class _Driver(Generic[L]):
    """What both drivers share: the collaborators, and the locks a run holds."""

    def __init__(
        self,
        store: CredentialStore,
        consent: ConsentCallback,
        open_browser: Callable[[str], bool],
        log: Callable[[str], None],
    ) -> None:
        self.store = store
        self.consent = consent
        self.open_browser = open_browser
        self.log = log
        self.locks: dict[str, L] = {}

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


class SyncDriver(_Driver[AbstractContextManager[None]]):
    """Blocking twin of :class:`AsyncDriver`."""

    def auth_flow(self, flow: Flow[None], request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """``httpx.Auth.sync_auth_flow``: requests go back through the caller's client."""
        request.read()  # what httpx.Auth does for requires_request_body: it is sent again after sign-in
        try:
            outcome: Any = None
            while True:
                try:
                    step = flow.send(outcome)
                except StopIteration:
                    return
                if isinstance(step, httpx.Request):
                    response = yield step
                    if step is not request:
                        check_size(response)
                        response.read()
                    outcome = response
                else:
                    outcome = self.perform(step)
        finally:
            flow.close()
            self.close()

    def run(self, client: httpx.Client, flow: Flow[T]) -> T:
        """Drive a command's flow to its return value, sending with ``client`` (sync only)."""
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
        match step:
            case AskConsent(request=request):
                answer = self.ask(request)
                if _is_awaitable(answer):
                    import asyncio

                    answer = asyncio.run(_awaited(answer))
                return bool(answer)
            case OpenBrowser(url=url):
                return self.browser(url)
            case WaitForCallback(listener=listener, timeout=timeout):
                return listener.wait(timeout)
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
            case Sleep(seconds=seconds):
                import time

                time.sleep(seconds)
                return None
            case _:
                assert_never(step)

    def close(self) -> None:
        for name in list(self.locks):
            self.perform(ReleaseLock(name))


class AsyncDriver(_Driver[AbstractAsyncContextManager[None]]):
    """Awaiting twin of :class:`SyncDriver`; blocking callbacks run in a thread."""

    async def auth_flow(
        self, flow: Flow[None], request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """``httpx.Auth.async_auth_flow``: requests go back through the caller's client."""
        await request.aread()  # what httpx.Auth does for requires_request_body: it is sent again after sign-in
        try:
            outcome: Any = None
            while True:
                try:
                    step = flow.send(outcome)
                except StopIteration:
                    return
                if isinstance(step, httpx.Request):
                    response = yield step
                    if step is not request:
                        check_size(response)
                        await response.aread()
                    outcome = response
                else:
                    outcome = await self.perform(step)
        finally:
            flow.close()
            await self.close()

    async def perform(self, step: Interaction) -> object:
        import asyncio  # already loaded: this runs inside an event loop

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
                return await asyncio.to_thread(listener.wait, timeout)
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
            case Sleep(seconds=seconds):
                await asyncio.sleep(seconds)
                return None
            case _:
                assert_never(step)

    async def close(self) -> None:
        for name in list(self.locks):
            await self.perform(ReleaseLock(name))


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
    """One of a command's requests, on the caller's client, body read (and capped)."""
    # Requests built outside the client carry no timeout: give them the client's.
    request.extensions.setdefault("timeout", client.timeout.as_dict())
    try:
        # auth=None: these are OAuth's own requests, never to be wrapped in OAuth again.
        response = client.send(request, auth=None, stream=True)
        try:
            if not _body_unneeded(request, response):
                check_size(response)
                response.read()
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"timed out talking to {redact_url(request.url)}") from exc
    except httpx.TransportError as exc:
        raise NetworkError(f"cannot reach {redact_url(request.url)}: {type(exc).__name__}") from exc
    return response


def _body_unneeded(request: httpx.Request, response: httpx.Response) -> bool:
    # login()'s first GET of the page itself: only its status and headers matter,
    # and the page may be large. OAuth's own requests always ask for JSON.
    return "json" not in request.headers.get("accept", "") and response.status_code < 300
