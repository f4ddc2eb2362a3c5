"""The transport settings every request shares (the page fetch and OAuth's own requests, which
go through the same httpx client): whom TLS trusts, which proxy is in the way, and what a
person should do when either fails.

Trust, first that applies (``docs/network.md``):

1. ``cacert`` (the CLI's ``--cacert FILE``): a PEM bundle file, or a directory of hashed certificates;
2. ``$SSL_CERT_FILE`` (then ``$SSL_CERT_DIR``), as OpenSSL and Python read them;
3. ``$REQUESTS_CA_BUNDLE``, as requests and pip read it;
4. ``$CURL_CA_BUNDLE``, as curl reads it;
5. the operating system's trust store (through ``truststore``): what the browser trusts,
   including a corporate root CA that IT installed; without truststore, certifi's bundle.

A bundle replaces the default trust, as it does for curl and requests. Proxies come from
``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (httpx reads them).
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ._urls import TRACED_EXTENSION, redact_url
from .errors import FetchTimeout, NetworkError, UsageError

if TYPE_CHECKING:
    import httpx

__all__ = ["CA_BUNDLE_VARIABLES", "CAOption", "network_error", "proxy_for", "ssl_context", "trust_source"]

#: The environment variables naming a CA bundle, in the order they are honoured.
CA_BUNDLE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

CAOption = str | os.PathLike[str] | None

_CERTIFICATE_HINT = (
    "if your network inspects TLS (a corporate proxy) or the site uses a private CA, give its CA "
    "certificate (PEM): --cacert FILE (SDK: cacert=), or SSL_CERT_FILE=FILE "
    "(REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE are read too)"
)


def trust_source(cacert: CAOption = None) -> tuple[Path, str] | None:
    """The CA bundle in force and where it was named (``"--cacert"`` or the variable);
    ``None``: the operating system's trust store."""
    if cacert is not None and str(cacert):
        return _existing(Path(cacert), "--cacert"), "--cacert"
    for variable in CA_BUNDLE_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value:
            return _existing(Path(value).expanduser(), variable), variable
    return None


def _existing(path: Path, named_by: str) -> Path:
    if not path.exists():
        raise UsageError(f"{named_by} names {path}, which does not exist",
                         hint="point it at a PEM file of CA certificates, or unset it")
    return path


def ssl_context(cacert: CAOption = None) -> ssl.SSLContext:
    """The TLS context for every connection (see the module docstring for the order)."""
    source = trust_source(cacert)
    if source is not None:
        path, named_by = source
        try:
            if path.is_dir():
                return ssl.create_default_context(capath=str(path))
            return ssl.create_default_context(cafile=str(path))
        except (ssl.SSLError, OSError, ValueError) as error:
            raise UsageError(f"{named_by} names {path}, which holds no usable CA certificate ({error})",
                             hint="it must be PEM: -----BEGIN CERTIFICATE----- blocks") from None
    try:
        import truststore
    except ImportError:  # pragma: no cover - truststore is a dependency; a stripped install still works
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def proxy_for(url: str) -> tuple[str, str] | None:
    """The proxy a request to ``url`` goes through, as httpx picks it, as ``(proxy URL without
    credentials, where it was set)``; ``None`` when it goes direct."""
    from urllib.request import getproxies

    parts = urlsplit(url)
    proxies = getproxies()  # the environment (and, as for httpx, the system's settings on macOS and Windows)
    if _bypassed(parts.hostname or "", proxies.get("no", "")):
        return None
    for key in (parts.scheme, "all"):
        value = proxies.get(key)
        if value:
            proxy = value if "://" in value else "http://" + value
            names = (f"{key.upper()}_PROXY", f"{key}_proxy")
            named_by = next((name for name in names if os.environ.get(name)), "the system's proxy settings")
            return _without_credentials(proxy), named_by
    return None


def _bypassed(host: str, no_proxy: str) -> bool:
    """``NO_PROXY`` as curl and httpx read it: ``*``, a host, or a domain and its subdomains."""
    host = host.lower().strip("[]")
    for entry in (item.strip().lower().strip("[]") for item in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry.lstrip(".") or host.endswith("." + entry.lstrip(".")))):
            return True
    return False


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _certificate_problem(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _checked_against(cacert: CAOption, trust_known: bool) -> str:
    if not trust_known:
        return ""
    try:
        source = trust_source(cacert)
    except UsageError:
        return ""
    if source is None:
        return " (checked against the system's trust store)"
    return f" (checked against {source[0]} from {source[1]})"


def network_error(
    exc: httpx.HTTPError | httpx.InvalidURL, url: str, *, cacert: CAOption = None, trust_known: bool = True
) -> NetworkError:
    """An httpx failure as one line a person can act on: which host (and sign-in step), and for
    TLS and proxy failures what to set. ``trust_known``: ``cacert`` is what the client was built
    with, so the message may say what the certificate was checked against."""
    import httpx

    if isinstance(exc, httpx.InvalidURL):
        # httpx builds the next request of every redirect, followed or not: a
        # Location of "javascript:" or "http://[::1" fails there, inside send().
        return NetworkError(f"{redact_url(url)} answered with a redirect to an unusable URL")
    # Name the request that failed: during a sign-in it is an OAuth endpoint, not the page.
    try:
        failed: httpx.Request | None = exc.request
    except RuntimeError:
        failed = None
    step = failed.extensions.get(TRACED_EXTENSION) if failed is not None else None
    target = str(failed.url) if failed is not None else url
    try:
        host = failed.url.netloc.decode("ascii", "replace") if failed is not None else urlsplit(url).netloc
    except ValueError:
        host = "the server"
    host = host.rpartition("@")[2] + (f" ({step})" if step else "")
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimeout(f"timed out talking to {host}")
    if isinstance(exc, httpx.TooManyRedirects):
        return NetworkError(f"too many redirects from {host}")
    if isinstance(exc, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        # Our own request could not be written; the library's text quotes the
        # offending header, which may be an Authorization header with its token.
        return NetworkError(f"cannot send the request to {host}: {type(exc).__name__}")
    text = str(exc) or type(exc).__name__
    problem = _certificate_problem(exc)
    proxy = proxy_for(target)
    if isinstance(exc, httpx.ProxyError) or (proxy is not None and isinstance(exc, httpx.ConnectError)
                                             and problem is None):
        via = f"the proxy {proxy[0]} (from {proxy[1]})" if proxy else "the proxy"
        return NetworkError(f"cannot reach {host} through {via}: {text}",
                            hint=f"check that proxy, or set NO_PROXY={urlsplit(target).hostname} to go direct")
    if problem is not None:
        reason = problem.verify_message or problem.reason or "certificate verify failed"
        checked = _checked_against(cacert, trust_known)
        return NetworkError(f"the TLS certificate of {host} is not trusted: {reason}{checked}", hint=_CERTIFICATE_HINT)
    if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
        return NetworkError(f"TLS error with {host}: {text}")
    return NetworkError(f"cannot reach {host}: {text}")
