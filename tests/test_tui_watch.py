"""The TUI's session watcher: turned on from the command palette, a saved file becomes
searchable without leaving the app."""

from __future__ import annotations

from pathlib import Path

from test_tui import SIZE, make, notifications, result_list, search_for, settle, wait_until

from localsearch.config import Settings
from localsearch.index import Index


async def test_watching_makes_a_saved_file_searchable(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "owl.md").write_text("# Owl\n\nOwls hunt at night.\n")
    Index(settings).update([folder])
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.action_toggle_watch()
        assert app.watcher.running
        await wait_until(pilot, lambda: app.watcher.ready, timeout=300)
        app.mode = "bm25"
        (folder / "kiwi.md").write_text("# Kiwi\n\nThe kiwi is a flightless bird.\n")
        await wait_until(pilot, lambda: any("1 added" in m for m in notifications(app)), 300)
        await search_for(pilot, "flightless")
        assert [Path(hit.path).name for hit in result_list(app).hits] == ["kiwi.md"]
        app.action_toggle_watch()
        assert not app.watcher.running
        await settle(pilot)
        assert "Stopped watching the folders." in notifications(app)
