"""PDF: the text layer of each page through pdfium, one section per page.

pdfium is not thread-safe: callers must not extract PDFs from several threads at once (use
processes, or one extraction thread). extract_file runs this in a child process with a cap on
its memory (ingest/pdf_process.py). Every pdfium object opened here is closed before
returning, so that indexing thousands of PDFs does not leak native memory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from localsearch.ingest.extract import ExtractionError, shorten
from localsearch.ingest.regular_file import open_regular_file
from localsearch.ingest.types import ExtractedDocument, Section

# Titles that PDF producers write when the author gave none.
_PLACEHOLDER_TITLES = frozenset({"untitled", "(anonymous)", "anonymous", "title", "document", ""})
_FILENAME_LIKE = re.compile(r".*\.(?:docx?|pdf|tex|dvi|ps|indd|odt|rtf|pptx?|xlsx?)", re.I)
_WORD_PRODUCER_PREFIX = re.compile(r"^microsoft (?:word|powerpoint) - ", re.I)
_NEWLINES = re.compile(r"\r\n?")
# pdfium marks soft hyphens and unknown glyphs with these; they only get in the way of search.
_PDFIUM_MARKERS = re.compile(r"[\x02\ufffe\uffff\x00]")


def extract_pdf(path: Path) -> ExtractedDocument:
    """One section per page that has text; the scanned-only case is an error, not an empty doc."""
    with open_regular_file(path) as handle:
        return _extract_open_pdf(handle, path)


def _extract_open_pdf(handle: BinaryIO, path: Path) -> ExtractedDocument:
    try:
        document = pdfium.PdfDocument(handle, autoclose=False)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
            raise ExtractionError("encrypted PDF") from exc
        raise ExtractionError(f"corrupt PDF: {_pdfium_reason(exc)}") from exc
    try:
        sections = [
            Section(text=text, page=number, start_line=1)
            for number, text in enumerate(_page_texts(document), start=1)
            if text
        ]
        metadata_title = document.get_metadata_dict().get("Title", "")
    except pdfium.PdfiumError as exc:
        raise ExtractionError(f"corrupt PDF: {_pdfium_reason(exc)}") from exc
    finally:
        document.close()
    if not sections:
        raise ExtractionError("no extractable text (scanned PDF?)")
    title = _sensible_title(metadata_title) or _first_line_title(sections[0].text) or path.stem
    return ExtractedDocument(title=title, doc_type="pdf", sections=sections)


def _page_texts(document: pdfium.PdfDocument) -> list[str]:
    """Text of every page ("" where a page has none), with "\\n" line ends and no trailing space."""
    texts = []
    for index in range(len(document)):
        page = document[index]
        try:
            text_page = page.get_textpage()
            try:
                raw = text_page.get_text_range()
            finally:
                text_page.close()
        finally:
            page.close()
        lines = _PDFIUM_MARKERS.sub("", _NEWLINES.sub("\n", raw)).split("\n")
        text = "\n".join(line.rstrip() for line in lines)
        # Leading blank lines would shift line numbers, so only trailing ones are cut.
        texts.append(text.rstrip() if text.strip() else "")
    return texts


def _sensible_title(title: str) -> str:
    title = _WORD_PRODUCER_PREFIX.sub("", " ".join(title.split()))
    if title.lower() in _PLACEHOLDER_TITLES or _FILENAME_LIKE.fullmatch(title):
        return ""
    return shorten(title, 200)


def _first_line_title(text: str) -> str:
    """The first line with a few letters in it: page one often opens with a logo or a formula."""
    for line in text.split("\n")[:40]:
        if sum(c.isalpha() for c in line) >= 3:
            return shorten(line.strip(), 120)
    return ""


def _pdfium_reason(exc: Exception) -> str:
    # "Failed to load document (PDFium: Data format error)." -> "data format error"
    match = re.search(r"PDFium: ([^)]*)", str(exc))
    return (match.group(1) if match else str(exc) or type(exc).__name__).strip(" .").lower()
