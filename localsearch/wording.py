"""Counts in the words the CLI, TUI and server print: "1 chunk", "2 chunks", "3 queries"."""

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
