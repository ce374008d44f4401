"""The search screen against searches still under way: keys act on what answers the query
in the box, never on the results of an older one still on screen."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from tui_helpers import RecordingOpener, result_list, running, search_for, searched

from localsearch.config import Settings
from localsearch.tui.backend import SearchBackend


# Pressed once the new search is under way but before it came back (a busy machine, the model
# warming), enter opened the top result on screen, which answers the inputs before the change:
# typing on after the debounce had fired, or a mode switched with ctrl+t (the query text alone
# was compared then).
@pytest.mark.parametrize(
    "keys, held_if, changed",
    [
        (
            tuple(" docstring"),
            lambda query, mode: "docstring" in query,
            lambda app: app.screen.query_one("#query").value.endswith(" docstring"),
        ),
        (("ctrl+t",), lambda query, mode: mode != "bm25", lambda app: app.mode != "bm25"),
    ],
    ids=["query", "mode"],
)
async def test_enter_never_opens_a_result_of_older_inputs(
    peps_home: Settings, monkeypatch, keys, held_if, changed
) -> None:
    held, release = threading.Event(), threading.Event()
    real_search = SearchBackend.search

    def slow_search(self, query, **kwargs):  # type: ignore[no-untyped-def]
        if held_if(query, kwargs.get("mode")):
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
            await pilot.press(*keys)
            for _ in range(1200):  # not wait_until: it would wait for the held search
                if held.is_set() and screen._debounce is None:
                    break
                await pilot.pause(0.05)
            assert held.is_set() and changed(app) and result_list(app).hits[0].path == old_top
            await pilot.press("enter")
            assert opener.calls == []
        finally:
            release.set()
        await searched(pilot)
        await pilot.press("enter")
        top = result_list(app).hits[0]
        assert opener.calls == [("file", Path(top.path), top.start_line)]
