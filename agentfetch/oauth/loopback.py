"""The loopback redirect listener: RFC 8252 §7.3 and §8.3.

Binds ``127.0.0.1`` (not ``localhost``, which may resolve elsewhere), on an
ephemeral port unless the server needs the registered one. It accepts
exactly one callback on the registered path, answers the browser with a
small page, and then stops listening.
"""

from __future__ import annotations

import hmac
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ..errors import AuthorizationTimeout

__all__ = ["LoopbackListener", "CALLBACK_PATH", "parse_callback"]

CALLBACK_PATH = "/callback"

_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · agentfetch</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>{title}</h1><p>{text}</p></body></html>"""


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
    """``with LoopbackListener() as listener: ... listener.wait(timeout)``."""

    def __init__(self, *, port: int = 0, path: str = CALLBACK_PATH, redirect_host: str = "127.0.0.1") -> None:
        self.path = path
        self.redirect_host = redirect_host
        self.expected_state: str | None = None
        #: What the person signed in to, for the page they land on (``None``: the issuer's host).
        self.site: str | None = None
        self._params: dict[str, str] | None = None
        self._done = threading.Event()
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

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        params = parse_callback(request.path, self.path)
        if params is None or self._done.is_set():
            self._reply(request, 404, "Not found", "This is agentfetch's sign-in listener.")
            return
        if not params:
            self._reply(request, 400, "Bad request", "This does not look like an authorization response.")
            return
        state_ok = self.expected_state is not None and hmac.compare_digest(
            params.get("state", "").encode(), self.expected_state.encode()
        )
        if not state_ok:
            title, text, status = "Sign-in refused", "This response does not belong to the pending sign-in.", 400
        elif "error" in params:
            # The server's reason, as it gave it (escaped in _reply): a person wants to know why.
            reason = params.get("error_description") or params["error"]
            title, status = "Sign-in did not complete", 200
            text = (f"The sign-in to {self._site(params)} was refused: {reason} ({params['error']}). "
                    "agentfetch was not authorized. Return to your terminal (or the app that asked); "
                    "you can close this tab.")
        else:
            site = self._site(params)
            title, status = f"Signed in to {site}", 200
            text = (f"agentfetch is authorized for {site}. Return to your terminal (or the app that asked); "
                    "you can close this tab.")
        self._params = params
        self._done.set()
        self._reply(request, status, title, text)

    def _site(self, params: dict[str, str]) -> str:
        return self.site or urlsplit(params.get("iss", "")).netloc or "the sign-in page"

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

    def wait(self, timeout: float) -> dict[str, str]:
        """The callback's query parameters; AuthorizationTimeout after ``timeout`` seconds."""
        if not self._done.wait(timeout) or self._params is None:
            raise AuthorizationTimeout(
                f"no authorization callback on {self.redirect_uri} within {timeout:g} s",
                hint="finish signing in in the browser, or raise --auth-timeout",
            )
        return self._params

    def close(self) -> None:
        self._done.set()  # wakes a waiter if the flow is abandoned
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
