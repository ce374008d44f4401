"""HTML: the visible text of a page, split at h1-h6, with blocks kept on their own lines.

Also used for EPUB chapters, which are XHTML. Lexbor (through selectolax) parses broken real
world markup the way browsers do and is fast enough for pages of hundreds of kilobytes.
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

from localsearch.ingest.extract import HeadingPath, shorten
from localsearch.ingest.types import ExtractedDocument, Section

_HIDDEN_TAGS = frozenset(
    "script style noscript template nav svg iframe object embed canvas head select button"
    " -comment".split()
)
_PARAGRAPH_TAGS = frozenset(
    "p pre blockquote table ul ol dl figure section article hr details header footer main aside"
    " h1 h2 h3 h4 h5 h6".split()
)
_LINE_TAGS = frozenset(
    "div li tr dt dd br caption figcaption summary form fieldset address thead tbody tfoot body"
    " center legend".split()
)
_CELL_TAGS = frozenset({"td", "th"})
_HEADING_LEVELS = {f"h{n}": n for n in range(1, 7)}

# Sentinels stand for breaks while text is collected; whitespace around them is squeezed out.
_LINE, _PARAGRAPH, _CELL = "\x00", "\x01", "\x02"
_BREAKS = re.compile(r"[ \t]*((?:[\x00\x01\x02][ \t]*)+)")
_SPACES = re.compile(r"[ \t\n\r\f\v\xa0]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\xad]")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING_TAG = {n: re.compile(rf"<h{n}[\s>/]", re.IGNORECASE) for n in range(1, 7)}


def extract_html(markup: str, path: Path) -> ExtractedDocument:
    """A page as sections at its headings; title from <title>, else the first <h1>."""
    title, sections = html_to_sections(markup)
    return ExtractedDocument(title=title or path.stem, doc_type="html", sections=sections)


MAX_NESTING = 1000  # deeper than any real page; lexbor's parse time grows faster than n² past it
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
# Tags that never hold others, or that a browser closes by itself when the next one starts.
_FLAT_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr p li dt dd option"
    " tr td th".split()
)
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def nesting_depth(markup: str, stop_at: int = MAX_NESTING) -> int:
    """How deep elements nest, from the tags alone (linear; stops counting at `stop_at`)."""
    depth = deepest = 0
    for match in _TAG.finditer(markup):
        closing, name, self_closing = match.groups()
        if self_closing or name.lower() in _FLAT_TAGS:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        if depth > deepest:
            deepest = depth
            if deepest >= stop_at:
                break
    return deepest


def html_to_sections(markup: str) -> tuple[str, list[Section]]:
    """(title or "", sections) of an HTML or XHTML document.

    Markup nested deeper than MAX_NESTING levels (a hostile or generated page) is read as
    plain text without its tags, in linear time, instead of being parsed."""
    if nesting_depth(markup) >= MAX_NESTING:
        return "", _flat_sections(markup)
    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("title")
    title = shorten(title_node.text(deep=True)) if title_node is not None else ""
    root = tree.body or tree.root
    if root is None:
        return title, []
    collector = _SectionCollector(markup)
    _walk(root, collector)
    sections = collector.finish()
    return title or collector.first_h1, sections


def _flat_sections(markup: str) -> list[Section]:
    text = _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", _COMMENT.sub(" ", markup)))
    text = _SPACES.sub(" ", html.unescape(text)).strip()
    return [Section(text=text)] if text else []


class _SectionCollector:
    """Builds sections from a stream of text pieces, breaks and headings in document order."""

    def __init__(self, markup: str) -> None:
        self.first_h1 = ""
        self._sections: list[Section] = []
        self._parts: list[str] = []
        self._heading = ""
        self._start_line = 1
        self._path = HeadingPath()
        # Headings are found again in the source (comments blanked) to give approximate lines.
        self._source = _COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), markup)
        self._source_pos = 0
        self._source_line = 1

    def text(self, text: str, preformatted: bool) -> None:
        text = _INVISIBLE.sub("", text)
        if not preformatted:
            text = _SPACES.sub(" ", text)
            if text == " " and (not self._parts or self._parts[-1].endswith(" ")):
                return
        self._parts.append(text)

    def brk(self, kind: str) -> None:
        self._parts.append(kind)

    def heading(self, level: int, title: str) -> None:
        self._flush()
        self._heading = self._path.push(level, title)
        self._start_line = self._find_heading_line(level)
        if level == 1 and not self.first_h1:
            self.first_h1 = title

    def finish(self) -> list[Section]:
        self._flush()
        if not self._sections:
            return []
        source = self._source
        ends = [after.start_line - 1 for after in self._sections[1:]]
        ends.append(source.count("\n") + (0 if source.endswith("\n") else 1))
        return [
            replace(section, last_line=max(section.start_line, end))
            for section, end in zip(self._sections, ends, strict=True)
        ]

    def _flush(self) -> None:
        text = _BREAKS.sub(_break_text, "".join(self._parts))
        text = "\n".join(line.rstrip() for line in text.strip().split("\n"))
        if text:
            self._sections.append(Section(text, self._heading, None, self._start_line))
        self._parts = []

    def _find_heading_line(self, level: int) -> int:
        match = _HEADING_TAG[level].search(self._source, self._source_pos)
        if match is None:
            return self._start_line
        line = self._source_line + self._source.count("\n", self._source_pos, match.start())
        self._source_line = line + self._source.count("\n", match.start(), match.end())
        self._source_pos = match.end()
        return line


def _break_text(match: re.Match[str]) -> str:
    breaks = match.group(1)
    if _PARAGRAPH in breaks:
        return "\n\n"
    if _LINE in breaks:
        return "\n"
    return " | "


def _heading_text(node: LexborNode) -> str:
    """A heading's words as a reader sees them: inline tags join their text without a space
    ("Quick <i>re</i><tt>Structured</tt><i>Text</i>"), line and block breaks are spaces."""
    separator = " " if node.css_first("br, p, div, li") is not None else ""
    return node.text(deep=True, separator=separator)


def _walk(root: LexborNode, out: _SectionCollector) -> None:
    """Depth-first over the tree without recursion (pages can nest thousands deep)."""
    # Stack entries: a child iterator, the break to emit when it is exhausted, in-<pre> flag.
    stack = [(root.iter(include_text=True), "", False)]
    while stack:
        children, closing, preformatted = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if closing:
                out.brk(closing)
            continue
        tag = node.tag
        if tag == "-text":
            out.text(node.text_content or "", preformatted)
            continue
        if tag in _HIDDEN_TAGS or _is_hidden(node):
            continue
        if tag in _HEADING_LEVELS:
            title = _INVISIBLE.sub("", _heading_text(node))
            out.heading(_HEADING_LEVELS[tag], shorten(title, 120))
        if tag == "br":
            out.brk(_LINE)
            continue
        closing = (
            _PARAGRAPH
            if tag in _PARAGRAPH_TAGS
            else _LINE
            if tag in _LINE_TAGS
            else _CELL
            if tag in _CELL_TAGS
            else ""
        )
        if closing and closing != _CELL:
            out.brk(closing)
        stack.append((node.iter(include_text=True), closing, preformatted or tag == "pre"))


def _is_hidden(node: LexborNode) -> bool:
    attributes = node.attributes
    return "hidden" in attributes or attributes.get("aria-hidden") == "true"
