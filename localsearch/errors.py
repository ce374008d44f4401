"""Typed errors the engine raises; each carries a hint the front ends show the user.

A separate module so that the CLI and TUI can catch one base class and print one line,
without knowing which layer failed.
"""

from __future__ import annotations


class LocalSearchError(Exception):
    """Base class: `message` says what went wrong, `hint` says what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class UsageError(LocalSearchError):
    """The user asked for something that cannot be done as asked."""

    exit_code = 2


class NoIndexError(LocalSearchError):
    """There is nothing to search yet."""


class IndexIncompleteError(LocalSearchError):
    """Chunks are still waiting for their vectors (an index run was interrupted or is running)."""


class IndexBusyError(LocalSearchError):
    """Another process holds the index lock."""


class ModelError(LocalSearchError):
    """A model could not be found, loaded or does not match the stored vectors."""


class ModelMismatchError(ModelError):
    """The active model differs from the one that produced the stored vectors."""


class DatasetError(LocalSearchError):
    """A BEIR dataset or a pairs file is missing or malformed."""


class MissingDependencyError(LocalSearchError):
    """An optional dependency is needed for this command."""


class ServerRunningError(LocalSearchError):
    """A resident server already serves this data folder."""


class RanksDisagreeError(LocalSearchError):
    """The processes of a distributed training run ended with different weights."""


class ReadOnlyDataError(LocalSearchError):
    """A change was asked of a data folder this process can only read."""

    @classmethod
    def of(cls, folder: object) -> ReadOnlyDataError:
        return cls(
            f"the data folder {folder} is read-only: nothing was changed",
            "searching works as it is; changes need write access",
        )


class DiskFullError(LocalSearchError):
    """A write ran out of space; what was committed before it is kept."""


class LexicalIndexError(LocalSearchError):
    """The BM25 index cannot be read (damaged files) or written (a full or read-only disk)."""


class LexicalDiskFullError(LexicalIndexError, DiskFullError):
    """The disk filled up while the BM25 index was written; the last good one is kept."""
