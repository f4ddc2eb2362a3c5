"""Fixtures for the content tests: the real-page corpus when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"
PAGE_URL = "http://fakehost/test/page.html"


@pytest.fixture
def corpus_page():
    """Load ``source.html`` of a corpus page, skipping when the corpus is absent."""

    def load(name: str) -> bytes:
        path = CORPUS_PAGES / name / "source.html"
        if not path.exists():
            pytest.skip(f"real-page corpus not present at {CORPUS_PAGES} (../shared/corpus)")
        return path.read_bytes()

    return load
