"""A scripted user agent: walks an authorization server's login and consent pages over HTTP.

It reads the real HTML forms (hidden fields, input types, buttons) and fills
them as a person would: the username into the text field, the password into
the password field, then Allow or Deny on the consent page. When the server
redirects away from itself, that is the authorization response: the user
agent delivers it (GETs it, so the client's loopback listener receives it)
and returns the URL.

Usable as the ``BROWSER`` for Python's :mod:`webbrowser`::

    BROWSER="python -m agentfetch.demo.useragent --user alice %s" agentfetch URL

``webbrowser`` treats ``BROWSER`` as a command line only when it contains
``%s`` (the URL goes there); it waits for the command, and a trailing ``&``
(``"... %s &"``) runs it in the background instead.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

from .._urls import is_loopback_host, origin
from ..errors import AgentFetchError, AuthorizationError, UsageError
from ._config import DEMO_ONE_TIME_CODE, DEMO_USERS

__all__ = ["ScriptedBrowser", "browser_command", "main", "walk"]

_APPROVE = re.compile(r"allow|approve|accept|authori[sz]e|consent|grant|yes", re.I)
_DENY = re.compile(r"deny|reject|decline|cancel|refuse|abort|\bno\b", re.I)
_USERNAME = re.compile(r"user|login|email|account", re.I)
_TEXTUAL = {"text", "email", ""}
_MAX_STEPS = 25


@dataclass
class _Button:
    name: str | None
    value: str
    text: str = ""

    @property
    def label(self) -> str:
        return f"{self.text} {self.value}".strip()


@dataclass
class _Form:
    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)
    #: Checkboxes left unticked by the page (a consent page's scopes, in Spring Authorization Server).
    unchecked: list[dict[str, str]] = field(default_factory=list)
    buttons: list[_Button] = field(default_factory=list)

    def has_password(self) -> bool:
        return any(i.get("type", "").lower() == "password" for i in self.inputs)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[_Form] = []
        self.text: list[str] = []
        self.links: list[list[str]] = []  # [href, text]
        self._button: _Button | None = None
        self._link: list[str] | None = None
        self._hidden = 0  # inside <style> or <script>: not text a person reads

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("style", "script"):
            self._hidden += 1
        elif tag == "a" and a.get("href"):
            self._link = [a["href"], ""]
            self.links.append(self._link)
        elif tag == "form":
            self.forms.append(_Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self.forms[-1].buttons.append(_Button(a.get("name"), a.get("value", "")))
            elif kind not in ("button", "reset", "file") and a.get("name"):
                if kind == "checkbox" and "checked" not in a:
                    self.forms[-1].unchecked.append(a)
                elif kind != "radio" or "checked" in a:
                    self.forms[-1].inputs.append(a)
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = _Button(a.get("name"), a.get("value", ""))
            self.forms[-1].buttons.append(self._button)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._button = None
        elif tag in ("style", "script"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._button is not None:
            self._button.text += data.strip()
        if self._link is not None:
            self._link[1] += data.strip()
        if data.strip():
            self.text.append(data.strip())


def _origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port (agentfetch's one definition), also for a private-use scheme."""
    try:
        return origin(url)
    except UsageError:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or "").lower(), 0


def _is_client_callback(target: str, visited: set[tuple[str, str, int]]) -> bool:
    """A redirect that leaves the servers seen so far carrying an authorization response (RFC 6749
    §4.1.2: always ``code`` or ``error``) is the way back to the client. Anything else, such as a
    hop to a separate login domain, is followed like a browser would."""
    if _origin(target) in visited:
        return False
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        return True
    query = parse_qs(parts.query)
    return "code" in query or "error" in query


def _fill(form: _Form, username: str, password: str, one_time_code: str = DEMO_ONE_TIME_CODE) -> dict[str, str]:
    data: dict[str, str] = {}
    username_done = False
    for field_ in form.inputs:
        name, kind, value = field_["name"], field_.get("type", "text").lower(), field_.get("value", "")
        if kind == "password":
            data[name] = password
        elif field_.get("autocomplete", "") == "one-time-code":
            # A second factor (a stronger sign-in): the code from the person's authenticator.
            data[name] = one_time_code
        elif kind in _TEXTUAL and not value and not username_done and (
            _USERNAME.search(name) or _USERNAME.search(field_.get("autocomplete", ""))
        ):
            data[name] = username
            username_done = True
        else:
            data[name] = value
    return data


def _choose_button(form: _Form, approve: bool) -> _Button | None:
    if not form.buttons:
        return None
    wanted = _APPROVE if approve else _DENY
    for button in form.buttons:
        # value="yes" on an Abort button (node oidc-provider) is not an approval.
        if wanted.search(button.label) and not (approve and _DENY.search(button.label)):
            return button
    # A page with one plain button (sign in, continue) is not a decision: press it either way.
    if len(form.buttons) == 1 and not _DENY.search(form.buttons[0].label):
        return form.buttons[0]
    # Continue next to a way out (node oidc-provider's device confirmation: Continue, [ Abort ]).
    plain = [b for b in form.buttons if not _DENY.search(b.label)]
    if approve and len(plain) == 1:
        return plain[0]
    raise AuthorizationError(f"the page offers no button to {'approve' if approve else 'deny'}")


def _deny_link(form: _Form, links: list[list[str]]) -> str | None:
    """A consent page whose only button continues and whose way out is a link (node
    oidc-provider: "Continue" and "[ Cancel ]"): the link is how a person says no."""
    if any(_DENY.search(button.label) for button in form.buttons):
        return None
    for href, text in links:
        if _DENY.search(text) and not href.startswith(("#", "javascript:")):
            return href
    return None


def walk(
    authorize_url: str,
    *,
    username: str = "alice",
    password: str | None = None,
    approve: bool = True,
    timeout: float = 10.0,
    deliver: bool = True,
) -> str:
    """Act as the human in the browser, from ``authorize_url`` to the redirect back to the client.

    Returns the redirect URL that left the authorization server, after GETting it so the
    client's loopback listener received it (``deliver=False``: not GOT, as a browser on
    another machine could not reach the listener; the human pastes it instead). For flows
    that end on a page (RFC 8628 device verification) returns that page's URL. Raises
    :class:`AuthorizationError` when a page answers with an error or the login fails.
    """
    import httpx

    if password is None:
        password = DEMO_USERS.get(username, "")
    visited = {_origin(authorize_url)}
    logins = 0
    with httpx.Client(timeout=timeout, follow_redirects=False,
                      headers={"User-Agent": "agentfetch-demo-useragent/1.0"}) as client:
        client.event_hooks["response"].append(_loopback_is_a_secure_context(client))
        method, url, data = "GET", authorize_url, None
        for _ in range(_MAX_STEPS):
            try:
                response = client.request(method, url, data=data)
            except httpx.HTTPError as exc:
                raise AuthorizationError(f"user agent could not load {urlsplit(url).path}: {exc}") from exc
            if response.is_redirect:
                target = urljoin(url, response.headers["location"])
                if _is_client_callback(target, visited):
                    if deliver:
                        _deliver(client, target)
                    return target
                visited.add(_origin(target))
                method, url, data = "GET", target, None
                continue
            parser = _PageParser()
            parser.feed(response.text)
            page_text = " ".join(parser.text)[:300]
            forms = [f for f in parser.forms if f.inputs or f.buttons]
            form = next((f for f in forms if f.has_password()), forms[0] if forms else None)
            if response.status_code >= 400 and not (form and form.has_password()):
                raise AuthorizationError(f"the authorization server answered {response.status_code}: {page_text}")
            if form is None:
                return str(response.url)
            if form.has_password():
                logins += 1
                if logins > 1:
                    raise AuthorizationError(f"login as {username} failed: {page_text}")
            deny_link = None if approve or form.has_password() else _deny_link(form, parser.links)
            if deny_link is not None:
                method, url, data = "GET", urljoin(str(response.url), deny_link), None
                continue
            payload: dict[str, str | list[str]] = dict(_fill(form, username, password))
            if approve and not form.has_password():
                # A person who allows ticks what the consent page asks for (each requested scope).
                for box in form.unchecked:
                    ticked = payload.setdefault(box["name"], [])
                    if isinstance(ticked, list):
                        ticked.append(box.get("value") or "on")
            button = _choose_button(form, approve)
            if button is not None and button.name:
                payload[button.name] = button.value
            url = urljoin(str(response.url), form.action or str(response.url))
            method, data = ("POST", payload) if form.method == "post" else ("GET", None)
            if method == "GET":
                url = str(httpx.URL(url, params=payload))
        raise AuthorizationError(f"gave up after {_MAX_STEPS} pages without reaching the client")


def _loopback_is_a_secure_context(client: Any) -> Callable[[Any], None]:
    """Browsers treat http://127.0.0.1 and http://localhost as secure contexts (W3C Secure
    Contexts §3.1) and send ``Secure`` cookies there. Keycloak marks its login-session cookies
    ``Secure; SameSite=None`` on http loopback too, and Python's cookiejar would keep them and
    never send them back: so, once stored, loopback cookies lose the flag."""

    def hook(response: Any) -> None:
        for cookie in client.cookies.jar:
            if cookie.secure and is_loopback_host(cookie.domain):
                cookie.secure = False

    return hook


def _deliver(client: object, target: str) -> None:
    import httpx

    assert isinstance(client, httpx.Client)
    scheme = urlsplit(target).scheme
    if scheme not in ("http", "https"):
        return  # a private-use scheme is the OS's to deliver, not ours
    try:
        client.get(target)
    except httpx.HTTPError as exc:
        raise AuthorizationError(f"could not deliver the authorization response to the client: {exc}") from exc


@dataclass
class ScriptedBrowser:
    """An ``open_browser`` callable for agentfetch's OAuth: it walks the sign-in
    pages with :func:`walk` as ``user`` and records what happened, for tests.

    A failure is recorded, not raised: a person would just see the error page,
    and the client's listener then times out."""

    user: str = "alice"
    #: ``None``: the demo user's password.
    password: str | None = None
    approve: bool = True
    opened: list[str] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, url: str) -> bool:
        with self.lock:
            self.opened.append(url)
        try:
            landed = walk(url, username=self.user, password=self.password, approve=self.approve)
        except Exception as exc:  # noqa: BLE001 - recorded for the test to inspect
            with self.lock:
                self.errors.append(exc)
        else:
            with self.lock:
                self.landed.append(landed)
        return True

    def authorize_params(self, index: int = -1) -> dict[str, str]:
        return _query(self.opened[index])

    def callback_params(self, index: int = -1) -> dict[str, str]:
        return _query(self.landed[index])

    @property
    def codes(self) -> list[str]:
        """The authorization codes delivered to the client's listener."""
        return [code for url in self.landed if (code := _query(url).get("code"))]


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def browser_command(*, username: str = "alice", password: str | None = None, deny: bool = False,
                    background: bool = False) -> str:
    """A ``BROWSER`` value that makes :mod:`webbrowser` run this user agent on the URL it opens."""
    import shlex

    parts = [sys.executable, "-m", "agentfetch.demo.useragent", "--user", username]
    if password is not None:
        parts += ["--password", password]
    if deny:
        parts.append("--deny")
    # webbrowser splits BROWSER into a command line only when it holds %s, and runs it in the
    # background when it ends with &.
    return " ".join(shlex.quote(p) for p in parts) + " %s" + (" &" if background else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentfetch.demo.useragent",
        description="Walk the demo's login and consent pages as a user and deliver the callback.",
    )
    parser.add_argument("url", help="the authorization URL a client asked the browser to open")
    parser.add_argument("--user", default="alice", help="demo user to sign in as (default: alice)")
    parser.add_argument("--password", default=None, help="password (default: the demo user's)")
    parser.add_argument("--deny", action="store_true", help="press Deny on the consent page")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        final = walk(args.url, username=args.user, password=args.password, approve=not args.deny,
                     timeout=args.timeout)
    except AgentFetchError as exc:
        print(f"useragent: {exc}", file=sys.stderr)
        return exc.exit_code
    # Only the path: the query carries the authorization code.
    print(f"useragent: delivered the response to {urlsplit(final)._replace(query='').geturl()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
