"""Issue 12: sign-in wherever agents run, against the demo app on loopback.

- The device flow for as long as it lasts (OAuth's own requests are not httpx
  auth-flow requests, so ``max_redirects`` does not end it), in the SDK (sync and
  async) and the CLI.
- One sign-in, several ways to finish it, raced: the printed URL (the loopback
  listener stays open) against the device code, each winning once.
- Stray callbacks: an error page and a line in -v, and the wait goes on.
- The terminal: a live status line (on a pseudo-terminal), one line without one,
  and paste-back with good, forged and replayed addresses; ``--paste``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import agentfetch

from .conftest import Trace

TOKEN = "/oauth/token"


def polls(demo: Any) -> int:
    """Device-grant polls of the token endpoint so far (the demo logs no other token requests here)."""
    return demo.count(TOKEN, "POST")


class DeviceHuman:
    """A log sink that plays the human on another device: when agentfetch shows the
    device code, a thread waits until ``ready()`` and then walks the verification URL."""

    def __init__(self, trace: Trace, ready: Callable[[], bool] = lambda: True, approve: bool = True) -> None:
        self.trace = trace
        self.ready = ready
        self.approve = approve
        self.walked: list[str] = []
        self.thread: threading.Thread | None = None

    def __call__(self, line: str) -> None:
        self.trace(line)
        match = re.search(r"\(or open (\S+)\)", line)
        if line.startswith("device:") and match and self.thread is None:
            self.thread = threading.Thread(target=self._walk, args=(match.group(1),), daemon=True)
            self.thread.start()

    def _walk(self, url: str) -> None:
        from agentfetch.demo.useragent import walk

        while not self.ready():
            time.sleep(0.05)
        self.walked.append(walk(url, username="alice", approve=self.approve))


@pytest.mark.slow
def test_a_two_minute_device_flow_polled_every_second(demo: Any, store: Any, trace: Trace) -> None:
    """120 s at the demo's 1 s interval: far beyond httpx's max_redirects (20), which used
    to end the flow with "too many redirects" after about 16 polls."""
    started = time.monotonic()
    human = DeviceHuman(trace, ready=lambda: time.monotonic() - started >= 120)
    with agentfetch.Fetcher(consent="allow", open_browser=lambda url: False, log=human, store=store,
                            auth_timeout=300) as fetcher:
        page = fetcher.fetch(demo.url)
    assert page.status == 200 and "Acme" in page.markdown
    assert polls(demo) > 60, polls(demo)
    assert time.monotonic() - started >= 120
    assert demo.count("/oauth/device_authorization", "POST") == 1
    (credential,) = store.list()
    assert credential.tokens.refresh_token and credential.subject == "alice"


async def test_an_async_device_flow_outlasts_max_redirects(demo: Any, store: Any, trace: Trace) -> None:
    demo.reconfigure(device_interval=0.1)
    human = DeviceHuman(trace, ready=lambda: polls(demo) >= 30)
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=60)
    async with httpx.AsyncClient(auth=auth) as client:
        response = await client.get(demo.url)
    assert response.status_code == 200
    assert polls(demo) > 30
    # httpx's history holds the challenge only: OAuth's own requests are not part of it.
    assert [r.status_code for r in response.history] == [401]


def test_a_plain_httpx_client_with_a_tight_max_redirects(demo: Any, store: Any, trace: Trace) -> None:
    """The caller's redirect limit is the caller's business: OAuth's requests do not count against it."""
    demo.reconfigure(device_interval=0.1)
    human = DeviceHuman(trace, ready=lambda: polls(demo) >= 10)
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=60)
    with httpx.Client(auth=auth, max_redirects=2) as client:
        response = client.get(demo.url)
    assert response.status_code == 200 and polls(demo) > 10


def test_the_cli_device_flow_outlasts_max_redirects(demo: Any, agentfetch_home: Any) -> None:
    """`agentfetch -v URL` where no browser can start: the device code, then polling until the human is done."""
    import os

    demo.reconfigure(device_interval=0.1)
    env = {**os.environ, "BROWSER": f"{sys.executable} -c 'raise SystemExit(1)' %s"}
    env.pop("AGENTFETCH_DEBUG", None)
    agent = subprocess.Popen([sys.executable, "-m", "agentfetch", "-v", "--consent", "allow", demo.url], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert agent.stderr is not None
    complete = None
    lines: list[str] = []
    for line in agent.stderr:
        lines.append(line)
        found = re.search(r"\(or open (\S+)\)", line)
        if found:
            complete = found.group(1)
            break
    assert complete, "".join(lines)
    deadline = time.monotonic() + 60
    while polls(demo) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    from agentfetch.demo.useragent import walk

    walk(complete, username="alice")
    out, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, "".join(lines) + err
    assert "Acme" in out and "too many redirects" not in err
    assert err.count("token (device): POST") >= 30


# -- one sign-in, several ways to finish it, raced ------------------------------------------------


class LinkHuman(DeviceHuman):
    """The human who, shown the device code, uses the printed sign-in URL instead (in a browser
    elsewhere that reaches this machine), once ``ready()``: the listener must still be there."""

    def __init__(self, trace: Trace, ready: Callable[[], bool]) -> None:
        super().__init__(trace, ready)
        self.url: str | None = None

    def __call__(self, line: str) -> None:
        found = re.search(r"open this URL to sign in: (\S+)", line)
        if found:
            self.url = found.group(1)
        self.trace(line)
        if line.startswith("device:") and self.url and self.thread is None:
            self.thread = threading.Thread(target=self._walk, args=(self.url,), daemon=True)
            self.thread.start()


def test_the_printed_url_wins_the_race_with_the_device_flow(demo: Any, store: Any, trace: Trace) -> None:
    demo.reconfigure(device_interval=0.1)
    human = LinkHuman(trace, ready=lambda: polls(demo) >= 5)
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=30)
    with httpx.Client(auth=auth) as client:
        assert client.get(demo.url).status_code == 200
    assert human.walked and "code=" in human.walked[0]
    token_answers = [r.status for r in demo.requests if r.path == TOKEN]
    assert token_answers.count(200) == 1 and token_answers[-1] == 200 and len(token_answers) >= 6
    assert "callback: authorization code received" in trace.text
    assert demo.count("/oauth/device_authorization", "POST") == 1


async def test_the_printed_url_wins_in_the_async_driver_too(demo: Any, store: Any, trace: Trace) -> None:
    human = LinkHuman(trace, ready=lambda: polls(demo) >= 2)  # the demo's 1 s interval: the wait is a slice
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=30)
    async with httpx.AsyncClient(auth=auth) as client:
        assert (await client.get(demo.url)).status_code == 200
    assert "callback: authorization code received" in trace.text


def test_the_device_code_wins_while_the_listener_stays_open(demo: Any, store: Any, trace: Trace) -> None:
    demo.reconfigure(device_interval=0.1)
    answers: list[int] = []

    def ready() -> bool:
        if polls(demo) < 5:
            return False
        # The printed URL still works: its redirect target answers (here a stray request, refused).
        redirect_uri = re.search(r"callback: waiting on (\S+)", trace.text)
        assert redirect_uri
        answers.append(httpx.get(redirect_uri.group(1) + "?code=x&state=stray").status_code)
        return True

    human = DeviceHuman(trace, ready=ready)
    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=lambda url: False, log=human, auth_timeout=30)
    with httpx.Client(auth=auth) as client:
        assert client.get(demo.url).status_code == 200
    assert answers == [400] and "callback: refused a request" in trace.text
    assert "callback: authorization code received" not in trace.text
    grants = [r.status for r in demo.requests if r.path == TOKEN]
    assert grants[-1] == 200 and grants.count(200) == 1


# -- stray callbacks ------------------------------------------------------------------------------


def test_stray_callbacks_do_not_end_the_sign_in(demo: Any, store: Any, trace: Trace) -> None:
    """Before the browser comes back, an old tab and another local process hit the listener: a wrong
    state, another path. Each gets an error page and a line in -v; the real callback still wins."""
    from agentfetch.demo.useragent import ScriptedBrowser

    browser = ScriptedBrowser()
    strays: list[int] = []

    def open_browser(url: str) -> bool:
        redirect_uri = httpx.URL(url).params["redirect_uri"]
        strays.append(httpx.get(redirect_uri, params={"code": "old", "state": "from-an-old-tab"}).status_code)
        strays.append(httpx.get(redirect_uri.replace("/callback", "/favicon.ico")).status_code)
        return browser(url)

    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=open_browser, log=trace, auth_timeout=10)
    with httpx.Client(auth=auth) as client:
        assert client.get(demo.url).status_code == 200
    assert strays == [400, 404] and browser.errors == []
    assert "callback: refused a request: its state belongs to no pending sign-in" in trace.text
    assert "callback: ignored a request for another path" in trace.text
    assert "from-an-old-tab" not in trace.text and "old" not in re.findall(r"code=(\w+)", trace.text)


def test_only_stray_callbacks_end_in_a_callback_mismatch_at_the_timeout(demo: Any, store: Any, trace: Trace) -> None:
    from agentfetch.errors import CallbackMismatch

    def open_browser(url: str) -> bool:
        httpx.get(httpx.URL(url).params["redirect_uri"], params={"code": "c", "state": "forged"})
        return True

    auth = agentfetch.oauth.OAuth(store=store, consent=agentfetch.oauth.default_consent("allow"),
                                  open_browser=open_browser, log=trace, auth_timeout=1.5)
    with httpx.Client(auth=auth) as client, pytest.raises(CallbackMismatch) as raised:
        client.get(demo.url)
    assert "1 response(s) with a state that belongs to no pending sign-in" in raised.value.message
    assert raised.value.exit_code == 6 and store.list() == []


# -- the terminal: a status line, paste-back -----------------------------------------------------


def cli_env(home: Any, browser: str) -> dict[str, str]:
    import os

    env = {**os.environ, "AGENTFETCH_HOME": str(home), "AGENTFETCH_STORE": "file", "BROWSER": browser}
    for name in ("AGENTFETCH_DEBUG", "AGENTFETCH_CONSENT"):
        env.pop(name, None)
    return env


NO_BROWSER = f"{sys.executable} -c 'raise SystemExit(1)' %s"


class Terminal:
    """agentfetch on a pseudo-terminal, as a person runs it: stdin and stderr are the
    terminal, stdout a pipe. ``expect`` waits for text on the terminal."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import os
        import pty

        master, slave = pty.openpty()
        self.master = master
        self.proc = subprocess.Popen([sys.executable, "-m", "agentfetch", *args], env=env, stdin=slave,
                                     stderr=slave, stdout=subprocess.PIPE)
        os.close(slave)
        self.screen = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import os

        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # EIO: the other side closed
                return
            if not chunk:
                return
            self.screen += chunk

    @property
    def text(self) -> str:
        return self.screen.decode("utf-8", "replace")

    def expect(self, pattern: str, timeout: float = 30, start: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.compile(pattern).search(self.text, start)
            if found:
                return found
            if self.proc.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} never showed; the terminal shows:\n{self.text}")

    def type(self, text: str) -> None:
        import os

        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        import os

        os.close(self.master)
        return code


def walked_without_delivering(url: str) -> str:
    """The browser on another machine: signs in, ends on the redirect to 127.0.0.1, which it cannot load."""
    from agentfetch.demo.useragent import walk

    return walk(url, username="alice", deliver=False)


def test_a_live_status_line_while_waiting_gone_when_done(demo: Any, tmp_path: Any) -> None:
    browser = f"sh -c 'sleep 3; exec {sys.executable} -m agentfetch.demo.useragent --user alice \"$0\"' %s &"
    terminal = Terminal(["auth", "login", demo.url, "--consent", "allow"], cli_env(tmp_path / "home", browser))
    status = terminal.expect(r"Waiting for sign-in at 127\.0\.0\.1:\d+… \d:\d\d left, Ctrl-C to cancel")
    terminal.expect("Signed in", start=status.end())
    assert terminal.finish() == 0, terminal.text
    after = terminal.text[status.end():]
    assert "\r\x1b[2K" in after and after.index("\r\x1b[2K") < after.index("Signed in")  # cleared first
    assert "paste-back:" in terminal.text  # a terminal: the pasted address is accepted too
    assert "waiting up to" not in terminal.text  # that line is for logs without a terminal


def test_without_a_terminal_one_line_says_what_is_awaited(demo: Any, tmp_path: Any) -> None:
    browser = f"sh -c 'sleep 1; exec {sys.executable} -m agentfetch.demo.useragent --user alice \"$0\"' %s &"
    done = subprocess.run([sys.executable, "-m", "agentfetch", "auth", "login", demo.url, "--consent", "allow"],
                          env=cli_env(tmp_path / "home", browser), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "waiting up to" in line]
    assert re.fullmatch(r"agentfetch: waiting up to 5:00 for the sign-in at 127\.0\.0\.1:\d+: the browser's redirect",
                        line), line
    assert "\x1b" not in done.stderr and "paste-back" not in done.stderr


def test_paste_back_good_forged_and_replayed_addresses(demo: Any, tmp_path: Any) -> None:
    """No browser here; on a terminal the address a browser elsewhere ended on is pasted. A forged
    one (another state) and one from an earlier sign-in (replayed) are refused, and the wait goes on."""
    home = tmp_path / "home"

    def sign_in(paste_first: list[str]) -> str:
        terminal = Terminal(["auth", "login", demo.url, "--consent", "allow"], cli_env(home, NO_BROWSER))
        url = terminal.expect(r"open this URL to sign in: (\S+)").group(1)
        hint = terminal.expect(r"paste-back: .* paste it here and press Enter")
        final = walked_without_delivering(url)
        assert final.startswith("http://127.0.0.1:") and "code=" in final
        at = hint.end()
        for wrong in paste_first:
            terminal.type(wrong + "\r")
            at = terminal.expect(r"paste-back: that address was refused \(([^)]*)\)", start=at).end()
        terminal.type(final + "\r")
        terminal.expect("paste-back: address accepted", start=at)
        assert terminal.finish() == 0, terminal.text
        assert "Signed in" in terminal.text and final not in terminal.text  # the pasted code is not echoed
        return final

    first = sign_in([])
    forged = re.sub(r"state=[^&]+", "state=forged", first)
    logout = subprocess.run([sys.executable, "-m", "agentfetch", "auth", "logout", demo.url],
                            env=cli_env(home, NO_BROWSER), capture_output=True, text=True, timeout=60)
    assert logout.returncode == 0, logout.stderr
    sign_in([forged, first])  # a forged state, then the first sign-in's address replayed
    assert demo.count("/oauth/device_authorization", "POST") == 2  # the device flow ran beside the paste


def test_paste_mode_opens_no_browser_and_reads_a_pipe(demo: Any, tmp_path: Any) -> None:
    """`agentfetch auth login URL --paste`: no browser here, no device code; stdin may be a pipe."""
    marker = tmp_path / "a-browser-ran"
    browser = f"{sys.executable} -c 'import pathlib; pathlib.Path(\"{marker}\").touch()' %s"
    agent = subprocess.Popen([sys.executable, "-m", "agentfetch", "auth", "login", demo.url, "--paste", "--consent",
                              "allow", "--json"], env=cli_env(tmp_path / "home", browser), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert agent.stderr is not None and agent.stdin is not None
    lines: list[str] = []
    url = None
    for line in agent.stderr:
        lines.append(line)
        found = re.search(r"open this URL to sign in: (\S+)", line)
        url = url or (found.group(1) if found else None)
        if "paste-back:" in line:
            break
    assert url, "".join(lines)
    assert "open the URL above in a browser on any machine" in lines[-1]
    agent.stdin.write(walked_without_delivering(url) + "\n")
    agent.stdin.flush()
    out, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, "".join(lines) + err
    assert '"user": "alice"' in out
    assert not marker.exists() and demo.count("/oauth/device_authorization") == 0
