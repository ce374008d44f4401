"""The order an index run takes its sources in: each file, and after a container that changed,
its members (a message in a mailbox has its attachments as members of its own), then the
container itself.

A module of its own because this order is what makes containers safe to interrupt and cheap
to hold. A container's stored hash says its members are all in, so it comes last, in the same
batch as its last members or a later one: a run killed inside a mailbox of gigabytes leaves
the old hash, and the next run opens the mailbox again, finds the messages it committed
unchanged and takes up the rest. Members are pulled one at a time, and a container is closed
(its unpacked files removed) as soon as its members are done, so a mailbox's messages are
never all in memory or on disk at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from localsearch.ingest.sources import Expansion, SourceDocument
from localsearch.store import DocumentRow


@dataclass
class FinishedContainer:
    """A container whose members have all been taken (or whose reading broke off: `error`),
    with what the index knew of it when it opened it."""

    source: SourceDocument
    expansion: Expansion
    content_hash: str
    raw_hash: str
    stored: DocumentRow | None  # the index's record of it
    error: BaseException | None = None


class SourceQueue:
    """Iterate for the next source, or for a FinishedContainer once a container's members are
    through; open() a container that changed to take its members next."""

    def __init__(
        self, sources: Iterable[SourceDocument], read_errors: tuple[type[BaseException], ...]
    ) -> None:
        self._sources = iter(sources)
        self._read_errors = read_errors
        self._open: list[tuple[FinishedContainer, Iterator[SourceDocument]]] = []

    def open(self, container: FinishedContainer) -> None:
        self._open.append((container, iter(container.expansion.members)))

    def reading(self) -> tuple[str, int, int] | None:
        """(path, bytes read, bytes in all) of the innermost open container read as its
        members are asked for (a mailbox), whose members cannot be counted ahead."""
        for container, _ in reversed(self._open):
            if container.expansion.read_so_far is not None:
                return (container.source.path, *container.expansion.read_so_far())
        return None

    @property
    def counting(self) -> bool:
        """Whether every open container said how many members it has (a mailbox cannot)."""
        return all(c.expansion.count is not None for c, _ in self._open)

    def __iter__(self) -> Iterator[SourceDocument | FinishedContainer]:
        try:
            while True:
                if not self._open:
                    source = next(self._sources, None)
                    if source is None:
                        return
                    yield source
                    continue
                container, members = self._open[-1]
                try:
                    member = next(members, None)
                except self._read_errors as exc:  # a mailbox unreadable part way through
                    container.error, member = exc, None
                if member is not None:
                    yield member
                    continue
                self._open.pop()
                try:
                    yield container
                finally:
                    container.expansion.close()
        finally:
            self.close()

    def close(self) -> None:
        while self._open:
            self._open.pop()[0].expansion.close()

    def __enter__(self) -> SourceQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
