"""RFC 9727 discovery against the demo app on loopback: find, nest, describe, and fail one API at a time."""

from __future__ import annotations

import json

import pytest

from agentfetch import (
    AuthorizationError,
    DocumentTooLarge,
    HTTPStatusError,
    InvalidDocument,
    UsageError,
)
from agentfetch.apis import adiscover_apis, discover_apis


def test_discover_then_describe_with_the_humans_token(demo, fetcher, browser):
    catalog = discover_apis(demo.url, describe=True, fetcher=fetcher)
    # The catalog is protected: one sign-in as alice, and every later request reuses the token.
    assert len(browser.opened) == 1 and not browser.errors
    assert [(v.url, v.via, v.depth, v.format) for v in catalog.catalogs] == [
        (demo.origin + "/.well-known/api-catalog", "well-known", 0, "json"),
        (demo.origin + "/directory/api-catalog", "api-catalog", 1, "text"),
    ]
    wiki, directory = catalog.apis
    assert (wiki.anchor, wiki.title) == (demo.origin + "/api", "Acme Internal Wiki API")
    assert wiki.hrefs("service-desc") == [demo.origin + "/api/openapi.json"]
    assert wiki.hrefs("service-doc") == [demo.origin + "/pages/api"]
    assert wiki.hrefs("status") == [demo.origin + "/healthz"]
    assert wiki.hrefs("service-meta") == [demo.origin + "/.well-known/oauth-protected-resource/api"]
    assert (directory.anchor, directory.title, directory.catalog) == (
        demo.origin + "/directory", "Acme People Directory", demo.origin + "/directory/api-catalog")
    ops = {(op.method, op.path): op for op in wiki.description.operations}
    assert ops[("post", "/pages")].security == ("oauth: write",)
    assert [op.path for op in directory.description.operations] == ["/people", "/people/{user}"]
    assert catalog.errors == []
    audited = {e["path"] for e in demo.audit if e["user"] == "alice"}
    assert {"/.well-known/api-catalog", "/directory/api-catalog", "/api/openapi.json",
            "/directory/openapi.yaml"} <= audited

    markdown = catalog.to_markdown()
    assert f"| {demo.origin}/api | Acme Internal Wiki API | {demo.origin}/api/openapi.json |" in markdown
    assert "| POST | `/pages` | Create a page |" in markdown and "| oauth: write |" in markdown
    data = json.loads(json.dumps(catalog.to_dict()))
    assert data["apis"][0]["description"]["operations"][1]["method"] == "post"
    anchors = [c["anchor"] for c in data["linkset"]]
    # The merged linkset holds the contexts of both catalogs, each once.
    assert demo.origin + "/directory" in anchors and len(anchors) == len(set(anchors)) == 4


@pytest.mark.parametrize(("path", "via"), [
    ("/.well-known/api-catalog", "direct"),
    ("/api/pages", "link-header"),   # a JSON answer whose Link header names the catalog
    ("/pages/deploy", "link-header"),  # an HTML page: the header is read before the <link>
])
def test_the_catalog_is_found_from_any_page(demo, fetcher, path, via):
    catalog = discover_apis(demo.origin + path, fetcher=fetcher)
    assert catalog.catalogs[0].via == via
    assert [api.anchor for api in catalog.apis] == [demo.origin + "/api", demo.origin + "/directory"]


def test_an_html_link_element_on_another_host(demo, fetcher, static):
    page = static.serve("/portal", f'<html><head><base href="{demo.origin}/x/">'
                                   '<link rel="preload stylesheet" href="/a.css">'
                                   '<link rel="API-Catalog" href="../.well-known/api-catalog"></head></html>',
                        "text/html; charset=utf-8")
    catalog = discover_apis(page, fetcher=fetcher)
    assert (catalog.catalogs[0].url, catalog.catalogs[0].via) == (demo.origin + "/.well-known/api-catalog",
                                                                  "html-link")
    assert len(catalog.apis) == 2


def test_a_loop_is_followed_once_and_reported(demo, fetcher):
    with demo.configure(faults={"catalog_loop"}):
        catalog = discover_apis(demo.url, fetcher=fetcher)
    assert [(v.url, v.via, v.skipped) for v in catalog.catalogs] == [
        (demo.origin + "/.well-known/api-catalog", "well-known", None),
        (demo.origin + "/directory/api-catalog", "api-catalog", None),
        (demo.origin + "/.well-known/api-catalog", "item", "already visited"),
    ]
    assert demo.count("/.well-known/api-catalog", method="GET") == 2  # the 401 and the signed-in retry
    assert len(catalog.apis) == 2


def test_the_depth_limit(demo, fetcher):
    catalog = discover_apis(demo.url, fetcher=fetcher, max_depth=0)
    assert [(v.depth, v.skipped) for v in catalog.catalogs] == [(0, None), (1, "depth limit")]
    assert [api.anchor for api in catalog.apis] == [demo.origin + "/api"]
    assert demo.count("/directory") == 0
    assert "- catalog " + demo.origin + "/directory/api-catalog: depth limit" in catalog.to_markdown()


def test_a_bad_description_fails_its_api_only(demo, fetcher):
    with demo.configure(faults={"malformed_openapi"}):
        catalog = discover_apis(demo.url, fetcher=fetcher, describe=True)
    wiki, directory = catalog.apis
    assert wiki.description is not None and wiki.error is None
    assert directory.description is None and isinstance(directory.error, InvalidDocument)
    assert str(directory.error).startswith(demo.origin + "/directory/openapi.yaml: the description is not valid YAML")
    assert catalog.errors == [(directory.anchor, directory.error)]
    markdown = catalog.to_markdown()
    assert "## Acme People Directory\n\nNot described: " in markdown and "| GET | `/pages` |" in markdown
    assert catalog.to_dict()["apis"][1]["error"]["type"] == "invalid_document"


def test_an_oversized_description_fails_its_api_only(demo, fetcher):
    catalog = discover_apis(demo.url, fetcher=fetcher, describe=True, max_description_bytes=4000)
    wiki, directory = catalog.apis
    assert isinstance(wiki.error, DocumentTooLarge) and "larger than 4000 bytes" in str(wiki.error)
    assert directory.description is not None


def test_an_oversized_host_catalog_is_an_error(demo, fetcher):
    with pytest.raises(DocumentTooLarge, match="api-catalog is larger than 1000 bytes"):
        discover_apis(demo.url, fetcher=fetcher, max_catalog_bytes=1000)


def test_an_oversized_or_broken_nested_catalog_fails_alone(static, fetcher):
    static.serve("/.well-known/api-catalog", json.dumps({"linkset": [
        {"anchor": "/.well-known/api-catalog", "api-catalog": [{"href": "/big"}, {"href": "/broken"}],
         "item": [{"href": "/small-api", "title": "Small"}, {"href": "/nested", "type": "application/linkset"}]},
    ]}), "application/linkset+json")
    static.serve("/big", "<https://h/x>; rel=item,\n" * 200, "application/linkset")
    static.serve("/broken", '{"linkset": {}}', "application/linkset+json")
    static.serve("/nested", '</small-api>; rel="service-doc"; anchor="/small-api",\n'
                            '</.well-known/api-catalog>; rel="api-catalog"; anchor="/nested"', "application/linkset")
    catalog = discover_apis(static.origin, fetcher=fetcher, max_catalog_bytes=2000)
    visits = {v.url.removeprefix(static.origin): v for v in catalog.catalogs}
    assert isinstance(visits["/big"].error, DocumentTooLarge)
    assert isinstance(visits["/broken"].error, InvalidDocument) and "/broken" in str(visits["/broken"].error)
    assert visits["/nested"].format == "text" and visits["/nested"].error is None
    assert [(a.anchor, a.title) for a in catalog.apis] == [(static.origin + "/small-api", "Small")]
    assert static.seen.count("/.well-known/api-catalog") == 1  # the nested catalog's link back is not re-read


def test_a_protected_catalog_without_auth_and_a_host_without_catalog(demo, static, agentfetch_home):
    with pytest.raises(AuthorizationError):
        discover_apis(demo.url, auth=False)
    static.serve("/", "<html><head><title>No APIs here</title></head></html>", "text/html")
    with pytest.raises(HTTPStatusError, match=r"no API catalog found: .*answered 404 .*RFC 9727"):
        discover_apis(static.origin + "/", auth=False)
    with pytest.raises(UsageError):
        discover_apis("ftp://example.com/", auth=False)
    with pytest.raises(UsageError, match="to the fetcher"):
        discover_apis(demo.url, fetcher=object(), consent="allow")  # type: ignore[arg-type]


async def test_async_discovery_describes_too(demo, afetcher, browser):
    catalog = await adiscover_apis(demo.url, describe=True, fetcher=afetcher)
    assert [api.title for api in catalog.apis] == ["Acme Internal Wiki API", "Acme People Directory"]
    assert all(api.description is not None for api in catalog.apis)
    assert len(browser.opened) == 1
