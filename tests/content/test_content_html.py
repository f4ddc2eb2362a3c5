"""html_to_markdown on small handwritten pages: one conversion rule per test."""

from __future__ import annotations

import re

import pytest

from agentfetch.content import convert, html_to_markdown

URL = "https://example.org/docs/guide/page.html"
FILLER = (
    "This paragraph is here so that the article is long enough for the extractor, "
    "with commas, clauses, and sentences that read like real prose in an article. "
) * 3


def article(inner: str, title: str = "Guide to Things", head: str = "", outer: str = "") -> str:
    return (
        f"<html lang='en'><head><title>{title}</title>{head}</head><body>"
        f"<nav class='menu'><a href='/'>Home</a> <a href='/about'>About us</a></nav>{outer}"
        f"<article><h1>{title}</h1><p>{FILLER}</p>{inner}<p>{FILLER}</p></article>"
        "<footer>Copyright footer text</footer></body></html>"
    )


def md(inner: str, **kw) -> str:
    return html_to_markdown(article(inner, **kw), URL)


def test_title_is_the_first_line_and_not_repeated():
    out = md("")
    assert out.startswith("# Guide to Things\n\n")
    assert out.count("Guide to Things") == 1


def test_main_content_only_by_default_and_everything_with_full_page():
    page = article("<p>Body text.</p>")
    out = html_to_markdown(page, URL)
    assert "About us" not in out and "Copyright footer" not in out
    full = html_to_markdown(page, URL, full_page=True)
    assert "About us" in full and "Copyright footer" in full and "Body text." in full


@pytest.mark.parametrize(
    "chrome",
    [
        "<div id='cookie-banner' class='cookie-consent'><p>We use cookies to improve your experience, accept all cookies now please.</p></div>",
        "<div class='cookie-consent-content'><p>We use cookies to improve your experience, accept all cookies now please.</p></div>",
        "<aside><p>Related reading that is not part of this article, at all, really.</p></aside>",
        "<form><input name=q><button>Search the whole site</button></form>",
        "<script>var secret = 'do not print this script';</script><style>.x{color:red}</style><noscript>Enable JavaScript</noscript>",
        "<div class='share-buttons'><a href='https://twitter.com/share'>Share on Twitter</a></div>",
        "<div id='comments' class='comments'><p>First comment: great post, thanks for writing this up!</p></div>",
        "<nav><ul><li><a href='/prev'>Previous post in this series</a></li><li><a href='/next'>Next post</a></li></ul></nav>",
    ],
)
def test_chrome_is_dropped(chrome):
    out = md(chrome)
    for word in ("cookies", "Related reading", "Search the whole", "do not print", "color:red", "Enable JavaScript", "Share on Twitter", "First comment", "Previous post"):
        assert word not in out


def test_links_and_images_are_absolute_and_data_uris_dropped():
    out = md(
        "<p>See <a href='../other.html'>the other page</a>, <a href='//cdn.example.org/x'>the cdn</a>"
        " and <a href='#section'>a local anchor</a>.</p>"
        "<p><img src='img/a.png' alt='A chart'> <img src='data:image/png;base64,iVBORw0KGgo=' alt='inline'></p>"
        "<p><img data-src='/lazy.jpg' src='data:image/gif;base64,R0lGOD' class='lazy' alt='Lazy one'></p>"
    )
    assert "[the other page](https://example.org/docs/other.html)" in out
    assert "[the cdn](https://cdn.example.org/x)" in out
    assert "<https://example.org/plain>" in md("<p>Visit <a href='https://example.org/plain'>https://example.org/plain</a> today.</p>")
    assert "a local anchor" in out and "](#section)" not in out
    assert "![A chart](https://example.org/docs/guide/img/a.png)" in out
    assert "data:" not in out and "inline" not in out
    assert "![Lazy one](https://example.org/lazy.jpg)" in out


def test_base_href_is_honoured():
    out = html_to_markdown(article("<p><a href='x.html'>relative link text</a></p>", head="<base href='https://other.example/base/'>"), URL)
    assert "[relative link text](https://other.example/base/x.html)" in out


@pytest.mark.parametrize(
    ("attrs", "language"),
    [
        ("<pre><code class='language-python'>", "python"),
        ("<pre class='highlight-ruby'><code>", "ruby"),
        ("<div class='highlight highlight-source-js'><pre><code>", "js"),
        ("<pre data-lang='go'><code>", "go"),
        ("<pre><code data-language='rust'>", "rust"),
        ("<pre class='brush: bash'><code>", "bash"),
    ],
)
def test_code_fence_language(attrs, language):
    closing = "</code></pre></div>" if attrs.startswith("<div") else "</code></pre>"
    out = md(f"{attrs}x = 1{closing}")
    assert f"```{language}\nx = 1\n```" in out


def test_pre_whitespace_is_kept_exactly_and_fences_do_not_collide():
    code = "def f():\n\tif x:\n        return  '  spaced  '\n\n\n    # trailing blank lines above\nprint(\"```\")"
    escaped = code.replace("<", "&lt;")
    out = md(f"<pre><code><span class='k'>def</span>{escaped[3:]}</code></pre>")
    assert f"````\n{code}\n````" in out


def test_pre_with_br_lines():
    assert "```\nline 1\nline 2\n```" in md("<pre>line 1<br>line 2</pre>")


def test_headings_lists_quotes_and_breaks():
    out = md(
        "<h2>Section</h2><h3>Sub <em>section</em></h3>"
        "<ul><li>one<ul><li>nested <b>bold</b></li><li>second nested<ol><li>deep</li></ol></li></ul></li><li>two</li></ul>"
        "<ol start='3'><li><p>three</p><p>more of three</p></li><li>four</li></ol>"
        "<blockquote><p>Quoted text</p><blockquote><p>inner quote</p></blockquote></blockquote>"
        "<p>first line<br>second line</p>"
    )
    assert "\n## Section\n\n### Sub *section*\n" in out
    assert "- one\n  - nested **bold**\n  - second nested\n    1. deep\n- two" in out
    assert "3. three\n\n   more of three\n4. four" in out
    assert "> Quoted text\n>\n> > inner quote" in out
    assert "first line\\\nsecond line" in out


def test_definition_lists_and_inline_code():
    out = md("<dl><dt>Term</dt><dd>The meaning</dd><dt>Other</dt><dd>Second <code>a`b</code></dd></dl>")
    assert "**Term**\n: The meaning\n\n**Other**\n: Second ``a`b``" in out


def test_no_runs_of_blank_lines_outside_code():
    out = md("<div><p>a</p>\n\n<p></p><div><br><br></div><p>b</p></div><p>&nbsp;</p><p>c</p>")
    fenceless = re.sub(r"```.*?```", "", out, flags=re.S)
    assert "\n\n\n" not in fenceless


def test_markdown_characters_in_text_are_escaped():
    out = md("<p>2 * 3 = 6 and _private_ and snake_case and a &lt;tag&gt;</p><p>1. not a list</p><p># not a heading</p>")
    assert "2 \\* 3 = 6" in out and "\\_private\\_" in out and "snake_case" in out and "\\<tag>" in out
    assert "\n1\\. not a list" in out and "\n\\# not a heading" in out


def test_data_table_is_gfm_with_header_colspan_and_rowspan():
    out = md(
        "<table><caption>Prices</caption><thead><tr><th>Item</th><th colspan='2'>Cost</th></tr></thead>"
        "<tbody><tr><td rowspan='2'>Tea</td><td>small</td><td>1 | 2</td></tr>"
        "<tr><td>large</td><td>3<br>4</td></tr></tbody></table>"
    )
    assert "Prices\n\n| Item | Cost |  |\n| --- | --- | --- |\n| Tea | small | 1 \\| 2 |\n|  | large | 3<br>4 |" in out


def test_table_without_th_uses_first_row_as_header():
    rows = "".join(f"<tr><td>r{i}a</td><td>r{i}b</td><td>r{i}c</td></tr>" for i in range(4))
    out = md(f"<table>{rows}</table>")
    assert "| r0a | r0b | r0c |\n| --- | --- | --- |\n| r1a | r1b | r1c |" in out


def test_layout_table_is_unwrapped():
    out = md(
        "<table role='presentation'><tr><td><p>Left column paragraph.</p></td>"
        "<td><p>Right column paragraph.</p></td></tr></table>"
    )
    assert "|" not in out
    assert "Left column paragraph.\n\nRight column paragraph." in out


def test_math_becomes_tex():
    out = md(
        "<p>Inline <math alttext='x^2'><msup><mi>x</mi><mn>2</mn></msup></math> and "
        "<span class='katex'><span class='katex-mathml'><math><semantics><mrow><mi>y</mi></mrow>"
        "<annotation encoding='application/x-tex'>\\frac{1}{y}</annotation></semantics></math></span>"
        "<span class='katex-html' aria-hidden='true'>1/y</span></span> and "
        "<math><mfrac><mi>a</mi><msqrt><mi>b</mi></msqrt></mfrac></math>.</p>"
        "<math display='block'><msub><mi>z</mi><mi>k</mi></msub></math>"
    )
    assert "Inline $x^2$ and $\\frac{1}{y}$ and $\\frac{a}{\\sqrt{b}}$." in out
    assert "$$\nz_k\n$$" in out
    assert "1/y" not in out


def test_mediawiki_style_switch_is_unwrapped():
    out = md(
        "<p>So <math alttext='{\\displaystyle a_{ij}={\\overline {a_{ji}}}}'><mi>a</mi></math> and "
        "<math alttext='{\\displaystyle a}+{b}'><mi>a</mi></math>.</p>"
    )
    assert "So $a_{ij}={\\overline {a_{ji}}}$ and ${\\displaystyle a}+{b}$." in out


def test_katex_display_math_is_a_block():
    out = md(
        "<p>Before.</p><span class='katex-display'><span class='katex'><span class='katex-mathml'><math>"
        "<semantics><mrow><mi>E</mi></mrow><annotation encoding='application/x-tex'>E=mc^2</annotation>"
        "</semantics></math></span><span class='katex-html' aria-hidden='true'>E=mc2</span></span></span><p>After.</p>"
    )
    assert "Before.\n\n$$\nE=mc^2\n$$\n\nAfter." in out


def test_mathjax2_script_tex_is_kept():
    out = md('<p>Energy <span class="MathJax_Preview">E=mc2</span><span class="MathJax">E = m c 2</span><script type="math/tex">E=mc^2</script> holds.</p>')
    assert "Energy $E=mc^2$ holds." in out


def test_metadata_is_collected():
    head = (
        "<meta name='author' content='Ada Lovelace'>"
        "<meta property='article:published_time' content='2024-05-01T10:00:00Z'>"
        "<meta name='description' content='All about things.'>"
        "<meta property='og:site_name' content='Example Docs'>"
        "<link rel='canonical' href='/docs/guide/'>"
    )
    doc = convert(article("<p>x</p>", head=head).encode(), "text/html", URL)
    assert doc.metadata["byline"] == "Ada Lovelace"
    assert doc.metadata["published"] == "2024-05-01T10:00:00Z"
    assert doc.metadata["canonical"] == "https://example.org/docs/guide/"
    assert doc.metadata["lang"] == "en"
    assert doc.metadata["description"] == "All about things."
    assert doc.metadata["site_name"] == "Example Docs"
    assert doc.metadata["extraction"] == "article"


def test_json_ld_metadata_is_preferred():
    head = """<script type="application/ld+json">{"@context": "https://schema.org", "@type": "NewsArticle",
      "headline": "Headline From LD", "author": [{"@type": "Person", "name": "Grace Hopper"}],
      "datePublished": "2023-01-02"}</script>"""
    doc = convert(article("<p>x</p>", head=head).encode(), "text/html", URL)
    assert doc.title == "Headline From LD"
    assert doc.metadata["byline"] == "Grace Hopper"
    assert doc.metadata["published"] == "2023-01-02"


def test_byline_in_the_page_goes_to_metadata():
    doc = convert(article("", outer="").replace("<article><h1>Guide to Things</h1>", "<article><h1>Guide to Things</h1><p class='byline'>By Jane Doe</p>").encode(), "text/html", URL)
    assert doc.metadata["byline"] == "By Jane Doe"


def test_app_shell_falls_back_to_the_cleaned_page():
    page = (
        "<html><head><title>Dashboard</title></head><body><nav><a href='/'>Home</a></nav>"
        "<div id='app'><ul class='items'>"
        + "".join(f"<li><a href='/item/{i}'>Item number {i}</a> updated today</li>" for i in range(30))
        + "</ul></div><div class='cookie-consent'>Accept cookies</div></body></html>"
    )
    doc = convert(page.encode(), "text/html", URL)
    assert doc.metadata["extraction"] == "full-page-fallback"
    assert "[Item number 0](https://example.org/item/0) updated today" in doc.markdown
    assert "[Item number 29](https://example.org/item/29)" in doc.markdown
    assert "Accept cookies" not in doc.markdown and "Home" not in doc.markdown


def test_hidden_content_is_dropped():
    out = md("<p style='display:none'>invisible one</p><p hidden>invisible two</p><div aria-hidden='true'>invisible three</div>")
    assert "invisible" not in out


def test_html_to_markdown_accepts_pages_with_an_encoding_declaration():
    page = '<?xml version="1.0" encoding="iso-8859-1"?>' + article("<p>café</p>")
    assert "café" in html_to_markdown(page, URL)


def test_no_url_keeps_links_as_written():
    out = html_to_markdown(article("<p><a href='/x'>link text here</a></p>"))
    assert "[link text here](/x)" in out


def test_text_typed_straight_into_a_list_is_a_paragraph():
    out = md("<ul> (Really my goal is to <i>create</i> video.) </ul>")
    assert "\n(Really my goal is to *create* video.)\n" in out


@pytest.mark.parametrize("tag", ["blockquote", "ul><li", "div", "b", "ol><li><blockquote", "table><tr><td"])
def test_pathological_nesting_converts_without_exhausting_the_stack(tag):
    closing = "</" + "></".join(reversed(tag.split("><"))) + ">"
    page = "<html><body><p>" + f"<{tag}>word " * 3000 + closing * 3000 + "</p></body></html>"
    out = html_to_markdown(page, URL, full_page=True)
    # libxml2 keeps the first ~255 levels; all of those words must survive.
    assert out.count("word") >= 80


def test_javascript_only_page_says_why_it_is_empty():
    page = (
        b"<!doctype html><html><head><title>My App</title><script src='/main.js'></script></head>"
        b"<body><noscript>You need to enable JavaScript to run this app.</noscript><div id='root'></div></body></html>"
    )
    doc = convert(page, "text/html", URL)
    assert doc.markdown.startswith("# My App\n\n<!-- agentfetch: no readable content")
    assert "JavaScript" in doc.markdown and doc.metadata["extraction"] == "empty"


def test_lone_surrogates_in_a_str_page_do_not_raise():
    out = html_to_markdown("<html><body><p>bad \udcff char here in a paragraph</p></body></html>")
    assert "bad ? char here" in out
