"""What an index run did: counts, skipped files, warnings and notices for the user."""

from __future__ import annotations

from dataclasses import dataclass, field

from localsearch.wording import plural


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

    def files_done(self) -> str:
        """What it did to files: "2 added, 1 updated, 0 removed"."""
        return f"{self.added} added, {self.updated} updated, {self.removed} removed"

    def chunks_done(self) -> str:
        """What it wrote, in the words index, watch and the server share: "5 chunks written
        (3 embedded, 2 reused)", the last two counting vectors (reused: of identical text)."""
        return (
            f"{plural(self.chunks, 'chunk')} written ({self.chunks_embedded} embedded,"
            f" {self.chunks_reused} reused)"
        )

    def wrote_anything(self) -> bool:
        """Whether it changed the index: files, or vectors for chunks left without them."""
        return bool(self.added or self.updated or self.removed or self.chunks_embedded)

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
