"""Where the page corpora live, for the content tests, and the benchmark's metric.

Two corpora of real pages from Mozilla Readability's test suite (Apache-2.0),
each ``pages/NAME/{source.html,expected.html,expected-metadata.json}``:

- ``tests/corpus``: a dozen pages kept in the repository, so that the quality
  tests run on every clean clone;
- ``../shared/corpus`` (or ``$AGENTFETCH_CORPUS``): the whole corpus, the
  input of ``benchmarks/markdown.py``; tests on its other pages skip when it is
  absent.

The ``corpus`` fixture (``conftest.py``) is the one place that resolves a page
name to a file.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REPO_CORPUS = ROOT / "tests" / "corpus"
SHARED_CORPUS = Path(os.environ.get("AGENTFETCH_CORPUS") or ROOT.parent / "shared" / "corpus")
#: The URL Readability's test pages were saved under; their links point at it.
PAGE_URL = "http://fakehost/test/page.html"


def _names(corpus: Path) -> list[str]:
    pages = corpus / "pages"
    return sorted(p.name for p in pages.iterdir() if (p / "source.html").is_file()) if pages.is_dir() else []


REPO_PAGES = _names(REPO_CORPUS)
SHARED_PAGES = _names(SHARED_CORPUS)
#: Every page name either corpus has; a shared-only page skips when the shared corpus is absent.
ALL_PAGES = sorted(set(REPO_PAGES) | set(SHARED_PAGES))


class Corpus:
    """Resolves a page name to its folder: the in-repo copy first, then the shared corpus."""

    repo = REPO_CORPUS
    shared = SHARED_CORPUS

    def page(self, name: str) -> Path:
        for corpus in (self.repo, self.shared):
            folder = corpus / "pages" / name
            if (folder / "source.html").is_file():
                return folder
        if not SHARED_PAGES:
            pytest.skip(
                f"page {name!r} is only in the shared corpus, absent at {self.shared} "
                "(clone next to ../shared/corpus or set AGENTFETCH_CORPUS)"
            )
        raise FileNotFoundError(f"no corpus page {name!r} in {self.repo} or {self.shared}")

    def source(self, name: str) -> bytes:
        return (self.page(name) / "source.html").read_bytes()

    def metadata(self, name: str) -> dict:
        return json.loads((self.page(name) / "expected-metadata.json").read_text(encoding="utf-8"))

    def pages_dir(self, name: str) -> Path:
        """The ``pages`` folder that holds ``name`` (to serve it over HTTP with its neighbours)."""
        return self.page(name).parent


def load_benchmark():
    """``benchmarks/markdown.py`` as a module: the tests score pages with the benchmark's own metric."""
    spec = importlib.util.spec_from_file_location("agentfetch_markdown_benchmark", ROOT / "benchmarks" / "markdown.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
