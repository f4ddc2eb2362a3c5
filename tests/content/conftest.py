"""Fixtures for the content tests: the page corpora (see ``content_support``)."""

from __future__ import annotations

import pytest
from content_support import Corpus


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    """Real pages by name: the in-repo dozen always, the shared corpus's others when it is present."""
    return Corpus()
