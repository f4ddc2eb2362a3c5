"""HTTP Message Signatures (RFC 9421) as Web Bot Auth uses them: signed agent requests.

Web Bot Auth (draft-ietf-webbotauth-httpsig-protocol) lets a server recognise
the *agent software* behind a request: the agent signs ``@authority`` and its
``Signature-Agent`` member with an Ed25519 key, and publishes the public key
at ``/.well-known/http-message-signatures-directory`` on the origin that
``Signature-Agent`` names. The signature identifies the agent, never the
human, and never replaces OAuth: the token still carries the person.

What is here, all of it opt-in (``--sign`` / ``[signing]``):

- :class:`SigningKey`: an Ed25519 key (RFC 8032), its JWK (RFC 8037) and its
  RFC 7638 thumbprint, which is the signature's ``keyid``.
- :func:`signature_base` and :class:`Component`: RFC 9421 §2.5, for the
  derived components of §2.2 and header fields (with ``;key`` for a Dictionary
  member, §2.1.2, and ``;req``, §2.4).
- :class:`WebBotAuthSigner`: the ``Signature-Agent``, ``Signature-Input`` and
  ``Signature`` headers for a request, tag ``web-bot-auth``.
- :func:`directory_document` and :func:`directory_response_headers`: the key
  directory to publish, and its possession proof (tag
  ``http-message-signatures-directory``).

Structured field values (RFC 9651) are parsed and serialised by ``http-sfv``,
imported only when something is signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ._urls import is_loopback_host
from .errors import UsageError

__all__ = [
    "DIRECTORY_MEDIA_TYPE",
    "DIRECTORY_PATH",
    "DIRECTORY_TAG",
    "WEB_BOT_AUTH_TAG",
    "Component",
    "SigningKey",
    "WebBotAuthSigner",
    "component_value",
    "content_digest",
    "directory_body",
    "directory_document",
    "directory_response_headers",
    "signature_base",
    "signature_params",
]

DIRECTORY_PATH = "/.well-known/http-message-signatures-directory"
DIRECTORY_MEDIA_TYPE = "application/http-message-signatures-directory+json"
WEB_BOT_AUTH_TAG = "web-bot-auth"
DIRECTORY_TAG = "http-message-signatures-directory"
#: RFC 9421 §3.3.6: the algorithm name for EdDSA over edwards25519.
ALG = "ed25519"
#: The draft recommends at most 24 hours; a signature covering only ``@authority`` can be
#: replayed against that authority until it expires, so agentfetch signs each request for minutes.
DEFAULT_LIFETIME = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SigningKey:
    """An Ed25519 signing key. Its private half leaves only through :meth:`to_secret`."""

    def __init__(self, private_key: Any) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> SigningKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any]) -> SigningKey:
        """A private OKP/Ed25519 JWK (RFC 8037 §2). Raises :class:`UsageError` otherwise."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        try:
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise ValueError("not an Ed25519 key")
            key = cls(Ed25519PrivateKey.from_private_bytes(_b64url_decode(str(jwk["d"]))))
            if "x" in jwk and jwk["x"] != key.public_jwk["x"]:
                raise ValueError("the public and private halves do not match")
        except (KeyError, ValueError, TypeError) as exc:
            raise UsageError(f"not a usable Ed25519 signing key: {exc}") from None
        return key

    @classmethod
    def from_secret(cls, text: str) -> SigningKey:
        try:
            jwk = json.loads(text)
        except ValueError:
            raise UsageError("the stored signing key is damaged") from None
        if not isinstance(jwk, dict):
            raise UsageError("the stored signing key is damaged")
        return cls.from_jwk(jwk)

    def to_secret(self) -> str:
        """The private JWK as JSON, for the credential store's secret vault only."""
        from cryptography.hazmat.primitives import serialization

        raw = self._private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return json.dumps({**self.public_jwk, "d": _b64url(raw)}, separators=(",", ":"))

    @property
    def public_jwk(self) -> dict[str, str]:
        from cryptography.hazmat.primitives import serialization

        raw = self._private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}

    @property
    def thumbprint(self) -> str:
        """RFC 7638 §3 over the required members (RFC 8037 Appendix A.3): the ``keyid``."""
        canonical = json.dumps(dict(sorted(self.public_jwk.items())), separators=(",", ":"))
        return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())

    def sign(self, message: bytes) -> bytes:
        return bytes(self._private.sign(message))

    def __repr__(self) -> str:
        return f"SigningKey(keyid={self.thumbprint!r})"


# -- RFC 9421 §2: components and the signature base ----------------------------------------------


@dataclass(frozen=True)
class Component:
    """A component identifier (§2): a derived name (``@authority``) or a header field name,
    with the ``key`` (§2.1.2) and ``req`` (§2.4) parameters."""

    name: str
    key: str | None = None
    req: bool = False

    def identifier(self) -> str:
        """The identifier as a serialised sf-string with its parameters (§2)."""
        from http_sfv import Item

        item = Item(self.name.lower())
        if self.key is not None:
            item.params["key"] = self.key
        if self.req:
            item.params["req"] = True
        return str(item)


def _field_values(headers: Mapping[str, str] | Sequence[tuple[str, str]], name: str) -> list[str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    if hasattr(headers, "multi_items"):  # httpx.Headers: every field line, not the joined value
        pairs = headers.multi_items()  # type: ignore[union-attr]
    return [value for key, value in pairs if key.lower() == name]


def component_value(component: Component, *, method: str, url: str,
                    headers: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """The component's value in a request (§2.1, §2.2). Raises ValueError when it is absent."""
    name = component.name.lower()
    parts = urlsplit(url)
    if name == "@method":
        return method.upper()
    if name == "@target-uri":
        return url
    if name == "@authority":
        host = (parts.hostname or "").lower()
        if ":" in host:
            host = f"[{host}]"
        port = parts.port
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        return host if port is None or port == default else f"{host}:{port}"
    if name == "@scheme":
        return parts.scheme.lower()
    if name == "@path":
        return parts.path or "/"
    if name == "@query":
        return "?" + parts.query
    if name == "@request-target":
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if name.startswith("@"):
        raise ValueError(f"unsupported derived component {name}")
    values = _field_values(headers, name)
    if not values:
        raise ValueError(f"the message has no {name} field")
    # §2.1: each field line's value trimmed, the lines joined with ", ".
    joined = ", ".join(v.strip() for v in values)
    if component.key is None:
        return joined
    from http_sfv import Dictionary

    dictionary = Dictionary()
    dictionary.parse(joined.encode("ascii"))
    if component.key not in dictionary:
        raise ValueError(f"the {name} field has no member {component.key}")
    return str(dictionary[component.key])


def signature_params(components: Sequence[Component], params: Sequence[tuple[str, int | str]]) -> str:
    """The ``@signature-params`` value (§2.3): the components as an inner list with the
    signature parameters, in the given order."""
    from http_sfv import InnerList, Item

    inner = InnerList()
    for component in components:
        item = Item(component.name.lower())
        if component.key is not None:
            item.params["key"] = component.key
        if component.req:
            item.params["req"] = True
        inner.append(item)
    for name, value in params:
        inner.params[name] = value
    return str(inner)


def signature_base(covered: Sequence[tuple[Component, str]], params: str) -> bytes:
    """§2.5: one ``identifier: value`` line per component, then ``"@signature-params"``."""
    lines = []
    for component, value in covered:
        if "\n" in value or "\r" in value:
            raise ValueError(f"component {component.name} contains a newline")
        lines.append(f"{component.identifier()}: {value}")
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode("utf-8")


def _signature_fields(label: str, params: str, signature: bytes) -> dict[str, str]:
    from http_sfv import Dictionary

    signature_field = Dictionary()
    signature_field[label] = signature
    return {"Signature-Input": f"{label}={params}", "Signature": str(signature_field)}


# -- Web Bot Auth: signed requests -----------------------------------------------------------------


def _check_agent_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        raise UsageError(f"the Signature-Agent URL must be https: {url[:200]}")
    if not parts.hostname or parts.username or parts.password or parts.fragment:
        raise UsageError(f"not a usable Signature-Agent URL: {url[:200]}")
    return url


class WebBotAuthSigner:
    """Signs requests as draft-ietf-webbotauth-httpsig-protocol says: components
    ``("@authority" "signature-agent";key=LABEL)``, parameters ``created``, ``keyid`` (the key's
    thumbprint), ``alg``, ``expires``, a fresh ``nonce`` (RFC 9421 §7.2.2) and
    ``tag="web-bot-auth"``; ``Signature-Agent`` is a Dictionary whose ``LABEL`` member is
    the agent's directory origin. ``agent_key`` names that member when it differs from the
    signature's label (the draft's test vectors do that)."""

    def __init__(self, key: SigningKey, agent_url: str, *, label: str = "sig1", agent_key: str | None = None,
                 lifetime: int = DEFAULT_LIFETIME) -> None:
        for name in (label, agent_key or label):
            if not name or not name[0].islower() or not all(c.islower() or c.isdigit() or c in "_-.*" for c in name):
                raise UsageError(f"not a structured-field key: {name!r}")
        if lifetime <= 0:
            raise UsageError("the signature lifetime must be positive")
        self.key = key
        self.agent_url = _check_agent_url(agent_url)
        self.label = label
        self.agent_key = agent_key or label
        self.lifetime = lifetime

    def signature_agent(self) -> str:
        from http_sfv import Dictionary

        field = Dictionary()
        field[self.agent_key] = self.agent_url
        return str(field)

    def headers(self, method: str, url: str, *, now: float | None = None, nonce: str | None = None,
                expires: int | None = None) -> dict[str, str]:
        """The three headers to add to a request for ``method`` ``url``."""
        created = int(now if now is not None else time.time())
        agent = self.signature_agent()
        components = (Component("@authority"), Component("signature-agent", key=self.agent_key))
        params = signature_params(components, [
            ("created", created),
            ("keyid", self.key.thumbprint),
            ("alg", ALG),
            ("expires", expires if expires is not None else created + self.lifetime),
            ("nonce", nonce if nonce is not None else base64.b64encode(secrets.token_bytes(32)).decode("ascii")),
            ("tag", WEB_BOT_AUTH_TAG),
        ])
        message_headers = [("signature-agent", agent)]
        covered = [(c, component_value(c, method=method, url=url, headers=message_headers)) for c in components]
        signature = self.key.sign(signature_base(covered, params))
        return {"Signature-Agent": agent, **_signature_fields(self.label, params, signature)}

    def sign(self, request: Any) -> None:
        """Add the headers to an ``httpx.Request`` (replacing any earlier signature)."""
        for name, value in self.headers(request.method, str(request.url)).items():
            request.headers[name] = value


# -- The key directory -------------------------------------------------------------------------------


def directory_document(keys: Iterable[SigningKey]) -> dict[str, Any]:
    """The JWK Set to serve at :data:`DIRECTORY_PATH`; each ``kid`` is the key's thumbprint."""
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": k.thumbprint, "x": k.public_jwk["x"], "use": "sig"}
                     for k in keys]}


def directory_body(keys: Iterable[SigningKey]) -> bytes:
    """The directory as compact JSON: the exact bytes :func:`directory_response_headers` digests."""
    return json.dumps(directory_document(keys), separators=(",", ":")).encode("utf-8")


def content_digest(body: bytes) -> str:
    """RFC 9530 ``Content-Digest`` with sha-256."""
    from http_sfv import Dictionary

    field = Dictionary()
    field["sha-256"] = hashlib.sha256(body).digest()
    return str(field)


def directory_response_headers(body: bytes, keys: Sequence[SigningKey], *, authority: str,
                               created: int | None = None, expires: int | None = None) -> dict[str, str]:
    """Headers for the directory response: its media type, ``Content-Digest`` and one possession
    proof per key, covering ``"@authority";req`` (the host the directory is fetched from) and
    ``content-digest``, tag ``http-message-signatures-directory``. Labels are ``binding``,
    ``binding2``, ..."""
    created = int(created if created is not None else time.time())
    expires = expires if expires is not None else created + 7 * 24 * 3600
    digest = content_digest(body)
    components = (Component("@authority", req=True), Component("content-digest"))
    inputs, signatures = [], []
    for index, key in enumerate(keys):
        label = "binding" if index == 0 else f"binding{index + 1}"
        params = signature_params(components, [
            ("created", created), ("expires", expires), ("keyid", key.thumbprint), ("tag", DIRECTORY_TAG),
        ])
        base = signature_base([(components[0], authority.lower()), (components[1], digest)], params)
        fields = _signature_fields(label, params, key.sign(base))
        inputs.append(fields["Signature-Input"])
        signatures.append(fields["Signature"])
    return {
        "Content-Type": DIRECTORY_MEDIA_TYPE,
        "Content-Digest": digest,
        "Signature-Input": ", ".join(inputs),
        "Signature": ", ".join(signatures),
    }
