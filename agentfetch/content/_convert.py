"""Response body + content type → :class:`Document`.

Pure functions, no I/O. The fetcher hands over the bytes it read (possibly cut
at its size cap) and the ``Content-Type`` header; this module picks the
converter, decodes the text and never dumps binary data into an agent's
context. lxml, charset-normalizer and pypdf load only when a body needs them.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Mapping

from ._model import Document

__all__ = ["convert", "html_to_markdown", "parse_content_type"]

# Response headers of "Markdown for Agents" servers that an agent may want to see.
_REPORTED_HEADERS = (("x-markdown-tokens", "markdown_tokens"), ("content-signal", "content_signal"))
_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/vnd.wap.xhtml+xml"}
_MARKDOWN_TYPES = {"text/markdown", "text/x-markdown"}
_TEXTUAL_APPLICATION_TYPES = {
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "application/xml",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/x-sh",
    "application/sql",
    "application/graphql",
    "application/x-ndjson",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""")
# Magic numbers of common binary formats, for bodies sent without a type.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"RIFF", "application/octet-stream"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
    (b"\x7fELF", "application/octet-stream"),
)


def parse_content_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """Split ``text/html; charset=UTF-8`` into ``("text/html", {"charset": "UTF-8"})``."""
    if not content_type:
        return "", {}
    media, _, rest = content_type.partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"').strip()
    return media.strip().lower(), params


def html_to_markdown(html: str, url: str | None = None, *, full_page: bool = False, images: bool = False) -> str:
    """Convert an HTML page to Markdown: its title as ``# H1``, then its main content.

    Only the article is kept unless ``full_page`` is true (then navigation,
    headers and footers stay; scripts and styles never do). Links and images
    are made absolute against ``url`` (and the page's ``<base href>``).
    Images are kept when their alt text says something, all of them (icons,
    spacers, decorations) with ``images=True``.
    """
    from ._html import convert_html

    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    return convert_html(data, url, full_page=full_page, images=images).markdown


def convert(
    body: bytes,
    content_type: str | None,
    url: str,
    *,
    full_page: bool = False,
    body_truncated: bool = False,
    images: bool = False,
    headers: Mapping[str, str] | None = None,
) -> Document:
    """Turn a response body into a :class:`Document`, choosing the converter by type.

    ``body_truncated`` says the fetcher stopped reading at its size cap; the
    result then says so at its end, and a JSON body is shown as text since it
    cannot be parsed whole. ``images`` keeps every image, not only those
    whose alt text says something. ``headers`` are the response's: the
    Markdown-for-Agents ones (``x-markdown-tokens``, ``content-signal``) go to
    ``metadata`` as ``markdown_tokens`` and ``content_signal``. Server
    Markdown loses its leading and trailing navigation blocks unless
    ``full_page`` is true.
    """
    body = bytes(body)  # bytearray and memoryview work as well
    media, params = parse_content_type(content_type)
    if not media or media in ("application/octet-stream", "binary/octet-stream"):
        media = _sniff(body, media)
    elif _looks_textual(media) and _is_binary(body):
        # A mislabelled image or an unannounced gzip body: summarise, never dump.
        media = _sniff(body, "application/octet-stream")
    if media in _HTML_TYPES:
        from ._html import convert_html

        charset, text = _decode_html(body, params.get("charset"))
        if text is None:
            data = body[_bom_length(body) :]
        else:
            data = text.encode("utf-8", "replace")
        doc = convert_html(data, url, full_page=full_page, images=images)
        doc.charset = charset
    elif media in _MARKDOWN_TYPES:
        from ._markdown_body import absolute_links, main_content

        charset, text = _decode_text(body, params.get("charset"))
        text = absolute_links(text, url)
        if not full_page:  # measured safe on whole-page Markdown of the corpus: benchmarks/markdown.py --markdown-pass
            text = main_content(text)
        doc = Document(title=_markdown_title(text), markdown=text, kind="markdown", charset=charset)
    elif media == "application/json" or media.endswith("+json"):
        doc = _convert_json(body, params.get("charset"), body_truncated)
    elif media == "application/pdf":
        from ._pdf import convert_pdf

        doc = convert_pdf(body, url, body_truncated=body_truncated)
    elif media.startswith("text/") or media in _TEXTUAL_APPLICATION_TYPES or media.endswith("+xml"):
        charset, text = _decode_text(body, params.get("charset"))
        doc = Document(title=None, markdown=text, kind="text", charset=charset)
    else:
        doc = Document(title=None, markdown=binary_summary(media, len(body), url, body_truncated), kind="binary")
        return doc
    if headers is not None:
        for header, key in _REPORTED_HEADERS:
            value = _header(headers, header)
            if value and value.strip():
                doc.metadata[key] = " ".join(value.split())
    if body_truncated and doc.kind != "pdf":
        doc.markdown = doc.markdown.rstrip("\n") + (
            "\n\n<!-- agentfetch: the body was larger than the size cap and was cut; "
            "raise --max-bytes to read all of it -->\n"
        )
    return doc


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name whatever its case (``httpx.Headers`` already is; a plain dict is not)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def binary_summary(media: str, size: int, url: str, truncated: bool = False) -> str:
    """The one line that stands for a body that is not text."""
    amount = f"at least {_human_size(size)}" if truncated else _human_size(size)
    return f"[binary content: {media or 'unknown type'}, {amount}, {url}]\n"


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit} ({size} bytes)"


def _looks_textual(media: str) -> bool:
    return (
        media.startswith("text/")
        or media in _HTML_TYPES
        or media in _TEXTUAL_APPLICATION_TYPES
        or media == "application/json"
        or media.endswith(("+json", "+xml"))
    )


def _is_binary(body: bytes) -> bool:
    """Bytes no text format starts with: a binary magic number, or NULs outside UTF-16/32."""
    head = body[:1024]
    if any(head.startswith(magic) for magic, _media in _MAGIC if magic != b"%PDF-"):
        return True
    return b"\x00" in head and _bom_charset(head) not in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _sniff(body: bytes, declared: str) -> str:
    """Guess a media type from the first bytes when the server named none."""
    head = body[:1024]
    for magic, media in _MAGIC:
        if head.startswith(magic):
            return media
    stripped = head[_bom_length(head) :].lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in stripped[:512]:
        return "text/html"
    if stripped.startswith((b"{", b"[")):
        try:
            json.loads(body)
            return "application/json"
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            pass
    if stripped.startswith(b"<?xml"):
        return "application/xml"
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return declared or "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        # A multi-byte character cut at the 1 KiB mark is still text.
        if err.start < len(head) - 4:
            return _detect_textual(body, declared)
    return "text/plain"


def _detect_textual(body: bytes, declared: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(body[:65536]).best()
    return "text/plain" if best is not None else (declared or "application/octet-stream")


def _bom_length(body: bytes) -> int:
    for bom, _name in _BOMS:
        if body.startswith(bom):
            return len(bom)
    return 0


def _bom_charset(body: bytes) -> str | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    return None


_UNUSABLE_CODECS = frozenset({"undefined", "idna", "punycode"})


def _known_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().strip("'\""))
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    # "base64", "zlib", "rot13" are codecs too, but not text encodings: bytes.decode refuses them.
    # "undefined" refuses everything, and "idna" or "punycode" fail whatever the error handler.
    if not getattr(info, "_is_text_encoding", True) or info.name in _UNUSABLE_CODECS:
        return None
    codec = info.name
    # WHATWG: a page labelled latin-1/ascii is decoded as windows-1252.
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def _decode_html(body: bytes, header_charset: str | None) -> tuple[str, str | None]:
    """Decode an HTML body: BOM, then the header, then ``<meta>``, then detection.

    Returns ``(charset, text)`` where ``text`` is ``None`` when the body is
    valid UTF-8 and can go to the parser as it is (the fast, common case).
    """
    charset = _bom_charset(body) or _known_codec(header_charset)
    declared_in_page = False
    if charset is None:
        head = body[:4096]
        match = _META_CHARSET.search(head) or _XML_ENCODING.search(head)
        charset = _known_codec(match.group(1).decode("ascii")) if match else None
        declared_in_page = charset is not None
        # A page re-saved as UTF-8 keeps its old <meta charset>; bytes that are
        # valid UTF-8 (and not plain ASCII) are almost never a legacy encoding.
        if charset in ("utf-16-le", "utf-16-be", "utf-16", "utf-32"):
            charset = None
    if declared_in_page and charset != "utf-8":
        if _is_utf8(body):
            return "utf-8", None
    if charset in (None, "utf-8"):
        if _is_utf8(body[_bom_length(body) :]):
            return "utf-8", None
        if charset == "utf-8":
            return "utf-8", body.decode("utf-8", "replace")
    if charset is None:
        charset = _detect(body)
    return charset, body[_bom_length(body) :].decode(charset, "replace")


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8; plain ASCII (most markup) is checked without decoding."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_text(body: bytes, header_charset: str | None) -> tuple[str, str]:
    charset = _bom_charset(body) or _known_codec(header_charset)
    if charset is None:
        try:
            return "utf-8", body.decode("utf-8")
        except UnicodeDecodeError:
            charset = _detect(body)
    return charset, body[_bom_length(body) :].decode(charset, "replace")


def _detect(body: bytes) -> str:
    """Statistical detection for undeclared, non-UTF-8 bytes (charset-normalizer)."""
    from charset_normalizer import from_bytes

    matches = from_bytes(body[:262144])
    best = matches.best()
    if best is None:
        return "cp1252"
    # On short Western text the detector hesitates between single-byte Latin
    # code pages; windows-1252 is the web's default (WHATWG), so it wins a near tie.
    near = [match for match in matches if match.chaos <= best.chaos + 0.1]
    if any(match.encoding == "cp1252" for match in near):
        return "cp1252"
    # Short CJK text leaves the detector torn between multi-byte codecs (Shift_JIS bytes also
    # decode as GB18030, into rare ideographs). Japanese text cannot do without kana, and the
    # ideographic full stop and comma are common to all of them: the decoding that yields those wins.
    chosen = max(near, key=lambda match: (_cjk_signal(str(match)), match is best))
    return _known_codec(chosen.encoding) or "cp1252"


def _cjk_signal(text: str) -> int:
    return sum(1 for char in text if "\u3000" <= char <= "\u30ff")


def _markdown_title(text: str) -> str | None:
    for line in text.splitlines()[:50]:
        if line.startswith("# "):
            return line[2:].strip() or None
    return None


def _convert_json(body: bytes, header_charset: str | None, truncated: bool) -> Document:
    charset, text = _decode_text(body, header_charset)
    if not truncated:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except (ValueError, RecursionError):  # RecursionError: nested past the stack
            pass
    fence = "```"
    while fence in text:
        fence += "`"
    return Document(title=None, markdown=f"{fence}json\n{text.rstrip()}\n{fence}\n", kind="json", charset=charset)
