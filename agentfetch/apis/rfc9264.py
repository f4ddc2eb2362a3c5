"""RFC 9264 link sets, in both formats, and the RFC 8288 ``Link`` header they share a syntax with.

``application/linkset`` (§4.1) is the ``Link`` header syntax with newlines
allowed between links; ``application/linkset+json`` (§4.2) groups the same
links by context (``anchor``) and relation type. Both parse to one flat list
of :class:`Link`, with every reference resolved against the document's URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urljoin

from ..errors import InvalidDocument

__all__ = [
    "LINKSET_JSON",
    "LINKSET_TEXT",
    "Link",
    "is_linkset_type",
    "links_from_json",
    "links_from_text",
    "parse_link_header",
    "parse_linkset",
    "to_json",
]

LINKSET_JSON = "application/linkset+json"
LINKSET_TEXT = "application/linkset"

#: RFC 8288 §2.1.1: registered relation types compare case-insensitively; extension types are URIs.
_URI_REL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


@dataclass(frozen=True)
class Link:
    """One typed link: ``context`` --``rel``--> ``href``, with its target attributes."""

    context: str
    rel: str
    href: str
    #: Target attributes (``type``, ``title``, ``hreflang``...): one string, or a list when repeated.
    attrs: dict[str, str | list[str]] = field(default_factory=dict, hash=False, compare=False)

    @property
    def type(self) -> str | None:
        value = self.attrs.get("type")
        return value if isinstance(value, str) else None

    @property
    def title(self) -> str | None:
        value = self.attrs.get("title*") or self.attrs.get("title")
        if isinstance(value, list):
            value = value[0] if value else None
        return value

    def to_dict(self) -> dict[str, object]:
        return {"href": self.href, **self.attrs}


def is_linkset_type(media_type: str | None) -> bool:
    media = (media_type or "").split(";")[0].strip().lower()
    return media in (LINKSET_JSON, LINKSET_TEXT)


def _rel_types(value: str) -> list[str]:
    return [rel if _URI_REL.match(rel) else rel.lower() for rel in value.split()]


# -- the Link header syntax (RFC 8288 §3, RFC 9264 §4.1) ---------------------------------------


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def skip(self, chars: str = " \t\r\n") -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def fail(self, why: str) -> InvalidDocument:
        return InvalidDocument(f"malformed link at character {self.pos + 1}: {why}")

    def uri(self) -> str:
        end = self.text.find(">", self.pos + 1)
        if self.peek() != "<" or end < 0:
            raise self.fail("expected <URI-reference>")
        value, self.pos = self.text[self.pos + 1:end], end + 1
        return value.strip()

    def token(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ' \t\r\n;,="<>':
            self.pos += 1
        return self.text[start:self.pos]

    def quoted(self) -> str:
        out, self.pos = [], self.pos + 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                return "".join(out)
            out.append(char)
        raise self.fail("unterminated quoted string")


def _ext_value(value: str) -> str:
    """RFC 8187 §3.2: ``charset'language'percent-encoded``."""
    charset, sep, rest = value.partition("'")
    if not sep:
        return value
    _, sep, encoded = rest.partition("'")
    if not sep:
        return value
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        return encoded


def links_from_text(text: str, base: str) -> list[Link]:
    """Links in the ``Link`` header syntax; newlines count as separators (RFC 9264 §4.1)."""
    scanner, links = _Scanner(text), list[Link]()
    while True:
        scanner.skip(" \t\r\n,")
        if scanner.done():
            return links
        target = scanner.uri()
        params: list[tuple[str, str]] = []
        while True:
            scanner.skip(" \t")
            if scanner.peek() != ";":
                break
            scanner.pos += 1
            scanner.skip(" \t")
            name = scanner.token().lower()
            if not name:
                raise scanner.fail("expected a parameter name after ';'")
            scanner.skip(" \t")
            value = ""
            if scanner.peek() == "=":
                scanner.pos += 1
                scanner.skip(" \t")
                value = scanner.quoted() if scanner.peek() == '"' else scanner.token()
            params.append((name, _ext_value(value) if name.endswith("*") else value))
        scanner.skip(" \t\r\n")
        # A newline alone also separates links in the document format (RFC 9264 §4.1).
        if not scanner.done() and scanner.peek() not in ",<":
            raise scanner.fail("expected ',' or a new line between links")
        links += _links_from_params(target, params, base)


def _links_from_params(target: str, params: list[tuple[str, str]], base: str) -> list[Link]:
    rels: list[str] = []
    anchor: str | None = None
    attrs: dict[str, str | list[str]] = {}
    for name, value in params:
        if name == "rel":
            if not rels:  # RFC 8288 §3.3: only the first rel parameter counts
                rels = _rel_types(value)
        elif name == "anchor":
            if anchor is None:
                anchor = value
        elif name in attrs:
            previous = attrs[name]
            attrs[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            attrs[name] = value
    # RFC 8288 §3.1-§3.2: both the target and the anchor are references against the document's URL.
    context = urljoin(base, anchor) if anchor is not None else base
    href = urljoin(base, target)
    return [Link(context, rel, href, dict(attrs)) for rel in rels]


def parse_link_header(values: list[str], base: str) -> list[Link]:
    """Every link in the ``Link`` header field lines of a response to ``base``."""
    return links_from_text(",".join(values), base)


# -- the JSON format (RFC 9264 §4.2) ------------------------------------------------------------


def _json_attrs(target: dict[str, object]) -> dict[str, str | list[str]]:
    attrs: dict[str, str | list[str]] = {}
    for name, value in target.items():
        if name == "href":
            continue
        if isinstance(value, str):
            attrs[name] = value
        elif isinstance(value, list):
            # §4.2.4.2: extension and internationalised attributes are arrays (of objects for "*").
            texts = [v if isinstance(v, str) else str(v.get("value", "")) for v in value
                     if isinstance(v, str) or (isinstance(v, dict) and "value" in v)]
            attrs[name] = texts[0] if len(texts) == 1 and name in ("title*",) else texts
        else:
            raise InvalidDocument(f"link target attribute {name!r} must be a string or an array")
    return attrs


def links_from_json(data: object, base: str) -> list[Link]:
    if not isinstance(data, dict) or not isinstance(data.get("linkset"), list):
        raise InvalidDocument('not a linkset: the JSON object has no "linkset" array (RFC 9264 §4.2.1)')
    links: list[Link] = []
    for context in data["linkset"]:
        if not isinstance(context, dict):
            raise InvalidDocument("a linkset context must be a JSON object")
        anchor = context.get("anchor", base)
        if not isinstance(anchor, str):
            raise InvalidDocument('"anchor" must be a string')
        context_url = urljoin(base, anchor)
        for rel, targets in context.items():
            if rel == "anchor":
                continue
            if not isinstance(targets, list):
                raise InvalidDocument(f"the targets of relation {rel!r} must be an array")
            for target in targets:
                if not isinstance(target, dict) or not isinstance(target.get("href"), str):
                    raise InvalidDocument(f'every target of {rel!r} needs an "href" string')
                href = urljoin(base, target["href"])
                links += [Link(context_url, rel_type, href, _json_attrs(target)) for rel_type in _rel_types(rel)]
    return links


def to_json(links: list[Link]) -> dict[str, object]:
    """The links grouped by context and relation, in first-seen order (RFC 9264 §4.2)."""
    contexts: dict[str, dict[str, list[dict[str, object]]]] = {}
    for link in links:
        contexts.setdefault(link.context, {}).setdefault(link.rel, []).append(link.to_dict())
    return {"linkset": [{"anchor": anchor, **rels} for anchor, rels in contexts.items()]}


def parse_linkset(body: bytes, content_type: str | None, base: str) -> list[Link]:
    """A linkset document in either format: the media type decides, else the first character."""
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidDocument("the linkset is not UTF-8") from None
    as_json = media == LINKSET_JSON or media.endswith("+json") or media == "application/json"
    if not as_json and media != LINKSET_TEXT:
        as_json = text.lstrip().startswith("{")
    if as_json:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidDocument(f"the linkset is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return links_from_json(data, base)
    return links_from_text(text, base)
