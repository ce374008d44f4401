"""Counts in the words the CLI, TUI and server print: "1 chunk", "2 chunks", "3 queries",
"also at: a, b and 2 more"."""

from __future__ import annotations


def plural(count: int, word: str, *, separator: str = "") -> str:
    """`count` and `word`, the word in the plural unless the count is one; `separator` is the
    thousands separator ("," gives "1,234 chunks")."""
    number = f"{count:{separator}}" if separator else str(count)
    if count == 1:
        return f"{number} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{number} {word[:-1]}ies"
    return f"{number} {word}{'es' if word.endswith(('s', 'x', 'ch', 'sh')) else 's'}"


ALSO_AT_NAMED = 3  # copies an "also at" line names; past that it names two and counts the rest


def also_at(paths: list[str]) -> str:
    """Where a result's copies are (search/duplicates.py), as the faces show each path."""
    named = paths if len(paths) <= ALSO_AT_NAMED else paths[:2]
    line = "also at: " + ", ".join(named)
    return line + (f" and {len(paths) - len(named)} more" if len(named) < len(paths) else "")
