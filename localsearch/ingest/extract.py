"""Turn one file into an ExtractedDocument: pick the format, decode, split at its structure.

This module decides what a file is and decodes text; each format family lives in its own
`extract_*` module, imported only when a file of that kind turns up, so that walking a folder
never pays for loading pdfium or python-docx. Every failure leaves as an ExtractionError whose
message is a short reason a user can read ("encrypted PDF", "binary file").
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

from charset_normalizer import from_bytes

from localsearch.ingest.extract_encoding import guess_encoding, utf8_despite_stray_bytes
from localsearch.ingest.regular_file import os_error_reason, read_regular_file
from localsearch.ingest.types import ExtractedDocument, Section


class ExtractionError(Exception):
    """A file that cannot be turned into text; str() is a short reason ("corrupt PDF: ...")."""


def _suffixes(names: str) -> frozenset[str]:
    return frozenset(names.split())


MARKDOWN_EXTENSIONS = _suffixes(".md .markdown .mdown .mkd .mdx")
RST_EXTENSIONS = _suffixes(".rst .rest")
HTML_EXTENSIONS = _suffixes(".html .htm .xhtml")
DOCX_EXTENSIONS = _suffixes(".docx .docm .dotx")
CODE_EXTENSIONS = _suffixes(
    ".py .pyi .js .mjs .cjs .ts .tsx .jsx .go .rs .java .c .h .cc .cpp .cxx .hh .hpp .hxx .cs"
    " .rb .php .swift .kt .kts .scala .sh .bash .zsh .fish .ps1 .lua .r .sql .m .mm .pl .pm .ex"
    " .exs .erl .hs .ml .mli .clj .dart .jl .vue .svelte .zig .nim .typ .toml .yaml .yml .json"
    " .jsonc .ini .cfg .conf .xml .css .scss .sass .less .gradle .cmake .proto .graphql .tf"
    " .nix .bat .cmd .vim .el .lisp .scm .mk"
)
CODE_FILENAMES = _suffixes(
    "makefile gnumakefile dockerfile containerfile jenkinsfile vagrantfile rakefile gemfile"
    " procfile cmakelists.txt justfile"
)
# Containers: their members are indexed as documents of their own (see ingest/containers.py).
ARCHIVE_ENDINGS = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
MAIL_EXTENSIONS = _suffixes(".eml .msg .mbox")
SHEET_EXTENSIONS = _suffixes(".xlsx .xlsm .xlsb .xls .ods")
DELIMITED_EXTENSIONS = _suffixes(".csv .tsv")
FEED_EXTENSIONS = _suffixes(".rss .atom")
# Formats that hold text but that we do not read (yet).
UNSUPPORTED_EXTENSIONS = _suffixes(
    ".doc .ppt .odt .odp .rtf .pages .numbers .key .mobi .azw3 .djvu"
)
# Extension -> the reason the walker gives for skipping it without reading a byte.
BINARY_EXTENSIONS: dict[str, str] = {
    **dict.fromkeys(
        _suffixes(
            ".png .jpg .jpeg .gif .bmp .tif .tiff .webp .ico .icns .heic .heif .avif .svg .svgz"
            " .psd .xcf .raw .cr2 .nef .eps .ai"
        ),
        "image",
    ),
    **dict.fromkeys(
        _suffixes(
            ".mp3 .wav .flac .ogg .oga .m4a .aac .opus .wma .mp4 .m4v .mkv .mov .avi .wmv .webm"
            " .flv .mpg .mpeg .swf"
        ),
        "audio or video",
    ),
    **dict.fromkeys(
        _suffixes(
            ".gz .bz2 .xz .zst .7z .rar .lz .lzma .jar .war .whl .egg .deb .rpm"
            " .dmg .iso .img .apk .cab .msi"
        ),
        "archive",
    ),
    **dict.fromkeys(
        _suffixes(
            ".exe .dll .so .dylib .o .obj .a .lib .bin .class .pyc .pyo .pyd .wasm .elc .beam"
            " .node .pdb .dat .pkl .pickle .npy .npz .pt .pth .onnx .safetensors .gguf .h5 .hdf5"
            " .parquet .arrow .feather .avro .orc"
        ),
        "binary file",
    ),
    **dict.fromkeys(_suffixes(".ttf .otf .woff .woff2 .eot .pfb"), "font"),
    **dict.fromkeys(_suffixes(".sqlite .sqlite3 .db .db3 .mdb .accdb .dbf .kdbx"), "database"),
}

SUPPORTED_TYPES: dict[str, str] = {
    "md": "Markdown (.md, .markdown): sections at ATX/setext headings, YAML front matter dropped",
    "rst": "reStructuredText (.rst): sections at adorned titles",
    "txt": "plain text (.txt, extensionless, unknown text files) in any encoding",
    "html": "HTML (.html, .htm, .xhtml): visible text, sections at h1-h6",
    "pdf": "PDF: one section per page",
    "docx": "Word (.docx): paragraphs and tables, sections at Heading/Title styles",
    "pptx": "PowerPoint (.pptx): one section per slide",
    "epub": "EPUB: chapters in reading order, sections at h1-h6",
    "code": "source code and config files: sections at top-level definitions",
    "sheet": "spreadsheets (.xlsx, .xls, .ods): one page per sheet, rows with their headers",
    "csv": "delimited text (.csv, .tsv) in any encoding: rows with their headers",
    "ipynb": "Jupyter notebooks: cells in order with their text outputs",
    "feed": "RSS and Atom feeds (.rss, .atom, feed .xml): one section per item",
    "archive": "archives (.zip, .tar, .tar.gz): each member indexed as its own document",
    "mail": "e-mail (.eml, .msg, .mbox mailboxes): headers and body; each message of a"
    " mailbox and each attachment as its own document",
}

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM is its prefix
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SNIFF_BYTES = 8192
_WIDE_ENCODINGS = ["utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"]
_NEWLINES = re.compile(r"\r\n?")


def is_mailbox_name(name: str) -> bool:
    """An mbox file: "x.mbox", or "mbox" alone (Apple Mail's exported "Inbox.mbox" folders
    hold one, as did Unix home folders)."""
    lower = name.lower()
    return lower.endswith(".mbox") or lower == "mbox"


def detect_doc_type(path: Path) -> str:
    """The extractor a file goes to, by name alone: a SUPPORTED_TYPES key, "binary" (a known
    binary extension) or "unsupported" (a known format we do not read).

    Unknown extensions map to "txt": extraction sniffs the bytes and rejects binary content.
    """
    suffix = path.suffix.lower()
    if is_archive_name(path.name):
        return "archive"
    if suffix in MAIL_EXTENSIONS or is_mailbox_name(path.name):
        return "mail"
    if suffix in MARKDOWN_EXTENSIONS:
        return "md"
    if suffix in RST_EXTENSIONS:
        return "rst"
    if suffix in HTML_EXTENSIONS:
        return "html"
    if suffix == ".pdf":
        return "pdf"
    if suffix in DOCX_EXTENSIONS:
        return "docx"
    if suffix == ".pptx":
        return "pptx"
    if suffix == ".epub":
        return "epub"
    if suffix in SHEET_EXTENSIONS:
        return "sheet"
    if suffix in DELIMITED_EXTENSIONS:
        return "csv"
    if suffix == ".ipynb":
        return "ipynb"
    if suffix in FEED_EXTENSIONS:
        return "feed"
    if suffix in CODE_EXTENSIONS or path.name.lower() in CODE_FILENAMES:
        return "code"
    if suffix in BINARY_EXTENSIONS:
        return "binary"
    if suffix in UNSUPPORTED_EXTENSIONS:
        return "unsupported"
    return "txt"


def is_archive_name(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_ENDINGS)


def extract_file(path: Path) -> ExtractedDocument:
    """Read `path` and split it into sections; raises ExtractionError and nothing else.

    An empty (or whitespace-only) file is not an error: it gives a document with no sections,
    which the indexer treats as nothing to index.
    """
    doc_type = detect_doc_type(path)
    try:
        document = _extract_as(path, doc_type)
        if not document.title.isascii():
            # A title taken from a name that is not UTF-8: its odd bytes as the path shows them.
            # Imported here: the store package loads SQLite, which plain extraction never needs.
            from localsearch.store.paths import display_path

            document.title = display_path(document.title)
        return document
    except ExtractionError:
        raise
    except OSError as exc:
        raise ExtractionError(os_error_reason(exc)) from exc
    except RecursionError as exc:
        raise ExtractionError(f"{doc_type} file too deeply nested") from exc
    except Exception as exc:  # parsers raise all sorts; the indexer must only see one kind
        raise ExtractionError(f"unreadable {doc_type} file ({type(exc).__name__})") from exc


def _extract_as(path: Path, doc_type: str) -> ExtractedDocument:
    # Format modules import lazily: pdfium and python-docx cost time and memory to load.
    if doc_type == "binary":
        raise ExtractionError("binary file")
    if doc_type == "unsupported":
        raise ExtractionError(f"unsupported format ({path.suffix.lower()})")
    info = path.stat()
    if stat.S_ISREG(info.st_mode) and info.st_size == 0:
        # `touch notes.docx` makes an empty document, not a corrupt one: nothing to index.
        return ExtractedDocument(title=path.stem or path.name, doc_type=doc_type)
    if doc_type == "pdf":
        from localsearch.ingest.pdf_process import extract_pdf_in_child

        return extract_pdf_in_child(path)
    if doc_type == "docx":
        from localsearch.ingest.extract_docx import extract_docx

        return extract_docx(path)
    if doc_type in ("pptx", "epub"):
        from localsearch.ingest.extract_zipped import extract_epub, extract_pptx

        return extract_pptx(path) if doc_type == "pptx" else extract_epub(path)
    if doc_type in ("archive", "mail"):
        from localsearch.ingest.containers import container_document

        return container_document(path)
    if doc_type == "sheet":
        from localsearch.ingest.extract_sheet import extract_workbook

        return extract_workbook(path)
    if doc_type == "csv":
        from localsearch.ingest.extract_sheet import extract_delimited

        return extract_delimited(path)
    if doc_type == "ipynb":
        from localsearch.ingest.extract_notebook import extract_notebook

        return extract_notebook(path)
    if doc_type == "feed" or (doc_type == "code" and _is_feed(path)):
        from localsearch.ingest.extract_feed import extract_feed

        return extract_feed(path)

    text = decode_text(read_regular_file(path))
    if doc_type == "md":
        from localsearch.ingest.extract_markup import extract_markdown

        return extract_markdown(text, path)
    if doc_type == "rst":
        from localsearch.ingest.extract_markup import extract_rst

        return extract_rst(text, path)
    if doc_type == "html":
        from localsearch.ingest.extract_html import extract_html

        return extract_html(text, path)
    if doc_type == "code":
        from localsearch.ingest.extract_code import extract_code

        _refuse_minified(text)
        return extract_code(text, path)
    _refuse_minified(text)
    return extract_plain_text(text, path)


MINIFIED_MIN_CHARS = 256 * 1024
MINIFIED_LINE_CHARS = 5000  # average characters a line above which text is machine-made
# Prose is mostly letters and spaces (0.91 for a PEP with its newlines removed, 0.9 for Chinese);
# minified code and JSON dumps are not (0.66-0.77 measured).
PROSE_WORD_SHARE = 0.85
PROSE_SAMPLE_CHARS = 64 * 1024


def _refuse_minified(text: str) -> None:
    """Minified code and one-line data dumps are not worth searching, and cutting a megabyte
    of one line of them into passages costs minutes and gigabytes: skip them with a reason.
    Prose with no line breaks (a transcript) is kept: it chunks at its sentences."""
    if len(text) < MINIFIED_MIN_CHARS:
        return
    text = text.rstrip("\n")  # the last line's newline ends it; it does not start another
    per_line = len(text) // (text.count("\n") + 1)
    if per_line > MINIFIED_LINE_CHARS:
        sample = text[:PROSE_SAMPLE_CHARS]
        words = sum(1 for c in sample if c.isalnum() or c.isspace())
        if words < PROSE_WORD_SHARE * len(sample):
            raise ExtractionError(f"minified or one-line text ({per_line:,} characters a line)")


def _is_feed(path: Path) -> bool:
    """An .xml file that is an RSS or Atom feed (read by its first bytes)."""
    if path.suffix.lower() != ".xml":
        return False
    from localsearch.ingest.extract_feed import looks_like_feed

    with path.open("rb") as file:
        return looks_like_feed(file.read(4096))


def decode_text(data: bytes) -> str:
    """Bytes in any encoding -> str with "\\n" newlines; ExtractionError for binary data.

    A byte order mark decides; else UTF-8 (nearly everything, and decoding it is cheap), even
    with a few stray bytes; else the most plausible legacy encoding. NUL bytes mean binary,
    unless the bytes read cleanly as UTF-16/32 without a byte order mark.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _NEWLINES.sub("\n", data[len(bom) :].decode(encoding, errors="replace"))
    if b"\x00" in data[:_SNIFF_BYTES]:
        wide = from_bytes(data, cp_isolation=_WIDE_ENCODINGS).best()
        if wide is None:
            raise ExtractionError("binary file")
        return _NEWLINES.sub("\n", str(wide))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        spoiled = utf8_despite_stray_bytes(data)
        text = spoiled if spoiled is not None else _decode_legacy(data)
    return _NEWLINES.sub("\n", text)


def _decode_legacy(data: bytes) -> str:
    legacy = guess_encoding(data)
    if legacy is None:
        raise ExtractionError("binary file")
    try:
        return data.decode(legacy, errors="replace")
    except LookupError as exc:
        raise ExtractionError("undecodable text") from exc


_MAN_HEADING = re.compile(r"[A-Z][A-Z0-9 ,'()/&-]{2,60}")


def extract_plain_text(text: str, path: Path) -> ExtractedDocument:
    """Plain text: sections at man-page style ALL-CAPS headings, title from the first line."""
    lines = text.split("\n")
    boundaries: list[tuple[int, str]] = []  # (0-based line, heading)
    for number, line in enumerate(lines):
        previous_blank = number == 0 or not lines[number - 1].strip()
        if previous_blank and _MAN_HEADING.fullmatch(line.rstrip()) and _has_letters(line):
            boundaries.append((number, line.strip()))
    # The first line that reads like words (not a rule of dashes), if it is short enough.
    first_line = next((line.strip() for line in lines[:50] if _has_letters(line)), "")
    title = first_line if len(first_line) <= 100 else ""
    return ExtractedDocument(
        title=title or path.stem, doc_type="txt", sections=sections_from_lines(lines, boundaries)
    )


def _has_letters(line: str, at_least: int = 3) -> bool:
    return sum(c.isalpha() for c in line) >= at_least


def sections_from_lines(
    lines: list[str], boundaries: list[tuple[int, str]], first: int = 0
) -> list[Section]:
    """Cut `lines` at each (0-based line, heading) boundary; text before the first has no heading.

    Lines before `first` (front matter) belong to no section.
    Leading and trailing blank lines are trimmed and start_line moved to match, so that a
    section's first line in the file is the first line of its text. Blank sections are dropped.
    """
    sections: list[Section] = []
    starts = boundaries if boundaries and boundaries[0][0] <= first else [(first, ""), *boundaries]
    for index, (start, heading) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(lines)
        section = section_from_line_range(lines, start, end, heading)
        if section is not None:
            sections.append(section)
    return sections


def section_from_line_range(
    lines: list[str], start: int, end: int, heading: str, page: int | None = None
) -> Section | None:
    """lines[start:end] as a Section with blank edges trimmed, or None if it is all blank."""
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    if start >= end:
        return None
    text = "\n".join(line.rstrip() for line in lines[start:end])
    return Section(text=text, heading=heading, page=page, start_line=start + 1)


class HeadingPath:
    """The chain of enclosing headings, "Intro > Install", as headings arrive in order."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def push(self, level: int, title: str) -> str:
        """Enter a heading of `level` (1 = top) and return the path down to it."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        return " > ".join(t for _, t in self._stack if t)


def shorten(text: str, limit: int = 100) -> str:
    """Collapse whitespace and cut at `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
