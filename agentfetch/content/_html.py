"""HTML bytes → :class:`Document`: parse with lxml, extract the article, write Markdown.

The page is parsed again only when Readability retries with looser rules or
when the chrome-free full page replaces a thin result (short pages, so cheap).
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from ._markdown import MarkdownWriter
from ._metadata import page_metadata
from ._model import Document
from ._readability import (
    extract_article,
    is_consent_banner,
    is_phrasing,
    is_visible,
)
from ._tree import drop, folded_length, parse, text_of

__all__ = ["convert_html"]

_NOISE_TAGS = ("script", "style", "noscript", "template", "link")
_IMAGE_ATTR = re.compile(r"\.(jpg|jpeg|png|webp)", re.I)
_CHROME_TAGS = ("nav", "header", "footer", "aside", "form", "dialog", "menu")
_CHROME_ROLES = {
    "navigation", "banner", "contentinfo", "complementary", "menu", "menubar", "dialog", "alertdialog", "search",
}
_SHARE_OR_COMMENTS = re.compile(r"(\b|_)(share|sharing|social|comments?|disqus|related)(\b|_)", re.I)
_TOO_LITTLE = 500


def convert_html(data: bytes, url: str | None, *, full_page: bool = False, images: bool = False) -> Document:
    """Convert UTF-8 HTML bytes; see :func:`agentfetch.content.html_to_markdown`."""
    root = parse(data)
    if root is None:
        return Document(title=None, markdown="", kind="html", metadata={}, charset="utf-8")
    metadata = page_metadata(root, url)
    title = metadata.pop("title", None) or None
    base_url = _base_url(root, url)
    writer = MarkdownWriter(base_url, page_url=url, title=title, demote_h1=bool(title), images=images)

    if full_page:
        body = _prepare(root)
        _drop_hidden(body)
        metadata["extraction"] = "full-page"
        content = writer.convert(body)
    else:
        trees = iter([root])

        def fresh_body():
            tree = next(trees, None)
            if tree is None:
                tree = parse(data)
            return _prepare(tree) if tree is not None else None

        extraction = extract_article(fresh_body, title or "", metadata_byline=metadata.get("byline"))
        metadata["extraction"] = "article"
        if extraction is not None:
            if extraction.byline and "byline" not in metadata:
                metadata["byline"] = " ".join(extraction.byline.split())
            if extraction.direction and "dir" not in metadata:
                metadata["dir"] = extraction.direction
        if extraction is not None and not extraction.whole_body and extraction.text_length >= _TOO_LITTLE:
            content = writer.convert(extraction.article)
        else:
            # An app shell or a list page: the article rules keep next to nothing,
            # or nothing stood out and they kept the whole body with its chrome.
            # Give the page without its chrome rather than an empty or noisy answer.
            whole_body = extraction is not None and extraction.whole_body
            article_length = extraction.text_length if extraction is not None else 0
            short = writer.convert(extraction.article) if extraction is not None and not whole_body else ""
            # Free the first tree before the second parse: on a 10 MB page two
            # trees at once would double the peak memory.
            del extraction, root, fresh_body
            content = short
            tree = parse(data)
            if tree is not None:
                body = _clean_page(_prepare(tree))
                cleaned_length = folded_length(body)
                if cleaned_length > article_length * 1.5 or (whole_body and cleaned_length):
                    content = writer.convert(body)
                    metadata["extraction"] = "full-page-fallback"
                elif whole_body:
                    # Nothing but chrome: the visible page is all there is.
                    del body, tree
                    tree = parse(data)
                    body = _prepare(tree)
                    _drop_hidden(body)
                    content = writer.convert(body)
    if not content.strip() and b"<script" in data:
        # Say why the answer is empty, so an agent does not retry in vain.
        content = (
            "<!-- agentfetch: no readable content in the HTML; the page is probably "
            "rendered by JavaScript in a browser -->\n"
        )
        metadata["extraction"] = "empty"
    markdown = content
    if title:  # already whitespace-folded by page_metadata
        markdown = f"# {title}\n\n{content}" if content else f"# {title}\n"
    return Document(title=title, markdown=markdown, kind="html", metadata=metadata, charset="utf-8")


def _base_url(root, url: str | None) -> str | None:
    base = next((el for el in root.iter("base") if el.get("href") is not None), None)
    if base is None:
        return url
    href = base.get("href").strip()
    try:
        return urljoin(url, href) if url else href
    except ValueError:
        return url


def _prepare(root):
    """Readability's document preparation, plus math kept before scripts go."""
    _keep_script_math(root)
    _unwrap_noscript_images(root)
    for el in list(root.iter(*_NOISE_TAGS)):
        drop(el)
    body = root.find("body")
    if body is None:
        body = root
    _replace_break_chains(body)
    for font in body.iter("font"):
        font.tag = "span"
    return body


def _keep_script_math(root) -> None:
    scripts = [s for s in root.iter("script") if (s.get("type") or "").startswith("math/tex")]
    if not scripts:
        return
    # MathJax 2 renders a visual copy next to each script; the script holds the TeX.
    for el in list(root.iter("span", "div")):
        cls = el.get("class") or ""
        if cls.startswith(("MathJax", "MJX")) and el.getparent() is not None:
            drop(el)
    for script in scripts:
        span = script.makeelement("span", {"data-agentfetch-tex": " ".join((script.text or "").split())})
        if "mode=display" in (script.get("type") or ""):
            span.set("data-agentfetch-display", "1")
        span.tail = script.tail
        script.getparent().replace(script, span)


def _unwrap_noscript_images(root) -> None:
    """Lazy-loading pages put the real ``<img>`` in ``<noscript>``; use it."""
    for img in list(root.iter("img")):
        attrib = img.attrib
        if not any(k in attrib for k in ("src", "srcset", "data-src", "data-srcset")) and not any(
            _IMAGE_ATTR.search(v) for v in attrib.values()
        ):
            drop(img)
    for noscript in list(root.iter("noscript")):
        images = list(noscript.iter("img"))
        if len(images) != 1 or text_of(noscript).strip():
            continue
        previous = noscript.getprevious()
        if previous is None or not _is_single_image(previous):
            continue
        old = previous if previous.tag == "img" else next(previous.iter("img"))
        new = images[0]
        for name, value in old.attrib.items():
            if value and (name in ("src", "srcset") or _IMAGE_ATTR.search(value)) and new.get(name) != value:
                new.set(f"data-old-{name}" if name in new.attrib else name, value)
        new.tail = previous.tail
        previous.getparent().replace(previous, new)


def _is_single_image(el) -> bool:
    while el is not None:
        if el.tag == "img":
            return True
        if len(el) != 1 or text_of(el).strip():
            return False
        el = el[0]
    return False


def _starts_break_chain(br) -> bool:
    nxt = br.getnext()
    return (
        br.tag == "br" and not (br.tail and br.tail.strip()) and nxt is not None and nxt.tag == "br"
    )


def _replace_break_chains(body) -> None:
    """``a<br><br>b`` → ``a<p>b</p>``, as Readability's ``_replaceBrs``."""
    for br in list(body.iter("br")):
        parent = br.getparent()
        if parent is None or not _starts_break_chain(br):
            continue
        while _starts_break_chain(br):
            nxt = br.getnext()
            br.tail = nxt.tail
            parent.remove(nxt)
        paragraph = br.makeelement("p", {})
        paragraph.text = br.tail
        br.tail = None
        parent.replace(br, paragraph)
        sibling = paragraph.getnext()
        while sibling is not None:
            if _starts_break_chain(sibling) or not isinstance(sibling.tag, str) or not is_phrasing(sibling):
                break
            following = sibling.getnext()
            paragraph.append(sibling)
            sibling = following
        while len(paragraph) and paragraph[-1].tag == "br" and not (paragraph[-1].tail or "").strip():
            last = paragraph[-1]
            paragraph.remove(last)
        if parent.tag == "p":
            parent.tag = "div"


def _drop_hidden(body) -> None:
    for el in list(body.iter()):
        if isinstance(el.tag, str) and el.getparent() is not None and not is_visible(el):
            drop(el)


def _clean_page(body):
    """The page without chrome: navigation, banners, forms, share bars, comments."""
    _drop_hidden(body)
    for el in list(body.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        match = f"{el.get('class') or ''} {el.get('id') or ''}"
        if (
            el.tag in _CHROME_TAGS
            or el.get("role") in _CHROME_ROLES
            or (match != " " and (is_consent_banner(el, match) or _SHARE_OR_COMMENTS.search(match)))
        ):
            drop(el)
    return body
