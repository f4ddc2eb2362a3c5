"""``OAuth``: the public ``httpx.Auth``. It builds the core's settings and hands
each request to a driver (:mod:`._drivers`); the protocol is in :mod:`._core`."""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Callable, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any

import httpx

from ..errors import StoreError, UsageError
from ..store import Credential, CredentialKey, CredentialStore
from ._core import Core
from ._drivers import AsyncDriver, SyncDriver
from ._steps import Settings, SignInPrompt
from .consent import ConsentCallback, default_consent

if TYPE_CHECKING:
    from ._waiting import Waiting

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


class _UnusableStore:
    """Stands in for a store that cannot be opened: every use raises the reason,
    which the core turns into a fetch without credentials where none are needed."""

    def __init__(self, error: StoreError) -> None:
        self.error = error

    @property
    def backend_name(self) -> str:
        raise self.error

    def describe(self) -> str:
        raise self.error

    def find(self, url: str) -> Credential | None:
        raise self.error

    def get(self, key: CredentialKey) -> Credential | None:
        raise self.error

    def put(self, credential: Credential) -> None:
        raise self.error

    def delete(self, key: CredentialKey) -> None:
        raise self.error

    def list(self) -> list[Credential]:
        raise self.error

    def registration_get(self, issuer: str) -> dict[str, Any] | None:
        raise self.error

    def registration_put(self, issuer: str, registration: dict[str, Any]) -> None:
        raise self.error

    def registration_delete(self, issuer: str) -> None:
        raise self.error

    def secret_get(self, namespace: str, key: str) -> str | None:
        raise self.error

    def secret_put(self, namespace: str, key: str, value: str, ttl: float) -> None:
        raise self.error

    def cache_get(self, namespace: str, key: str) -> dict[str, Any] | None:
        raise self.error

    def cache_put(self, namespace: str, key: str, value: dict[str, Any], ttl: float) -> None:
        raise self.error

    def lock(self, name: str, timeout: float) -> AbstractContextManager[None]:
        raise self.error

    def alock(self, name: str, timeout: float) -> AbstractAsyncContextManager[None]:
        raise self.error


class OAuth(httpx.Auth):
    """OAuth 2.x for whoever fetches: an ``httpx.Auth`` for any ``httpx.Client``
    or ``httpx.AsyncClient``. On a ``401``/``403`` Bearer challenge it runs
    discovery (RFC 9728, RFC 8414), registration (RFC 7591), asks the human,
    runs the PKCE authorization-code flow in the browser and retries."""

    # A request is sent again after authorization: the driver reads its body first.
    requires_request_body = True

    def __init__(
        self,
        *,
        store: CredentialStore | None = None,
        consent: ConsentCallback | None = None,
        open_browser: Callable[[str], bool] | None = None,
        auth_timeout: float = 300.0,
        client_name: str = "agentfetch",
        log: Callable[[str], None] | None = None,
        interactive: bool = True,
        client: httpx.Client | httpx.AsyncClient | None = None,
        on_sign_in: Callable[[SignInPrompt], None] | None = None,
        paste: bool | None = None,
    ) -> None:
        """``client`` sends OAuth's own requests (metadata, registration, token, device
        polling, revocation) for flows of its kind, sync or async; by default a client of
        OAuth's own, built when a flow first needs one (httpx's defaults: the environment's
        proxy and CA settings). The request being authorized always goes through the
        client it was sent with.

        While a sign-in waits, a terminal shows a status line; ``on_sign_in`` is called
        once per sign-in with its :class:`SignInPrompt` (the URL, the device code, how to
        cancel), for hosts that show it their own way. ``paste``: the address a browser on
        another machine ends on may be pasted on the terminal (None: when stdin and stderr
        are one; True: always, no browser here and no device flow, stdin may be a pipe;
        False: never)."""
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
        self._client = client
        self._on_sign_in = on_sign_in
        self.paste = paste

    def __repr__(self) -> str:
        return f"OAuth(client_name={self.client_name!r}, interactive={self.interactive!r})"

    @property
    def store(self) -> CredentialStore:
        if self._store is None:
            from ..store import open_store

            try:
                self._store = open_store()
            except StoreError as exc:
                return _UnusableStore(exc)  # not kept: the next request tries again
        return self._store

    def _settings(self, driver: SyncDriver | AsyncDriver) -> Settings:
        return Settings(
            store=driver.store,
            log=driver.screen(self._log),
            client_name=self.client_name,
            auth_timeout=self.auth_timeout,
            interactive=self.interactive,
            notify=driver.screen(self._notify),
            paste_only=self.paste is True,
        )

    def _waiting(self) -> Waiting:
        from ._waiting import Waiting

        return Waiting(self._notify, on_sign_in=self._on_sign_in, paste=self.paste)

    def _sync_driver(self) -> SyncDriver:
        client = self._client if isinstance(self._client, httpx.Client) else None
        return SyncDriver(self.store, self._consent, self._open_browser, self._log, client, self._waiting)

    def _async_driver(self) -> AsyncDriver:
        client = self._client if isinstance(self._client, httpx.AsyncClient) else None
        return AsyncDriver(self.store, self._consent, self._open_browser, self._log, client, self._waiting)

    # -- httpx.Auth ---------------------------------------------------------------------

    # Both return the driver's generator: httpx sends it the responses.

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        driver = self._sync_driver()
        return driver.auth_flow(Core(self._settings(driver)).auth_flow(request), request)

    def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        driver = self._async_driver()
        return driver.auth_flow(Core(self._settings(driver)).auth_flow(request), request)

    # -- `agentfetch auth` (sync, on the caller's client) -----------------------------------

    def login(self, client: httpx.Client, url: str, *, scopes: list[str] | None = None) -> Credential:
        """Run discovery and the authorization flow for ``url`` now, even without a challenge."""
        driver = self._sync_driver()
        return driver.run(client, Core(self._settings(driver)).login(url, tuple(scopes or ())))

    def access_token(self, client: httpx.Client, url: str) -> str:
        """A valid access token for ``url``, refreshed when needed."""
        driver = self._sync_driver()
        return driver.run(client, Core(self._settings(driver)).access_token(url))

    def logout(self, client: httpx.Client, url: str | None = None, *, all: bool = False) -> list[CredentialKey]:
        """Revoke (RFC 7009) where offered, then delete locally. Returns what was removed."""
        if (url is None) == (not all):
            raise UsageError("logout needs a URL or all=True, not both")
        driver = self._sync_driver()
        return driver.run(client, Core(self._settings(driver)).logout(url, everything=all))
