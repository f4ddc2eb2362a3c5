"""The loopback redirect listener: RFC 8252 §7.3 and §8.3.

Binds ``127.0.0.1`` (not ``localhost``, which may resolve elsewhere), on an
ephemeral port unless the server needs the registered one. It accepts
exactly one valid callback on the registered path: the right ``state``, with
a ``code`` or an ``error``. Anything else (another path, a wrong ``state``,
an old browser tab, another local process) gets an error page and is
reported, and the listener goes on waiting for the real one.

The same checks apply to a callback URL the human pastes from a browser on
another machine (:meth:`LoopbackListener.offer`), so a paste is exactly as
trusted as a redirect.
"""

from __future__ import annotations

import hmac
import html
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .._urls import origin
from ..errors import UsageError

__all__ = ["LoopbackListener", "CALLBACK_PATH", "parse_callback"]

CALLBACK_PATH = "/callback"

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · agentfetch</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>{title}</h1><p>{text}</p></body></html>"""

_NOT_HERE = "This is agentfetch's sign-in listener."


def parse_callback(target: str, path: str = CALLBACK_PATH) -> dict[str, str] | None:
    """The query parameters of a request line's target, when it is a callback.

    None: not the callback path (404). ``{}``: the path, but not an authorization
    response (400): no ``code``, ``error`` or ``state``, a parameter given twice,
    or a query that does not split. Any other request target, however odd
    (``//[zz]/``, NULs, a surrogate), gets one of these answers, never an exception.
    """
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.path != path:
        return None
    try:
        pairs = parse_qsl(parts.query, keep_blank_values=True, max_num_fields=32)
    except ValueError:
        return {}
    params = dict(pairs)
    if len(params) != len(pairs) or not ({"code", "error", "state"} & params.keys()):
        return {}
    return params


class LoopbackListener:
    """``with LoopbackListener() as listener: ... listener.wait(timeout)``.

    ``log`` hears of every refused request (path and reason, never the query)."""

    def __init__(
        self,
        *,
        port: int = 0,
        path: str = CALLBACK_PATH,
        redirect_host: str = "127.0.0.1",
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.redirect_host = redirect_host
        self.expected_state: str | None = None
        #: What the person signed in to, for the page they land on (``None``: the issuer's host).
        self.site: str | None = None
        #: Why callbacks on the callback path were refused, in order; how many for a wrong ``state``.
        self.refused: list[str] = []
        self.wrong_state = 0
        #: Set by :meth:`cancel`: why the human gave up waiting.
        self.cancelled: str | None = None
        self._log = log or (lambda message: None)
        self._params: dict[str, str] | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                listener._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                # The default writes the request line, code included, to stderr.
                pass

        # Raises OSError (EADDRINUSE) when the port is taken: the caller decides.
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="agentfetch-callback", daemon=True)
        self._thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"http://{self.redirect_host}:{self.port}{self.path}"

    @property
    def received(self) -> bool:
        """A valid callback arrived (by redirect or by paste)."""
        return self._params is not None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        status, title, text, _ = self._consider(request.path, "request")
        self._reply(request, status, title, text)

    def offer(self, url: str) -> str | None:
        """A callback URL pasted by the human: None when it is accepted, else why not.
        It must be this listener's redirect URI (scheme, host, port, path) and pass
        the checks a redirect to the listener passes, single use included."""
        try:
            same_origin = origin(url) == origin(self.redirect_uri)
            parts = urlsplit(url)
        except (UsageError, ValueError):
            same_origin = False
        if not same_origin:
            return f"it is not an address on {self.redirect_uri}"
        return self._consider(f"{parts.path}?{parts.query}", "pasted address")[3]

    def _consider(self, target: str, what: str) -> tuple[int, str, str, str | None]:
        """(status, title, text, why refused or None) of the answer to one request target;
        a valid one ends the wait."""
        params = parse_callback(target, self.path)
        if params is None:
            self._log(f"callback: ignored a {what} for another path")
            return 404, "Not found", _NOT_HERE, f"its path is not {self.path}"
        if not params:
            return self._refuse(what, "it is not an authorization response", 400, "Bad request",
                                "This does not look like an authorization response.")
        with self._lock:
            if self._done.is_set():
                return self._refuse(what, "the sign-in it belongs to is over", 404, "Not found",
                                    "This sign-in is already complete (or abandoned). " + _NOT_HERE)
            state_ok = self.expected_state is not None and hmac.compare_digest(
                params.get("state", "").encode(), self.expected_state.encode()
            )
            if not state_ok:
                self.wrong_state += 1
                return self._refuse(what, "its state belongs to no pending sign-in (RFC 6749 §10.12)", 400,
                                    "Sign-in refused", "This response does not belong to the pending sign-in. "
                                    "If you are signing in, finish in the tab agentfetch opened.")
            self._params = params
            self._done.set()
        self._log(f"callback: {what} accepted")
        if "error" in params:
            # The server's reason, as it gave it (escaped in _reply): a person wants to know why.
            reason = params.get("error_description") or params["error"]
            text = (f"The sign-in to {self._site(params)} was refused: {reason} ({params['error']}). "
                    "agentfetch was not authorized. Return to your terminal (or the app that asked); "
                    "you can close this tab.")
            return 200, "Sign-in did not complete", text, None
        site = self._site(params)
        text = (f"agentfetch is authorized for {site}. Return to your terminal (or the app that asked); "
                "you can close this tab.")
        return 200, f"Signed in to {site}", text, None

    def _site(self, params: dict[str, str]) -> str:
        return self.site or urlsplit(params.get("iss", "")).netloc or "the sign-in page"

    def _refuse(self, what: str, reason: str, status: int, title: str, text: str) -> tuple[int, str, str, str]:
        self.refused.append(reason)
        self._log(f"callback: refused a {what}: {reason}; still waiting")
        return status, title, text, reason

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Cache-Control", "no-store")
        request.send_header("Referrer-Policy", "no-referrer")
        request.end_headers()
        request.wfile.write(body)

    def wait(self, timeout: float) -> dict[str, str] | None:
        """The callback's query parameters, or None when ``timeout`` seconds pass
        without one, or the wait was cancelled or the listener closed."""
        self._done.wait(max(0.0, timeout))
        return self._params

    def cancel(self, reason: str) -> None:
        """End the wait without a callback: the human gave up (``reason`` says how)."""
        with self._lock:
            if not self._done.is_set():
                self.cancelled = reason
                self._done.set()

    def close(self) -> None:
        self._done.set()  # wakes a waiter if the flow is abandoned
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
