"""Fixtures for the content tests: the real-page corpus when it is present."""

from __future__ import annotations

import pytest
from content_support import CORPUS_PAGES


@pytest.fixture
def corpus_page():
    """Load ``source.html`` of a corpus page, skipping when the corpus is absent."""

    def load(name: str) -> bytes:
        path = CORPUS_PAGES / name / "source.html"
        if not path.exists():
            pytest.skip(f"real-page corpus not present at {CORPUS_PAGES} (../shared/corpus)")
        return path.read_bytes()

    return load
