"""Pilot helpers the TUI test modules share: a recording opener, waiting for workers and
searches, and a small home of indexed PEPs."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from localsearch.config import Settings, load_settings
from localsearch.index import Index

PEPS = ("pep-0020.rst", "pep-0257.rst", "pep-0285.rst", "pep-0328.rst")
SIZE = (100, 30)


class RecordingOpener:
    """Records what `enter` would open instead of starting a program."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Path, int | None]] = []
        self.pages: list[int | None] = []

    def open_file(self, path: Path, line: int | None = None, page: int | None = None) -> None:
        self.calls.append(("file", path, line))
        self.pages.append(page)

    def open_folder(self, path: Path) -> None:
        self.calls.append(("folder", path, None))


def index_peps(base: Path, corpus: Path) -> Settings:
    docs = base / "peps"
    docs.mkdir()
    for name in PEPS:
        shutil.copy(corpus / "python-peps" / "peps" / name, docs / name)
    settings = load_settings(base / "home")
    index_folder(settings, docs)
    return settings


def make(settings: Settings, opener: RecordingOpener | None = None):
    """The app, with every notification it posts kept for notifications(): a toast expires
    after seconds, which a slow machine can spend before a test looks."""
    from textual.notifications import Notify

    from localsearch.tui.app import make_app

    app = make_app(settings, opener=opener)
    posted: list[str] = []
    post_message = app.post_message

    def kept(message):  # type: ignore[no-untyped-def]
        if isinstance(message, Notify):  # as shown: after the app made the text safe
            posted.append(message.notification.message)
        return post_message(message)

    app.post_message = kept  # type: ignore[method-assign]
    app.posted_notifications = posted  # type: ignore[attr-defined]
    return app


@asynccontextmanager
async def running(
    settings: Settings,
    opener: RecordingOpener | None = None,
    *,
    size: tuple[int, int] = SIZE,
    mode: str | None = None,
) -> AsyncIterator:
    """A pilot on the app for `settings`, started and settled; `mode` set when given."""
    app = make(settings, opener)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if mode is not None:
            app.mode = mode
        yield pilot


def index_folder(settings: Settings, folder: Path) -> None:
    index = Index(settings)
    try:
        index.update([folder])
    finally:
        index.close()


def index_texts(settings: Settings, folder: Path, files: dict[str, str]) -> Path:
    """Write `files` (name: text) into a new `folder` and index it."""
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    index_folder(settings, folder)
    return folder


def screen_text(app) -> str:
    """The whole screen's text as it would reach the terminal, line by line, without the
    styles' escape codes: any escape left in it came from the content."""
    update = app.screen._compositor.render_update(full=True)
    return "\n".join("".join(strip.text for strip in line) for line in update.strips)


async def workers_done(app) -> None:
    """Wait for the app's workers. One that a newer worker of its exclusive group cancelled
    (a status refresh, say) is done too: wait_for_complete raised for it, under load."""
    from textual.worker import WorkerCancelled

    for worker in list(app.workers):
        with suppress(WorkerCancelled):
            await worker.wait()


async def settle(pilot, seconds: float = 0.0) -> None:
    """Let timers fire, workers finish and their messages land."""
    if seconds:
        await pilot.pause(seconds)
    for _ in range(3):
        await workers_done(pilot.app)
        await pilot.pause()


async def wait_until(pilot, condition, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)
    await settle(pilot)


async def searched(pilot) -> None:
    """Wait until the results on screen answer what the search box says."""
    screen = pilot.app.screen
    query = screen.query_one("#query").value
    await wait_until(
        pilot, lambda: screen._debounce is None and screen._shown_query == query, timeout=60
    )


async def search_for(pilot, text: str) -> None:
    query = pilot.app.screen.query_one("#query")
    query.value = ""
    await pilot.click("#query")
    await pilot.press(*text)
    await searched(pilot)


def result_list(app):
    from localsearch.tui.widgets.results import ResultList

    return app.screen.query_one(ResultList)


def notifications(app) -> list[str]:
    """Every notification the app posted, expired ones too (make())."""
    posted = getattr(app, "posted_notifications", None)
    return list(posted) if posted is not None else [n.message for n in app._notifications]
