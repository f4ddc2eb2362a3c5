"""Main-content extraction: Mozilla Readability's content scoring, on an lxml tree.

Why this algorithm: the reference for "what a reader wants" is Firefox Reader
View, which *is* Readability, and its heuristics (paragraph scoring by text
length and commas, score propagation to ancestors, link-density penalty,
class/id weights, sibling joining, conditional cleaning) are the best tested
ones in the open. This is an independent implementation of the published
algorithm (Apache-2.0, see the corpus licence) on lxml, so it runs in C-backed
tree operations instead of a Python DOM: text lengths come from lxml's XPath
``string()``, and retries re-parse instead of serialising ``innerHTML``.

Why not "``<main>`` or ``<article>`` first": measured on the corpus, scoping
the extraction to a page's single ``<main>`` changed nothing on most pages
(the scoring finds the article inside it anyway) and pulled a main-wide list
of teasers into one (nytimes-5: boilerplate from 1% to 73%); many pages have
dozens of ``<article>`` teasers. The scoring alone is better.

Differences from Readability.js, each because Markdown output makes it moot:
no style/class clean-up, no relative-URL rewriting (the Markdown writer
resolves URLs), no ``h1`` → ``h2`` renaming, lazy images are resolved by the
writer, and single-cell tables are unwrapped by the writer's layout-table rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from ._tree import drop, folded_length, text_of, to_html

__all__ = ["Extraction", "extract_article", "inner_text", "is_consent_banner", "is_data_table", "text_similarity"]

_UNLIKELY = re.compile(
    r"-ad-|ai2html|banner|breadcrumbs|combx|comment|community|cover-wrap|disqus|extra|footer|gdpr"
    r"|header|legends|menu|related|remark|replies|rss|shoutbox|sidebar|skyscraper|social|sponsor"
    r"|supplemental|ad-break|agegate|pagination|pager|popup|yom-remote",
    re.I,
)
_MAYBE_CANDIDATE = re.compile(r"and|article|body|column|content|main|mathjax|shadow", re.I)
_POSITIVE = re.compile(
    r"article|body|content|entry|hentry|h-entry|main|page|pagination|post|text|blog|story", re.I
)
_NEGATIVE = re.compile(
    r"-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|footer"
    r"|gdpr|masthead|media|meta|outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper"
    r"|sponsor|shopping|tags|widget",
    re.I,
)
_CONSENT = re.compile(r"(?:^|[\s_-])(?:cookies?|consent|gdpr|onetrust)(?:$|[\s_-])", re.I)
_BYLINE = re.compile(r"byline|author|dateline|writtenby|p-author", re.I)
_SHARE = re.compile(r"(\b|_)(share|sharedaddy)(\b|_)", re.I)
_VIDEOS = re.compile(
    r"//(www\.)?((dailymotion|youtube|youtube-nocookie|player\.vimeo|v\.qq)\.com"
    r"|(archive|upload\.wikimedia)\.org|player\.twitch\.tv)",
    re.I,
)
# Commas of Latin, Arabic, CJK and other scripts.
_COMMA_CHARS = "\u002c\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c"
_AD_WORDS = re.compile(r"^(ad(vertising|vertisement)?|pub(licité)?|werb(ung)?|广告|Реклама|Anuncio)$", re.I)
_LOADING_WORDS = re.compile(r"^((loading|正在加载|Загрузка|chargement|cargando)(…|\.\.\.)?)$", re.I)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_TOKENS = re.compile(r"\W+")
_SENTENCE_END = re.compile(r"\.( |$)")

_UNLIKELY_ROLES = {"menu", "menubar", "complementary", "navigation", "alert", "alertdialog", "dialog"}
_DIV_TO_P = ("blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul")
_PHRASING = {
    "abbr", "audio", "b", "bdo", "br", "button", "cite", "code", "data", "datalist", "dfn", "em",
    "embed", "i", "img", "input", "kbd", "label", "mark", "math", "meter", "noscript", "object",
    "output", "progress", "q", "ruby", "samp", "script", "select", "small", "span", "strong", "sub",
    "sup", "textarea", "time", "var", "wbr", "mjx-container",
}
_TO_SCORE = {"section", "h2", "h3", "h4", "h5", "h6", "p", "td", "pre"}
# Tags is_noise answers "no" for when the element has no attributes (see is_noise).
_TAG_ONLY_SAFE = frozenset(
    {"a", "b", "i", "em", "strong", "span", "p", "li", "ul", "ol", "img", "br", "td", "tr", "th", "tbody", "table",
     "code", "pre", "sup", "sub", "small", "blockquote", "figure", "figcaption", "dl", "dt", "dd", "cite", "q",
     "abbr", "time", "u", "s", "del", "ins", "mark", "article", "main", "picture", "source", "wbr", "hr"}
)
_EMPTY_REMOVABLE = {"div", "section", "header", "h1", "h2", "h3", "h4", "h5", "h6"}
_KEEP_AS_SIBLING = {"div", "article", "section", "p"}
_TEXTISH = ("span", "li", "td") + _DIV_TO_P
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_TAG_SCORES = {
    "div": 5, "pre": 3, "td": 3, "blockquote": 3,
    "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5,
}
_CHAR_THRESHOLD = 500
_TOP_CANDIDATES = 5

STRIP_UNLIKELYS, WEIGHT_CLASSES, CLEAN_CONDITIONALLY = 1, 2, 4
_ALL_FLAGS = STRIP_UNLIKELYS | WEIGHT_CLASSES | CLEAN_CONDITIONALLY


@dataclass(slots=True)
class Extraction:
    """The article container (a detached ``div``), and what was learnt on the way."""

    article: etree._Element
    text_length: int
    byline: str | None
    direction: str | None
    #: No element stood out, so the "article" is the whole body, chrome included.
    whole_body: bool = False


def inner_text(el: etree._Element) -> str:
    """Text of ``el`` trimmed, with runs of white space folded to one space.

    Readability folds only runs of two or more (``\\s{2,}``); folding single
    newlines and tabs too gives the same length, which is all the scoring
    reads, and ``str.split`` is several times faster than the regex.
    """
    return " ".join(text_of(el).split())


def text_similarity(a: str, b: str) -> float:
    """1.0 when every word of ``b`` is in ``a``, down to 0.0 (Readability's measure)."""
    tokens_a = [t for t in _TOKENS.split(a.lower()) if t]
    tokens_b = [t for t in _TOKENS.split(b.lower()) if t]
    if not tokens_a or not tokens_b:
        return 0.0
    known = set(tokens_a)
    unique_b = [t for t in tokens_b if t not in known]
    return 1 - len(" ".join(unique_b)) / len(" ".join(tokens_b))


@lru_cache(maxsize=4096)
def _hides(style: str) -> bool:
    return bool(_HIDDEN_STYLE.search(style))


def is_visible(el: etree._Element) -> bool:
    style = el.get("style")
    if style and _hides(style):
        return False
    attrib = el.attrib
    if "hidden" in attrib:
        return False
    # Wikipedia's math fallback images are aria-hidden but are the only visible rendering.
    return attrib.get("aria-hidden") != "true" or "fallback-image" in (attrib.get("class") or "")


def extract_article(
    make_body: Callable[[], etree._Element | None],
    title: str,
    *,
    metadata_byline: str | None = None,
) -> Extraction | None:
    """Find the main content of a page, as Readability does.

    ``make_body`` returns the ``<body>`` of a freshly parsed, script-free
    tree; it is called again for each retry with looser rules (Readability
    retries when the result has fewer than 500 characters).
    """
    attempts: list[Extraction] = []
    flags = _ALL_FLAGS
    while True:
        body = make_body()
        if body is None:
            return None
        result = _Grabber(flags, title, metadata_byline).grab(body)
        if result.text_length >= _CHAR_THRESHOLD:
            return result
        attempts.append(result)
        for flag in (STRIP_UNLIKELYS, WEIGHT_CLASSES, CLEAN_CONDITIONALLY):
            if flags & flag:
                flags &= ~flag
                break
        else:
            best = max(attempts, key=lambda a: a.text_length)
            return best if best.text_length else None


@lru_cache(maxsize=4096)
def _value_weight(value: str) -> int:
    """Class/id weight of one attribute value; pages repeat the same few values."""
    return (25 if _POSITIVE.search(value) else 0) - (25 if _NEGATIVE.search(value) else 0)


@lru_cache(maxsize=4096)
def _names_byline(match: str) -> bool:
    return bool(_BYLINE.search(match))


@lru_cache(maxsize=4096)
def _names_share(match: str) -> bool:
    return bool(_SHARE.search(match))


@lru_cache(maxsize=4096)
def _names_consent(match: str) -> bool:
    return bool(_CONSENT.search(match))


def is_consent_banner(el, match: str) -> bool:
    """A cookie or consent banner, which Readability's rules let through when
    its class also says "content". Banners are short; a long element that
    merely mentions cookies in its class is kept."""
    return _names_consent(match) and len(text_of(el)) < 1500


@lru_cache(maxsize=4096)
def _is_unlikely(match: str) -> bool:
    return bool(_UNLIKELY.search(match)) and not _MAYBE_CANDIDATE.search(match)


def _comma_count(text: str) -> int:
    if text.isascii():  # most text: one count instead of one per script's comma
        return text.count(",")
    return sum(text.count(comma) for comma in _COMMA_CHARS)


def _has_commas(el, at_least: int) -> bool:
    """Whether ``el``'s text has ``at_least`` commas, reading its text pieces only until it does
    (a large container reaches ten commas long before its end)."""
    found = 0
    for piece in el.itertext():
        if piece.isascii():
            if "," not in piece:
                continue
            found += piece.count(",")
        else:
            found += _comma_count(piece)
        if found >= at_least:
            return True
    return False


def _has_ancestor_tag(node, tag: str, max_depth: int = 3, accept=None) -> bool:
    depth = 0
    parent = node.getparent()
    while parent is not None:
        if 0 < max_depth < depth:
            return False
        if parent.tag == tag and (accept is None or accept(parent)):
            return True
        parent = parent.getparent()
        depth += 1
    return False


def _has_single_tag_inside(el, tag: str) -> bool:
    if len(el) != 1 or el[0].tag != tag:
        return False
    text = el.text
    tail = el[0].tail
    return not ((text and text.strip()) or (tail and tail.strip()))


def is_phrasing(el) -> bool:
    tag = el.tag
    if tag in _PHRASING:
        return True
    return tag in ("a", "del", "ins") and all(is_phrasing(child) for child in el)


def _is_without_content(el) -> bool:
    for child in el:
        if child.tag not in ("br", "hr"):
            return False
    return not text_of(el).strip()


def is_data_table(table) -> bool:
    """Data table, as opposed to layout table (Readability's ``_markDataTables`` rules)."""
    if table.get("role") == "presentation" or table.get("datatable") == "0":
        return False
    if table.get("summary"):
        return True
    caption = table.find("caption")
    if caption is not None and (len(caption) or (caption.text or "").strip()):
        return True
    for _ in table.iter("col", "colgroup", "tfoot", "thead", "th"):
        return True
    for _nested in table.iterdescendants("table"):
        return False
    rows = columns = 0
    for tr in table.iter("tr"):
        try:
            rows += int(tr.get("rowspan") or 1)
        except ValueError:
            rows += 1
        in_row = 0
        for cell in tr.iter("td"):
            try:
                in_row += int(cell.get("colspan") or 1)
            except ValueError:
                in_row += 1
        columns = max(columns, in_row)
    if columns == 1 or rows == 1:
        return False
    if rows >= 10 or columns > 4:
        return True
    if rows * columns > 10:
        return True
    # Small grids of short cells read better as tables than as loose lines.
    return rows > 1 and all(
        len(cell) == 0 and len((cell.text or "").strip()) < 80 for cell in table.iter("td")
    )


class _Grabber:
    """One pass of Readability's ``_grabArticle`` with a set of flags."""

    def __init__(self, flags: int, title: str, metadata_byline: str | None) -> None:
        self.flags = flags
        self.title = title
        self.byline: str | None = None
        self.metadata_byline = metadata_byline
        self.scores: dict[object, float] = {}
        self.data_tables: set[etree._Element] = set()
        # Readability drops only the first h1/h2 that repeats the title.
        self.title_header_pending = True

    # -- scoring helpers -------------------------------------------------
    def class_weight(self, el) -> int:
        if not self.flags & WEIGHT_CLASSES:
            return 0
        weight = 0
        for value in (el.get("class"), el.get("id")):
            if value:
                weight += _value_weight(value)
        return weight

    def initialize(self, el) -> None:
        self.scores[el] = _TAG_SCORES.get(el.tag, 0) + self.class_weight(el)

    @staticmethod
    def link_density(el, text_length: int | None = None) -> float:
        """Share of the text that sits in links (in-page ``#`` links count 0.3)."""
        if text_length is None:
            text_length = folded_length(el)
        if not text_length:
            return 0.0
        links = 0.0
        for a in el.iter("a"):
            href = a.get("href")
            links += folded_length(a) * (0.3 if href and len(href) > 1 and href[0] == "#" else 1.0)
        return links / text_length

    # -- the walk ----------------------------------------------------------
    def check_byline(self, el, match: str) -> bool:
        if self.byline or self.metadata_byline:
            return False
        rel = el.get("rel")
        itemprop = el.get("itemprop") or ""
        if rel == "author" or "author" in itemprop or _names_byline(match):
            text = text_of(el).strip()
            if 0 < len(text) < 100:
                self.byline = text
                return True
        return False

    def wrap_phrasing(self, div) -> None:
        """Put runs of inline content of a ``div`` into ``p`` elements."""
        children = list(div)
        text = div.text
        has_text = bool(text and text.strip())
        if not has_text and not any(
            (c.tail and c.tail.strip()) or (c.tag != "br" and is_phrasing(c)) for c in children
        ):
            return
        new_children = []
        paragraph = None
        if has_text:
            paragraph = div.makeelement("p", {})
            paragraph.text = text
            new_children.append(paragraph)
        div.text = None
        for child in children:
            tail = child.tail
            child.tail = None
            if is_phrasing(child):
                if paragraph is not None:
                    paragraph.append(child)
                elif child.tag != "br":
                    paragraph = div.makeelement("p", {})
                    paragraph.append(child)
                    new_children.append(paragraph)
                else:
                    new_children.append(child)
            else:
                if paragraph is not None:
                    _trim_trailing_breaks(paragraph)
                paragraph = None
                new_children.append(child)
            if tail:
                if paragraph is not None:
                    last = paragraph[-1] if len(paragraph) else None
                    if last is None:
                        paragraph.text = (paragraph.text or "") + tail
                    else:
                        last.tail = (last.tail or "") + tail
                elif tail.strip():
                    paragraph = div.makeelement("p", {})
                    paragraph.text = tail
                    new_children.append(paragraph)
                else:
                    child.tail = tail
        if paragraph is not None:
            _trim_trailing_breaks(paragraph)
        div[:] = new_children

    def is_noise(self, node, tag: str) -> bool:
        """Whether the walk drops ``node``: hidden, a dialog, the byline, the
        heading that repeats the title, an unlikely candidate, a consent
        banner, or an empty container.

        The walk asks this of every element, so an element without attributes
        is answered from its tag alone.
        """
        attrib = node.attrib
        match = " "
        if attrib:
            match = f"{attrib.get('class') or ''} {attrib.get('id') or ''}"
            if not is_visible(node) or (attrib.get("aria-modal") == "true" and attrib.get("role") == "dialog"):
                return True
            if self.check_byline(node, match):
                return True
        if self.title_header_pending and tag in ("h1", "h2") and self.title:
            if text_similarity(self.title, text_of(node).strip()) > 0.75:
                self.title_header_pending = False
                return True
        if self.flags & STRIP_UNLIKELYS and (
            tag == "nav"
            or (
                match != " "
                and tag != "a"
                and _is_unlikely(match)
                and not _has_ancestor_tag(node, "table")
                and not _has_ancestor_tag(node, "code")
            )
            or (attrib and attrib.get("role") in _UNLIKELY_ROLES)
        ):
            return True
        if match != " " and is_consent_banner(node, match):
            return True
        return tag in _EMPTY_REMOVABLE and _is_without_content(node)

    def grab(self, body) -> Extraction:
        # Readability walks the tree once, dropping noise and turning divs into
        # paragraphs as it goes. Here the same steps run as three passes over
        # lists that lxml builds in C, with no Python-level tree walk: first the
        # noise (in document order, so the first byline and title heading win),
        # then the divs (parents before children, as in the walk), then the
        # elements to score. One difference: a div's only paragraph, which the
        # walk jumped to without asking, is asked like every other element.
        # A dropped element's descendants follow it in the list: they are skipped,
        # as the walk never entered them (so no byline comes from inside a dropped subtree).
        nodes = list(body.iterdescendants())
        index, end = 0, len(nodes)
        while index < end:
            node = nodes[index]
            index += 1
            tag = node.tag
            if tag in _TAG_ONLY_SAFE and not node.attrib:
                continue  # most inline elements: nothing about them can make them noise
            if isinstance(tag, str) and self.is_noise(node, tag):
                index += sum(1 for _ in node.iterdescendants())
                drop(node)
        for div in list(body.iter("div")):
            self.wrap_phrasing(div)
            if _has_single_tag_inside(div, "p") and self.link_density(div) < 0.25:
                child = div[0]
                child.tail = div.tail
                div.getparent().replace(div, child)
            elif next(div.iterdescendants(*_DIV_TO_P), None) is None:
                div.tag = "p"
        to_score = list(body.iter(*_TO_SCORE))

        candidates = self.score(body, to_score)
        top, created = self.pick_top(body, candidates)
        article = self.collect_siblings(top, created)
        self.prepare(article)
        length = folded_length(article)
        direction = None
        parent = top.getparent()
        for ancestor in [parent, top] + list(parent.iterancestors() if parent is not None else []):
            if ancestor is not None and ancestor.get("dir"):
                direction = ancestor.get("dir")
                break
        return Extraction(article, length, self.byline, direction, whole_body=created)

    def score(self, body, to_score) -> list:
        scores = self.scores
        candidates = []
        for el in to_score:
            parent = el.getparent()
            if parent is None:
                continue
            length = folded_length(el)
            if length < 25:
                continue
            content_score = 2 + _comma_count(text_of(el)) + min(length // 100, 3)
            level = 0
            ancestor = parent
            while ancestor is not None and level < 5:
                grand = ancestor.getparent()
                if grand is None:
                    break
                if ancestor not in scores:
                    self.initialize(ancestor)
                    candidates.append(ancestor)
                divider = 1 if level == 0 else 2 if level == 1 else level * 3
                scores[ancestor] += content_score / divider
                ancestor = grand
                level += 1
        # Link text under each candidate, summed bottom-up from every link once
        # (rather than every candidate iterating all the links below it).
        link_text = dict.fromkeys(candidates, 0.0)
        for a in body.iter("a"):
            href = a.get("href")
            weight = 0.3 if href and len(href) > 1 and href[0] == "#" else 1.0
            weighted = folded_length(a) * weight
            if not weighted:
                continue
            for ancestor in a.iterancestors():
                if ancestor in link_text:
                    link_text[ancestor] += weighted
        for candidate in candidates:
            text_length = folded_length(candidate)
            if text_length:
                scores[candidate] *= 1 - link_text[candidate] / text_length
        return candidates

    def pick_top(self, body, candidates):
        scores = self.scores
        top_list = sorted(candidates, key=lambda c: -scores[c])[:_TOP_CANDIDATES]
        top = top_list[0] if top_list else None
        if top is None or top.tag == "body":
            top = body.makeelement("div", {})
            top.text = body.text
            body.text = None
            for child in list(body):
                top.append(child)
            body.append(top)
            self.initialize(top)
            return top, True
        alternatives = [
            set(c.iterancestors())
            for c in top_list[1:]
            if scores[top] and scores[c] / scores[top] >= 0.75
        ]
        if len(alternatives) >= 3:
            parent = top.getparent()
            while parent is not None and parent.tag != "body":
                if sum(parent in ancestors for ancestors in alternatives) >= 3:
                    top = parent
                    break
                parent = parent.getparent()
        if top not in scores:
            self.initialize(top)
        parent = top.getparent()
        last = scores[top]
        threshold = last / 3
        while parent is not None and parent.tag != "body":
            if parent not in scores:
                parent = parent.getparent()
                continue
            parent_score = scores[parent]
            if parent_score < threshold:
                break
            if parent_score > last:
                top = parent
                break
            last = parent_score
            parent = parent.getparent()
        parent = top.getparent()
        while parent is not None and parent.tag != "body" and len(parent) == 1:
            top = parent
            parent = top.getparent()
        if top not in scores:
            self.initialize(top)
        return top, False

    def collect_siblings(self, top, created: bool):
        article = top.makeelement("div", {})
        if created:
            article.append(top)
            return article
        scores = self.scores
        top_score = scores[top]
        threshold = max(10.0, top_score * 0.2)
        top_class = top.get("class") or ""
        parent = top.getparent()
        # A top candidate with no parent (``<head><td>…`` puts a cell at the root) has no siblings.
        for sibling in list(parent) if parent is not None else [top]:
            if not isinstance(sibling.tag, str):
                continue
            append = sibling is top
            if not append:
                bonus = top_score * 0.2 if top_class and sibling.get("class") == top_class else 0
                if sibling in scores and scores[sibling] + bonus >= threshold:
                    append = True
                elif sibling.tag == "p":
                    length = folded_length(sibling)
                    density = self.link_density(sibling, length)
                    if length > 80 and density < 0.25:
                        append = True
                    elif 0 < length < 80 and density == 0 and _SENTENCE_END.search(inner_text(sibling)):
                        append = True
            if append:
                if sibling.tag not in _KEEP_AS_SIBLING:
                    sibling.tag = "div"
                article.append(sibling)
        return article

    # -- clean-up of the article ------------------------------------------
    def prepare(self, article) -> None:
        self.data_tables = {t for t in article.iter("table") if is_data_table(t)}
        self.clean_conditionally(article, "form")
        self.clean_conditionally(article, "fieldset")
        for tag in ("object", "embed", "footer", "link", "aside"):
            self.clean(article, tag)
        for top in list(article):
            self.clean_share(top)
        for tag in ("iframe", "input", "textarea", "select", "button"):
            self.clean(article, tag)
        for heading in list(article.iter("h1", "h2")):
            if self.class_weight(heading) < 0:
                drop(heading)
        for tag in ("table", "ul", "div"):
            self.clean_conditionally(article, tag)
        for table in self.data_tables:
            table.set("data-agentfetch-table", "data")

    @staticmethod
    def clean(article, tag: str) -> None:
        embed = tag in ("object", "embed", "iframe")
        for el in reversed(list(article.iterdescendants(tag))):
            if embed and (
                any(_VIDEOS.search(v) for v in el.attrib.values())
                or (tag == "object" and _VIDEOS.search(to_html(el)))
            ):
                continue
            drop(el)

    @staticmethod
    def clean_share(top) -> None:
        """Drop share widgets under ``top`` (descendants only, in document order, as the walk does)."""
        nodes = list(top.iterdescendants())
        index, end = 0, len(nodes)
        while index < end:
            node = nodes[index]
            index += 1
            if not isinstance(node.tag, str) or not node.attrib:
                continue
            attrib = node.attrib
            match = f"{attrib.get('class') or ''} {attrib.get('id') or ''}"
            if _names_share(match) and len(text_of(node)) < _CHAR_THRESHOLD:
                index += sum(1 for _ in node.iterdescendants())
                drop(node)

    def clean_conditionally(self, article, tag: str) -> None:
        if not self.flags & CLEAN_CONDITIONALLY:
            return
        data_tables = self.data_tables
        is_data = data_tables.__contains__
        for node in reversed(list(article.iterdescendants(tag))):
            if self.should_remove(node, tag, is_data):
                drop(node)

    def should_remove(self, node, tag: str, is_data) -> bool:
        # Lengths come from XPath and commas from str.count: on a 10 MB page,
        # splitting the text into words would cost a hundred megabytes.
        length = folded_length(node)
        is_list = tag in ("ul", "ol")
        if not is_list:
            list_length = sum(folded_length(lst) for lst in node.iter("ul", "ol"))
            is_list = bool(length) and list_length / length > 0.9
        if tag == "table" and is_data(node):
            return False
        if _has_ancestor_tag(node, "table", -1, is_data) or _has_ancestor_tag(node, "code"):
            return False
        if any(is_data(t) for t in node.iter("table")):
            return False
        weight = self.class_weight(node)
        if weight < 0:
            return True
        if _has_commas(node, 10):
            return False
        p = img = li = inputs = 0
        for el in node.iter("p", "img", "li", "input"):
            t = el.tag
            if t == "p":
                p += 1
            elif t == "img":
                img += 1
            elif t == "li":
                li += 1
            else:
                inputs += 1
        li -= 100
        embeds = 0
        for el in node.iter("object", "embed", "iframe"):
            if any(_VIDEOS.search(v) for v in el.attrib.values()):
                return False
            if el.tag == "object" and _VIDEOS.search(to_html(el)):
                return False
            embeds += 1
        if length < 30:  # the ad and loading words are whole, short texts
            text = inner_text(node)
            if _AD_WORDS.match(text) or _LOADING_WORDS.match(text):
                return True
        heading_density = (
            sum(folded_length(h) for h in node.iter(*_HEADINGS)) / length if length else 0.0
        )
        link_density = self.link_density(node, length)
        in_figure = _has_ancestor_tag(node, "figure")
        remove = (
            (not in_figure and img > 1 and p / img < 0.5)
            or (not is_list and li > p)
            or (inputs > p // 3)
            or (
                not is_list
                and not in_figure
                and heading_density < 0.9
                and length < 25
                and (img == 0 or img > 2)
                and link_density > 0
            )
            or (not is_list and weight < 25 and link_density > 0.2)
            or (weight >= 25 and link_density > 0.5)
            or (embeds == 1 and length < 75)
            or embeds > 1
            or (img == 0 and not _has_textish_text(node))
        )
        if is_list and remove:
            for child in node:
                if len(child) > 1:
                    return True
            if img == sum(1 for _ in node.iter("li")):
                return False
        return remove


def _has_textish_text(node) -> bool:
    """Readability's ``textDensity > 0``: some text sits in a text-bearing descendant."""
    for el in node.iterdescendants(*_TEXTISH):
        if text_of(el).strip():
            return True
    return False


def _trim_trailing_breaks(paragraph) -> None:
    while len(paragraph):
        last = paragraph[-1]
        if last.tag == "br" and not (last.tail and last.tail.strip()):
            paragraph.remove(last)
        else:
            break
