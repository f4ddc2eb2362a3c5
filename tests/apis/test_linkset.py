"""RFC 9264 link sets in both formats, and the RFC 8288 Link header syntax they share."""

from __future__ import annotations

import json

import httpx
import pytest

from agentfetch.apis import Link, parse_linkset
from agentfetch.apis.rfc9264 import links_from_text, parse_link_header, to_json
from agentfetch.errors import InvalidDocument

BASE = "https://api.example.com/.well-known/api-catalog"


def test_the_demo_catalog_reads_the_same_in_both_formats(demo):
    headers = demo.service_token.headers()
    url = demo.origin + "/.well-known/api-catalog"
    as_json = httpx.get(url, headers=headers | {"Accept": "application/linkset+json"})
    as_text = httpx.get(url, headers=headers | {"Accept": "application/linkset"})
    from_json = parse_linkset(as_json.content, as_json.headers["content-type"], url)
    from_text = parse_linkset(as_text.content, as_text.headers["content-type"], url)
    assert len(from_json) == 8
    assert [(lk.context, lk.rel, lk.href, lk.attrs) for lk in from_json] == [
        (lk.context, lk.rel, lk.href, lk.attrs) for lk in from_text]
    # Grouping the links again gives back the document the server sent.
    assert to_json(from_json) == as_json.json()


def test_text_form_quoting_multiple_rels_and_relative_references():
    text = ('</api/spec.yaml>; rel="service-desc describedby"; anchor="/api"; type="application/yaml",\n'
            '<docs?a=1,b=2>; rel=service-doc; anchor="/api"; title="Docs, \\"v2\\"; long"\n'
            '<https://other.example/x>; rel="https://rels.example/Custom"; anchor="https://other.example/"')
    links = links_from_text(text, BASE)
    assert [(lk.rel, lk.href) for lk in links] == [
        ("service-desc", "https://api.example.com/api/spec.yaml"),
        ("describedby", "https://api.example.com/api/spec.yaml"),
        ("service-doc", "https://api.example.com/.well-known/docs?a=1,b=2"),
        ("https://rels.example/Custom", "https://other.example/x"),
    ]
    assert links[0].context == "https://api.example.com/api" and links[0].type == "application/yaml"
    assert links[2].title == 'Docs, "v2"; long'
    assert links[3].context == "https://other.example/"


def test_rfc8187_titles_repeated_attributes_and_first_rel_wins():
    (link,) = links_from_text(
        "<https://h/a>; rel=item; rel=ignored; title*=UTF-8'de'Gr%C3%BC%C3%9Fe; hreflang=de; hreflang=en", BASE)
    assert link.rel == "item"
    assert link.title == "Grüße"
    assert link.attrs["hreflang"] == ["de", "en"]


def test_json_form_attributes_and_missing_anchor():
    doc = {"linkset": [{"item": [{"href": "a", "title*": [{"value": "Ä", "language": "de"}], "hreflang": ["de"]}]}]}
    (link,) = parse_linkset(json.dumps(doc).encode(), "application/linkset+json", BASE)
    assert link.context == BASE and link.href == "https://api.example.com/.well-known/a"
    assert link.title == "Ä" and link.attrs["hreflang"] == ["de"]


def test_link_header_values_and_the_media_type_or_first_character_decides():
    links = parse_link_header(['</.well-known/api-catalog>; rel="api-catalog"', '<next>; rel=next'],
                              "https://h/x/page")
    assert [(lk.rel, lk.href, lk.context) for lk in links] == [
        ("api-catalog", "https://h/.well-known/api-catalog", "https://h/x/page"),
        ("next", "https://h/x/next", "https://h/x/page")]
    assert parse_linkset(b'{"linkset": []}', None, BASE) == []
    assert parse_linkset(b"<a>; rel=item", "text/plain", BASE) == [Link(BASE, "item", "https://api.example.com/.well-known/a")]


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b"{not json", "application/linkset+json", "not valid JSON"),
    (b'{"links": []}', "application/linkset+json", 'no "linkset" array'),
    (b'{"linkset": [{"anchor": "/", "item": {"href": "/a"}}]}', "application/linkset+json", "must be an array"),
    (b'{"linkset": [{"item": [{"title": "no href"}]}]}', "application/linkset+json", '"href"'),
    (b"https://no-brackets; rel=item", "application/linkset", "expected <URI-reference>"),
    (b'<a>; rel="unterminated', "application/linkset", "unterminated"),
    (b"<a>; rel=item garbage", "application/linkset", "between links"),
    (b"\xff\xfe", "application/linkset", "not UTF-8"),
])
def test_malformed_linksets_are_typed_errors(body, content_type, message):
    with pytest.raises(InvalidDocument, match=message):
        parse_linkset(body, content_type, BASE)
