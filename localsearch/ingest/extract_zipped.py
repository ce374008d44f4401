"""EPUB and PowerPoint: zip packages of XML, read with the standard library.

EPUB chapters are XHTML and go through the HTML extractor; a .pptx gives one section per
slide, numbered like PDF pages. Neither needs a format library.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

from localsearch.ingest.extract import ExtractionError, decode_text, shorten
from localsearch.ingest.extract_html import html_to_sections
from localsearch.ingest.extract_slide_parts import slide_extras
from localsearch.ingest.regular_file import open_regular_file
from localsearch.ingest.safe_zip import open_zip, read_part
from localsearch.ingest.types import ExtractedDocument, Section

_NS = {
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "p": "http://schemas.openxmlformats.org/presentationml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "dc": "http://purl.org/dc/elements/1.1/",
    "opf": "http://www.idpf.org/2007/opf",
    "container": "urn:oasis:names:tc:opendocument:xmlns:container",
}
_TITLE_PLACEHOLDERS = frozenset({"title", "ctrTitle"})


def extract_pptx(path: Path) -> ExtractedDocument:
    """One section per slide (page = slide number), headed by the slide's title placeholder."""
    with _open_zip(path, "PPTX") as package:
        presentation = _read_xml(package, "ppt/presentation.xml")
        targets = _relationship_targets(package, "ppt/presentation.xml")
        sections: list[Section] = []
        for number, slide_id in enumerate(presentation.iterfind("p:sldIdLst/p:sldId", _NS), 1):
            target = targets.get(slide_id.get(f"{{{_NS['r']}}}id", ""))
            if target is None:
                continue
            slide = _read_xml(package, target)
            heading, lines = _slide_text(slide)
            lines.extend(slide_extras(package, target, slide, _read_xml))
            text = "\n".join(lines).strip()
            if text:
                sections.append(Section(text=text, heading=heading, page=number))
        title = _core_title(package)
    first_heading = next((s.heading for s in sections if s.heading), "")
    return ExtractedDocument(
        title=title or first_heading or path.stem, doc_type="pptx", sections=sections
    )


def extract_epub(path: Path) -> ExtractedDocument:
    """Chapters in spine order through the HTML extractor; title from the package metadata."""
    with _open_zip(path, "EPUB") as package:
        container = _read_xml(package, "META-INF/container.xml")
        rootfile = container.find(".//container:rootfile", _NS)
        opf_path = rootfile.get("full-path", "") if rootfile is not None else ""
        opf = _read_xml(package, opf_path)
        manifest = {
            item.get("id"): item.get("href", "")
            for item in opf.iterfind("opf:manifest/opf:item", _NS)
        }
        sections = _epub_metadata(opf)
        names = set(package.namelist())
        for itemref in opf.iterfind("opf:spine/opf:itemref", _NS):
            href = manifest.get(itemref.get("idref"))
            if href is None or itemref.get("linear") == "no":
                continue
            part = posixpath.normpath(posixpath.join(posixpath.dirname(opf_path), href))
            if part.startswith("../") or part not in names:
                continue  # a chapter outside the package or missing: keep the others
            chapter_title, chapter = html_to_sections(decode_text(_read(package, part)))
            for section in chapter:
                heading = section.heading or chapter_title
                sections.append(Section(section.text, heading, None, section.start_line))
        title_node = opf.find("opf:metadata/dc:title", _NS)
        title = shorten(title_node.text or "") if title_node is not None else ""
    return ExtractedDocument(title=title or path.stem, doc_type="epub", sections=sections)


def _epub_metadata(opf: ElementTree.Element) -> list[Section]:
    """Title, authors, description and subjects from the package metadata, as a first section."""
    metadata = opf.find("opf:metadata", _NS)
    if metadata is None:
        return []

    def values(tag: str) -> list[str]:
        found = (" ".join("".join(n.itertext()).split()) for n in metadata.iterfind(tag, _NS))
        return [value for value in found if value]

    lines = values("dc:title")
    authors = values("dc:creator")
    if authors:
        lines.append("by " + ", ".join(authors))
    description = "\n".join(values("dc:description"))
    if "<" in description:
        description = "\n".join(s.text for s in html_to_sections(description)[1])
    lines.extend(line for line in (description, ", ".join(values("dc:subject"))) if line)
    return [Section(text="\n".join(lines))] if lines else []


@contextmanager
def _open_zip(path: Path, kind: str) -> Iterator[zipfile.ZipFile]:
    with open_regular_file(path) as handle, open_zip(handle, kind) as package:
        yield package


def _read(package: zipfile.ZipFile, name: str) -> bytes:
    return read_part(package, name)


def _read_xml(package: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(_read(package, name))
    except ElementTree.ParseError as exc:
        raise ExtractionError(f"broken file: malformed XML in {name}") from exc


def _relationship_targets(package: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Relationship id -> part name, for the .rels file that belongs to `part`."""
    folder, name = posixpath.split(part)
    rels = _read_xml(package, posixpath.join(folder, "_rels", f"{name}.rels"))
    # Targets are relative to the part's folder, or absolute from the package root.
    return {
        rel.get("Id", ""): posixpath.normpath(
            posixpath.join("/" + folder, rel.get("Target", ""))
        ).lstrip("/")
        for rel in rels.iterfind("rel:Relationship", _NS)
    }


def _slide_text(slide: ElementTree.Element) -> tuple[str, list[str]]:
    """(title placeholder text, one line per paragraph of every shape) of one slide."""
    heading = ""
    lines: list[str] = []
    for shape in slide.iter(f"{{{_NS['p']}}}sp"):
        placeholder = shape.find("p:nvSpPr/p:nvPr/p:ph", _NS)
        paragraphs = [
            "".join(run.text or "" for run in paragraph.iter(f"{{{_NS['a']}}}t"))
            for paragraph in shape.iter(f"{{{_NS['a']}}}p")
        ]
        shape_text = [p.strip() for p in paragraphs if p.strip()]
        if placeholder is not None and placeholder.get("type") in _TITLE_PLACEHOLDERS:
            heading = heading or shorten(" ".join(shape_text), 120)
        lines.extend(shape_text)
    for table in slide.iter(f"{{{_NS['a']}}}tbl"):
        for row in table.iter(f"{{{_NS['a']}}}tr"):
            cells = [
                "".join(t.text or "" for t in cell.iter(f"{{{_NS['a']}}}t"))
                for cell in row.iter(f"{{{_NS['a']}}}tc")
            ]
            lines.append(" | ".join(c.strip() for c in cells))
    return heading, lines


def _core_title(package: zipfile.ZipFile) -> str:
    try:
        core = _read_xml(package, "docProps/core.xml")
    except ExtractionError:
        return ""
    node = core.find("dc:title", _NS)
    return shorten(re.sub(r"\s+", " ", node.text or "")) if node is not None else ""
