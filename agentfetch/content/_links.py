"""Link and image targets as an agent should get them: absolute, without tracking, never to the page itself.

An agent pays for every character of a URL and must be able to follow it, so
a link target is resolved against the page's base URL (RFC 3986 §5.2, with a
fast path for the common absolute and root-relative forms and one cache entry
per distinct ``href``), loses the query parameters that only track the click
(``utm_*``, ``fbclid``, ``gclid``, ``mc_eid``... the ones browsers' own query
stripping removes), and is dropped, keeping its text, when it points at the
page itself or at a fragment of it.

Images: by default an image is kept only when its ``alt`` text says
something. Spacers, tracking pixels, icons and decorative images (empty or
missing ``alt``, ``role="presentation"``, ``aria-hidden``, an ``alt`` that is
a file name or a word like "image") cost characters and tell an agent
nothing; ``images=True`` keeps every image that has a URL.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

__all__ = ["LinkResolver", "alt_text", "image_says_something", "strip_tracking"]

# Query parameters whose only use is to track a click or a campaign.
_TRACKING = re.compile(
    r"utm_\w+|fbclid|gclid|gclsrc|dclid|gbraid|wbraid|msclkid|yclid|twclid|ttclid|li_fat_id|igshid"
    r"|mc_eid|mc_cid|_hsenc|_hsmi|__hstc|__hssc|__hsfp|hsctatracking|mkt_tok|oly_anon_id|oly_enc_id"
    r"|vero_id|vero_conv|rb_clickid|_ga|_gl|s_kwcid|ef_id|__s",
    re.I,
)
# A path that urljoin would still have to normalise (RFC 3986 §5.2.4 dot segments), or characters it cares about.
_NEEDS_JOIN = re.compile(r"/\.\.?(?:/|$|[?#])|[\\\s]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_GENERIC_ALT = frozenset(
    {
        "image", "img", "photo", "picture", "pic", "graphic", "icon", "logo", "spacer", "pixel", "thumbnail",
        "thumb", "placeholder", "banner", "avatar", "null", "undefined", "untitled", "blank", "alt", "none",
        "bild", "imagen", "foto", "immagine", "图片",
    }
)
_FILE_NAME = re.compile(r"^\S+\.(?:jpe?g|png|gif|webp|avif|svg|bmp|ico|tiff?)$", re.I)
_WORD = re.compile(r"\w")
_TAG = re.compile(r"<[^<>]*>")
_ICON_PX = 32  # an image drawn this small or smaller is an icon, a bullet or a spacer
_CAPTION_LEVELS = 3  # how far up from an image its caption is looked for
_CAPTION_CHARS = 2000  # a neighbour longer than this is body text, not a caption


def strip_tracking(url: str) -> str:
    """``url`` without its tracking query parameters; the others keep their order and spelling."""
    query_start = url.find("?")
    if query_start < 0:
        return url
    fragment_start = url.find("#", query_start)
    end = fragment_start if fragment_start >= 0 else len(url)
    params = url[query_start + 1 : end].split("&")
    kept = [p for p in params if p and not _TRACKING.fullmatch(p.partition("=")[0])]
    if len(kept) == len(params):
        return url
    query = "?" + "&".join(kept) if kept else ""
    return url[:query_start] + query + url[end:]


class LinkResolver:
    """Absolute, tracking-free link targets for one page, cached per ``href``."""

    __slots__ = ("base", "_origin", "_scheme", "_page", "_cache", "_images")

    def __init__(self, base_url: str | None, page_url: str | None = None) -> None:
        self.base = base_url
        try:
            parts = urlsplit(base_url) if base_url else None
        except ValueError:  # a hostile <base href> or page URL ("http://[zz]/"): resolve relative links as-is
            parts = None
        self._scheme = parts.scheme if parts else ""
        self._origin = f"{parts.scheme}://{parts.netloc}" if parts and parts.scheme and parts.netloc else ""
        page = page_url or base_url
        self._page = strip_tracking(page.partition("#")[0]) if page else None
        self._cache: dict[str, str | None] = {}
        self._images: dict[str, str] = {}

    def resolve(self, href: str) -> str | None:
        """The URL to print for a link's ``href``, or ``None`` when only its text should stay
        (a fragment of this page, the page itself, ``javascript:``)."""
        try:
            return self._cache[href]
        except KeyError:
            pass
        url = self._resolve(href.strip())
        self._cache[href] = url
        return url

    def image(self, src: str) -> str:
        """The URL to print for an image source (never dropped as a self-link)."""
        url = self._images.get(src)
        if url is None:
            url = self._images[src] = strip_tracking(self.absolute(src.strip()))
        return url

    def _resolve(self, href: str) -> str | None:
        if not href or href[0] == "#" or href[:11].lower() == "javascript:":
            return None
        url = strip_tracking(self.absolute(href))
        if self._page is not None and url.partition("#")[0] == self._page:
            return None
        return url

    def absolute(self, href: str) -> str:
        """``href`` resolved against the base URL, escaped so that Markdown keeps it whole."""
        url = self._join(href)
        if " " in url:
            url = url.replace(" ", "%20")
        if "(" in url or ")" in url:
            if url.count("(") != url.count(")"):
                url = url.replace("(", "%28").replace(")", "%29")
        return url

    def _join(self, href: str) -> str:
        if not self.base:
            return href
        if not _NEEDS_JOIN.search(href):
            # The common cases need no parsing: an absolute URL with an authority,
            # a network-path reference and a root-relative path (RFC 3986 §5.2.2).
            if href.startswith(("http://", "https://")):
                return href
            if href.startswith("//") and self._scheme:
                return f"{self._scheme}:{href}"
            if href[0] == "/" and self._origin:
                return self._origin + href
            if _SCHEME.match(href) and not href.startswith(("http:", "https:")):
                return href  # mailto:, tel:, ftp:... nothing to resolve
        try:
            return urljoin(self.base, href)
        except ValueError:
            return href


def image_says_something(el, src: str, title: str | None = None) -> bool:
    """Whether an image is worth its characters: real ``alt`` text, not an icon, spacer or decoration,
    and not a repeat of the page title or of the caption printed next to it."""
    if el.get("role") == "presentation" or el.get("aria-hidden") == "true":
        return False
    for name in ("width", "height"):
        value = el.get(name)
        if value and value.strip().isdigit() and int(value) <= _ICON_PX:
            return False
    alt = alt_text(el)
    if not alt or not _WORD.search(alt) or alt.lower() in _GENERIC_ALT or _FILE_NAME.match(alt):
        return False
    folded = alt.lower()
    name = src.rsplit("/", 1)[-1].split("?", 1)[0].lower()
    if folded in (name, name.rpartition(".")[0]):
        return False
    if title and folded in " ".join(title.split()).lower():
        return False
    return not _caption_repeats(el, folded)


def alt_text(el) -> str:
    """An image's ``alt`` with white space folded and any HTML markup a CMS left in it removed."""
    alt = el.get("alt") or ""
    if "<" in alt:
        alt = _TAG.sub("", alt)
    return " ".join(alt.split())


def _caption_repeats(el, alt: str) -> bool:
    """Whether a caption next to the image (its figure's ``figcaption``, or a short neighbour of the
    image or of a wrapper a few levels up) already holds the alt text."""
    node = el
    for _ in range(_CAPTION_LEVELS):
        for neighbour in (node.getprevious(), node.getnext()):
            if neighbour is not None and isinstance(neighbour.tag, str) and _holds(neighbour, alt):
                return True
        node = node.getparent()
        if node is None:
            return False
        if node.tag == "figure" and any(_holds(caption, alt) for caption in node.iter("figcaption")):
            return True
    return False


def _holds(el, alt: str) -> bool:
    # itertext, not _tree.text_of: importing this module (for server Markdown) must not load lxml.
    text = "".join(el.itertext())
    return len(text) < _CAPTION_CHARS and alt in " ".join(text.split()).lower()
