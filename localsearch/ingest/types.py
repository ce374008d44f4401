"""Plain data passed between walking, extraction, chunking and the indexer."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Bump when an unchanged file would extract differently (its text, title or sections): the
# next `index` then reads every file again, keeping the vectors of passages that did not change.
# 2: Markdown heading attributes dropped; pages that open on an H2 titled by it; HTML chunks end
# within their file.
# 3: .mbox mailboxes (and files named "mbox") read as one document per message, not as text;
# inline HTML in Markdown headings shown as rendered.
EXTRACTION_VERSION = 3

# Between a container's path and a member's name: "/x/a.zip › inner/b.md".
MEMBER_SEPARATOR = " › "
# A message's member name in a mailbox (ingest/mailbox.py): its number, then its subject. The
# number is localsearch's own, not a name anyone chose.
MAILBOX_MESSAGE_NAME = re.compile(r"(\d{4,})(?: .*)?\.eml", re.DOTALL)


@dataclass(frozen=True)
class FoundFile:
    """A file the walker will hand to extraction."""

    path: Path  # absolute, not resolved through symlinks
    root: Path  # the indexed root it was found under
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class SkippedFile:
    """A file left out, with a reason a user can read ("binary file", "over 20 MB")."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Section:
    """A stretch of a document under one heading (or one PDF page)."""

    text: str
    heading: str = ""  # heading path, "Install > From source"; "" when there is none
    page: int | None = None  # 1-based page, slide (pptx) or sheet number
    start_line: int = 1  # 1-based line in the source file (in the page's text for PDFs)
    # The source line it ends on, where the lines of its text are not the source's (HTML, one
    # line per block): its chunks' lines stay within start_line..last_line.
    last_line: int | None = None


@dataclass
class ExtractedDocument:
    """The text of one file, in reading order, split at structural boundaries."""

    title: str
    doc_type: str  # "md", "rst", "txt", "html", "pdf", "docx", "code"
    sections: list[Section] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(s.text for s in self.sections)


@dataclass(frozen=True)
class Chunk:
    """A passage sized for the embedder, with where it came from."""

    text: str
    heading: str
    page: int | None
    start_line: int
    end_line: int


# What a Section's page number counts, by document type, where it is not a page.
PAGE_UNITS = {"pptx": "slide", "sheet": "sheet"}


def page_label(doc_type: str, page: int) -> str:
    """ "page 3", "slide 3" or "sheet 3", as the user knows that part of the file."""
    return f"{PAGE_UNITS.get(doc_type, 'page')} {page}"
