"""How a sign-in waits in front of a human: what the drivers do for ``WaitForCallback``.

- On a terminal (stderr a TTY): a live status line, "Waiting for sign-in at
  issuer… 4:52 left, Ctrl-C to cancel", redrawn each second and gone when the
  wait is over. Log lines written meanwhile clear it first (:meth:`Waiting.write`).
- Without one: a single line saying what is awaited and for how long.
- Paste-back (stdin and stderr TTYs, or forced with ``paste=True``): the human
  pastes the address a browser on another machine ended on (its redirect to
  ``127.0.0.1`` cannot load there) and presses Enter. The line goes to
  :meth:`LoopbackListener.offer`, which checks it exactly as it checks a
  redirect. The terminal is put in non-canonical mode without echo for the wait,
  so the pasted address (it holds the authorization code) is not echoed, and
  restored after.
- ``on_sign_in``: called once per sign-in with its :class:`SignInPrompt`, for
  hosts that show it their own way (the MCP server's elicitations).

It only runs when a sign-in waits; nothing here is on the path of a cached fetch.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._steps import SignInPrompt, WaitForCallback
    from .loopback import LoopbackListener

__all__ = ["Waiting"]

_CLEAR_LINE = "\r\x1b[2K"
#: How often the wait loop looks at the listener and the keyboard, in seconds.
_TICK = 0.2


class Waiting:
    """One OAuth client's way of waiting; a driver calls :meth:`wait` and :meth:`done`."""

    def __init__(
        self,
        notify: Callable[[str], None],
        *,
        on_sign_in: Callable[[SignInPrompt], None] | None = None,
        paste: bool | None = None,
        stdin: IO[Any] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.notify = notify
        self.on_sign_in = on_sign_in
        #: None: paste-back where a human sits at a terminal; True: always (stdin may be a pipe); False: never.
        self.paste = paste
        self._stdin = stdin
        self._stderr = stderr
        self._prompt: SignInPrompt | None = None
        self._live = False  # a status line is on screen
        self._status = ""
        self._reading = False
        self._typed = bytearray()
        self._saved_tty: Any = None
        self._lock = threading.RLock()

    # -- streams (looked up late: tests and the CLI swap sys.stdin/sys.stderr) ------------

    @property
    def stdin(self) -> IO[Any] | None:
        return self._stdin if self._stdin is not None else sys.stdin

    @property
    def stderr(self) -> IO[str] | None:
        return self._stderr if self._stderr is not None else sys.stderr

    def write(self, sink: Callable[[str], None], message: str) -> None:
        """``sink(message)``, clearing the status line first (it is redrawn on the next tick)."""
        with self._lock:
            self._clear()
            sink(message)

    # -- the wait ---------------------------------------------------------------------------

    def wait(self, step: WaitForCallback, budget: float | None = None) -> dict[str, str] | None:
        """Wait ``step.timeout`` seconds (at most ``budget``) for the callback, drawing the
        status line and reading pasted addresses meanwhile. The callback's parameters, or None."""
        listener = step.listener
        if step.prompt is not self._prompt:
            self._begin(step.prompt, listener)
        end = time.monotonic() + max(0.0, min(step.timeout, budget if budget is not None else step.timeout))
        while not listener.received and listener.cancelled is None:
            left = end - time.monotonic()
            if left <= 0:
                break
            self._draw()
            if self._reading:
                self._read(listener, min(_TICK, left))
            else:
                listener.wait(min(_TICK, left))
        return listener.wait(0)

    def done(self) -> None:
        """The sign-in no longer waits: the status line goes, the terminal is as it was."""
        with self._lock:
            self._clear()
            self._restore_tty()
            self._reading = False
            self._typed.clear()
            self._prompt = None

    # -- beginning a sign-in's wait ----------------------------------------------------------

    def _begin(self, prompt: SignInPrompt, listener: LoopbackListener) -> None:
        self.done()
        self._prompt = prompt
        if self.on_sign_in is not None:
            self.on_sign_in(prompt)
        self._reading = self._may_read()
        if self._reading:
            where = f"{listener.redirect_uri}?..."
            if prompt.browser_opened or prompt.user_code:
                self.notify(f"paste-back: if the browser is on another machine, it cannot load {where}; "
                            "copy that address from its address bar, paste it here and press Enter")
            else:
                self.notify(f"paste-back: open the URL above in a browser on any machine; when it ends on "
                            f"{where} (which cannot load there), paste that address here and press Enter")
            self._enter_cbreak()
        if not self._tty(self.stderr):
            self.notify(f"waiting up to {_clock(prompt.expires_at - time.time())} for the sign-in at "
                        f"{_host(prompt.issuer)}: {_ways(prompt, self._reading)}")

    def _may_read(self) -> bool:
        if self.paste is False:
            return False
        stdin = self.stdin
        if stdin is None or _fileno(stdin) is None:
            return False
        if self.paste is None and not (self._tty(stdin) and self._tty(self.stderr)):
            return False
        return _selectable()

    @staticmethod
    def _tty(stream: IO[Any] | None) -> bool:
        try:
            return stream is not None and stream.isatty()
        except (ValueError, OSError):  # closed, or no file behind it
            return False

    # -- the status line -----------------------------------------------------------------------

    def _draw(self) -> None:
        prompt, stderr = self._prompt, self.stderr
        if prompt is None or stderr is None or not self._tty(stderr):
            return
        left = _clock(prompt.expires_at - time.time())
        text = f"Waiting for sign-in at {_host(prompt.issuer)}… {left} left, Ctrl-C to cancel"
        if self._typed:
            text = f"Pasted {len(self._typed)} characters; Enter to use them ({left} left, Ctrl-C to cancel)"
        width = _width(stderr)
        text = text[: width - 1]
        with self._lock:
            if self._live and text == self._status:
                return
            stderr.write(_CLEAR_LINE + text)
            stderr.flush()
            self._live, self._status = True, text

    def _clear(self) -> None:
        with self._lock:
            if self._live and self.stderr is not None:
                self.stderr.write(_CLEAR_LINE)
                self.stderr.flush()
            self._live = False

    def _say(self, message: str) -> None:
        """One line of feedback to the human at the keyboard."""
        with self._lock:
            self._clear()
            stderr = self.stderr
            if stderr is not None and self._tty(stderr):
                stderr.write(message + "\n")
                stderr.flush()
            else:
                self.notify(message)

    # -- paste-back ------------------------------------------------------------------------------

    def _read(self, listener: LoopbackListener, timeout: float) -> None:
        import select

        stdin = self.stdin
        fd = _fileno(stdin) if stdin is not None else None
        if fd is None:
            self._reading = False
            return
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return
        data = os.read(fd, 65536)
        if not data:  # end of input: nothing more will be pasted
            self._reading = False
            return
        for byte in data:
            if byte in (0x0A, 0x0D):
                line = self._typed.decode("utf-8", "replace").strip()
                self._typed.clear()
                if line:
                    self._offer(listener, line)
                    if listener.received:
                        return
            elif byte in (0x7F, 0x08):
                del self._typed[-1:]
            elif byte == 0x15:  # Ctrl-U: start over
                self._typed.clear()
            elif byte >= 0x20 and len(self._typed) < 65536:
                self._typed.append(byte)

    def _offer(self, listener: LoopbackListener, line: str) -> None:
        reason = listener.offer(line)
        if reason is None:
            self._say("paste-back: address accepted")
        else:
            self._say(f"paste-back: that address was refused ({reason}); still waiting: "
                      "paste the address the browser ended on")

    def _enter_cbreak(self) -> None:
        """No line editing and no echo while waiting: keys arrive one by one, and the
        pasted address (it holds the code) is not shown. Ctrl-C still interrupts."""
        stdin = self.stdin
        fd = _fileno(stdin) if stdin is not None else None
        if fd is None or not self._tty(stdin):
            return
        try:
            import termios
        except ImportError:
            return
        try:
            saved = termios.tcgetattr(fd)
            changed = termios.tcgetattr(fd)
            changed[3] &= ~(termios.ICANON | termios.ECHO)
            changed[6][termios.VMIN] = 1
            changed[6][termios.VTIME] = 0
            termios.tcsetattr(fd, termios.TCSANOW, changed)
        except termios.error:
            return
        self._saved_tty = (fd, saved)

    def _restore_tty(self) -> None:
        if self._saved_tty is None:
            return
        import termios

        fd, saved = self._saved_tty
        self._saved_tty = None
        try:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except termios.error:
            pass


def _ways(prompt: SignInPrompt, pasting: bool) -> str:
    ways = []
    if prompt.browser_opened:
        ways.append("the browser's redirect")
    else:
        ways.append("the URL above, opened in a browser")
    if prompt.user_code:
        ways.append(f"the code {prompt.user_code} entered at {prompt.verification_uri}")
    if pasting:
        ways.append("the address the browser ends on, pasted here")
    return ", or ".join(ways)


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


def _width(stream: IO[str]) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (OSError, ValueError):
        return 80


def _fileno(stream: IO[Any]) -> int | None:
    try:
        return stream.fileno()
    except (OSError, ValueError, AttributeError):
        return None


def _selectable() -> bool:
    # select() works on terminals and pipes on POSIX only; Windows consoles need
    # another reader, so paste-back is not offered there yet.
    return os.name == "posix"
