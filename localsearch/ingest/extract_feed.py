"""RSS and Atom feeds: one section per item (title, link, date, text), never the raw XML.

Feeds are XML files, which would otherwise be read as code with their tags. Item text is
often escaped HTML, so it goes through the HTML extractor's text pass. The stdlib parser
resolves no external entities, and expat refuses entity-expansion bombs.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

from localsearch.ingest.extract import ExtractionError, shorten
from localsearch.ingest.regular_file import read_regular_file
from localsearch.ingest.types import ExtractedDocument, Section

_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_FEED_ROOT = re.compile(rb"<(?:[\w-]+:)?(?:rss|feed|RDF)\b")
_SNIFF_BYTES = 4096
_ITEM_TAG = re.compile(rb"<(?:[\w-]+:)?(?:item|entry)[\s>/]")


def looks_like_feed(head: bytes) -> bool:
    """True if the first bytes of an XML file open an RSS or Atom feed."""
    return bool(_FEED_ROOT.search(head[:_SNIFF_BYTES]))


def extract_feed(path: Path) -> ExtractedDocument:
    data = read_regular_file(path)
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ExtractionError(f"broken feed: {exc}") from exc
    local = root.tag.rsplit("}", 1)[-1]
    if local == "feed":
        title, items = _atom(root)
    elif local in ("rss", "RDF"):
        title, items = _rss(root)
    else:
        raise ExtractionError("not an RSS or Atom feed")
    # Each item opens at its line: the n-th <item>/<entry> tag in the file is the n-th item.
    starts = [data.count(b"\n", 0, m.start()) + 1 for m in _ITEM_TAG.finditer(data)]
    if len(starts) == len(items):
        items = [
            Section(s.text, s.heading, None, line) for s, line in zip(items, starts, strict=True)
        ]
    return ExtractedDocument(title=shorten(title) or path.stem, doc_type="feed", sections=items)


def _rss(root: ElementTree.Element) -> tuple[str, list[Section]]:
    # RSS 2.0 has no namespace; RSS 1.0 (RDF) puts everything in its own.
    ns = _RSS1 if root.tag.endswith("RDF") else ""
    channel = root.find(f"{ns}channel")
    title = _text(channel, f"{ns}title") if channel is not None else ""
    items = root.iter(f"{ns}item")
    sections = [
        _item_section(
            _text(item, f"{ns}title"),
            _text(item, f"{ns}link"),
            _text(item, "pubDate") or _text(item, _DC_DATE),
            _text(item, _CONTENT_ENCODED) or _text(item, f"{ns}description"),
        )
        for item in items
    ]
    return title, [s for s in sections if s is not None]


def _atom(root: ElementTree.Element) -> tuple[str, list[Section]]:
    sections = []
    for entry in root.iter(f"{_ATOM}entry"):
        link = next(
            (
                node.get("href", "")
                for node in entry.iter(f"{_ATOM}link")
                if node.get("rel", "alternate") == "alternate"
            ),
            "",
        )
        section = _item_section(
            _text(entry, f"{_ATOM}title"),
            link,
            _text(entry, f"{_ATOM}updated") or _text(entry, f"{_ATOM}published"),
            _text(entry, f"{_ATOM}content") or _text(entry, f"{_ATOM}summary"),
        )
        if section is not None:
            sections.append(section)
    return _text(root, f"{_ATOM}title"), sections


def _item_section(title: str, link: str, date: str, body: str) -> Section | None:
    from localsearch.ingest.extract_html import html_to_sections

    if "<" in body:
        body = "\n\n".join(s.text for s in html_to_sections(body)[1])
    lines = [line for line in (title, link, date, body.strip()) if line]
    if not lines:
        return None
    return Section(text="\n".join(lines), heading=shorten(title, 120))


def _text(parent: ElementTree.Element | None, tag: str) -> str:
    node = parent.find(tag) if parent is not None else None
    return "".join(node.itertext()).strip() if node is not None else ""
