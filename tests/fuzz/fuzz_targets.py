"""What the fuzzers feed to which parser, shared by the bounded CI tests
(``test_fuzz_parsers.py``), the long run (``-m fuzz``) and ``benchmarks/fuzz.py``.

Every target takes one drawn example to the code that reads it from a server
(or from a user) and the property is the same everywhere: a result or an
:class:`agentfetch.errors.AgentFetchError`, never any other exception. The
strategies are built around valid documents with one or several fields
swapped for hostile values, because random bytes alone rarely get past the
first check of a parser.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from agentfetch.errors import AgentFetchError

__all__ = ["OUTCOMES", "TARGETS", "Outcome", "Target", "allocation", "campaign", "check"]

# -- building blocks ------------------------------------------------------------------

#: Characters that broke or could break something: controls, bidi, surrogates, delimiters.
NASTY = [
    "\x00", "\x01", "\x02", "\x1b", "\x1b[2J", "\x1b]8;;http://evil/\x07", "\r", "\n", "\r\n", "\t", "\x0b", "\x0c",
    "\x7f", "\x85", "\x9b", "\u202e", "\u2066", "\u200f", "\u2028", "\ufeff", "\ud800", "\udfff", "\U000e0041",
    "é", "\u0130", "\u00df", "\U0001f600", "\uffff", '"', "\\", ",", "=", ";", "%", "%00", "%2e", "%2f", "@", "[",
    "]", ":", "/", "?", "#", " ", "&", "<", ">", "'", "`", "*", "_", "|", "~", "+",
]
nasty_char = st.sampled_from(NASTY)
# Pieces, not characters: some of NASTY are sequences (an ESC sequence, CRLF, a percent escape).
text = st.lists(st.one_of(st.characters(), nasty_char), max_size=30).map("".join)
short_text = st.lists(st.one_of(st.characters(codec="ascii"), nasty_char), max_size=12).map("".join)
b64token = st.from_regex(r"\A[A-Za-z0-9\-._~+/]{1,40}={0,2}\Z")

big_numbers = st.sampled_from([10**400, -(10**400), 2**63, 2**31 - 1, -1, 0, 1, 10**10 + 1, 1e308, -1e308, 5e-324])
numbers = st.one_of(st.integers(), big_numbers, st.floats(allow_nan=False, allow_infinity=False))
json_scalars = st.one_of(
    st.none(), st.booleans(), numbers, text, st.sampled_from(["", "400" * 134, "-5", "²", "1e400"])
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(short_text, children, max_size=4),
    max_leaves=12,
)

SCHEMES = ["http", "https", "HTTPS", "javascript", "mailto", "file", "", "data", "ftp", "ws"]
HOSTS = [
    "127.0.0.1", "127.0.0.1:8000", "[::1]", "[::1]:8000", "[::1", "::1]", "[zz]", "[::ffff:127.0.0.1]", "localhost",
    "LOCALHOST.", "evil.localhost", "localhost.evil", "accounts.example.com@127.0.0.1", "user:pw@127.0.0.1:8000",
    "@127.0.0.1", "169.254.169.254", "[fe80::1]", "10.0.0.1", "example.com", "xn--e1afmkfd.xn--p1ai",
    "\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1",
    "127.0.0.1:abc", "127.0.0.1:", "", "a\x1bb", "0x7f.1", "%31%32%37.0.0.1", "127.0.0.1\u202e", "h\x00",
]
SEGMENTS = [
    "", ".", "..", "%2e%2e", "%2E.", "..;x", "%2f", "\\", "page", "admin", "docs", ".well-known",
    "oauth-protected-resource", "oauth-authorization-server", "openid-configuration", "t1", "x\x1b[2J", "\u202e",
    "%00", "a b",
]
SECRET_KEYS = ["code", "state", "access_token", "refresh_token", "client_secret", "code_verifier", "id_token", "x"]

segment = st.one_of(st.sampled_from(SEGMENTS), short_text)
path = st.lists(segment, max_size=5).map(lambda parts: "/" + "/".join(parts) if parts else "")
query = st.one_of(
    st.just(""),
    st.lists(st.tuples(st.sampled_from(SECRET_KEYS), short_text), max_size=3).map(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs)
    ),
    short_text.map(lambda t: "?" + t),
)
fragment = st.one_of(st.just(""), short_text.map(lambda t: "#" + t))
host = st.one_of(st.sampled_from(HOSTS), short_text)
urls = st.one_of(
    st.builds(lambda s, h, p, q, f: f"{s}://{h}{p}{q}{f}", st.sampled_from(SCHEMES), host, path, query, fragment),
    st.builds(lambda h, p: f"//{h}{p}", host, path),
    text,
)
loopback_urls = st.builds(lambda p, q: f"http://127.0.0.1:8000{p}{q}", path, query)


def mutated(base: dict[str, Any], values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``base`` with any of its fields kept, dropped or replaced, and extra fields added."""
    keep, drop = object(), object()

    def apply(choices: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        document = dict(extra)
        for key, choice in choices.items():
            if choice is keep:
                document[key] = base[key]
            elif choice is not drop:
                document[key] = choice
        return document

    per_field = {key: st.one_of(st.just(keep), st.just(keep), st.just(drop), values) for key in base}
    return st.builds(apply, st.fixed_dictionaries(per_field), st.dictionaries(short_text, json_values, max_size=2))


field_values = st.one_of(json_values, urls, st.lists(urls, max_size=3), st.lists(short_text, max_size=3))

#: Raw bodies no JSON encoder writes: nesting past the stack, NaN, huge exponents, bad UTF-8.
RAW_BODIES = [
    b"[" * 100_000, b'{"a":' * 50_000, b"[" * 1000 + b"]" * 1000, b'{"access_token": NaN}', b"Infinity",
    b'{"expires_in": 1e400, "access_token": "a", "token_type": "Bearer"}',
    b'{"expires_in": 1' + b"0" * 400 + b', "access_token": "a", "token_type": "Bearer"}',
    b'{"expires_in": 1' + b"0" * 5000 + b', "access_token": "a", "token_type": "Bearer"}',
    b"\xff\xfe{}", b"\xef\xbb\xbf{}", b"\xc3(", b"", b"null", b"[]", b'"a"', b"<html>error</html>",
]


def body_bytes(documents: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    return st.one_of(
        documents.map(lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        documents.map(lambda d: json.dumps(d).encode()),
        st.sampled_from(RAW_BODIES),
        st.binary(max_size=64),
    )


STATUSES = [200, 200, 200, 201, 400, 401, 403, 500, 302]


def response(status: int, content: bytes, url: str = "http://127.0.0.1:9000/t1/token") -> httpx.Response:
    return httpx.Response(status, content=content, request=httpx.Request("POST", url))


# -- the targets -------------------------------------------------------------------------

ISSUER = "http://127.0.0.1:9000/t1"
REQUEST_URL = "http://127.0.0.1:8000/page/x"
REDIRECT_URI = "http://127.0.0.1:5000/callback"


def _challenge_values() -> st.SearchStrategy[list[str]]:
    scheme = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "DPoP", "Negotiate", "Digest", "B\u00e9arer", ""])
    name = st.sampled_from(["realm", "scope", "error", "error_description", "resource_metadata", "Scope", "a", ""])
    value = st.one_of(
        short_text.map(lambda t: '"' + t.replace('"', '\\"') + '"'),
        short_text.map(lambda t: '"' + t),
        short_text,
        urls.map(lambda u: '"' + u + '"'),
    )
    param = st.builds(lambda n, sp, v: f"{n}{sp}={sp}{v}", name, st.sampled_from(["", " ", "\t"]), value)
    challenge = st.one_of(
        st.builds(lambda s, ps, sep: s + " " + sep.join(ps), scheme, st.lists(param, max_size=5),
                  st.sampled_from([", ", ",", " , ", ",,", " "])),
        st.builds(lambda s, t: f"{s} {t}", scheme, st.from_regex(r"\A[A-Za-z0-9+/]{1,20}={0,3}\Z")),
        text,
    )
    header = st.lists(challenge, min_size=1, max_size=3).map(", ".join)
    return st.lists(st.one_of(header, st.sampled_from(['Bearer resource_metadata="' + "a" * 20000 + '"'])),
                    max_size=3)


def run_challenge(values: list[str]) -> object:
    from agentfetch.oauth.challenge import find_bearer, parse_challenges

    try:
        parse_challenges(values)
    except AgentFetchError:
        pass
    return find_bearer(values)


PRM_BASE = {
    "resource": "http://127.0.0.1:8000/page",
    "authorization_servers": [ISSUER],
    "scopes_supported": ["read"],
    "resource_name": "Wiki",
}


def run_prm(example: tuple[dict[str, Any], bool, str]) -> object:
    from agentfetch.oauth.rfc9728 import (
        parse_protected_resource,
        resource_for_well_known,
        well_known_urls,
    )

    document, from_challenge, request_url = example
    metadata_url = well_known_urls(request_url)[0] if not from_challenge else "http://127.0.0.1:8000/prm"
    resource_for_well_known(metadata_url)
    return parse_protected_resource(
        document, metadata_url=metadata_url, request_url=request_url, from_challenge=from_challenge
    )


AS_BASE = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/authorize",
    "token_endpoint": ISSUER + "/token",
    "registration_endpoint": ISSUER + "/register",
    "revocation_endpoint": ISSUER + "/revoke",
    "device_authorization_endpoint": ISSUER + "/device",
    "jwks_uri": ISSUER + "/jwks",
    "introspection_endpoint": ISSUER + "/introspect",
    "response_types_supported": ["code"],
    "response_modes_supported": ["query"],
    "grant_types_supported": ["authorization_code", "refresh_token"],
    "code_challenge_methods_supported": ["S256"],
    "scopes_supported": ["openid", "read", "offline_access"],
    "token_endpoint_auth_methods_supported": ["none"],
    "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
    "authorization_response_iss_parameter_supported": True,
    "client_id_metadata_document_supported": False,
    "op_policy_uri": ISSUER + "/policy",
    "op_tos_uri": ISSUER + "/tos",
    "service_documentation": ISSUER + "/docs",
    "ui_locales_supported": ["en"],
    "revocation_endpoint_auth_methods_supported": ["none"],
    "introspection_endpoint_auth_methods_supported": ["none"],
}


def run_as(example: tuple[dict[str, Any], str | None]) -> object:
    from agentfetch.oauth.rfc8414 import metadata_urls, parse_authorization_server

    document, issuer = example
    issuer = issuer if issuer is not None else document.get("issuer", ISSUER)
    if not isinstance(issuer, str):
        issuer = ISSUER
    metadata_urls(issuer)
    return parse_authorization_server(document, issuer=issuer, metadata_url=ISSUER + "/.well-known/x")


REGISTRATION_BASE = {
    "client_id": "client-1",
    "client_secret": "s3cret",
    "token_endpoint_auth_method": "none",
    "redirect_uris": [REDIRECT_URI],
    "client_secret_expires_at": 0,
    "grant_types": ["authorization_code"],
    "error": "invalid_redirect_uri",
    "error_description": "no",
}


def run_registration(example: tuple[int, bytes]) -> object:
    from agentfetch.oauth.rfc7591 import parse_registration

    status, content = example
    return parse_registration(response(status, content), issuer=ISSUER, redirect_uri=REDIRECT_URI)


TOKEN_BASE = {
    "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig",
    "token_type": "Bearer",
    "expires_in": 300,
    "refresh_token": "r-1",
    "scope": "read",
    "error": "invalid_grant",
    "error_description": "no",
}


def run_token(example: tuple[int, bytes, bool, list[str]]) -> object:
    from agentfetch.oauth.tokens import (
        ClientIdentity,
        parse_token_response,
        revocation_wants_secret_field,
    )
    from agentfetch.store import TokenSet

    status, content, with_previous, scopes = example
    previous = TokenSet(access_token="old", refresh_token="r-0", scope="read") if with_previous else None
    answer = response(status, content)
    revocation_wants_secret_field(answer, ClientIdentity("c"))
    tokens = parse_token_response(answer, requested_scopes=tuple(scopes), previous=previous, now=1_000_000.0)
    if tokens.expires_at is not None and not math.isfinite(tokens.expires_at):
        raise AssertionError("a token with a non-finite expiry was accepted")
    return tokens


DEVICE_BASE = {
    "device_code": "dc-1",
    "user_code": "ABCD-EFGH",
    "verification_uri": ISSUER + "/device",
    "verification_uri_complete": ISSUER + "/device?user_code=ABCD-EFGH",
    "expires_in": 600,
    "interval": 5,
    "error": "invalid_client",
}


def run_device(example: tuple[int, bytes]) -> object:
    from agentfetch.oauth.rfc8628 import parse_device_authorization

    status, content = example
    device = parse_device_authorization(response(status, content, ISSUER + "/device"))
    if not (math.isfinite(device.expires_in) and math.isfinite(device.interval)):
        raise AssertionError("a non-finite device lifetime or interval was accepted")
    return device


def _callback_targets() -> st.SearchStrategy[tuple[str, dict[str, str], bool]]:
    value = st.one_of(short_text, st.just("STATE"), st.just(ISSUER))
    pairs = st.lists(st.tuples(st.sampled_from(["code", "state", "iss", "error", "error_description", "x"]), value),
                     max_size=5)
    target = st.one_of(
        pairs.map(lambda ps: "/callback?" + "&".join(f"{k}={v}" for k, v in ps)),
        st.builds(lambda p, q: p + q, st.sampled_from(["/callback", "//[zz]/callback", "/callback/", "*", ""]),
                  query),
        text,
    )
    params = st.dictionaries(st.sampled_from(["code", "state", "iss", "error", "error_description"]), value)
    return st.tuples(target, params, st.booleans())


def run_callback(example: tuple[str, dict[str, str], bool]) -> object:
    from agentfetch.oauth.authorize import AuthorizationRequest, code_from_callback
    from agentfetch.oauth.loopback import parse_callback

    target, params, iss_required = example
    request = AuthorizationRequest("http://as/authorize", REDIRECT_URI, ("read",), "STATE", "v" * 43)
    parsed = parse_callback(target)
    for candidate in (parsed, params):
        if candidate:
            try:
                code_from_callback(candidate, request=request, issuer=ISSUER, iss_required=iss_required)
            except AgentFetchError:
                pass
    return parsed


def run_urls(example: tuple[str, str]) -> object:
    from agentfetch._urls import (
        has_userinfo,
        is_loopback_host,
        normalised_path,
        origin,
        path_is_under,
        redact_url,
    )
    from agentfetch.oauth.binding import may_send_token, require_secure_endpoint

    a, b = example
    for url in (a, b):
        redact_url(url)
        has_userinfo(url)
        normalised_path(url)
        is_loopback_host(url)
        try:
            origin(url)
        except AgentFetchError:
            pass
        try:
            require_secure_endpoint(url, "endpoint")
        except AgentFetchError:
            pass
    path_is_under(a, b)
    return may_send_token(a, b)


def run_redaction(example: tuple[str, str, str]) -> object:
    """A secret in a query is never in the redacted text, however odd the URL around it."""
    from agentfetch._urls import redact_url

    prefix, key, suffix = example
    secret = "S3cr3tValue"
    url = f"{prefix}?{key}={secret}{suffix}"
    redacted = redact_url(url)
    if secret in redacted and secret not in prefix + suffix:
        raise AssertionError(f"secret left in {redacted!r}")
    return redacted


MEDIA = ["text/html", "TEXT/HTML", "application/xhtml+xml", "text/markdown", "text/plain", "application/json",
         "application/ld+json", "application/xml", "image/png", "application/octet-stream", "", "text/html;",
         "application/pdf", "text/x-markdown", "application/x-ndjson", "*/*", "text"]
CHARSETS = ["utf-8", "UTF-8", "utf-16", "utf-16-le", "utf-32", "utf-7", "latin-1", "ascii", "cp1252", "big5", "hz",
            "shift_jis", "base64", "rot13", "zlib", "bz2", "hex", "uu", "quopri", "idna", "punycode",
            "unicode_escape", "raw_unicode_escape", "mbcs", "x-user-defined", "\x00", "", "'utf-8'", '"utf-8"',
            "utf-8\x1b", "utf_8_sig", "cp65001", "undefined", "string_escape", "charmap"]


def _content_examples() -> st.SearchStrategy[tuple[str | None, bytes]]:
    content_type = st.one_of(
        st.none(),
        st.builds(lambda m, c: f"{m}; charset={c}", st.sampled_from(MEDIA), st.sampled_from(CHARSETS)),
        st.sampled_from(MEDIA),
        text,
    )
    body = st.one_of(
        st.binary(max_size=200),
        text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.builds(lambda c, t: f'<html><head><meta charset="{c}"><title>{t}</title></head><body><p>{t}</p>'
                               f"</body></html>".encode("utf-8", "surrogatepass"),
                  st.sampled_from(CHARSETS), text),
        st.sampled_from([b"\xef\xbb\xbf<p>x</p>", b"\xff\xfex\x00", b"\xfe\xff\x00x", b"%PDF-1.4 garbage",
                         b"\x1f\x8b\x08\x00", b'{"a": [1, 2', b"[" * 5000, b"a\x02"]),
    )
    return st.tuples(content_type, body, st.booleans())


def run_content(example: tuple[str | None, bytes, bool]) -> object:
    from agentfetch.content import convert
    from agentfetch.content._convert import parse_content_type

    content_type, body, truncated = example
    parse_content_type(content_type)
    return convert(body, content_type, "http://127.0.0.1:8000/page", body_truncated=truncated)


def _html_documents() -> st.SearchStrategy[tuple[str, bool, str | None]]:
    attribute_value = st.one_of(urls, short_text, st.sampled_from(["javascript:alert(1)", "http://[::1", "-1",
                                                                  "99999999999999999999", "1e400", "rtl", "0"]))
    attribute = st.builds(
        lambda n, v: f' {n}="{v}"',
        st.sampled_from(["href", "src", "srcset", "alt", "title", "class", "id", "lang", "dir", "colspan",
                         "rowspan", "start", "value", "content", "name", "property", "charset", "hidden", "style",
                         "role", "datetime", "data-src", "type"]),
        attribute_value,
    )
    tag = st.sampled_from(["html", "head", "title", "body", "main", "article", "nav", "header", "footer", "aside",
                           "p", "a", "img", "table", "tr", "td", "th", "thead", "tbody", "pre", "code", "math",
                           "mi", "mrow", "mfrac", "svg", "base", "meta", "link", "script", "style", "h1", "h2", "h6",
                           "ul", "ol", "li", "dl", "dt", "dd", "blockquote", "br", "hr", "details", "summary",
                           "iframe", "noscript", "template", "form", "input", "select", "sup", "sub", "del", "em",
                           "strong", "b", "i", "span", "div", "section", "figure", "figcaption", "picture",
                           "source", "time", "abbr", "kbd", "q", "x-custom"])
    node = st.recursive(
        text.map(lambda t: t.replace("<", "&lt;")),
        lambda children: st.builds(
            lambda t, attrs, kids, close: f"<{t}{''.join(attrs)}>{''.join(kids)}" + (f"</{t}>" if close else ""),
            tag, st.lists(attribute, max_size=3), st.lists(children, max_size=4), st.booleans(),
        ),
        max_leaves=25,
    )
    deep = st.builds(lambda t, n: f"<{t}>" * n + "deep" + f"</{t}>" * n,
                     st.sampled_from(["div", "blockquote", "ul><li", "table><tr><td", "b", "span", "ol"]),
                     st.sampled_from([10, 300, 1000, 3000]))
    json_ld = st.builds(lambda n: '<script type="application/ld+json">' + "[" * n + "]" * n + "</script><p>x</p>",
                        st.sampled_from([10, 5000, 100_000]))
    document = st.one_of(node, deep, json_ld, st.lists(node, max_size=3).map("".join), text)
    return st.tuples(document, st.booleans(), st.one_of(st.none(), urls))


def run_html(example: tuple[str, bool, str | None]) -> object:
    from agentfetch.content import convert, html_to_markdown

    document, full_page, url = example
    data = document.encode("utf-8", "surrogatepass")
    convert(data, "text/html; charset=utf-8", url if isinstance(url, str) else "http://127.0.0.1:8000/")
    return html_to_markdown(document, url, full_page=full_page)


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any] = field(repr=False)
    run: Callable[[Any], object] = field(repr=False)
    #: Relative cost: the long run gives a slow target proportionally fewer examples.
    weight: float = 1.0


def _response_examples(base: dict[str, Any]) -> st.SearchStrategy[tuple[int, bytes]]:
    return st.tuples(st.sampled_from(STATUSES), body_bytes(mutated(base, field_values)))


TARGETS: list[Target] = [
    Target("challenge (RFC 9110 §11.6.1)", _challenge_values(), run_challenge),
    Target("protected resource metadata (RFC 9728)",
           st.tuples(mutated(PRM_BASE, field_values), st.booleans(), st.one_of(st.just(REQUEST_URL), loopback_urls)),
           run_prm),
    Target("authorization server metadata (RFC 8414)",
           st.tuples(mutated(AS_BASE, field_values), st.one_of(st.none(), st.none(), urls)), run_as, weight=3.0),
    Target("registration response (RFC 7591)", _response_examples(REGISTRATION_BASE), run_registration, weight=1.5),
    Target("token response (RFC 6749 §5)",
           st.tuples(st.sampled_from(STATUSES), body_bytes(mutated(TOKEN_BASE, field_values)), st.booleans(),
                     st.lists(short_text, max_size=3)),
           run_token),
    Target("device authorization response (RFC 8628)", _response_examples(DEVICE_BASE), run_device, weight=1.5),
    Target("callback (loopback listener, state, iss)", _callback_targets(), run_callback),
    Target("URL helpers and token binding", st.tuples(urls, urls), run_urls),
    Target("URL redaction",
           st.tuples(urls.filter(lambda u: "?" not in u and "#" not in u), st.sampled_from(SECRET_KEYS[:-1]),
                     st.one_of(st.just(""), fragment, query.map(lambda q: "&" + q[1:]))),
           run_redaction),
    Target("Content-Type and charset", _content_examples(), run_content, weight=1.5),
    Target("HTML to Markdown", _html_documents(), run_html, weight=3.0),
]


def allocation(total: int) -> dict[str, int]:
    """Examples per target for a run of at least ``total``: fewer for the costly ones,
    so that each target gets about the same time."""
    shares = {target.name: 1 / target.weight for target in TARGETS}
    scale = total / sum(shares.values())
    return {name: math.ceil(share * scale) for name, share in shares.items()}


def check(target: Target, example: Any) -> None:
    """The property: ``target.run`` returns, or raises an AgentFetchError."""
    try:
        target.run(example)
    except AgentFetchError:
        pass


@dataclass
class Outcome:
    target: str
    tried: int = 0
    crashed: int = 0
    first_crash: str | None = None


#: What the long pytest run tried, printed at the end of the session (tests/fuzz/conftest.py).
OUTCOMES: list[Outcome] = []


def campaign(target: Target, examples: int, *, seed: int | None = None) -> Outcome:
    """Run ``examples`` examples of one target without stopping at a crash, and count."""
    outcome = Outcome(target.name)

    @settings(
        max_examples=examples, deadline=None, database=None,
        suppress_health_check=list(HealthCheck), phases=[Phase.generate], print_blob=False,
    )
    @given(target.strategy)
    def run(example: Any) -> None:
        outcome.tried += 1
        try:
            check(target, example)
        except Exception as exc:  # noqa: BLE001 - counting is the point
            outcome.crashed += 1
            if outcome.first_crash is None:
                import traceback

                frame = traceback.extract_tb(exc.__traceback__)[-1]
                outcome.first_crash = (
                    f"{type(exc).__name__}: {str(exc)[:200]} at {frame.filename}:{frame.lineno} on {example!r:.2000}"
                )

    (hypothesis_seed(seed)(run) if seed is not None else run)()
    return outcome
