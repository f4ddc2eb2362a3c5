"""API discovery: RFC 9727 catalogs, RFC 9264 link sets and OpenAPI summaries.

``discover_apis(url)`` finds a host's API catalog (``/.well-known/api-catalog``,
a ``Link: <…>; rel="api-catalog"`` header or an HTML ``<link rel="api-catalog">``),
follows nested catalogs up to ``max_depth`` without looping, and lists each
API; with ``describe=True`` it also fetches each API's ``service-desc`` and
summarises OpenAPI 3.x (JSON or YAML). Every request goes through a
:class:`~agentfetch.Fetcher` (or :class:`~agentfetch.AsyncFetcher`), so a
protected catalog is authorized through the same OAuth flow as a page::

    from agentfetch import discover_apis

    catalog = discover_apis("https://wiki.corp.example/", describe=True, consent="allow")
    for api in catalog.apis:
        print(api.anchor, api.title, api.error or api.description.operations)
    print(catalog.to_markdown())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import AgentFetchError, UsageError
from .openapi import ApiDescription, Operation, parse_description
from .rfc9264 import Link, parse_linkset
from .rfc9727 import (
    MAX_CATALOG_BYTES,
    MAX_DEPTH,
    MAX_DESCRIPTION_BYTES,
    WELL_KNOWN_PATH,
    ApiCatalog,
    ApiEntry,
    CatalogVisit,
    Discovery,
    Fetch,
    Flow,
)

if TYPE_CHECKING:
    from ..api import AsyncFetcher, Fetcher

__all__ = [
    "MAX_CATALOG_BYTES",
    "MAX_DEPTH",
    "MAX_DESCRIPTION_BYTES",
    "WELL_KNOWN_PATH",
    "ApiCatalog",
    "ApiDescription",
    "ApiEntry",
    "CatalogVisit",
    "Link",
    "Operation",
    "adiscover_apis",
    "discover_apis",
    "parse_description",
    "parse_linkset",
]


def _discovery(describe: bool, max_depth: int, max_catalog_bytes: int, max_description_bytes: int) -> Discovery:
    if max_depth < 0:
        raise UsageError("max_depth must not be negative")
    if max_catalog_bytes <= 0 or max_description_bytes <= 0:
        raise UsageError("size caps must be positive")
    return Discovery(max_depth=max_depth, max_catalog_bytes=max_catalog_bytes,
                     max_description_bytes=max_description_bytes, describe=describe)


def _check_options(fetcher: object, options: dict[str, Any]) -> None:
    if fetcher is not None and options:
        raise UsageError(f"pass fetcher options ({', '.join(sorted(options))}) to the fetcher, not with one")


def discover_apis(
    url: str,
    *,
    describe: bool = False,
    fetcher: Fetcher | None = None,
    max_depth: int = MAX_DEPTH,
    max_catalog_bytes: int = MAX_CATALOG_BYTES,
    max_description_bytes: int = MAX_DESCRIPTION_BYTES,
    **fetcher_options: Any,
) -> ApiCatalog:
    """The APIs a host lists in its RFC 9727 catalog (and in catalogs nested in it).

    Uses ``fetcher`` when given, else a :class:`~agentfetch.Fetcher` built from
    ``fetcher_options`` (``consent``, ``auth``, ``timeout``...). A failing nested
    catalog or description is recorded on its :class:`CatalogVisit` or
    :class:`ApiEntry`; failing to read the host's own catalog raises."""
    _check_options(fetcher, fetcher_options)
    flow = _discovery(describe, max_depth, max_catalog_bytes, max_description_bytes).run(url)
    if fetcher is not None:
        return _drive(flow, fetcher)
    from ..api import Fetcher

    with Fetcher(**fetcher_options) as own:
        return _drive(flow, own)


async def adiscover_apis(
    url: str,
    *,
    describe: bool = False,
    fetcher: AsyncFetcher | None = None,
    max_depth: int = MAX_DEPTH,
    max_catalog_bytes: int = MAX_CATALOG_BYTES,
    max_description_bytes: int = MAX_DESCRIPTION_BYTES,
    **fetcher_options: Any,
) -> ApiCatalog:
    """The asyncio twin of :func:`discover_apis`."""
    _check_options(fetcher, fetcher_options)
    flow = _discovery(describe, max_depth, max_catalog_bytes, max_description_bytes).run(url)
    if fetcher is not None:
        return await _adrive(flow, fetcher)
    from ..api import AsyncFetcher

    async with AsyncFetcher(**fetcher_options) as own:
        return await _adrive(flow, own)


def _advance(flow: Flow, outcome: Any) -> Fetch | ApiCatalog:
    """Hand the flow one fetch's outcome: its next fetch, or the finished catalog."""
    try:
        return flow.send(outcome)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


def _drive(flow: Flow, fetcher: Fetcher) -> ApiCatalog:
    step: Fetch | ApiCatalog = next(flow)
    while isinstance(step, Fetch):
        try:
            outcome: Any = fetcher.fetch(step.url, raw=True, headers={"Accept": step.accept})
        except AgentFetchError as exc:
            outcome = exc
        step = _advance(flow, outcome)
    return step


async def _adrive(flow: Flow, fetcher: AsyncFetcher) -> ApiCatalog:
    step: Fetch | ApiCatalog = next(flow)
    while isinstance(step, Fetch):
        try:
            outcome: Any = await fetcher.fetch(step.url, raw=True, headers={"Accept": step.accept})
        except AgentFetchError as exc:
            outcome = exc
        step = _advance(flow, outcome)
    return step
