"""Spreadsheets (.xlsx, .xls, .ods) and delimited text (.csv, .tsv): one line per row.

A row alone ("89 | 82") says nothing, so every row is written with its column headers
("Alpha: 89 | Beta: 82") under a heading that is the sheet's name: a cell value then finds its
row, and the chunk says which sheet and columns it came from. Each sheet is its own page, so
that no chunk mixes two sheets; start_line is the row number (the line in the file for csv).
Workbooks are read with python-calamine (Rust, MIT/Apache), which reads all three formats
without loading styles or formulas.
"""

from __future__ import annotations

import csv
import datetime
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from localsearch.ingest.extract import ExtractionError, decode_text
from localsearch.ingest.regular_file import read_regular_file
from localsearch.ingest.types import ExtractedDocument, Section

_MAX_ROWS = 200_000  # per sheet; beyond this a sheet is data for a database, not a document
_MAX_CELL_CHARS = 2000
_SNIFF_CHARS = 64 * 1024
_MAX_UNPACKED_BYTES = 512 * 1024 * 1024


def extract_workbook(path: Path) -> ExtractedDocument:
    """Every sheet of a workbook, in tab order, as rows with their headers."""
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError

    _check_unpacked_size(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except PasswordError as exc:
        raise ExtractionError("encrypted spreadsheet") from exc
    except CalamineError as exc:
        raise ExtractionError(f"broken spreadsheet: {_first_line(exc)}") from exc
    sections: list[Section] = []
    for number, name in enumerate(workbook.sheet_names, 1):
        try:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except CalamineError as exc:
            raise ExtractionError(
                f"broken spreadsheet: sheet {name!r}: {_first_line(exc)}"
            ) from exc
        section = sheet_section(rows[:_MAX_ROWS], name, number)
        if section is not None:
            sections.append(section)
    return ExtractedDocument(title=path.stem, doc_type="sheet", sections=sections)


def extract_delimited(path: Path) -> ExtractedDocument:
    """A .csv or .tsv file in any encoding; the delimiter is sniffed, the header detected."""
    text = decode_text(read_regular_file(path))
    delimiter = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(text)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    rows: list[list[str]] = []
    lines: list[int] = []  # the 1-based file line each row starts on
    line = 1
    try:
        for row in reader:
            rows.append(row)
            lines.append(line)
            line = reader.line_num + 1
            if len(rows) >= _MAX_ROWS:
                break
    except csv.Error as exc:
        raise ExtractionError(f"malformed csv at line {reader.line_num}: {exc}") from exc
    section = sheet_section(rows, "", None, lines)
    return ExtractedDocument(
        title=path.stem, doc_type="csv", sections=[section] if section is not None else []
    )


def sheet_section(
    rows: Sequence[Sequence[object]],
    name: str,
    page: int | None,
    row_lines: Sequence[int] | None = None,
) -> Section | None:
    """The rows of one table as "Header: value | ..." lines; None if the table is empty.

    Line k of the text is line start_line + k of the file (row numbers for a workbook): empty
    rows stay as blank lines, and a csv row that spans several lines is followed by blank
    ones, so every chunk's line range points at its rows.
    """
    cells = [[_cell_text(value) for value in row] for row in rows]
    filled = [index for index, row in enumerate(cells) if any(row)]
    if not filled:
        return None
    first, last = filled[0], filled[-1]
    header = cells[first] if _looks_like_header(cells[first], cells[first + 1 : first + 6]) else []
    lines = [" | ".join(h for h in header if h)] if header else []
    for index in range(first + 1 if header else first, last + 1):
        lines.append(_row_line(cells[index], header))
        if row_lines is not None and index + 1 < len(row_lines):
            lines.extend([""] * (row_lines[index + 1] - row_lines[index] - 1))
    if header and row_lines is not None and first + 1 < len(row_lines):
        lines[1:1] = [""] * (row_lines[first + 1] - row_lines[first] - 1)
    start = row_lines[first] if row_lines is not None else first + 1
    return Section(text="\n".join(lines), heading=name, page=page, start_line=start)


def _row_line(row: Sequence[str], header: Sequence[str]) -> str:
    parts = []
    for column, value in enumerate(row):
        if not value:
            continue
        label = header[column] if column < len(header) else ""
        parts.append(f"{label}: {value}" if label else value)
    return " | ".join(parts)


def _looks_like_header(first: Sequence[str], following: Iterable[Sequence[str]]) -> bool:
    """A first row of distinct labels, none of them a number, above at least one row of data."""
    labels = [value for value in first if value]
    if len(labels) < 1 or any(_is_number(value) for value in labels):
        return False
    if len(set(labels)) != len(labels):
        return False
    return any(any(row) for row in following)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime) and not (value.hour or value.minute or value.second):
        return value.date().isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    text = " ".join(str(value).split())
    return text if len(text) <= _MAX_CELL_CHARS else text[: _MAX_CELL_CHARS - 1] + "…"


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _check_unpacked_size(path: Path) -> None:
    """calamine inflates a whole sheet in memory: refuse a zip that would unpack to too much."""
    if not zipfile.is_zipfile(path):
        return  # .xls is an OLE file, not a zip
    with zipfile.ZipFile(path) as package:
        total = sum(info.file_size for info in package.infolist())
    if total > _MAX_UNPACKED_BYTES:
        raise ExtractionError(f"spreadsheet unpacks to over {_MAX_UNPACKED_BYTES >> 20} MB")


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_CHARS], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().split("\n") or [""])[0][:120] or type(exc).__name__
