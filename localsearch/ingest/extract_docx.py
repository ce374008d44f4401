"""Word .docx: body paragraphs and tables in order, sections at Title/Heading N styles.

A .docx has no lines, so a "line" here is one body paragraph or one table row (1-based);
that is what start_line counts, and it is stable enough to say where in a document a hit is.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import BinaryIO

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml.etree import XMLSyntaxError

from localsearch.ingest.extract import ExtractionError, HeadingPath, sections_from_lines, shorten
from localsearch.ingest.regular_file import open_regular_file
from localsearch.ingest.safe_zip import open_zip
from localsearch.ingest.types import ExtractedDocument

_HEADING_STYLE = re.compile(r"heading ([1-9])", re.IGNORECASE)


def extract_docx(path: Path) -> ExtractedDocument:
    with open_regular_file(path) as handle:
        open_zip(handle, "DOCX").close()  # part sizes checked before python-docx inflates any
        handle.seek(0)
        return _extract_open_docx(handle, path)


def _extract_open_docx(handle: BinaryIO, path: Path) -> ExtractedDocument:
    try:
        document = docx.Document(handle)
    except PackageNotFoundError as exc:
        raise ExtractionError("broken DOCX: not a Word package") from exc
    except zipfile.BadZipFile as exc:
        raise ExtractionError("broken DOCX: not a valid zip file") from exc
    except KeyError as exc:
        raise ExtractionError("broken DOCX: a part is missing") from exc
    except XMLSyntaxError as exc:
        raise ExtractionError("broken DOCX: malformed XML") from exc
    except ValueError as exc:  # python-docx: "file ... is not a Word file, content type is ..."
        raise ExtractionError("broken DOCX: not a Word document") from exc

    lines: list[str] = []
    boundaries: list[tuple[int, str]] = []
    heading_path = HeadingPath()
    first_heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            lines.extend(_table_rows(item))
            continue
        text = _paragraph_text(item)
        level = _heading_level(item) if text else 0
        if level:
            boundaries.append((len(lines), heading_path.push(level, shorten(text, 120))))
            first_heading = first_heading or text
        lines.append(text)

    title = _core_title(document) or shorten(first_heading, 200) or path.stem
    return ExtractedDocument(
        title=title, doc_type="docx", sections=sections_from_lines(lines, boundaries)
    )


def _paragraph_text(paragraph: Paragraph) -> str:
    # A soft line break inside a paragraph must not shift the paragraph-per-line numbering.
    return " ".join(paragraph.text.split("\n")).rstrip()


def _heading_level(paragraph: Paragraph) -> int:
    """1-9 for Title and Heading N paragraphs (Title counts as a top-level heading), else 0."""
    try:
        style = paragraph.style
    except (KeyError, ValueError):
        return 0
    name = (style.name or "") if style is not None else ""
    if name.lower() == "title":
        return 1
    match = _HEADING_STYLE.fullmatch(name)
    return int(match.group(1)) if match else 0


def _table_rows(table: Table) -> list[str]:
    """One line per row, cells joined with " | "; merged cells appear once."""
    rows: list[str] = []
    try:
        for row in table.rows:
            cells: list[str] = []
            previous = None
            for cell in row.cells:
                if cell._tc is previous:  # a merged cell repeats for every grid column it spans
                    continue
                previous = cell._tc
                cells.append(" ".join(cell.text.split()))
            rows.append(" | ".join(cells).strip(" |"))
    except (IndexError, ValueError, KeyError):
        # Malformed grids make python-docx's cell mapping fail; keep the words, lose the grid.
        return [" ".join(t.text or "" for t in table._tbl.iter(qn("w:t"))).strip()]
    return rows


def _core_title(document: WordDocument) -> str:
    try:
        title = document.core_properties.title or ""
    except (KeyError, ValueError, XMLSyntaxError):
        return ""
    return shorten(title, 200)
