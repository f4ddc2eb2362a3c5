"""Link and image rules, one small HTML snippet each: what an agent pays for in every URL."""

from __future__ import annotations

import pytest

from agentfetch.content import html_to_markdown
from agentfetch.content._links import LinkResolver, strip_tracking

URL = "https://example.org/docs/guide/page.html"
FILLER = (
    "This paragraph is here so that the article is long enough for the extractor, "
    "with commas, clauses, and sentences that read like real prose in an article. "
) * 3


def md(inner: str, *, title: str = "Guide to Things", url: str = URL, **kw) -> str:
    page = (
        f"<html><head><title>{title}</title></head><body>"
        f"<article><p>{FILLER}</p>{inner}<p>{FILLER}</p></article></body></html>"
    )
    return html_to_markdown(page, url, **kw)


# -- links ---------------------------------------------------------------
def test_link_to_a_fragment_keeps_only_its_text():
    out = md("<p>Jump to <a href='#usage'>the usage section</a> below.</p>")
    assert "Jump to the usage section below." in out and "](" not in out


def test_link_to_the_page_itself_keeps_only_its_text():
    out = md(
        "<p><a href='page.html'>This guide</a>, <a href='https://example.org/docs/guide/page.html#top'>its top</a>"
        " and <a href='page.html?utm_source=feed'>a tracked self link</a> point here.</p>"
    )
    assert "This guide, its top and a tracked self link point here." in out


def test_tracking_parameters_are_stripped_and_the_others_kept_in_order():
    out = md(
        "<p><a href='https://shop.example/item?id=7&utm_source=news&utm_medium=email&color=red&fbclid=AbC'>the item</a>"
        " and <a href='https://news.example/a?gclid=x&mc_eid=y&mc_cid=z'>the story</a>.</p>"
    )
    assert "[the item](https://shop.example/item?id=7&color=red)" in out
    assert "[the story](https://news.example/a)" in out


def test_strip_tracking_keeps_fragments_and_untracked_urls_untouched():
    assert strip_tracking("https://a.example/p?utm_campaign=x#part") == "https://a.example/p#part"
    assert strip_tracking("https://a.example/p?q=utm_source#x") == "https://a.example/p?q=utm_source#x"
    assert strip_tracking("https://a.example/p?UTM_Source=x&_hsenc=y&oly_enc_id=z&page=2") == "https://a.example/p?page=2"


def test_link_whose_text_is_its_url_is_an_autolink():
    out = md("<p>Visit <a href='https://example.org/plain'>https://example.org/plain</a> today.</p>")
    assert "Visit <https://example.org/plain> today." in out


def test_javascript_link_keeps_only_its_text():
    out = md("<p>Press <a href='javascript:void(0)'>this button</a> now.</p>")
    assert "Press this button now." in out


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://other.example/a/b?x=1", "https://other.example/a/b?x=1"),
        ("//cdn.example/lib.js", "https://cdn.example/lib.js"),
        ("/root/path", "https://example.org/root/path"),
        ("sibling.html", "https://example.org/docs/guide/sibling.html"),
        ("../up.html", "https://example.org/docs/up.html"),
        ("/a/./b/../c", "https://example.org/a/c"),
        ("mailto:someone@example.org", "mailto:someone@example.org"),
        ("?page=2", "https://example.org/docs/guide/page.html?page=2"),
        ("with space.html", "https://example.org/docs/guide/with%20space.html"),
    ],
)
def test_resolver_fast_paths_agree_with_rfc3986(href, expected):
    assert LinkResolver(URL).resolve(href) == expected


# -- images --------------------------------------------------------------
def test_image_with_alt_text_that_says_something_is_kept():
    out = md("<p><img src='charts/sales.png' alt='Sales doubled in 2024'></p>")
    assert "![Sales doubled in 2024](https://example.org/docs/guide/charts/sales.png)" in out


@pytest.mark.parametrize(
    "img",
    [
        "<img src='photo.jpg'>",  # no alt
        "<img src='photo.jpg' alt=''>",  # decorative by HTML's own rule
        "<img src='photo.jpg' alt='image'>",  # a word that says nothing
        "<img src='IMG_2041.jpg' alt='IMG_2041.jpg'>",  # a file name
        "<img src='IMG_2041.jpg' alt='IMG_2041'>",
        "<img src='pixel.gif' alt='tracker' width='1' height='1'>",  # a tracking pixel
        "<img src='spacer.gif' alt='spacer' width='10'>",
        "<img src='rss.png' alt='RSS feed' width='16' height='16'>",  # an icon
        "<img src='flourish.png' alt='flourish' role='presentation'>",
        "<img src='flourish.png' alt='flourish' aria-hidden='true'>",
        "<img src='data:image/png;base64,iVBORw0KGgo=' alt='Inline chart'>",
    ],
)
def test_decorative_images_are_dropped(img):
    out = md(f"<p>Before {img} after.</p>")
    assert "![" not in out and "Before after." in out


def test_image_whose_alt_repeats_its_caption_or_the_title_is_dropped():
    out = md(
        "<figure><img src='a.jpg' alt='Dig a hole in the oasis.'></figure>"
        "<figcaption>Dig a hole in the oasis. (Lucy Akins)</figcaption>"
        "<figure><img src='b.jpg' alt='Orchid in foam'><figcaption>Orchid in foam, day two</figcaption></figure>"
        "<p><img src='c.jpg' alt='Guide to Things'></p>",
        title="Guide to Things",
    )
    assert "![" not in out
    assert "Dig a hole in the oasis. (Lucy Akins)" in out and "Orchid in foam, day two" in out


def test_markup_left_in_alt_text_is_removed():
    out = md("<p><img src='a.jpg' alt='<span style=\"font-size:13px\">Mario on a phone</span>'></p>")
    assert "![Mario on a phone](https://example.org/docs/guide/a.jpg)" in out


def test_images_option_keeps_every_image_with_a_url():
    snippet = (
        "<p><img src='photo.jpg'> <img src='rss.png' alt='RSS' width='16'>"
        " <img src='pixel.gif' width='1' height='1'> <img src='data:image/png;base64,iVBORw0KGgo='></p>"
    )
    out = md(snippet, images=True)
    assert "![](https://example.org/docs/guide/photo.jpg)" in out
    assert "![RSS](https://example.org/docs/guide/rss.png)" in out
    assert "![](https://example.org/docs/guide/pixel.gif)" in out
    assert "data:" not in out
    assert "![" not in md(snippet)


def test_image_urls_lose_tracking_parameters():
    out = md("<p><img src='https://img.example/a.jpg?w=600&utm_source=rss' alt='A harbour at dawn'></p>")
    assert "![A harbour at dawn](https://img.example/a.jpg?w=600)" in out


def test_linked_decorative_image_leaves_no_empty_link():
    out = md("<p>Read on <a href='https://example.org/next'><img src='arrow.png' alt=''></a> now.</p>")
    assert "[](" not in out and "Read on now." in out


def test_hard_break_has_no_trailing_spaces():
    out = md("<p>first line<br>second line</p>")
    assert "first line\\\nsecond line" in out
    assert not [line for line in out.split("\n") if line.endswith(" ")]
