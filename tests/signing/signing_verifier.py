"""An RFC 9421 verifier written for the tests from the RFC's text, independent of agentfetch.rfc9421.

It parses the structured fields itself (RFC 9651 §4.2, only the types signatures use:
Dictionaries of Inner Lists of Strings with parameters, Integers, Strings, Tokens,
Booleans and Byte Sequences), rebuilds the signature base (§2.5) and checks the
Ed25519 signature (§3.3.6) with ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_INTEGER = re.compile(r"-?[0-9]{1,15}")


class Invalid(Exception):
    pass


@dataclass
class Member:
    value: Any
    params: dict[str, Any] = field(default_factory=dict)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str = " ") -> None:
        while self.peek() and self.peek() in chars:
            self.pos += 1

    def match(self, pattern: re.Pattern[str]) -> str:
        found = pattern.match(self.text, self.pos)
        if not found:
            raise Invalid(f"unexpected {self.text[self.pos:self.pos + 10]!r}")
        self.pos = found.end()
        return found.group()

    def bare_item(self) -> Any:
        char = self.peek()
        if char == '"':
            self.pos += 1
            out = []
            while True:
                char = self.peek()
                if not char:
                    raise Invalid("unterminated string")
                self.pos += 1
                if char == "\\":
                    out.append(self.peek())
                    self.pos += 1
                elif char == '"':
                    return "".join(out)
                else:
                    out.append(char)
        if char == ":":
            end = self.text.index(":", self.pos + 1)
            value = base64.b64decode(self.text[self.pos + 1:end], validate=True)
            self.pos = end + 1
            return value
        if char == "?":
            self.pos += 2
            return self.text[self.pos - 1] == "1"
        if char == "-" or char.isdigit():
            return int(self.match(_INTEGER))
        return ("token", self.match(_TOKEN))

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip()
            name = self.match(_KEY)
            params[name] = True
            if self.peek() == "=":
                self.pos += 1
                params[name] = self.bare_item()
        return params

    def member(self) -> Member:
        if self.peek() == "(":
            self.pos += 1
            items = []
            while True:
                self.skip()
                if self.peek() == ")":
                    self.pos += 1
                    break
                items.append(Member(self.bare_item(), self.params()))
            return Member(items, self.params())
        return Member(self.bare_item(), self.params())

    def dictionary(self) -> dict[str, Member]:
        out: dict[str, Member] = {}
        while True:
            self.skip()
            name = self.match(_KEY)
            if self.peek() == "=":
                self.pos += 1
                out[name] = self.member()
            else:
                out[name] = Member(True, self.params())
            self.skip(" \t")
            if not self.peek():
                return out
            if self.peek() != ",":
                raise Invalid("expected ','")
            self.pos += 1


def parse_dictionary(text: str) -> dict[str, Member]:
    return _Reader(text).dictionary()


def _raw_member(text: str, key: str) -> str:
    """A Dictionary member's value re-serialised (RFC 9421 §2.1.2), for the String members we sign."""
    value = parse_dictionary(text)[key].value
    if not isinstance(value, str):
        raise Invalid("only String members are supported here")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 §3 for an OKP key (RFC 8037 Appendix A.3)."""
    canonical = f'{{"crv":"{jwk["crv"]}","kty":"{jwk["kty"]}","x":"{jwk["x"]}"}}'
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def _value(name: str, params: dict[str, Any], method: str, url: str, headers: dict[str, str]) -> str:
    parts = urlsplit(url)
    if name == "@method":
        return method
    if name == "@authority":
        default = {"http": 80, "https": 443}[parts.scheme]
        host = parts.hostname or ""
        return host if parts.port in (None, default) else f"{host}:{parts.port}"
    if name == "@path":
        return parts.path or "/"
    if name == "@target-uri":
        return url
    lowered = {k.lower(): v for k, v in headers.items()}
    if name not in lowered:
        raise Invalid(f"covered field {name} is missing")
    value = lowered[name].strip()
    return _raw_member(value, params["key"]) if "key" in params else value


def _serialise_params(params: dict[str, Any]) -> str:
    out = []
    for name, value in params.items():
        if value is True:
            out.append(f";{name}")
        elif isinstance(value, int):
            out.append(f";{name}={value}")
        else:
            out.append(f';{name}="{value}"')
    return "".join(out)


@dataclass
class Verified:
    label: str
    keyid: str
    params: dict[str, Any]
    covered: list[str]


def verify(*, method: str, url: str, headers: dict[str, str], public_jwk: dict[str, str], label: str,
           now: int | None = None) -> Verified:
    """RFC 9421 §3.2 for one signature label; raises :class:`Invalid` on any failure."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    lowered = {k.lower(): v for k, v in headers.items()}
    inputs = parse_dictionary(lowered["signature-input"])
    signatures = parse_dictionary(lowered["signature"])
    if label not in inputs or label not in signatures:
        raise Invalid(f"no signature labelled {label}")
    signature_input, signature = inputs[label], signatures[label].value
    lines, covered = [], []
    for item in signature_input.value:
        name = item.value
        identifier = f'"{name}"' + _serialise_params(item.params)
        covered.append(identifier)
        lines.append(f"{identifier}: {_value(name, item.params, method, url, headers)}")
    # §2.3: the @signature-params line is the Signature-Input member exactly as sent.
    raw_input = re.match(rf"(?:.*?,\s*)?{re.escape(label)}=(\(.*?\)(?:;[^,]*)*)", lowered["signature-input"])
    assert raw_input is not None
    lines.append(f'"@signature-params": {raw_input.group(1)}')
    base = "\n".join(lines).encode()
    params = signature_input.params
    if params.get("alg", "ed25519") != "ed25519":
        raise Invalid("not an ed25519 signature")
    key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(public_jwk["x"] + "=="))
    try:
        key.verify(signature, base)
    except InvalidSignature:
        raise Invalid("the signature does not verify") from None
    if now is not None:
        if params.get("created", 0) > now + 5:
            raise Invalid("created is in the future")
        if "expires" in params and params["expires"] < now:
            raise Invalid("the signature expired")
    return Verified(label, str(params.get("keyid")), params, covered)


def directory_keys(body: bytes) -> list[dict[str, str]]:
    return json.loads(body)["keys"]
