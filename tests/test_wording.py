"""Counts printed in words: one thing, many things."""

from __future__ import annotations

import pytest

from localsearch.wording import plural


@pytest.mark.parametrize(
    ("count", "word", "separator", "expected"),
    [
        (1, "chunk", "", "1 chunk"),
        (0, "chunk", "", "0 chunks"),
        (2, "search", "", "2 searches"),
        (1, "search", "", "1 search"),
        (3, "query", "", "3 queries"),
        (1, "query", "", "1 query"),
        (2, "day", "", "2 days"),
        (4, "skipped file", "", "4 skipped files"),
        (1234, "document", ",", "1,234 documents"),
        (1, "vector", ",", "1 vector"),
    ],
)
def test_plural(count: int, word: str, separator: str, expected: str) -> None:
    assert plural(count, word, separator=separator) == expected
