"""The wiki's REST API under ``/api``: read the pages, and create, replace and delete your own.

The built-in pages are read-only (their HTML is fixed); pages made through the
API live in a :class:`PageStore` until the server is reset. Every write is
answered with an audit ``event`` so the trail shows who changed what, through
which client.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from . import _wiki
from ._catalog import openapi_document
from ._http import Request, Response, json_response

#: Methods that change state: the proxy asks for the ``write`` scope before they reach the API.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_BODY_BYTES = 1_000_000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_LIMITS = {"title": 200, "summary": 500, "markdown": 200_000}


@dataclass
class StoredPage:
    slug: str
    title: str
    summary: str
    markdown: str
    builtin: bool = False
    author: str | None = None
    client_id: str | None = None
    created: str = ""
    updated: str = ""

    def as_json(self, origin: str, *, with_markdown: bool) -> dict[str, object]:
        page = _wiki.PAGES_BY_SLUG.get(self.slug) if self.builtin else None
        data: dict[str, object] = {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "url": origin + (page.path if page else f"/api/pages/{self.slug}"),
            "builtin": self.builtin,
            "author": self.author,
        }
        if not self.builtin:
            data |= {"client_id": self.client_id, "created": self.created, "updated": self.updated}
        if with_markdown:
            data["markdown"] = self.markdown
        return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class PageStore:
    """The pages the API serves: the built-in ones, then those created through it, in order."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: dict[str, StoredPage] = {
            page.slug: StoredPage(page.slug, page.title, page.summary,
                                  _wiki.blocks_markdown(page.title, page.blocks), builtin=True)
            for page in _wiki.PAGES
        }

    def free_slug(self, title: str) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "page"
        slug, n = base, 1
        while slug in self.pages:
            n += 1
            slug = f"{base}-{n}"
        return slug


def _error(status: int, error: str, description: str, **headers: str) -> Response:
    return json_response(status, {"error": error, "error_description": description}, **headers)


def _page_input(req: Request, *, creating: bool) -> dict[str, str] | Response:
    """The JSON body of a POST or PUT, checked; or the 4xx answer."""
    media = req.header("Content-Type").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        return _error(415, "unsupported_media_type", "send the page as application/json")
    if len(req.body) > MAX_BODY_BYTES:
        return _error(413, "too_large", f"a page body may be at most {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _error(400, "invalid_json", "the body is not valid JSON")
    if not isinstance(data, dict):
        return _error(400, "invalid_request", "the body must be a JSON object")
    unknown = set(data) - {"slug", "title", "summary", "markdown"}
    if unknown:
        return _error(400, "invalid_request", f"unknown field(s): {', '.join(sorted(unknown))}")
    for name, value in data.items():
        if not isinstance(value, str):
            return _error(400, "invalid_request", f"{name} must be a string")
        if len(value) > _LIMITS.get(name, 64):
            return _error(400, "invalid_request", f"{name} is longer than {_LIMITS.get(name, 64)} characters")
    if not data.get("title", "").strip():
        return _error(400, "invalid_request", "title is required")
    if "slug" in data and (not creating or not _SLUG.fullmatch(data["slug"])):
        why = "a page's slug cannot change" if not creating else "slug must match ^[a-z0-9][a-z0-9-]{0,63}$"
        return _error(400, "invalid_request", why)
    return data


def api_response(req: Request, store: PageStore, origin: str, identity: dict[str, object],
                 endpoints: dict[str, str], *, other_origin: str, bad_gateway: bool = False) -> Response:
    """Answer one request under ``/api`` for an identity the proxy has let through.

    ``/api/v1/...`` is the API's old name: a ``308`` to ``/api/...`` (method and body kept). ``/api/moved/...``
    answers ``307`` to the same path on ``other_origin``. ``POST /api/drafts`` creates a page and answers
    ``303 See Other`` to it. ``bad_gateway``: unsafe methods answer ``502`` without acting."""
    path, method = req.path, req.method
    query = req.target[len(path):] if req.target.startswith(path) else ""
    if path.startswith(("/api/v1/", "/api/moved/")):
        old = "/api/v1/" if path.startswith("/api/v1/") else "/api/moved/"
        base, status = (origin, 308) if old == "/api/v1/" else (other_origin, 307)
        return Response(status, b"", [("Location", f"{base}/api/{path.removeprefix(old)}{query}")])
    if bad_gateway and method in WRITE_METHODS:
        return _error(502, "bad_gateway", "the wiki's backend did not answer; nothing was changed")
    if path == "/api/drafts":
        refused = _only(method, "POST")
        if refused is not None:
            return refused
        created = _create(req, store, origin, identity)
        if created.status != 201:
            return created
        see_other = Response(303, b"", [("Location", created.header("Location") or f"{origin}/api/pages")])
        see_other.event = created.event
        return see_other
    if path in ("/api", "/api/"):
        return _only(method, "GET") or json_response(200, {
            "pages": f"{origin}/api/pages", "me": f"{origin}/api/me", "openapi": f"{origin}/api/openapi.json"})
    if path == "/api/openapi.json":
        return _only(method, "GET") or json_response(200, openapi_document(origin, endpoints),
                                                     content_type="application/vnd.oai.openapi+json;version=3.1")
    if path == "/api/me":
        return _only(method, "GET") or json_response(200, identity)
    if path in ("/api/pages", "/api/pages/"):
        if method == "POST":
            return _create(req, store, origin, identity)
        return _only(method, "GET", "POST") or _list(store, origin)
    if path.startswith("/api/pages/"):
        return _one(req, store, origin, path.removeprefix("/api/pages/"))
    return _error(404, "not_found", f"no API resource at {path}")


def _only(method: str, *allowed: str) -> Response | None:
    if method in allowed:
        return None
    return _error(405, "method_not_allowed", f"{method} is not allowed here", Allow=", ".join(allowed))


def _list(store: PageStore, origin: str) -> Response:
    with store.lock:
        pages = [page.as_json(origin, with_markdown=False) for page in store.pages.values()]
    return json_response(200, {"pages": pages})


def _create(req: Request, store: PageStore, origin: str, identity: dict[str, object]) -> Response:
    data = _page_input(req, creating=True)
    if isinstance(data, Response):
        return data
    with store.lock:
        slug = data.get("slug") or store.free_slug(data["title"])
        if slug in store.pages:
            return _error(409, "conflict", f"a page called {slug!r} exists; PUT /api/pages/{slug} replaces it")
        now = _now()
        page = StoredPage(slug, data["title"].strip(), data.get("summary", ""), data.get("markdown", ""),
                          author=_str(identity.get("user")), client_id=_str(identity.get("client_id")),
                          created=now, updated=now)
        store.pages[slug] = page
        body = page.as_json(origin, with_markdown=True)
    response = json_response(201, body, Location=f"{origin}/api/pages/{slug}")
    response.event = "page.created"
    return response


def _one(req: Request, store: PageStore, origin: str, slug: str) -> Response:
    method = req.method
    refused = _only(method, "GET", "PUT", "DELETE")
    if refused is not None:
        return refused
    with store.lock:
        page = store.pages.get(slug)
    if page is None:
        return _error(404, "not_found", f"no page {slug!r}")
    if method == "GET":
        return json_response(200, page.as_json(origin, with_markdown=True))
    if page.builtin:
        return _error(409, "read_only", f"{slug!r} is a built-in page; create your own with POST /api/pages")
    if method == "DELETE":
        with store.lock:
            store.pages.pop(slug, None)
        response = Response(204)
        response.event = "page.deleted"
        return response
    data = _page_input(req, creating=False)
    if isinstance(data, Response):
        return data
    with store.lock:
        page.title = data["title"].strip()
        page.summary, page.markdown = data.get("summary", ""), data.get("markdown", "")
        page.updated = _now()
        body = page.as_json(origin, with_markdown=True)
    response = json_response(200, body)
    response.event = "page.updated"
    return response


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None
