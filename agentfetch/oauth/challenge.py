"""``WWW-Authenticate`` parsing: RFC 9110 §11.6.1, RFC 6750 §3, RFC 9449 §7.1 and RFC 9470 §3.

Grammar (RFC 9110)::

    WWW-Authenticate = #challenge
    challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
    auth-param  = token BWS "=" BWS ( token / quoted-string )
    token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="

Commas separate both challenges and their parameters, so a parameter list ends
where a token is *not* followed by ``=``. The header comes from a server we do
not trust yet: every malformed shape raises :class:`MalformedChallenge`, and
sizes are capped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import AuthorizationError

__all__ = [
    "BearerChallenge",
    "Challenge",
    "MalformedChallenge",
    "OAuthChallenge",
    "find_bearer",
    "find_challenges",
    "parse_challenges",
]

MAX_HEADER_LENGTH = 16 * 1024
MAX_PARAMS = 64

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_OWS = re.compile(r"[ \t]*")
_QDTEXT = re.compile(r"[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]+")


class MalformedChallenge(AuthorizationError):
    """The server's ``WWW-Authenticate`` header does not follow RFC 9110."""

    kind = "malformed_challenge"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower-cased: scheme names are case-insensitive
    params: dict[str, str] = field(default_factory=dict)  # names lower-cased
    token68: str | None = None


@dataclass(frozen=True)
class OAuthChallenge:
    """The parts of an OAuth challenge that matter: ``Bearer`` (RFC 6750 §3, RFC 9728 §5.1) or
    ``DPoP`` (RFC 9449 §7.1), which share their auth-params, plus ``algs`` (RFC 9449) and the
    step-up parameters ``acr_values`` and ``max_age`` (RFC 9470 §3)."""

    resource_metadata: str | None = None
    scopes: tuple[str, ...] = ()
    error: str | None = None
    error_description: str | None = None
    realm: str | None = None
    #: Lower-cased: ``"bearer"`` or ``"dpop"``.
    scheme: str = "bearer"
    #: RFC 9449 §7.1: the JWS algorithms the resource accepts in DPoP proofs.
    algs: tuple[str, ...] = ()
    #: RFC 9470 §3: the authentication context classes asked for, most preferred first.
    acr_values: tuple[str, ...] = ()
    #: RFC 9470 §3: the most seconds since the user last authenticated; None when absent
    #: or not a non-negative integer.
    max_age: int | None = None

    @property
    def insufficient_scope(self) -> bool:
        return self.error == "insufficient_scope"

    @property
    def insufficient_user_authentication(self) -> bool:
        return self.error == "insufficient_user_authentication"


#: The name the flow has always used; every OAuth challenge has the same shape.
BearerChallenge = OAuthChallenge


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> MalformedChallenge:
        return MalformedChallenge(f"malformed WWW-Authenticate header: {what} at offset {self.pos}")

    def skip(self, pattern: re.Pattern[str] = _OWS) -> None:
        match = pattern.match(self.text, self.pos)
        if match:
            self.pos = match.end()

    def skip_list_separators(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t,":
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def token(self) -> str | None:
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            return None
        self.pos = match.end()
        return match.group()

    def quoted_string(self) -> str:
        assert self.text[self.pos] == '"'
        self.pos += 1
        out: list[str] = []
        while True:
            match = _QDTEXT.match(self.text, self.pos)
            if match:
                out.append(match.group())
                self.pos = match.end()
            char = self.peek()
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if not escaped or not (escaped in "\t " or "\x21" <= escaped <= "\x7e" or escaped >= "\x80"):
                    raise self.error("bad escape in quoted string")
                out.append(escaped)
                self.pos += 2
                continue
            if not char:
                raise self.error("unterminated quoted string")
            raise self.error("control character in quoted string")

    def looks_like_param(self) -> bool:
        """Is the next thing ``token BWS "="`` (and not a token68's trailing ``=``)?"""
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            return False
        rest = _OWS.match(self.text, match.end())
        after = rest.end() if rest else match.end()
        if self.text[after : after + 1] != "=":
            return False
        # "abc==" is a token68, not a parameter with an empty name-value.
        value_start = _OWS.match(self.text, after + 1)
        nxt = self.text[value_start.end() : value_start.end() + 1] if value_start else ""
        return nxt not in ("=", ",", "")

    def challenge(self) -> Challenge:
        scheme = self.token()
        if scheme is None:
            raise self.error("expected an auth-scheme")
        if self.at_end() or self.peek() == ",":
            return Challenge(scheme.lower())
        if self.peek() not in " \t":
            raise self.error("expected a space after the auth-scheme")
        self.skip()
        if self.at_end() or self.peek() == ",":
            return Challenge(scheme.lower())
        if not self.looks_like_param():
            match = _TOKEN68.match(self.text, self.pos)
            if not match:
                raise self.error("expected token68 or auth-param")
            self.pos = match.end()
            self.skip()
            if not (self.at_end() or self.peek() == ","):
                raise self.error("junk after token68")
            return Challenge(scheme.lower(), token68=match.group())
        params: dict[str, str] = {}
        while True:
            name = self.token()
            assert name is not None  # looks_like_param() said so
            self.skip()
            self.pos += 1  # "="
            self.skip()
            value: str | None
            if self.peek() == '"':
                value = self.quoted_string()
            else:
                value = self.token()
                if value is None:
                    raise self.error(f"missing value for {name!r}")
            name = name.lower()
            if name in params:
                # RFC 9110: each parameter name MUST only occur once; two
                # resource_metadata values would be ambiguous, so refuse.
                raise self.error(f"duplicate parameter {name!r}")
            if len(params) >= MAX_PARAMS:
                raise self.error("too many parameters")
            params[name] = value
            self.skip()
            if self.at_end():
                break
            if self.peek() != ",":
                raise self.error("expected ',' between parameters")
            self.skip_list_separators()
            if self.at_end() or not self.looks_like_param():
                break
        return Challenge(scheme.lower(), params=params)


def parse_challenges(header_values: Iterable[str]) -> list[Challenge]:
    """Every challenge in every ``WWW-Authenticate`` header value, in order."""
    challenges: list[Challenge] = []
    total = 0
    for value in header_values:
        total += len(value)
        if total > MAX_HEADER_LENGTH:
            raise MalformedChallenge("WWW-Authenticate header is too large")
        parser = _Parser(value)
        parser.skip_list_separators()
        while not parser.at_end():
            challenges.append(parser.challenge())
            parser.skip_list_separators()
    return challenges


def find_challenges(
    header_values: Iterable[str], schemes: tuple[str, ...] = ("bearer", "dpop")
) -> list[OAuthChallenge]:
    """Every challenge whose scheme is one of ``schemes`` (lower-case), in header order.

    A header we cannot parse is skipped when another header carries a wanted
    challenge; when none does, the parse error is raised so the user learns why
    authorization did not start.
    """
    first_error: MalformedChallenge | None = None
    found: list[OAuthChallenge] = []
    for value in header_values:
        try:
            challenges = parse_challenges([value])
        except MalformedChallenge as exc:
            first_error = first_error or exc
            continue
        found += [_oauth(c) for c in challenges if c.scheme in schemes]
    if not found and first_error is not None:
        raise first_error
    return found


def find_bearer(header_values: Iterable[str]) -> OAuthChallenge | None:
    """The ``Bearer`` challenge among all headers, or None when there is none (see :func:`find_challenges`)."""
    found = find_challenges(header_values, schemes=("bearer",))
    return found[0] if found else None


def _words(value: str | None) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


def _oauth(challenge: Challenge) -> OAuthChallenge:
    params = challenge.params
    max_age = params.get("max_age", "")
    return OAuthChallenge(
        resource_metadata=params.get("resource_metadata") or None,
        scopes=_words(params.get("scope")),
        error=params.get("error") or None,
        error_description=params.get("error_description") or None,
        realm=params.get("realm"),
        scheme=challenge.scheme,
        algs=_words(params.get("algs")),
        acr_values=_words(params.get("acr_values")),
        max_age=int(max_age) if max_age.isascii() and max_age.isdigit() else None,
    )
