"""Jupyter notebooks (.ipynb): markdown and code cells in order, with their text outputs.

A notebook is JSON, and indexing the JSON would bury the prose under escapes and base64
images. Each cell becomes a section headed "cell N" (under the markdown heading it falls
under), so a hit says which cell it is; start_line is the line of the file where the cell's
JSON begins, so an editor opened at the hit lands on the cell.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from localsearch.ingest.extract import ExtractionError, HeadingPath, decode_text, shorten
from localsearch.ingest.regular_file import read_regular_file
from localsearch.ingest.types import ExtractedDocument, Section

_CELL_KEY = re.compile(r'(?<!\\)"cell_type"\s*:')
_MARKDOWN_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MAX_OUTPUT_CHARS = 4000  # of one cell's outputs: a log dump is not worth more
_TEXT_OUTPUT_TYPES = ("text/plain", "text/markdown")


def extract_notebook(path: Path) -> ExtractedDocument:
    text = decode_text(read_regular_file(path))
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractionError(f"broken notebook: invalid JSON at line {exc.lineno}") from exc
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        # nbformat 3 kept cells in worksheets
        worksheets = notebook.get("worksheets") if isinstance(notebook, dict) else None
        if not isinstance(worksheets, list):
            raise ExtractionError("broken notebook: no cells")
        cells = [
            c for sheet in worksheets if isinstance(sheet, dict) for c in sheet.get("cells", [])
        ]
    cell_lines = _cell_start_lines(text)
    headings = HeadingPath()
    heading_path = ""
    title = ""
    sections: list[Section] = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        source = _joined(cell.get("source", cell.get("input", "")))
        if kind == "markdown":
            for source_line in source.split("\n"):
                match = _MARKDOWN_HEADING.match(source_line)
                if match:
                    heading_path = headings.push(len(match.group(1)), shorten(match.group(2), 120))
                    title = title or shorten(match.group(2))
        parts = [source.strip()]
        if kind == "code":
            parts.append(_outputs_text(cell.get("outputs", [])))
        body = "\n\n".join(part for part in parts if part)
        if not body:
            continue
        label = f"cell {number}"
        line = cell_lines[number - 1] if number <= len(cell_lines) else 1
        sections.append(
            Section(
                text=body,
                heading=f"{heading_path} > {label}" if heading_path else label,
                start_line=line,
            )
        )
    return ExtractedDocument(title=title or path.stem, doc_type="ipynb", sections=sections)


def _cell_start_lines(text: str) -> list[int]:
    """The 1-based line of each cell's "cell_type" key, in order: where the cell is in the file."""
    return [text.count("\n", 0, match.start()) + 1 for match in _CELL_KEY.finditer(text)]


def _outputs_text(outputs: Any) -> str:
    if not isinstance(outputs, list):
        return ""
    texts: list[str] = []
    for output in outputs:
        if not isinstance(output, dict):
            continue
        if output.get("output_type") == "stream":
            texts.append(_joined(output.get("text", "")))
        elif output.get("output_type") == "error":
            texts.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        else:
            data = output.get("data", output)
            if isinstance(data, dict):
                texts.extend(_joined(data[key]) for key in _TEXT_OUTPUT_TYPES if key in data)
    text = "\n".join(t.strip() for t in texts if t.strip())
    return text if len(text) <= _MAX_OUTPUT_CHARS else text[:_MAX_OUTPUT_CHARS] + "…"


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return "".join(part for part in value if isinstance(part, str))
    return value if isinstance(value, str) else ""
