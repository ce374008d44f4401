"""What a slide holds besides its text boxes: charts, speaker notes and image alt text.

These live in other parts of the .pptx package, linked from the slide by relationships: a
chart's title, series names and values are in ppt/charts/chartN.xml, the notes in
ppt/notesSlides/. Kept apart from the slide text reader because each needs the package and
the slide's relationship map, not only the slide's XML.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable
from xml.etree import ElementTree

_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_NOTES_TYPE = "/notesSlide"
_MAX_POINTS = 200  # per series: a chart of thousands of points is data, not prose

ReadXml = Callable[[zipfile.ZipFile, str], ElementTree.Element]


def slide_extras(
    package: zipfile.ZipFile, slide_part: str, slide: ElementTree.Element, read_xml: ReadXml
) -> list[str]:
    """Lines for the image alt text, charts and speaker notes of one slide, in that order."""
    relationships = _relationships(package, slide_part, read_xml)
    lines = [
        f"Image: {descr}"
        for descr in ((node.get("descr") or "").strip() for node in slide.iter(f"{_P}cNvPr"))
        if descr
    ]
    for frame in slide.iter(f"{_C}chart"):
        target = relationships.get(frame.get(f"{_R}id", ""), ("", ""))[0]
        if target and target in package.NameToInfo:
            lines.extend(chart_lines(read_xml(package, target)))
    for target, kind in relationships.values():
        if kind.endswith(_NOTES_TYPE) and target in package.NameToInfo:
            notes = _notes_text(read_xml(package, target))
            if notes:
                lines.append("Notes: " + notes)
    return lines


def chart_lines(chart: ElementTree.Element) -> list[str]:
    """A "Chart: title" line, then one line per series: "name: category: value | ..."."""
    lines = []
    title = chart.find(f"{_C}chart/{_C}title")
    if title is not None:
        text = " ".join("".join(t.text or "" for t in title.iter(f"{_A}t")).split())
        lines.append(f"Chart: {text}" if text else "Chart")
    for series in chart.iter(f"{_C}ser"):
        name_node = series.find(f"{_C}tx")
        name = _points(name_node)[0] if name_node is not None and _points(name_node) else ""
        categories = _points(series.find(f"{_C}cat"))
        values = _points(series.find(f"{_C}val")) or _points(series.find(f"{_C}yVal"))
        pairs = [
            f"{categories[i]}: {value}" if i < len(categories) else value
            for i, value in enumerate(values[:_MAX_POINTS])
        ]
        line = " | ".join(pairs)
        if name or line:
            lines.append(f"{name}: {line}" if name and line else name or line)
    return lines


def _points(node: ElementTree.Element | None) -> list[str]:
    if node is None:
        return []
    return [(v.text or "").strip() for v in node.iter(f"{_C}v")]


def _notes_text(notes: ElementTree.Element) -> str:
    # The notes page also holds a picture of the slide and its number: keep the body only.
    paragraphs = []
    for shape in notes.iter(f"{_P}sp"):
        placeholder = shape.find(f"{_P}nvSpPr/{_P}nvPr/{_P}ph")
        if placeholder is None or placeholder.get("type") != "body":
            continue
        for paragraph in shape.iter(f"{_A}p"):
            text = "".join(t.text or "" for t in paragraph.iter(f"{_A}t")).strip()
            if text:
                paragraphs.append(text)
    return " ".join(paragraphs)


def _relationships(
    package: zipfile.ZipFile, part: str, read_xml: ReadXml
) -> dict[str, tuple[str, str]]:
    """Relationship id -> (part name, relationship type) for the .rels of `part`."""
    folder, name = posixpath.split(part)
    rels_name = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_name not in package.NameToInfo:
        return {}
    return {
        rel.get("Id", ""): (
            posixpath.normpath(posixpath.join("/" + folder, rel.get("Target", ""))).lstrip("/"),
            rel.get("Type", ""),
        )
        for rel in read_xml(package, rels_name).iter(f"{_REL}Relationship")
        if rel.get("TargetMode") != "External"
    }
