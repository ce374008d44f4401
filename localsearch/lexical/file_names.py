"""A file's name as BM25 terms: the numbers and words a user types to find a file they know.

"PEP 8" should find pep-0008.rst, "proposal 255" 0255-omit-return.md and "lecture 5"
lecture05.pdf. The path's words hold such a number only as written ("0008", "lecture05"), so
the query's "8" or "5" missed it, and a document that mentions the words won. So the numbers
of a file's own name (the last part of its path, a container member's own name) are terms of
their own, each also without its leading zeros, and so are its words; a query's numbers are
looked up there (tantivy_index.py).

A number counts where it stands alone ("0008") or ends a word of letters with a leading zero
("lecture05"): "utf8", "md5" and "mp3" name no file's place in a series. A number of three
digits or more names a file by itself (a proposal, a year); a shorter one only with another
word of the query in the same name ("PEP 8" and pep-0008.rst), or "python 3 unicode strings"
would pull up swift-3_0.md. A mailbox message's number is localsearch's own count, not a name:
left out, so "top 10" does not find the tenth message.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from localsearch.ingest.types import MAILBOX_MESSAGE_NAME, MEMBER_SEPARATOR

# A number this long names a file without a word of the name beside it.
DISTINCTIVE_DIGITS = 3

_PARTS = re.compile(r"[\\/]|" + re.escape(MEMBER_SEPARATOR))
_WORDS = re.compile(r"[^\W_]+")
_NUMBER = re.compile(r"\d+|([^\W\d_]+)(0\d+)")
_NUMBER_IN_A_QUERY = re.compile(r"\d+|([^\W\d_]+)(\d+)")


@dataclass(frozen=True)
class NameTerms:
    """The terms of a name, or of a query to look up in names."""

    numbers: list[tuple[str, ...]]  # each number as written and without its leading zeros
    words: list[str]  # lower case; a word and number written together gives its word too


# Every chunk of a file asks for its name's terms, one after another (the BM25 side of
# indexing: ~4 us each, 4 s at a million chunks).
@functools.lru_cache(maxsize=256)
def file_name_terms(path: str) -> NameTerms:
    """The terms of `path`'s last part: "pep-0008.rst" has numbers [("0008", "8")] and words
    ["pep", "rst"]. Shared between callers: read them, do not change them."""
    name = _PARTS.split(path)[-1]
    message = MAILBOX_MESSAGE_NAME.fullmatch(name)
    if message is not None:
        name = name[message.end(1) :]
    return _terms(name, _NUMBER)


def query_name_terms(query: str) -> NameTerms:
    """The terms of a query to look up in names: "PEP 8" and "pep8" both give numbers [("8",)]
    and words ["pep"]."""
    return _terms(query, _NUMBER_IN_A_QUERY)


def _terms(text: str, number_pattern: re.Pattern[str]) -> NameTerms:
    numbers: dict[tuple[str, ...], None] = {}
    words: dict[str, None] = {}
    for word in _WORDS.findall(unicodedata.normalize("NFKC", text).lower()):
        found = number_pattern.fullmatch(word)
        if found is None:
            words[word] = None
            continue
        if found.group(1):
            words[word] = None
            words[found.group(1)] = None
        number = found.group(2) or found.group(0)
        unpadded = number.lstrip("0")
        numbers[(number, unpadded) if unpadded and unpadded != number else (number,)] = None
    return NameTerms(list(numbers), list(words))


def names_alone(number: tuple[str, ...]) -> bool:
    """Whether a query's number names a file without another of its words in the name."""
    return len(number[-1]) >= DISTINCTIVE_DIGITS
