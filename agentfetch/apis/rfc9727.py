"""RFC 9727 API catalogs: find a host's catalog, follow nested ones, list and describe each API.

The protocol is a generator (as in the OAuth core): it yields a :class:`Fetch`
and receives the fetched document, or the :class:`~agentfetch.errors.AgentFetchError`
fetching it raised, so one piece of code serves the sync and the async
fetcher, and every request goes through the fetcher's client, redirect policy
and OAuth flow.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Union
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..errors import AgentFetchError, DocumentTooLarge, HTTPStatusError, InvalidDocument
from .openapi import ApiDescription, parse_description
from .rfc9264 import (
    LINKSET_JSON,
    LINKSET_TEXT,
    Link,
    is_linkset_type,
    parse_link_header,
    parse_linkset,
    to_json,
)

if TYPE_CHECKING:
    from ..api import FetchResult

__all__ = [
    "MAX_CATALOG_BYTES",
    "MAX_DEPTH",
    "MAX_DESCRIPTION_BYTES",
    "WELL_KNOWN_PATH",
    "ApiCatalog",
    "ApiEntry",
    "CatalogVisit",
    "Discovery",
    "Fetch",
]

WELL_KNOWN_PATH = "/.well-known/api-catalog"
#: How many catalogs deep nesting is followed (the host's catalog is depth 0).
MAX_DEPTH = 3
#: A catalog larger than this is refused (1 MB: thousands of APIs).
MAX_CATALOG_BYTES = 1_000_000
#: A description larger than this is refused for its API (8 MB: the largest public OpenAPI documents).
MAX_DESCRIPTION_BYTES = 8_000_000
#: At most this many catalogs are read in one discovery, however wide the nesting.
MAX_CATALOGS = 50

API_RELATIONS = ("service-desc", "service-doc", "status", "service-meta")
CATALOG_ACCEPT = f"{LINKSET_JSON}, {LINKSET_TEXT};q=0.9, application/json;q=0.5"
PAGE_ACCEPT = f"{LINKSET_JSON}, {LINKSET_TEXT};q=0.9, text/html;q=0.8, application/json;q=0.5, */*;q=0.1"
DESCRIPTION_ACCEPT = ("application/vnd.oai.openapi+json, application/json;q=0.9, application/vnd.oai.openapi;q=0.9, "
                      "application/yaml;q=0.8, text/yaml;q=0.7, */*;q=0.1")


@dataclass(frozen=True)
class Fetch:
    """A GET the driver performs with the fetcher, as ``fetcher.fetch(url, raw=True, headers=...)``."""

    url: str
    accept: str


Outcome = Union["FetchResult", AgentFetchError]
Flow = Generator[Fetch, Outcome, "ApiCatalog"]


@dataclass
class CatalogVisit:
    """One catalog met during discovery, read or not."""

    url: str
    depth: int
    #: How it was found: ``direct``, ``well-known``, ``link-header``, ``html-link``, ``api-catalog`` or ``item``.
    via: str
    final_url: str | None = None
    #: ``"json"`` or ``"text"`` (RFC 9264 §4.2 / §4.1) once read.
    format: str | None = None
    error: AgentFetchError | None = None
    #: Why it was not read: ``"already visited"`` (a loop) or ``"depth limit"``.
    skipped: str | None = None

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"url": self.url, "depth": self.depth, "via": self.via}
        if self.final_url and self.final_url != self.url:
            data["final_url"] = self.final_url
        if self.format:
            data["format"] = self.format
        if self.error is not None:
            data["error"] = self.error.to_dict()
        if self.skipped:
            data["skipped"] = self.skipped
        return data


@dataclass
class ApiEntry:
    """One API a catalog lists, with the links RFC 9727 §4 names for it."""

    anchor: str
    title: str | None
    #: The catalog that listed it.
    catalog: str
    links: dict[str, list[Link]] = field(default_factory=dict)
    #: Set by ``describe``: the summary of its first usable ``service-desc``...
    description: ApiDescription | None = None
    #: ...its URL...
    description_url: str | None = None
    #: ...or why it could not be described.
    error: AgentFetchError | None = None

    def hrefs(self, rel: str) -> list[str]:
        return [link.href for link in self.links.get(rel, ())]

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"anchor": self.anchor, "title": self.title, "catalog": self.catalog}
        for rel in API_RELATIONS:
            data[rel] = [link.to_dict() for link in self.links.get(rel, ())]
        if self.description is not None:
            data["description"] = {"url": self.description_url, **self.description.to_dict()}
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data


@dataclass
class ApiCatalog:
    """What :func:`~agentfetch.discover_apis` found: the catalogs read, the APIs, the merged linkset."""

    url: str
    catalogs: list[CatalogVisit] = field(default_factory=list)
    apis: list[ApiEntry] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    @property
    def errors(self) -> list[tuple[str, AgentFetchError]]:
        """Every catalog and API that failed, with its error."""
        found = [(visit.url, visit.error) for visit in self.catalogs if visit.error is not None]
        return found + [(api.anchor, api.error) for api in self.apis if api.error is not None]

    def linkset(self) -> dict[str, object]:
        """The links of every catalog read, merged into one RFC 9264 JSON linkset."""
        return to_json(self.links)

    def to_dict(self) -> dict[str, object]:
        return {
            "url": self.url,
            "catalogs": [visit.to_dict() for visit in self.catalogs],
            "apis": [api.to_dict() for api in self.apis],
            "linkset": self.linkset()["linkset"],
        }

    def to_markdown(self) -> str:
        read = [v for v in self.catalogs if v.format]
        lines = [f"# APIs at {self.url}", ""]
        lines.append("Catalogs: " + (", ".join(f"{v.final_url or v.url} ({v.format})" for v in read) or "none read"))
        lines += ["", "| API | title | service-desc | service-doc | status | service-meta |", "|---" * 6 + "|"]
        for api in self.apis:
            cells = [api.anchor, api.title or ""] + [", ".join(api.hrefs(rel)) for rel in API_RELATIONS]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        if not self.apis:
            lines.append("| (none listed) | | | | | |")
        problems = [v for v in self.catalogs if v.error is not None or v.skipped]
        if problems:
            lines += ["", "Not read:"]
            lines += [f"- catalog {v.url}: {v.error if v.error is not None else v.skipped}" for v in problems]
        for api in self.apis:
            if api.description is None and api.error is None:
                continue
            lines += ["", f"## {api.title or api.description and api.description.title or api.anchor}", ""]
            if api.error is not None:
                lines.append(f"Not described: {api.error}")
            elif api.description is not None:
                lines += [f"`{api.anchor}` · description {api.description_url}", "", api.description.to_markdown()]
        return "\n".join(lines).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _normal(url: str) -> str:
    """A URL as a loop-detection key: scheme and host lower-cased, default port and fragment dropped."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


class _CatalogLinkFinder(HTMLParser):
    """``<link rel="api-catalog" href="...">`` in an HTML page, honouring ``<base href>``."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "base" and values.get("href") and self.found is None:
            self.base = urljoin(self.base, values["href"])
        elif (tag == "link" and self.found is None and values.get("href")
              and "api-catalog" in values.get("rel", "").lower().split()):
            self.found = urljoin(self.base, values["href"])


def _is_html(result: FetchResult) -> bool:
    media = (result.content_type or "").split(";")[0].strip().lower()
    return media in ("text/html", "application/xhtml+xml")


def _looks_like_linkset(result: FetchResult) -> bool:
    if is_linkset_type(result.content_type):
        return True
    media = (result.content_type or "").split(";")[0].strip().lower()
    body = result.body or b""
    return media == "application/json" and body.lstrip()[:1] == b"{" and b'"linkset"' in body


class Discovery:
    """The discovery protocol for one URL; :meth:`run` is the generator a driver steps through."""

    def __init__(
        self,
        *,
        max_depth: int = MAX_DEPTH,
        max_catalog_bytes: int = MAX_CATALOG_BYTES,
        max_description_bytes: int = MAX_DESCRIPTION_BYTES,
        describe: bool = False,
    ) -> None:
        if max_depth < 0:
            raise ValueError("max_depth must not be negative")
        self.max_depth = max_depth
        self.max_catalog_bytes = max_catalog_bytes
        self.max_description_bytes = max_description_bytes
        self.describe = describe

    # -- finding the host's catalog (RFC 9727 §3) ----------------------------------------------

    def _catalog_link(self, result: FetchResult) -> tuple[str, str] | None:
        """The catalog a response points at: its ``Link`` header first, then an HTML ``<link>``."""
        base = result.final_url
        values = result.header_values("link")
        if values:
            try:
                links = parse_link_header(values, base)
            except InvalidDocument:
                links = []  # a malformed Link header: look at the page instead
            for link in links:
                if link.rel == "api-catalog":
                    return link.href, "link-header"
        if _is_html(result) and result.body:
            finder = _CatalogLinkFinder(base)
            finder.feed(result.body.decode(errors="replace"))
            if finder.found:
                return finder.found, "html-link"
        return None

    def _find(self, url: str) -> Generator[Fetch, Outcome, tuple[str, str, FetchResult | None]]:
        """The host's catalog: (URL, how it was found, its response when already fetched)."""
        well_known = _origin(url) + WELL_KNOWN_PATH
        at_root = urlsplit(url).path in ("", "/") and not urlsplit(url).query
        tried_well_known: AgentFetchError | FetchResult | None = None
        if at_root or _normal(url) == _normal(well_known):
            tried_well_known = yield Fetch(well_known, CATALOG_ACCEPT)
            if not isinstance(tried_well_known, AgentFetchError) and _looks_like_linkset(tried_well_known):
                return well_known, "direct" if _normal(url) == _normal(well_known) else "well-known", tried_well_known
            if isinstance(tried_well_known, AgentFetchError) and not isinstance(tried_well_known, HTTPStatusError):
                raise tried_well_known  # authorization, network: the human must hear of it
            if _normal(url) == _normal(well_known):
                raise InvalidDocument(f"{well_known} is not an API catalog (no linkset)")
        page = yield Fetch(url, PAGE_ACCEPT)
        if isinstance(page, AgentFetchError):
            raise page
        if _looks_like_linkset(page):
            return page.final_url, "direct", page
        pointed = self._catalog_link(page)
        if pointed is not None:
            return pointed[0], pointed[1], None
        if tried_well_known is None:
            tried_well_known = yield Fetch(well_known, CATALOG_ACCEPT)
            if not isinstance(tried_well_known, AgentFetchError) and _looks_like_linkset(tried_well_known):
                return well_known, "well-known", tried_well_known
            if isinstance(tried_well_known, AgentFetchError) and not isinstance(tried_well_known, HTTPStatusError):
                raise tried_well_known
        why = (f"answered {tried_well_known.status}" if isinstance(tried_well_known, HTTPStatusError)
               else "is not a linkset")
        raise HTTPStatusError(
            f"no API catalog found: {well_known} {why} and {url} links none (RFC 9727 §3)",
            status=tried_well_known.status if isinstance(tried_well_known, HTTPStatusError) else 404,
            url=well_known,
        )

    # -- reading catalogs --------------------------------------------------------------------

    def _read(self, visit: CatalogVisit, result: FetchResult) -> list[Link]:
        if result.body_truncated or len(result.body or b"") > self.max_catalog_bytes:
            raise DocumentTooLarge(f"the API catalog {visit.url} is larger than {self.max_catalog_bytes} bytes")
        try:
            links = parse_linkset(result.body or b"", result.content_type, result.final_url)
        except InvalidDocument as exc:
            raise InvalidDocument(f"the API catalog {visit.url}: {exc.message}") from None
        media = (result.content_type or "").split(";")[0].strip().lower()
        visit.format = "text" if media == LINKSET_TEXT or not (result.body or b"").lstrip().startswith(b"{") else "json"
        return links

    def run(self, url: str) -> Flow:
        catalog = ApiCatalog(url)
        root, via, prefetched = yield from self._find(url)
        queue: deque[tuple[str, int, str, FetchResult | None]] = deque([(root, 0, via, prefetched)])
        visited: set[str] = set()
        seen_apis: dict[str, ApiEntry] = {}
        while queue:
            target, depth, via, result = queue.popleft()
            visit = CatalogVisit(target, depth, via)
            if _normal(target) in visited:
                visit.skipped = "already visited"
                catalog.catalogs.append(visit)
                continue
            if depth > self.max_depth or len(visited) >= MAX_CATALOGS:
                visit.skipped = "depth limit" if depth > self.max_depth else f"more than {MAX_CATALOGS} catalogs"
                catalog.catalogs.append(visit)
                continue
            visited.add(_normal(target))
            catalog.catalogs.append(visit)
            if result is None:
                outcome = yield Fetch(target, CATALOG_ACCEPT)
            else:
                outcome = result
            try:
                if isinstance(outcome, AgentFetchError):
                    raise outcome
                visit.final_url = outcome.final_url
                visited.add(_normal(outcome.final_url))
                links = self._read(visit, outcome)
            except AgentFetchError as exc:
                if depth == 0:
                    raise  # nothing to list without the host's own catalog
                visit.error = exc
                continue
            catalog.links += links
            here = {_normal(target), _normal(outcome.final_url)}
            for href, rel in self._nested(links, here):
                queue.append((href, depth + 1, rel, None))
            for api in self._apis(links, here, outcome.final_url):
                key = _normal(api.anchor)
                if key not in seen_apis:
                    seen_apis[key] = api
                    catalog.apis.append(api)
        if self.describe:
            for api in catalog.apis:
                yield from self._describe(api)
        return catalog

    @staticmethod
    def _catalog_contexts(links: list[Link], here: set[str]) -> set[str]:
        """The contexts that stand for the catalog itself rather than for an API."""
        contexts = set(here)
        by_context: dict[str, set[str]] = {}
        for link in links:
            by_context.setdefault(_normal(link.context), set()).add(link.rel)
        for context, rels in by_context.items():
            if rels and not rels & set(API_RELATIONS) and rels <= {"item", "api-catalog", "linkset", "self"}:
                contexts.add(context)
        return contexts

    def _nested(self, links: list[Link], here: set[str]) -> list[tuple[str, str]]:
        """Nested catalogs: ``api-catalog`` links, and ``item`` links of the catalog that are linksets."""
        contexts = self._catalog_contexts(links, here)
        nested: list[tuple[str, str]] = []
        for link in links:
            if _normal(link.href) in here:
                continue  # a catalog naming itself is not a loop worth reporting
            if link.rel == "api-catalog":
                nested.append((link.href, "api-catalog"))
            elif link.rel == "item" and _normal(link.context) in contexts and (
                is_linkset_type(link.type) or urlsplit(link.href).path.endswith(WELL_KNOWN_PATH)
            ):
                nested.append((link.href, "item"))
        return nested

    def _apis(self, links: list[Link], here: set[str], catalog_url: str) -> list[ApiEntry]:
        contexts = self._catalog_contexts(links, here)
        nested = {_normal(href) for href, _ in self._nested(links, here)}
        titles: dict[str, str] = {}
        for link in links:
            if link.rel == "item" and link.title and _normal(link.href) not in titles:
                titles[_normal(link.href)] = link.title
        apis: dict[str, ApiEntry] = {}
        for link in links:
            key = _normal(link.context)
            if key in contexts or link.rel not in API_RELATIONS:
                continue
            api = apis.setdefault(key, ApiEntry(link.context, titles.get(key), catalog_url))
            api.links.setdefault(link.rel, []).append(link)
        # Items of the catalog that no context describes are APIs known only by their URL (RFC 9727 §4.1).
        for link in links:
            key = _normal(link.href)
            if (link.rel == "item" and _normal(link.context) in contexts and key not in apis and key not in nested
                    and key not in here):
                apis[key] = ApiEntry(link.href, link.title, catalog_url)
        for api in apis.values():
            if api.title is None:
                api.title = next((lk.title for rel in ("service-doc", "service-desc")
                                  for lk in api.links.get(rel, ()) if lk.title), None)
        return list(apis.values())

    # -- describing (service-desc) -----------------------------------------------------------

    @staticmethod
    def _pick_description(api: ApiEntry) -> Link | None:
        candidates = api.links.get("service-desc", [])

        def rank(link: Link) -> int:
            media = (link.type or "").lower()
            return 0 if "openapi" in media else 1 if "json" in media or "yaml" in media else 2

        return min(candidates, key=rank) if candidates else None

    def _describe(self, api: ApiEntry) -> Generator[Fetch, Outcome, None]:
        link = self._pick_description(api)
        if link is None:
            return
        api.description_url = link.href
        outcome = yield Fetch(link.href, DESCRIPTION_ACCEPT)
        try:
            if isinstance(outcome, AgentFetchError):
                raise outcome
            if outcome.body_truncated or len(outcome.body or b"") > self.max_description_bytes:
                raise DocumentTooLarge(
                    f"the description {link.href} is larger than {self.max_description_bytes} bytes")
            api.description = parse_description(outcome.body or b"", outcome.content_type, outcome.final_url)
        except DocumentTooLarge as exc:
            api.error = exc
        except InvalidDocument as exc:
            api.error = InvalidDocument(f"{link.href}: {exc.message}")
        except AgentFetchError as exc:
            api.error = exc
