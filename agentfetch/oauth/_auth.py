"""``OAuth``: the httpx.Auth, and the two thin drivers of the sans-IO core.

The drivers are the only code that differs between sync and async: they
send the core's requests through the caller's client and perform its
interactions (consent, browser, callback, locks) blocking or awaiting.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx

from .._urls import redact_url
from ..errors import AgentFetchError, AuthorizationError, FetchTimeout, NetworkError, StoreError, UsageError
from ..store import Credential, CredentialKey
from ._flow import (
    AcquireLock,
    AskConsent,
    Core,
    Flow,
    OpenBrowser,
    ReleaseLock,
    Settings,
    Sleep,
    WaitForCallback,
)
from ._http import MAX_BODY
from .consent import ConsentCallback, default_consent

__all__ = ["OAuth"]


def _system_browser(url: str) -> bool:
    # webbrowser honours BROWSER; False when no browser could be started.
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False


def _to_stderr(message: str) -> None:
    print(f"agentfetch: {message}", file=sys.stderr, flush=True)


class _Drive:
    """Performs a core flow's interactions for one run; holds the locks it took."""

    def __init__(self, oauth: OAuth) -> None:
        self.oauth = oauth
        self.locks: dict[str, Any] = {}

    def consent(self, request: Any) -> Any:
        return self.oauth._consent(request)

    def browser(self, url: str) -> bool:
        try:
            return bool(self.oauth._open_browser(url))
        except AgentFetchError:
            raise  # a deliberate answer from the opener (the human declined): end the flow now
        except Exception as exc:  # a broken BROWSER command must not end the flow: the URL was printed
            self.oauth._log(f"browser: could not be started ({type(exc).__name__})")
            return False


def _is_awaitable(value: Any) -> bool:
    # inspect.isawaitable without importing inspect on the fetch path.
    return hasattr(value, "__await__")


class _SyncDrive(_Drive):
    def perform(self, step: Any) -> Any:
        if isinstance(step, AskConsent):
            answer = self.consent(step.request)
            if _is_awaitable(answer):
                import asyncio

                answer = asyncio.run(_awaited(answer))
            return bool(answer)
        if isinstance(step, OpenBrowser):
            return self.browser(step.url)
        if isinstance(step, WaitForCallback):
            return step.listener.wait(step.timeout)
        if isinstance(step, AcquireLock):
            lock = self.oauth.store.lock(step.name, step.timeout)
            lock.__enter__()
            self.locks[step.name] = lock
            return None
        if isinstance(step, ReleaseLock):
            lock = self.locks.pop(step.name, None)
            if lock is not None:
                lock.__exit__(None, None, None)
            return None
        if isinstance(step, Sleep):
            import time

            time.sleep(step.seconds)
            return None
        raise TypeError(f"unknown OAuth step {step!r}")

    def close(self) -> None:
        for name in list(self.locks):
            self.perform(ReleaseLock(name))


class _AsyncDrive(_Drive):
    async def perform(self, step: Any) -> Any:
        import asyncio  # already loaded: this runs inside an event loop

        if isinstance(step, AskConsent):
            # The default callback reads a TTY: keep the event loop free meanwhile.
            answer = await asyncio.to_thread(self.consent, step.request)
            if _is_awaitable(answer):
                answer = await answer
            return bool(answer)
        if isinstance(step, OpenBrowser):
            return await asyncio.to_thread(self.browser, step.url)
        if isinstance(step, WaitForCallback):
            return await asyncio.to_thread(step.listener.wait, step.timeout)
        if isinstance(step, AcquireLock):
            lock = self.oauth.store.alock(step.name, step.timeout)
            await lock.__aenter__()
            self.locks[step.name] = lock
            return None
        if isinstance(step, ReleaseLock):
            lock = self.locks.pop(step.name, None)
            if lock is not None:
                await lock.__aexit__(None, None, None)
            return None
        if isinstance(step, Sleep):
            await asyncio.sleep(step.seconds)
            return None
        raise TypeError(f"unknown OAuth step {step!r}")

    async def close(self) -> None:
        for name in list(self.locks):
            await self.perform(ReleaseLock(name))


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _check_size(response: httpx.Response) -> None:
    """OAuth documents are small; refuse a server that announces a huge one."""
    try:
        declared = int(response.headers.get("content-length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        raise AuthorizationError(f"{redact_url(response.request.url)} announced more than {MAX_BODY} bytes")


def _body_unneeded(request: httpx.Request, response: httpx.Response) -> bool:
    # login()'s first GET of the page itself: only its status and headers matter,
    # and the page may be large. OAuth's own requests always ask for JSON.
    return "json" not in request.headers.get("accept", "") and response.status_code < 300


def _send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    # Requests built outside the client carry no timeout: give them the client's.
    request.extensions.setdefault("timeout", client.timeout.as_dict())
    try:
        # auth=None: these are OAuth's own requests, never to be wrapped in OAuth again.
        response = client.send(request, auth=None, stream=True)
        try:
            if not _body_unneeded(request, response):
                _check_size(response)
                response.read()
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        raise FetchTimeout(f"timed out talking to {redact_url(request.url)}") from exc
    except httpx.TransportError as exc:
        raise NetworkError(f"cannot reach {redact_url(request.url)}: {type(exc).__name__}") from exc
    return response


class _UnusableStore:
    """Stands in for a store that cannot be opened: every use raises the reason,
    which the core turns into a fetch without credentials where none are needed."""

    def __init__(self, error: StoreError) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        raise self.error


class OAuth(httpx.Auth):
    """OAuth 2.x for whoever fetches: an ``httpx.Auth`` for any ``httpx.Client``
    or ``httpx.AsyncClient``. On a ``401``/``403`` Bearer challenge it runs
    discovery (RFC 9728, RFC 8414), registration (RFC 7591), asks the human,
    runs the PKCE authorization-code flow in the browser and retries."""

    # A request is sent again after authorization: its body is read first (below).
    requires_request_body = True

    def __init__(
        self,
        *,
        store: Any = None,
        consent: ConsentCallback | None = None,
        open_browser: Callable[[str], bool] | None = None,
        auth_timeout: float = 300.0,
        client_name: str = "agentfetch",
        log: Callable[[str], None] | None = None,
        interactive: bool = True,
    ) -> None:
        if not (isinstance(auth_timeout, (int, float)) and auth_timeout > 0):
            raise UsageError(f"auth_timeout must be a positive number of seconds, not {auth_timeout!r}")
        self._store = store
        self._consent = consent if consent is not None else default_consent("ask")
        self._open_browser = open_browser if open_browser is not None else _system_browser
        self.auth_timeout = float(auth_timeout)
        self.client_name = client_name
        self._log = log if log is not None else (lambda message: None)
        # Without a trace sink, the human still has to see where to sign in.
        self._notify = log if log is not None else _to_stderr
        self.interactive = interactive

    def __repr__(self) -> str:
        return f"OAuth(client_name={self.client_name!r}, interactive={self.interactive!r})"

    @property
    def store(self) -> Any:
        if self._store is None:
            from ..store import open_store

            try:
                self._store = open_store()
            except StoreError as exc:
                return _UnusableStore(exc)  # not kept: the next request tries again
        return self._store

    def _core(self) -> Core:
        return Core(
            Settings(
                store=self.store,
                log=self._log,
                client_name=self.client_name,
                auth_timeout=self.auth_timeout,
                interactive=self.interactive,
                notify=self._notify,
            )
        )

    # -- httpx.Auth drivers ----------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.read()  # what httpx.Auth does for requires_request_body
        drive = _SyncDrive(self)
        flow = self._core().auth_flow(request)
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
                        _check_size(response)
                        response.read()
                    outcome = response
                else:
                    outcome = drive.perform(step)
        finally:
            flow.close()
            drive.close()

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        drive = _AsyncDrive(self)
        flow = self._core().auth_flow(request)
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
                        _check_size(response)
                        await response.aread()
                    outcome = response
                else:
                    outcome = await drive.perform(step)
        finally:
            flow.close()
            await drive.close()

    # -- helpers for `agentfetch auth` (sync, on the caller's client) -------------------------

    def _run(self, client: httpx.Client, flow: Flow) -> Any:
        """Drive a core flow to its return value with ``client``."""
        drive = _SyncDrive(self)
        try:
            outcome: Any = None
            failure: AgentFetchError | None = None
            while True:
                try:
                    step = flow.throw(failure) if failure is not None else flow.send(outcome)
                except StopIteration as stop:
                    return stop.value
                failure = None
                if isinstance(step, httpx.Request):
                    try:
                        outcome = _send(client, step)
                    except NetworkError as exc:
                        failure = exc  # the core decides: logout goes on deleting locally
                else:
                    outcome = drive.perform(step)
        finally:
            flow.close()
            drive.close()

    def login(self, client: httpx.Client, url: str, *, scopes: list[str] | None = None) -> Credential:
        """Run discovery and the authorization flow for ``url`` now, even without a challenge."""
        return self._run(client, self._core().login(url, tuple(scopes or ())))

    def access_token(self, client: httpx.Client, url: str) -> str:
        """A valid access token for ``url``, refreshed when needed."""
        return self._run(client, self._core().access_token(url))

    def logout(self, client: httpx.Client, url: str | None = None, *, all: bool = False) -> list[CredentialKey]:
        """Revoke (RFC 7009) where offered, then delete locally. Returns what was removed."""
        if (url is None) == (not all):
            raise UsageError("logout needs a URL or all=True, not both")
        return self._run(client, self._core().logout(url, everything=all))

