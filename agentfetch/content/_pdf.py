"""PDF bodies → text, through the optional ``pdf`` extra (pypdf)."""

from __future__ import annotations

import io

from ._model import Document

__all__ = ["convert_pdf", "PDF_EXTRA_HINT"]

PDF_EXTRA_HINT = "pip install 'agentfetch[pdf]'"


def _note(text: str) -> Document:
    return Document(title=None, markdown=text + "\n", kind="pdf", metadata={})


def convert_pdf(body: bytes, url: str, *, body_truncated: bool = False) -> Document:
    """Extract the text of each page; a one-line note when that cannot be done."""
    size = f"{len(body)} bytes"
    try:
        import pypdf
        from pypdf.errors import PyPdfError
    except ImportError:
        return _note(
            f"[PDF document, {size}, {url}: reading PDF text needs the pdf extra: {PDF_EXTRA_HINT}]"
        )
    if body_truncated:
        return _note(
            f"[PDF document, at least {size}, {url}: the body was cut at the size cap and a PDF "
            "cannot be read in part; raise --max-bytes]"
        )
    try:
        reader = pypdf.PdfReader(io.BytesIO(body))
        if reader.is_encrypted and not reader.decrypt(""):
            return _note(f"[PDF document, {size}, {url}: encrypted, text not readable]")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        info = reader.metadata
        title = (info.title or "").strip() if info is not None else ""
        author = (info.author or "").strip() if info is not None else ""
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as err:
        return _note(f"[PDF document, {size}, {url}: not readable as PDF ({type(err).__name__})]")
    text = "\n\n".join(page for page in pages if page)
    if not text:
        return _note(f"[PDF document, {size}, {len(pages)} pages, {url}: no text layer (scanned images?)]")
    markdown = (f"# {title}\n\n" if title else "") + text + "\n"
    metadata = {"pages": str(len(pages))}
    if author:
        metadata["byline"] = author
    return Document(title=title or None, markdown=markdown, kind="pdf", metadata=metadata)
