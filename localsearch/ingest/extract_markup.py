"""Markdown and reStructuredText: split at headings by scanning lines, without a full parser.

Both formats keep the source text as is (markup included), so every section maps to exact
lines of the file; a full parser would give cleaner text but lose that mapping and cost time.
"""

from __future__ import annotations

import re
from pathlib import Path

from localsearch.ingest.extract import HeadingPath, sections_from_lines, shorten
from localsearch.ingest.types import ExtractedDocument

_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_NOT_SETEXT_TEXT = re.compile(r" {4,}|\s*(?:[-*+>|]|\d+[.)])(?:\s|$)|\s*<")
_FRONT_MATTER_TITLE = re.compile(r"title\s*:\s*(.+)", re.IGNORECASE)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# Backticks and asterisks only: underscores are more often part of names (__init__).
_INLINE_MARKS = re.compile(r"[`*]{1,3}(?=\S)|(?<=\S)[`*]{1,3}")
# A heading's id and classes (VitePress and Pandoc `{#id .class key=value}`, kramdown
# `{: #id}`), which the rendered page does not show (after any space, an ideographic one
# too); Svelte's `{#each items as item}` is text.
_HEADING_ATTRIBUTES = re.compile(
    r"(?<=\S)[^\S\n]+\{:?[^\S\n]*#[\w:.-]+"
    r"(?:[^\S\n]+(?:\.[\w-]+|[\w-]+=(?:\"[^\"]*\"|[^\s}]+)))*[^\S\n]*\}[^\S\n]*$"
)


# Inline HTML as a page renders it: a tag with attributes or a self-closing one (VitePress's
# `<Badge text="experimental" />` shows its text), a closing tag, <br>; a bare `<Value>` in
# `Atomic<Value>` is a generic, and code spans are left alone.
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1")
_HTML_TAG = re.compile(
    r"</[A-Za-z][\w-]*\s*>"
    r"|<br\s*/?>"
    r"|<[A-Za-z][\w-]*(?P<attributes>(?:\s+[\w:@.-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>/]+))?)+)"
    r"\s*/?>"
    r"|<[A-Za-z][\w-]*\s*/>",
    re.IGNORECASE,
)
_TEXT_ATTRIBUTE = re.compile(r"\btext\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


def _rendered_tag(match: re.Match[str]) -> str:
    shown = _TEXT_ATTRIBUTE.search(match.group("attributes") or "")
    return f" {shown.group(1) or shown.group(2)} " if shown else " "


def _without_html(text: str) -> str:
    if "<" not in text:
        return text
    parts, position = [], 0
    for code in _CODE_SPAN.finditer(text):
        parts += [_HTML_TAG.sub(_rendered_tag, text[position : code.start()]), code.group()]
        position = code.end()
    parts.append(_HTML_TAG.sub(_rendered_tag, text[position:]))
    return " ".join("".join(parts).split())


def clean_heading(text: str) -> str:
    """Heading text without inline markup: links become their label, emphasis marks,
    attribute blocks and HTML tags go."""
    text = _HEADING_ATTRIBUTES.sub("", text)
    text = _without_html(text)
    text = _LINK.sub(r"\1", text)
    text = _INLINE_MARKS.sub("", text)
    return shorten(text.strip(), 120)


# reStructuredText inline markup in titles: roles (:pep:`287`), phrase references
# (`Foo bar <url>`_), simple references (Foo_, Foo__) and substitutions (|name|).
_RST_ROLE = re.compile(r":[\w.+-]+:`([^`]*)`|`([^`]*)`:[\w.+-]+:")
_RST_PHRASE_REFERENCE = re.compile(r"`([^`<]*?)\s*(?:<[^>`]*>)?`__?(?!\w)")
# A reference name: words joined by single punctuation marks (so `__init__` is none).
_RST_SIMPLE_REFERENCE = re.compile(r"(?<![\w`.])([^\W_]+(?:[-._+:][^\W_]+)*)__?(?!\w)")
_RST_SUBSTITUTION = re.compile(r"\|([^|\s][^|]*)\|(?:__?)?")


def clean_rst_heading(text: str) -> str:
    """An rst title as the rendered page shows it: "Creating reStructuredText_ Directives"
    reads "Creating reStructuredText Directives"."""
    text = _RST_ROLE.sub(lambda match: match.group(1) or match.group(2) or "", text)
    text = _RST_PHRASE_REFERENCE.sub(r"\1", text)
    text = _RST_SIMPLE_REFERENCE.sub(r"\1", text)
    text = _RST_SUBSTITUTION.sub(r"\1", text)
    return clean_heading(text)


def extract_markdown(text: str, path: Path) -> ExtractedDocument:
    """Sections at ATX (`## x`) and setext headings; fenced code is never mistaken for one.

    The title is the front matter's title: when a file has one, it is the author's own title
    (a JOSS paper's first H1 is "Summary"); otherwise the first H1; else the heading the page
    opens on, whatever its level (mdBook's sub-chapters open on an H2); else the file name.
    """
    lines = text.split("\n")
    first, front_title = _skip_front_matter(lines)
    heading_path = HeadingPath()
    boundaries: list[tuple[int, str]] = []
    first_h1 = opening = ""
    fence = ""
    for number in range(first, len(lines)):
        line = lines[number]
        fence_match = _FENCE.match(line)
        if fence:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
                and not line.strip().strip(fence[0])
            ):
                fence = ""
            continue
        if fence_match:
            fence = fence_match.group(1)
            continue
        level, title, start = _markdown_heading(lines, number, first)
        if not level:
            continue
        if not boundaries and not any(line.strip() for line in lines[first:start]):
            opening = title
        boundaries.append((start, heading_path.push(level, title)))
        if level == 1 and not first_h1:
            first_h1 = title
    sections = sections_from_lines(lines, boundaries, first)
    title = clean_heading(front_title) or first_h1 or opening or path.stem
    return ExtractedDocument(title=title, doc_type="md", sections=sections)


def _markdown_heading(lines: list[str], number: int, first: int) -> tuple[int, str, int]:
    """(level, clean title, 0-based first line) if lines[number] ends a heading, else level 0."""
    line = lines[number]
    atx = _ATX.fullmatch(line)
    if atx:
        return len(atx.group(1)), clean_heading(atx.group(2) or ""), number
    setext = _SETEXT.fullmatch(line)
    if setext and number > first:
        above = lines[number - 1]
        if above.strip() and not _NOT_SETEXT_TEXT.match(above) and not _ATX.fullmatch(above):
            if not _SETEXT.fullmatch(above) and not _FENCE.match(above):
                level = 1 if setext.group(1)[0] == "=" else 2
                return level, clean_heading(above), number - 1
    return 0, "", number


def _skip_front_matter(lines: list[str]) -> tuple[int, str]:
    """(index of the first line after YAML front matter, its title or "")."""
    if not lines or lines[0].strip() != "---":
        return 0, ""
    for number in range(1, min(len(lines), 200)):
        if lines[number].strip() in ("---", "..."):
            title = ""
            for line in lines[1:number]:
                match = _FRONT_MATTER_TITLE.fullmatch(line.strip())
                if match and not line.startswith((" ", "\t")):
                    title = match.group(1).strip().strip("'\"")
                    break
            return number + 1, title
    return 0, ""


# reStructuredText adornment: one repeated non-alphanumeric printable ASCII character.
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*")
_RFC822_FIELD = re.compile(r"([A-Z][\w-]*):\s*(.*)")


def extract_rst(text: str, path: Path) -> ExtractedDocument:
    """Sections at adorned titles; a title's level is the order its adornment style first appeared.

    PEP-style files start with an RFC 822 header block whose Title: field names the document.
    """
    lines = text.split("\n")
    styles: list[tuple[bool, str]] = []  # (has overline, character) in order of first use
    heading_path = HeadingPath()
    boundaries: list[tuple[int, str]] = []
    first_title = ""
    number = title_end = 0
    while number < len(lines):
        found = _rst_title(lines, number, may_follow_text=number == title_end)
        if found is None:
            number += 1
            continue
        style, title, start, after = found
        if style not in styles:
            styles.append(style)
        boundaries.append((start, heading_path.push(styles.index(style) + 1, title)))
        first_title = first_title or title
        number = title_end = after
    title = _rfc822_title(lines) or first_title or path.stem
    return ExtractedDocument(
        title=title, doc_type="rst", sections=sections_from_lines(lines, boundaries)
    )


def _rst_title(
    lines: list[str], number: int, may_follow_text: bool
) -> tuple[tuple[bool, str], str, int, int] | None:
    """A title starting at lines[number]: (style, title, first line, line after), else None.

    Titles follow a blank line, except that one may come straight after another (a subtitle).
    """
    line = lines[number]
    if number and lines[number - 1].strip() and not may_follow_text:
        return None
    overline = _ADORNMENT.fullmatch(line)
    if overline and number + 2 < len(lines):
        text, under = lines[number + 1], lines[number + 2]
        if text.strip() and under.rstrip() == line.rstrip() and not _ADORNMENT.fullmatch(text):
            return (True, line[0]), clean_rst_heading(text), number, number + 3
    if overline or not line.strip() or line[0].isspace() or number + 1 >= len(lines):
        return None
    underline = _ADORNMENT.fullmatch(lines[number + 1])
    if not underline:
        return None
    width = len(lines[number + 1].rstrip())
    if width < 4 and width < len(line.rstrip()):
        return None  # docutils reads a short run under long text as text, not a title
    return (False, lines[number + 1][0]), clean_rst_heading(line), number, number + 2


def _rfc822_title(lines: list[str]) -> str:
    """The Title: field of a PEP-style header block at the top of the file, or ""."""
    title = ""
    for line in lines[:40]:
        if not line.strip():
            break
        field = _RFC822_FIELD.fullmatch(line)
        if field is None and not line[0].isspace():
            return ""
        if field is not None and field.group(1).lower() == "title":
            title = clean_rst_heading(field.group(2))
    return title
