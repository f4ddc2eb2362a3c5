"""Response bodies → Markdown for agents: conversion, pagination, token estimates.

Pure functions, no network I/O. This package imports nothing heavy: lxml and
charset-normalizer load on the first HTML body or undeclared charset, pypdf
on the first PDF.
"""

from __future__ import annotations

from ._convert import convert, html_to_markdown
from ._model import Document, Page
from ._paginate import estimate_tokens, paginate

__all__ = ["html_to_markdown", "convert", "paginate", "estimate_tokens", "Document", "Page"]
