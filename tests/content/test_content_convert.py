"""convert(): dispatch on content type, charsets, binary summaries, PDF."""

from __future__ import annotations

import io
import json
import sys

import pytest

from agentfetch.content import Document, convert

URL = "http://127.0.0.1:8000/doc"


def test_html_by_type_gives_markdown_with_title_and_absolute_links():
    body = b"<html><head><title>A fine page title</title></head><body><main><h1>A fine page title</h1><p>Read <a href='/next'>the next part</a> of this text, which is long enough to be the article.</p></main></body></html>"
    doc = convert(body, "text/html; charset=utf-8", URL)
    assert isinstance(doc, Document)
    assert doc.kind == "html"
    assert doc.title == "A fine page title"
    assert doc.markdown.startswith("# A fine page title\n\n")
    assert "[the next part](http://127.0.0.1:8000/next)" in doc.markdown
    assert doc.charset == "utf-8"


def test_xhtml_is_html():
    body = b'<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>X page title here</title></head><body><p>Some xhtml body text that is long enough to be kept by the extractor as content.</p></body></html>'
    doc = convert(body, "application/xhtml+xml", URL)
    assert doc.kind == "html"
    assert "Some xhtml body text" in doc.markdown


def test_markdown_passes_through_untouched():
    body = "# Title\n\n*keep*   <b>this</b>\n\n\n\nexactly é\n".encode()
    doc = convert(body, "text/markdown; charset=utf-8", URL)
    assert doc.kind == "markdown"
    assert doc.markdown == body.decode()
    assert doc.title == "Title"


@pytest.mark.parametrize("media", ["application/json", "application/problem+json", "application/linkset+json"])
def test_json_is_pretty_printed_in_a_fence(media):
    body = json.dumps({"linkset": [{"anchor": "https://h/", "item": [{"href": "/a"}]}], "é": 1}).encode()
    doc = convert(body, media, URL)
    assert doc.kind == "json"
    assert doc.markdown.startswith("```json\n{\n  \"linkset\": [\n")
    assert doc.markdown.rstrip().endswith("```")
    assert '"é": 1' in doc.markdown
    inner = doc.markdown.split("\n", 1)[1].rsplit("```", 1)[0]
    assert json.loads(inner) == json.loads(body)


def test_invalid_json_is_shown_as_is_in_the_fence():
    doc = convert(b'{"a": 1,', "application/json", URL)
    assert doc.markdown == '```json\n{"a": 1,\n```\n'


def test_json_containing_a_fence_gets_a_longer_fence():
    doc = convert(json.dumps({"md": "```x```"}).encode(), "application/json", URL)
    assert doc.markdown.startswith("````json\n")


@pytest.mark.parametrize("media", ["text/plain", "text/csv", "text/x-python", "application/xml"])
def test_other_text_passes_through(media):
    body = b"line one\n\n\n\nline   two\n"
    doc = convert(body, media, URL)
    assert doc.kind == "text"
    assert doc.markdown == body.decode()


@pytest.mark.parametrize(
    ("body", "media"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "image/png"),
        (b"PK\x03\x04" + b"\x00\x01\x02" * 1000, "application/zip"),
        (bytes(range(256)) * 4, "application/octet-stream"),
        (b"\x00\x01\x02\x03" * 100, "font/woff2"),
    ],
)
def test_binary_is_one_line_summary_never_dumped(body, media):
    doc = convert(body, media, URL)
    assert doc.kind == "binary"
    assert doc.markdown.count("\n") == 1
    assert media in doc.markdown and URL in doc.markdown and str(len(body)) in doc.markdown
    assert "\x00" not in doc.markdown and "PNG" not in doc.markdown.replace("image/png", "")


def test_binary_summary_says_when_the_body_was_cut():
    doc = convert(b"\xff\xd8\xff" + b"\x00" * 5000, "image/jpeg", URL, body_truncated=True)
    assert "at least" in doc.markdown


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"<!DOCTYPE html><html><head><title>Sniffed title here</title></head><body><p>Hello there, this is a page without a content type header at all.</p></body></html>", "html"),
        (b'{"a": [1, 2]}', "json"),
        (b"%PDF-1.4 not really", "pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        (b"just some words\n", "text"),
        (b"\x00\x01\x02\x03\x04binary", "binary"),
    ],
)
def test_missing_content_type_is_sniffed(body, kind):
    assert convert(body, None, URL).kind == kind
    assert convert(body, "", URL).kind == kind


def test_truncated_text_body_says_so_at_the_end():
    doc = convert(b"partial text", "text/plain", URL, body_truncated=True)
    assert doc.markdown.startswith("partial text")
    assert "size cap" in doc.markdown and "--max-bytes" in doc.markdown


def test_truncated_json_is_not_parsed_but_shown():
    doc = convert(b'{"a": [1, 2, 3', "application/json", URL, body_truncated=True)
    assert '{"a": [1, 2, 3' in doc.markdown and "size cap" in doc.markdown


# -- charsets ------------------------------------------------------------------
PARAGRAPH = "Le café crème coûte trois euros à la terrasse, déjà payé par François."


def _page(text: str, head: str = "") -> str:
    return f"<html><head>{head}<title>Une page</title></head><body><article><p>{text}</p><p>{text}</p></article></body></html>"


def test_charset_from_header():
    body = _page(PARAGRAPH).encode("windows-1252")
    doc = convert(body, "text/html; charset=windows-1252", URL)
    assert PARAGRAPH in doc.markdown
    assert doc.charset == "cp1252"


def test_charset_from_meta():
    body = _page(PARAGRAPH, '<meta charset="iso-8859-15">').encode("iso-8859-15")
    doc = convert(body, "text/html", URL)
    assert PARAGRAPH in doc.markdown


def test_charset_from_http_equiv_meta():
    body = _page(PARAGRAPH, '<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">').encode("cp1252")
    assert PARAGRAPH in convert(body, "text/html", URL).markdown


def test_bom_wins():
    body = _page(PARAGRAPH).encode("utf-16")
    doc = convert(body, "text/html", URL)
    assert PARAGRAPH in doc.markdown
    assert doc.charset.startswith("utf-16")


def test_undeclared_windows_1252_is_detected():
    text = " ".join([PARAGRAPH] * 4)
    body = _page(text).encode("windows-1252")
    doc = convert(body, "text/html", URL)
    assert PARAGRAPH in doc.markdown


def test_undeclared_shift_jis_is_detected():
    text = "日本語のテキストです。これはシフトJISで書かれたページで、文字コードの宣言がありません。" * 3
    body = _page(text).encode("shift_jis")
    doc = convert(body, "text/html", URL)
    assert "シフトJISで書かれたページ" in doc.markdown
    assert doc.charset in ("shift_jis", "cp932")


def test_undeclared_shift_jis_plain_text_is_detected():
    text = "日本語のテキストです。これはシフトJISで書かれた文書です。" * 5
    doc = convert(text.encode("shift_jis"), "text/plain", URL)
    assert doc.markdown == text


def test_meta_that_lies_loses_to_valid_utf8():
    body = _page(PARAGRAPH, '<meta charset="gb2312">').encode("utf-8")
    assert PARAGRAPH in convert(body, "text/html", URL).markdown


def test_unknown_charset_label_falls_back_to_detection():
    body = _page(PARAGRAPH).encode("utf-8")
    assert PARAGRAPH in convert(body, "text/html; charset=no-such-charset", URL).markdown


def test_empty_and_garbage_html_do_not_raise():
    assert convert(b"", "text/html", URL).markdown == ""
    assert convert(b"<<<>>>\xff\x80 & </p>", "text/html", URL).kind == "html"
    assert convert(b"\x00\xff<<<>>>", "text/html", URL).kind == "binary"
    assert convert(b"<p>", "text/html", URL).markdown.strip() == ""


# -- PDF -----------------------------------------------------------------------
def _make_pdf(text: str, title: str) -> bytes:
    pypdf = pytest.importorskip("pypdf")
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(width=400, height=200)
    font = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    stream = StreamObject()
    stream._data = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode("latin-1")
    page[NameObject("/Contents")] = writer._add_object(stream)
    writer.add_metadata({"/Title": title, "/Author": "A. Writer"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_pdf_text_is_extracted():
    body = _make_pdf("Quarterly results were strong", "Report Q3")
    doc = convert(body, "application/pdf", URL)
    assert doc.kind == "pdf"
    assert doc.title == "Report Q3"
    assert doc.markdown.startswith("# Report Q3\n\n")
    assert "Quarterly results were strong" in doc.markdown
    assert doc.metadata["byline"] == "A. Writer" and doc.metadata["pages"] == "1"


def test_pdf_without_the_extra_says_how_to_install_it(monkeypatch):
    body = _make_pdf("hello", "t")
    # Simulates an installation without the pdf extra.
    monkeypatch.setitem(sys.modules, "pypdf", None)
    doc = convert(body, "application/pdf", URL)
    assert doc.kind == "pdf"
    assert "pip install 'agentfetch[pdf]'" in doc.markdown
    assert doc.markdown.count("\n") == 1


def test_broken_or_cut_pdf_gives_a_note_not_a_traceback():
    assert "not readable" in convert(b"%PDF-1.7\ngarbage", "application/pdf", URL).markdown
    body = _make_pdf("hello", "t")
    cut = convert(body[: len(body) // 2], "application/pdf", URL, body_truncated=True)
    assert "--max-bytes" in cut.markdown


@pytest.mark.parametrize(
    ("body", "media"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00IHDR" * 50, "text/html"),
        (b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4, "text/plain"),
        (b"PK\x03\x04" + b"\x00" * 300, "application/json"),
        (b"abc\x00\x01\x02def" * 40, "text/plain"),
    ],
)
def test_binary_bytes_under_a_text_label_are_summarised_not_dumped(body, media):
    doc = convert(body, media, URL)
    assert doc.kind == "binary"
    assert doc.markdown.count("\n") == 1 and URL in doc.markdown


def test_utf16_text_with_bom_is_still_text():
    doc = convert("hello wörld".encode("utf-16"), "text/plain", URL)
    assert doc.kind == "text" and doc.markdown == "hello wörld"


MARKDOWN_PAGE = """# Handbook

See [the guide](/docs/guide "Guide") and [next](next.md), ![logo](img/logo.png), [top](#top),
[elsewhere](https://other.example/x?utm_source=feed&id=2) and <https://auto.example/> or `[code](/not/this)`.

[ref]: ../ref.html
[abs]: https://other.example/abs

```md
[in a fence](/not/this/either)
```
"""


def test_server_markdown_links_become_absolute_against_the_final_url():
    doc = convert(MARKDOWN_PAGE.encode(), "text/markdown", "https://example.org/docs/guide/page.md")
    md = doc.markdown
    assert '[the guide](https://example.org/docs/guide "Guide")' in md
    assert "[next](https://example.org/docs/guide/next.md)" in md
    assert "![logo](https://example.org/docs/guide/img/logo.png)" in md
    assert "[top](#top)" in md
    assert "[elsewhere](https://other.example/x?utm_source=feed&id=2)" in md  # absolute: as the server wrote it
    assert "<https://auto.example/>" in md
    assert "[ref]: https://example.org/docs/ref.html" in md
    assert "[abs]: https://other.example/abs" in md
    # Code is text, not links.
    assert "`[code](/not/this)`" in md and "[in a fence](/not/this/either)" in md


def test_markdown_for_agents_headers_are_reported_in_metadata():
    headers = {"Content-Type": "text/markdown", "X-Markdown-Tokens": "321", "Content-Signal": "ai-train=no, search=yes"}
    doc = convert(b"# T\n\nbody\n", "text/markdown", URL, headers=headers)
    assert doc.metadata == {"markdown_tokens": "321", "content_signal": "ai-train=no, search=yes"}
    assert convert(b"# T\n", "text/markdown", URL, headers={}).metadata == {}


DUMP = """# Release notes

- [Home](/)
- [Docs](/docs)
- [Blog](/blog)

Version 2.0 brings a faster parser, a new configuration format and many fixes, described below in detail.

## Parser

The parser is rewritten. See [the design note](/design) for why.

[Privacy](/privacy) · [Terms](/terms)

[Contact us](/contact)
"""


def test_whole_page_markdown_loses_its_leading_and_trailing_navigation():
    md = convert(DUMP.encode(), "text/markdown", "https://example.org/notes").markdown
    assert md.startswith("# Release notes\n\nVersion 2.0 brings")
    assert md.endswith("See [the design note](https://example.org/design) for why.\n")
    assert "[Home]" not in md and "Privacy" not in md and "Contact" not in md
    full = convert(DUMP.encode(), "text/markdown", "https://example.org/notes", full_page=True).markdown
    assert "[Home](https://example.org/)" in full and "[Contact us](https://example.org/contact)" in full


def test_markdown_that_is_mostly_links_is_kept_whole():
    index = "# Index\n\n- [Alpha](/a)\n- [Beta](/b)\n- [Gamma](/c)\n\n[More](/more)\n"
    md = convert(index.encode(), "text/markdown", "https://example.org/").markdown
    assert md == index.replace("](/", "](https://example.org/")


@pytest.mark.parametrize("page_url", ["http://[zz]/", "http://[::1/page"])
def test_a_hostile_page_url_still_converts(page_url: str) -> None:
    # Found by tests/fuzz: urlsplit raises ValueError on these; links then stay as written.
    doc = convert(b'<p>See <a href="/x">x</a> and <a href="https://a.example/">a</a>.</p>', "text/html", page_url)
    assert "[a](https://a.example/)" in doc.markdown and "[x](" in doc.markdown


def test_undeclared_euc_jp_plain_text_is_detected():
    text = "日本語のテキストです。これはEUCで書かれた文書です。" * 5
    assert convert(text.encode("euc_jp"), "text/plain", URL).markdown == text


def test_undeclared_gbk_plain_text_is_not_taken_for_japanese_or_korean():
    text = "这是一个中文文本，用于测试字符编码检测。我们希望它能被正确识别。" * 3
    assert convert(text.encode("gbk"), "text/plain", URL).markdown == text


def test_undeclared_euc_kr_plain_text_is_detected():
    text = "한국어 텍스트입니다. 이것은 문자 인코딩 감지를 위한 테스트입니다." * 3
    assert convert(text.encode("euc_kr"), "text/plain", URL).markdown == text
