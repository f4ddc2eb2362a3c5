"""What a page says about itself: title, byline, dates, canonical URL, language.

Sources in order of trust, as Readability ranks them: schema.org JSON-LD of an
article type, then ``<meta>`` (Dublin Core, Open Graph, Twitter, Parse.ly,
plain names), then the ``<title>`` with the site name trimmed off.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urljoin

from ._readability import text_similarity
from ._tree import text_of

__all__ = ["page_metadata", "article_title"]

_PROPERTY = re.compile(
    r"\s*(article|dc|dcterm|og|twitter)\s*:\s*(author|creator|description|published_time|title|site_name)\s*",
    re.I,
)
_NAME = re.compile(
    r"^\s*(?:(dc|dcterm|og|twitter|parsely|weibo:(article|webpage))\s*[-.:]\s*)?"
    r"(author|creator|pub-date|description|title|site_name)\s*$",
    re.I,
)
_ARTICLE_TYPES = re.compile(
    r"^Article|AdvertiserContentArticle|NewsArticle|AnalysisNewsArticle|AskPublicNewsArticle"
    r"|BackgroundNewsArticle|OpinionNewsArticle|ReportageNewsArticle|ReviewNewsArticle|Report"
    r"|SatiricalArticle|ScholarlyArticle|MedicalScholarlyArticle|SocialMediaPosting|BlogPosting"
    r"|LiveBlogPosting|DiscussionForumPosting|TechArticle|APIReference$"
)
_SEPARATOR = re.compile(r" [|\-–—\\/>»] ")
_HIERARCHICAL = re.compile(r" [\\/>»] ")


def _first(values: dict[str, str], *keys: str) -> str | None:
    for key in keys:
        value = values.get(key)
        if value and value.strip():
            return html.unescape(value.strip())
    return None


def _word_count(text: str) -> int:
    return len(re.split(r"\s+", text))


def article_title(root) -> str:
    """The ``<title>`` with a trailing (or leading) site name removed, as Readability does."""
    title_el = root.find(".//title")
    original = " ".join((text_of(title_el) if title_el is not None else "").split())
    current = original
    hierarchical = False
    if _SEPARATOR.search(current):
        hierarchical = bool(_HIERARCHICAL.search(current))
        current = re.sub(r"(.*)[|\-–—\\/>»] .*", r"\1", original)
        if _word_count(current) < 3:
            current = re.sub(r"[^|\-–—\\/>»]*[|\-–—\\/>»](.*)", r"\1", original)
    elif ": " in current:
        headings = [text_of(h) for h in root.iter("h1", "h2")]
        if current not in headings:
            current = original[original.rfind(":") + 1 :]
            if _word_count(current) < 3:
                current = original[original.find(":") + 1 :]
    elif len(current) > 150 or len(current) < 15:
        h1s = list(root.iter("h1"))
        if len(h1s) == 1:
            current = " ".join(text_of(h1s[0]).split())
    current = current.strip()
    words = _word_count(current)
    if words <= 4 and (
        not hierarchical or words != _word_count(re.sub(r"[|\-–—\\/>»]+", "", original)) - 1
    ):
        current = original
    return current


def _json_ld(root) -> dict[str, str]:
    found: dict[str, str] = {}
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        raw = re.sub(r"^\s*<!\[CDATA\[|\]\]>\s*$", "", text_of(script))
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            continue
        if isinstance(parsed, list):
            parsed = next((p for p in parsed if isinstance(p, dict) and _is_article(p)), None)
        if not isinstance(parsed, dict):
            continue
        if not _is_article(parsed) and isinstance(parsed.get("@graph"), list):
            parsed = next((p for p in parsed["@graph"] if isinstance(p, dict) and _is_article(p)), None)
        if not isinstance(parsed, dict) or not _is_article(parsed):
            continue
        name, headline = parsed.get("name"), parsed.get("headline")
        if isinstance(name, str) and isinstance(headline, str) and name != headline:
            title = article_title(root)
            headline_matches = text_similarity(headline, title) > 0.75
            name_matches = text_similarity(name, title) > 0.75
            found["title"] = headline if headline_matches and not name_matches else name
        elif isinstance(name, str):
            found["title"] = name.strip()
        elif isinstance(headline, str):
            found["title"] = headline.strip()
        author = parsed.get("author")
        if isinstance(author, dict) and isinstance(author.get("name"), str):
            found["byline"] = author["name"].strip()
        elif isinstance(author, list):
            names = [a["name"].strip() for a in author if isinstance(a, dict) and isinstance(a.get("name"), str)]
            if names:
                found["byline"] = ", ".join(names)
        for key, target in (("description", "description"), ("datePublished", "published")):
            if isinstance(parsed.get(key), str):
                found[target] = parsed[key].strip()
        publisher = parsed.get("publisher")
        if isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            found["site_name"] = publisher["name"].strip()
        break
    return found


def _is_article(item: dict) -> bool:
    context = item.get("@context")
    if isinstance(context, str) and not re.match(r"^https?://schema\.org/?$", context):
        return False
    kind = item.get("@type")
    if isinstance(kind, list):
        return any(isinstance(k, str) and _ARTICLE_TYPES.search(k) for k in kind)
    return isinstance(kind, str) and bool(_ARTICLE_TYPES.search(kind))


def page_metadata(root, url: str | None) -> dict[str, str]:
    """Metadata of a parsed page (call before scripts are removed: JSON-LD lives in them)."""
    values: dict[str, str] = {}
    head_links: dict[str, str] = {}
    for meta in root.iter("meta"):
        content = meta.get("content")
        if not content:
            continue
        prop = meta.get("property")
        if prop:
            for match in _PROPERTY.finditer(prop):
                values[re.sub(r"\s", "", match.group(0).lower())] = content.strip()
        name = meta.get("name")
        if name and _NAME.match(name):
            key = re.sub(r"\s", "", name.lower()).replace(".", ":")
            values[key] = content.strip()
        elif name:
            values.setdefault("name:" + name.strip().lower(), content.strip())
        if prop:
            values.setdefault("prop:" + prop.strip().lower(), content.strip())
        http_equiv = (meta.get("http-equiv") or "").lower()
        if http_equiv == "content-language":
            values.setdefault("content-language", content.strip())
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and link.get("href"):
            head_links.setdefault("canonical", link.get("href").strip())
    ld = _json_ld(root)

    metadata: dict[str, str] = {}
    title = ld.get("title") or _first(
        values, "dc:title", "dcterm:title", "og:title", "weibo:article:title",
        "weibo:webpage:title", "title", "twitter:title", "parsely-title",
    )
    metadata["title"] = title or article_title(root)
    byline = ld.get("byline") or _first(
        values, "dc:creator", "dcterm:creator", "author", "parsely-author"
    )
    article_author = values.get("article:author")
    if not byline and article_author and not re.match(r"^https?://", article_author):
        byline = article_author
    if byline:
        metadata["byline"] = byline
    description = ld.get("description") or _first(
        values, "dc:description", "dcterm:description", "og:description",
        "weibo:article:description", "weibo:webpage:description", "description", "twitter:description",
    )
    if description:
        metadata["description"] = description
    site_name = ld.get("site_name") or _first(values, "og:site_name")
    if site_name:
        metadata["site_name"] = site_name
    published = ld.get("published") or _first(
        values, "article:published_time", "parsely-pub-date", "name:date", "name:dc.date",
        "name:dcterms.date", "prop:og:published_time", "name:pubdate",
    )
    if published:
        metadata["published"] = published
    canonical = head_links.get("canonical") or values.get("prop:og:url")
    if canonical:
        metadata["canonical"] = urljoin(url, canonical) if url else canonical
    lang = root.get("lang") or root.get("xml:lang") or values.get("content-language")
    if lang and lang.strip():
        metadata["lang"] = lang.strip()
    direction = root.get("dir")
    if direction:
        metadata["dir"] = direction.strip()
    for key in list(metadata):
        metadata[key] = " ".join(metadata[key].split())
    return metadata
