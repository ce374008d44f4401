"""What an index run did: counts, skipped files, warnings and notices for the user."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    read_again: int = 0  # unchanged files an older extraction had read
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # what the run decided for the user

    def merge(self, other: IndexReport) -> None:
        for name in (
            "added",
            "updated",
            "removed",
            "unchanged",
            "chunks",
            "chunks_embedded",
            "chunks_reused",
            "read_again",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skipped.extend(other.skipped)
        self.warnings.extend(other.warnings)
        self.notices.extend(other.notices)
