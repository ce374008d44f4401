"""Small real files of the formats people keep, written the way their tools write them.

openpyxl writes the workbook (as Excel-compatible tools do), notebooks are nbformat-4 JSON as
Jupyter saves it (one-space indent), feeds are what blog engines publish, and the .pptx with
speaker notes is markitdown's test deck with a notes part added as PowerPoint links one.
"""

from __future__ import annotations

import datetime
import json
import zipfile
from pathlib import Path

NOTES_MARKER = "Remember to thank the reviewers from Oslo"


def write_workbook(path: Path) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Inventory"
    sheet.append(["Item", "Supplier", "Quantity", "Received"])
    sheet.append(["hex bolts", "Fastenal", 1200, datetime.date(2024, 3, 5)])
    sheet.append(["anchor brackets", "Würth", 75, datetime.date(2024, 4, 17)])
    budget = workbook.create_sheet("Budget 2025")
    budget.append(["Department", "Amount"])
    budget.append(["Marketing", 48250.5])
    budget.append(["Glassblowing workshop", 9100])
    workbook.save(path)
    return path


def notebook_json(cells: list[tuple[str, str, list[dict[str, object]]]]) -> str:
    """nbformat 4 JSON as Jupyter writes it: (cell_type, source, outputs) per cell."""
    notebook_cells = []
    for kind, source, outputs in cells:
        cell: dict[str, object] = {
            "cell_type": kind,
            "metadata": {},
            "source": source.splitlines(keepends=True),
        }
        if kind == "code":
            cell.update(execution_count=1, outputs=outputs)
        notebook_cells.append(cell)
    notebook = {
        "cells": notebook_cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


SAMPLE_NOTEBOOK = notebook_json(
    [
        ("markdown", "# Plankton survey\n\nCounts from the fjord transects.", []),
        ("code", "import pandas as pd\ncounts = pd.read_csv('copepods.csv')", []),
        (
            "code",
            "print(counts.total.sum())",
            [{"output_type": "stream", "name": "stdout", "text": ["copepod total 48213\n"]}],
        ),
        ("markdown", "## Salinity\n\nHaloclines shift with the meltwater.", []),
        (
            "code",
            "salinity.describe()",
            [
                {
                    "output_type": "execute_result",
                    "execution_count": 3,
                    "metadata": {},
                    "data": {"text/plain": ["mean salinity 33.9 psu"], "image/png": "iVBORw0K"},
                }
            ],
        ),
    ]
)

RSS_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
  <title>Harbour Notes</title>
  <link>https://example.org/</link>
  <description>A weblog about boats</description>
  <item>
    <title>Caulking a clinker dinghy</title>
    <link>https://example.org/caulking</link>
    <pubDate>Tue, 05 Mar 2024 09:00:00 GMT</pubDate>
    <description>&lt;p&gt;Oakum and &lt;b&gt;pine tar&lt;/b&gt; seal the planks.&lt;/p&gt;
    </description>
  </item>
  <item>
    <title>Winter mooring</title>
    <link>https://example.org/mooring</link>
    <description>Chafe gear on every line.</description>
  </item>
</channel>
</rss>
"""

ATOM_FEED = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Orchard log</title>
  <entry>
    <title>Grafting the russet apples</title>
    <link href="https://example.org/grafting"/>
    <updated>2024-04-01T10:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Whip and tongue
      grafts on <em>scionwood</em> cut in January.</div></content>
  </entry>
</feed>
"""

_NOTES_SLIDE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<p:notes xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    ' xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree>'
    '<p:sp><p:nvSpPr><p:cNvPr id="2" name="Slide Image"/><p:cNvSpPr/>'
    '<p:nvPr><p:ph type="sldImg"/></p:nvPr></p:nvSpPr><p:spPr/></p:sp>'
    '<p:sp><p:nvSpPr><p:cNvPr id="3" name="Notes"/><p:cNvSpPr/>'
    '<p:nvPr><p:ph type="body" idx="1"/></p:nvPr></p:nvSpPr><p:spPr/>'
    f"<p:txBody><a:bodyPr/><a:p><a:r><a:t>{NOTES_MARKER}</a:t></a:r></a:p></p:txBody></p:sp>"
    "</p:spTree></p:cSld></p:notes>"
)


def pptx_with_notes(source: Path, target: Path) -> Path:
    """`source` with speaker notes on slide 1, linked the way PowerPoint links them."""
    rels = "ppt/slides/_rels/slide1.xml.rels"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == rels:
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/'
                    b'officeDocument/2006/relationships/notesSlide"'
                    b' Target="../notesSlides/notesSlide1.xml"/></Relationships>',
                )
            new.writestr(info, data)
        new.writestr("ppt/notesSlides/notesSlide1.xml", _NOTES_SLIDE)
    return target
