"""The search screen against searches still under way: keys act on what answers the query
in the box, never on the results of an older one still on screen."""

from __future__ import annotations

import threading
from pathlib import Path

from tui_helpers import RecordingOpener, result_list, running, search_for, searched

from localsearch.config import Settings
from localsearch.tui.backend import SearchBackend


async def test_enter_never_opens_a_result_of_an_older_query(
    peps_home: Settings, monkeypatch
) -> None:
    # Typing on and pressing enter once the debounce had fired, but before that search came
    # back (a busy machine, the model warming), opened the older query's top result.
    held, release = threading.Event(), threading.Event()
    real_search = SearchBackend.search

    def slow_search(self, query, **kwargs):  # type: ignore[no-untyped-def]
        if "docstring" in query:
            held.set()
            release.wait(60)
        return real_search(self, query, **kwargs)

    monkeypatch.setattr(SearchBackend, "search", slow_search)
    opener = RecordingOpener()
    async with running(peps_home, opener, mode="bm25") as pilot:
        app = pilot.app
        screen = app.screen
        try:
            await search_for(pilot, "relative imports")
            old_top = result_list(app).hits[0].path
            await pilot.press(*" docstring")
            for _ in range(1200):  # not wait_until: it would wait for the held search
                if held.is_set() and screen._debounce is None:
                    break
                await pilot.pause(0.05)
            assert held.is_set() and result_list(app).hits[0].path == old_top
            await pilot.press("enter")
            assert opener.calls == []
        finally:
            release.set()
        await searched(pilot)
        await pilot.press("enter")
        top = result_list(app).hits[0]
        assert opener.calls == [("file", Path(top.path), top.start_line)]


async def test_enter_never_opens_a_result_of_an_older_mode(
    peps_home: Settings, monkeypatch
) -> None:
    # The query text alone was compared: a mode switched (ctrl+t), then enter before that
    # search came back, opened the top result of the mode on screen before.
    held, release = threading.Event(), threading.Event()
    real_search = SearchBackend.search

    def slow_search(self, query, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("mode") != "bm25":
            held.set()
            release.wait(60)
        return real_search(self, query, **kwargs)

    monkeypatch.setattr(SearchBackend, "search", slow_search)
    opener = RecordingOpener()
    async with running(peps_home, opener, mode="bm25") as pilot:
        app = pilot.app
        try:
            await search_for(pilot, "relative imports")
            await pilot.press("ctrl+t")
            for _ in range(1200):  # not wait_until: it would wait for the held search
                if held.is_set():
                    break
                await pilot.pause(0.05)
            assert held.is_set() and app.mode != "bm25"
            await pilot.press("enter")
            assert opener.calls == []
        finally:
            release.set()
        await searched(pilot)
        await pilot.press("enter")
        top = result_list(app).hits[0]
        assert opener.calls == [("file", Path(top.path), top.start_line)]
