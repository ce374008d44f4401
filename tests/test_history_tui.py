"""The TUI fills the search history: the query the user settled on (never its prefixes), the
results shown, what was opened and the explicit marks; nothing when recording is off."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import index_files
from test_hostile import mounts  # noqa: F401 - the fixture
from tui_helpers import RecordingOpener, workers_done

from localsearch.config import load_settings
from localsearch.history import SearchHistory
from localsearch.store import Store

DOCS = {
    "bees.txt": "Beekeeping notes: a hive needs a queen, workers and drones. Honey is taken"
    " in late summer, honey and wax both.\n",
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast. A spoon of honey helps it along.\n",
    "tides.md": "# Tidal power\n\nTurbines turn the rise and fall of the sea into power.\n",
}
SIZE = (100, 30)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return index_files(tmp_path, DOCS)[1]


async def type_and_wait(pilot, text: str) -> None:
    """Type `text` and wait until its results are on screen."""
    screen = pilot.app.screen
    await pilot.press(*text)
    query = screen.query_one("#query").value
    for _ in range(600):
        if screen._debounce is None and screen._shown_query == query:
            break
        await pilot.pause(0.05)
    await workers_done(pilot.app)
    await pilot.pause()


def logged(home: Path) -> list:
    store = Store(load_settings(home).database_path)
    try:
        return SearchHistory(store).searches()
    finally:
        store.close()


async def test_the_settled_search_its_opens_and_marks_are_logged(home: Path) -> None:
    from localsearch.tui.app import make_app
    from localsearch.tui.widgets.results import ResultList

    opener = RecordingOpener()
    app = make_app(load_settings(home), opener=opener)
    async with app.run_test(size=SIZE) as pilot:
        app.mode = "bm25"
        await pilot.pause()
        await type_and_wait(pilot, "hon")  # shown, then replaced before it settled
        await type_and_wait(pilot, "ey")
        hits = app.screen.query_one(ResultList).hits
        assert len(hits) == 2
        await pilot.pause(2.5)  # "honey" stays on screen: it is the search the user made
        await pilot.press("enter", "ctrl+y", "down", "ctrl+g", "ctrl+o")
        assert opener.calls[0] == ("file", Path(hits[0].path), hits[0].start_line)
        assert opener.calls[1] == ("folder", Path(hits[1].path).parent, None)
        assert "This is it: " + Path(hits[0].path).name in [n.message for n in app._notifications]
        await pilot.press(*["backspace"] * 5)
        await type_and_wait(pilot, "sourdough")
        bread = app.screen.query_one(ResultList).hits[0]
        await pilot.press("ctrl+y")  # a mark settles the search at once
        await pilot.press(*["backspace"] * 9)
        await type_and_wait(pilot, "tidal")  # replaced by quitting before it settled
    honey_ids = tuple(h.chunk_id for h in hits)
    searches = logged(home)
    assert [(s.query, s.mode, s.source) for s in searches] == [
        ("sourdough", "bm25", "tui"),
        ("honey", "bm25", "tui"),
    ]
    assert searches[0].relevant == (bread.chunk_id,) and searches[0].opened == ()
    honey = searches[1]
    assert honey.shown == honey_ids
    assert honey.opened == honey_ids  # the first opened, then the second's folder
    assert honey.relevant == honey_ids[:1]
    assert honey.not_relevant == honey_ids[1:]


async def test_nothing_is_logged_when_recording_is_off(home: Path) -> None:
    from localsearch.tui.app import make_app

    opener = RecordingOpener()
    app = make_app(load_settings(home, record_history=False), opener=opener)
    async with app.run_test(size=SIZE) as pilot:
        app.mode = "bm25"
        await pilot.pause()
        await type_and_wait(pilot, "honey")
        await pilot.press("enter", "ctrl+y")
        await pilot.pause(2.5)
        assert len(opener.calls) == 1
        assert "The search history is off (record_history = false): nothing was recorded." in [
            n.message for n in app._notifications
        ]
    assert logged(home) == []


async def test_a_read_only_home_says_once_that_searches_are_not_recorded(
    home: Path,
    tmp_path: Path,
    mounts,  # noqa: F811 - test_hostile's fixture
) -> None:
    # Every settled search, open and mark was a red "the data folder … is read-only: nothing
    # was changed" of its own, 8 s each, while searching worked.
    from test_hostile import read_only_view
    from tui_helpers import make, notifications

    view = read_only_view(home, tmp_path / "view", mounts)
    opener = RecordingOpener()
    app = make(load_settings(view), opener)
    async with app.run_test(size=SIZE) as pilot:
        app.mode = "bm25"
        await pilot.pause()
        await type_and_wait(pilot, "honey")
        await pilot.press("enter", "ctrl+y")
        await pilot.press("escape", "escape")
        await type_and_wait(pilot, "tides")
        await pilot.press("enter", "ctrl+g")
        await workers_done(app)
        assert len(opener.calls) == 2
        assert notifications(app) == [
            "The data folder is read-only, so your searches are not recorded in the history"
            " (adapt learns from it); searching works as it is.",
            "The data folder is read-only: nothing was recorded.",
            "The data folder is read-only: nothing was recorded.",
        ]
