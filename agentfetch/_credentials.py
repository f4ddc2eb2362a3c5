"""Credentials for hosts without managed OAuth: ``[[credentials]]`` in ``config.toml``.

Many internal hosts sit behind proxies whose agents need an out-of-band credential: the JWT a
``cloudflared access token -app=URL`` prints (for a ``cf-access-token`` header), a service-token
header pair, a static token in an environment variable for CI::

    [[credentials]]
    match = "https://*.internal.example.com"     # origin glob; the longest match wins
    command = ["cloudflared", "access", "token", "-app={url}"]
    header = "cf-access-token"                   # default: Authorization: Bearer <token>
    ttl = 300                                    # seconds to keep the helper's output
    timeout = 30                                 # seconds the helper may take (default 30)

    [[credentials]]
    match = "https://api.example.com"
    env = "EXAMPLE_API_TOKEN"

    [[credentials]]
    match = "https://ci.internal.example.com"
    headers = { "CF-Access-Client-Id" = "env:CI_CLIENT_ID", "CF-Access-Client-Secret" = "env:CI_CLIENT_SECRET" }

:class:`ServiceCredentialAuth` wraps agentfetch's OAuth (an ``httpx.Auth``): every request to an
origin a pattern matches carries that credential, applied per request, so a redirect to an origin
it does not match carries none. When the server still answers with an RFC 9728 challenge, the
OAuth flow takes over as usual. Helpers run without a shell, with a timeout; their output is kept
for ``ttl`` in the credential store (keyring, else the store's private file), never logged, never
shown: a failing helper is named, not quoted.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ._config import config_file, load_config, table_line
from ._urls import is_loopback_host, origin
from .errors import CredentialHelperError, UsageError

if TYPE_CHECKING:
    import subprocess

    from ._options import LogSink
    from .store import CredentialStore

__all__ = [
    "DEFAULT_HELPER_TIMEOUT",
    "STORE_NAMESPACE",
    "ServiceCredential",
    "ServiceCredentialAuth",
    "best_match",
    "load_credentials",
    "origin_text",
    "status_rows",
]

DEFAULT_HELPER_TIMEOUT = 30.0
#: The credential store namespace for helpers' output, kept per (pattern, origin).
STORE_NAMESPACE = "service-credential"
_KEYS = {"match", "command", "env", "headers", "header", "ttl", "timeout"}
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_MAX_TOKEN = 16_384


def origin_text(url: str) -> str:
    """``scheme://host[:port]``, lower-cased, the default port left out."""
    scheme, host, port = origin(url)
    shown = f"[{host}]" if ":" in host else host
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{shown}" + ("" if port == default else f":{port}")


def _pattern(match: str) -> re.Pattern[str]:
    """An origin glob: ``*`` is any run of characters but ``/``, ``?`` one; nothing else is special."""
    text = match.strip().lower().rstrip("/")
    text = re.sub(r"^(https://[^/]*):443$", r"\1", text)
    text = re.sub(r"^(http://[^/]*):80$", r"\1", text)
    body = "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in text)
    return re.compile(body + r"\Z")


@dataclass(frozen=True)
class ServiceCredential:
    """One ``[[credentials]]`` entry: which origins, and where the credential comes from."""

    match: str
    number: int
    line: int | None = None
    command: tuple[str, ...] = ()
    env: str | None = None
    #: (header name, value or ``env:NAME``) pairs.
    headers: tuple[tuple[str, str], ...] = ()
    header: str | None = None
    ttl: float = 0.0
    timeout: float = DEFAULT_HELPER_TIMEOUT

    @property
    def label(self) -> str:
        return f"[[credentials]] #{self.number} ({self.match})"

    @property
    def kind(self) -> str:
        return "command" if self.command else "env" if self.env else "headers"

    @property
    def header_names(self) -> list[str]:
        if self.headers:
            return [name for name, _ in self.headers]
        return [self.header or "Authorization"]

    def matches(self, url: str) -> bool:
        try:
            return _pattern(self.match).match(origin_text(url)) is not None
        except UsageError:
            return False

    def describe(self) -> dict[str, Any]:
        """What ``agentfetch config`` and ``auth status`` show: never a secret value."""
        data: dict[str, Any] = {"match": self.match, "source": self.kind, "headers": self.header_names}
        if self.command:
            data |= {"command": list(self.command), "ttl": self.ttl, "timeout": self.timeout}
        elif self.env:
            data["env"] = self.env
        else:
            data["values"] = {name: value if value.startswith("env:") else "***" for name, value in self.headers}
        return data

    # -- the credential itself ------------------------------------------------------------

    def header_values(self, url: str, store: Callable[[], CredentialStore] | None) -> list[tuple[str, str]]:
        """The headers to send to ``url``'s origin; :class:`CredentialHelperError` when they cannot be had."""
        if self.headers:
            return [(name, self._value(value)) for name, value in self.headers]
        token = self._env(self.env) if self.env else self._helper_output(origin_text(url), store)
        name = self.header or "Authorization"
        return [(name, token if self.header else f"Bearer {token}")]

    def _value(self, spec: str) -> str:
        return self._env(spec[4:]) if spec.startswith("env:") else spec

    def _env(self, name: str) -> str:
        value = os.environ.get(name, "")
        if not value.strip():
            raise CredentialHelperError(f"the environment variable {name} is not set ({self.label} needs it)")
        if any(c in value for c in "\r\n\x00"):
            raise CredentialHelperError(f"the environment variable {name} holds a line break ({self.label})")
        return value.strip()

    def _helper_output(self, origin_url: str, store: Callable[[], CredentialStore] | None) -> str:
        key = f"{self.match} {origin_url}"
        kept = store().secret_get(STORE_NAMESPACE, key) if store is not None and self.ttl > 0 else None
        if kept:
            return kept
        token = self.run_helper(origin_url)
        if store is not None and self.ttl > 0:
            store().secret_put(STORE_NAMESPACE, key, token, self.ttl)
        return token

    def run_helper(self, origin_url: str) -> str:
        """Run the helper for ``origin_url`` without a shell; its first line of output, checked."""
        import subprocess

        argv = [part.replace("{url}", origin_url) for part in self.command]
        name = os.path.basename(argv[0])
        try:
            # Its own session, so that a timeout ends whatever it started too.
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, start_new_session=True)
        except FileNotFoundError:
            raise CredentialHelperError(f"the credential helper {name} was not found ({self.label})") from None
        except OSError as exc:
            raise CredentialHelperError(
                f"the credential helper {name} could not start: {exc.strerror or type(exc).__name__}") from None
        try:
            out, _ = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise CredentialHelperError(
                f"the credential helper {name} did not answer within {self.timeout:g} s ({self.label})") from None
        if process.returncode != 0:
            # Its output stays unread: it may hold a secret. Run by hand, it says what is wrong.
            raise CredentialHelperError(
                f"the credential helper {name} failed with exit status {process.returncode} ({self.label})",
                hint=f"run `{' '.join(argv)}` by hand to see its message",
            )
        try:
            token = out.decode("utf-8").strip()
        except UnicodeDecodeError:
            token = ""
        if not token or any(c in token for c in "\r\n\x00") or len(token) > _MAX_TOKEN:
            raise CredentialHelperError(f"the credential helper {name} printed no usable token: one line expected "
                                        f"({self.label})")
        return token


def _kill(process: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.communicate()


def best_match(credentials: list[ServiceCredential], url: str) -> ServiceCredential | None:
    """The entry whose pattern matches ``url``'s origin; the longest pattern wins."""
    found = [c for c in credentials if c.matches(url)]
    return max(found, key=lambda c: len(c.match)) if found else None


def status_rows(store: CredentialStore, url: str | None = None) -> list[dict[str, Any]]:
    """``auth status``'s ``service_credentials``: every entry, or (for ``url``) the one that would be
    sent there, with ``kept`` saying whether a helper's output is held for that origin."""
    credentials = load_credentials()
    if url is None:
        return [c.describe() for c in credentials]
    match = best_match(credentials, url)
    if match is None:
        return []
    kept = None
    if match.command:
        kept = store.secret_get(STORE_NAMESPACE, f"{match.match} {origin_text(url)}") is not None
    return [match.describe() | {"kept": kept}]


# -- reading config.toml -------------------------------------------------------------------


def load_credentials(config: dict[str, Any] | None = None) -> list[ServiceCredential]:
    """Every ``[[credentials]]`` entry, checked; :class:`UsageError` naming the file and line."""
    config = load_config() if config is None else config
    entries = config.get("credentials", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{config_file()}: credentials must be [[credentials]] tables")
    return [_checked(entry, number) for number, entry in enumerate(entries, 1)]


def _checked(entry: dict[str, Any], number: int) -> ServiceCredential:
    line = table_line("credentials", number)

    def fail(problem: str) -> UsageError:
        where = f"{config_file()}" + (f" line {line}" if line else "")
        return UsageError(f"{where}: [[credentials]] #{number}: {problem}")

    unknown = set(entry) - _KEYS
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_KEYS))}")
    match = entry.get("match")
    if not isinstance(match, str) or not re.match(r"^https?://[^/?#\s]+$", match.strip().rstrip("/").lower()):
        raise fail('match must be an origin pattern such as "https://*.internal.example.com" (no path)')
    host = urlsplit(match.strip().lower()).netloc.rsplit(":", 1)[0]
    if match.strip().lower().startswith("http://") and not is_loopback_host(host):
        raise fail("a credential is never sent over plain http except to loopback: use an https:// pattern")
    sources = [key for key in ("command", "env", "headers") if key in entry]
    if len(sources) != 1:
        raise fail("give exactly one of command, env or headers")
    options: dict[str, Any] = {}
    if "command" in entry:
        command = entry["command"]
        if not isinstance(command, list) or not command or not all(isinstance(p, str) and p for p in command):
            raise fail('command must be a list of strings, such as ["cloudflared", "access", "token", "-app={url}"]')
        options["command"] = tuple(command)
        for key, default in (("ttl", 0.0), ("timeout", DEFAULT_HELPER_TIMEOUT)):
            value = entry.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (
                    key == "timeout" and value == 0):
                raise fail(f"{key} must be a number of seconds" + (" above 0" if key == "timeout" else ""))
            options[key] = float(value)
    else:
        extra = {"ttl", "timeout"} & set(entry)
        if extra:
            raise fail(f"{', '.join(sorted(extra))} only apply to a command")
    if "env" in entry:
        if not isinstance(entry["env"], str) or not entry["env"]:
            raise fail("env must name an environment variable")
        options["env"] = entry["env"]
    if "headers" in entry:
        headers = entry["headers"]
        if not isinstance(headers, dict) or not headers or not all(
                isinstance(k, str) and _HEADER_NAME.match(k) and isinstance(v, str) and v and "\n" not in v
                for k, v in headers.items()):
            raise fail('headers must be a table of header names to values or "env:NAME"')
        if "header" in entry:
            raise fail("header goes with command or env; headers names its own")
        options["headers"] = tuple(headers.items())
    if "header" in entry:
        if not isinstance(entry["header"], str) or not _HEADER_NAME.match(entry["header"]):
            raise fail("header must be a header name, such as cf-access-token")
        options["header"] = entry["header"]
    return ServiceCredential(match=match.strip(), number=number, line=line, **options)


# -- the httpx.Auth --------------------------------------------------------------------------


class ServiceCredentialAuth(httpx.Auth):
    """An ``httpx.Auth`` that adds the matching service credential to each request, then lets
    ``inner`` (agentfetch's OAuth, or None) answer challenges as it always does."""

    def __init__(
        self,
        credentials: list[ServiceCredential],
        inner: httpx.Auth | None,
        *,
        store: Callable[[], CredentialStore] | None = None,
        log: LogSink | None = None,
    ) -> None:
        self.credentials = credentials
        self.inner = inner
        self.store = store
        self.log = log
        self.requires_request_body = bool(getattr(inner, "requires_request_body", False))
        self.requires_response_body = bool(getattr(inner, "requires_response_body", False))

    def apply(self, request: httpx.Request) -> list[str]:
        """Add the matching credential's headers; the names of those added."""
        url = str(request.url)
        credential = best_match(self.credentials, url)
        if credential is None:
            return []
        given = {name.lower() for name in request.headers}
        names = credential.header_names
        if all(name.lower() in given for name in names):
            return []  # the caller's own (-H) is sent instead
        added = []
        for name, value in credential.header_values(url, self.store):
            if name.lower() not in given:
                request.headers[name] = value
                added.append(name)
        if self.log is not None:
            self.log(f"credential: {credential.label}, {credential.kind}, as {', '.join(names)} to {origin_text(url)}")
        return added

    def _hand_over(self, request: httpx.Request, response: httpx.Response, added: list[str]) -> bool:
        """Whether a refused ``Authorization`` service credential gives way to OAuth: the server
        answered with a Bearer challenge (RFC 6750 §3, RFC 9728 §5.1), so it wants a sign-in.
        The OAuth flow steps aside for an ``Authorization`` it did not set, hence the hand-over."""
        from .oauth.challenge import find_bearer

        if self.inner is None or response.status_code not in (401, 403):
            return False
        if "authorization" not in {name.lower() for name in added}:
            return False
        if find_bearer(response.headers.get_list("www-authenticate")) is None:
            return False
        for name in added:
            request.headers.pop(name, None)
        if self.log is not None:
            self.log(f"credential: refused by {origin_text(str(request.url))} with an OAuth challenge; signing in")
        return True

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        added = self.apply(request)
        if self.inner is None:
            yield request
            return
        if "authorization" in {name.lower() for name in added}:
            response = yield request
            if not self._hand_over(request, response, added):
                return
        flow = self.inner.sync_auth_flow(request)
        request = next(flow)
        while True:
            response = yield request
            try:
                request = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        import anyio.to_thread

        # A helper is a process that may take seconds: never on the event loop.
        added = await anyio.to_thread.run_sync(self.apply, request)
        if self.inner is None:
            yield request
            return
        if "authorization" in {name.lower() for name in added}:
            response = yield request
            if not self._hand_over(request, response, added):
                return
        flow = self.inner.async_auth_flow(request)
        request = await flow.__anext__()
        while True:
            response = yield request
            try:
                request = await flow.asend(response)
            except StopAsyncIteration:
                return
