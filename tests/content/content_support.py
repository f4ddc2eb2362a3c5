"""Where the real-page corpus lives, for the content tests (shared/corpus/README.md)."""

from __future__ import annotations

from pathlib import Path

CORPUS_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"
#: The URL Readability's test pages were saved under; their links point at it.
PAGE_URL = "http://fakehost/test/page.html"
