"""Watching the indexed folders for the TUI's session: a Watcher (localsearch/watch.py) in a
thread of its own, its updates posted to the app as messages. Off until the user turns it on
from the command palette, and stopped when the app closes."""

from __future__ import annotations

import threading
from typing import Any

from textual.message import Message

from localsearch.config import Settings
from localsearch.watch import WatchCallbacks, Watcher, WatchUpdate


class WatchedFilesIndexed(Message):
    """A batch of changed files was brought into the index."""

    def __init__(self, update: WatchUpdate) -> None:
        super().__init__()
        self.update = update


class WatchingStopped(Message):
    """The watcher ended by itself (an error, or nothing left to watch)."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__()
        self.error = error


class SessionWatcher:
    def __init__(self, settings: Settings, post: Any) -> None:
        self.settings = settings
        self.post = post
        self._watcher: Watcher | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def ready(self) -> bool:
        """Watching, and caught up with what changed before watching began."""
        return self._watcher is not None and self._watcher.ready.is_set()

    def start(self) -> None:
        if self.running:
            return
        self._watcher = Watcher(
            self.settings,
            callbacks=WatchCallbacks(on_update=lambda u: self.post(WatchedFilesIndexed(u))),
        )
        self._thread = threading.Thread(target=self._run, args=(self._watcher,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop.set()
        self._watcher = None
        self._thread = None

    def _run(self, watcher: Watcher) -> None:
        try:
            watcher.run()
        except Exception as exc:  # noqa: BLE001 - shown to the user as a notification
            self.post(WatchingStopped(exc))
