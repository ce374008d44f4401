"""Closing the TUI while a job runs in a worker thread: the job stops at its next step, keeping
what it committed, instead of holding the process until it is done."""

from __future__ import annotations

import threading
from pathlib import Path

from tui_helpers import make, settle

from localsearch.config import Settings
from localsearch.index import Index
from localsearch.progress import ProgressEvent, ignore_progress


async def test_quitting_during_indexing_stops_the_run_and_keeps_the_index(
    settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    # ctrl+c during an index run of docutils closed the screen, then the process sat for
    # 207 s (load 7.5) until every file was read and embedded.
    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(12):
        (folder / f"note{n}.md").write_text(f"# Note {n}\n\nTides and moons, note {n}.\n")
    reached, release, finished = threading.Event(), threading.Event(), threading.Event()
    real_update = Index.update

    def held_update(self, paths=None, progress=ignore_progress, **kwargs):  # type: ignore[no-untyped-def]
        def held(event: ProgressEvent) -> None:
            if event.stage == "files" and not reached.is_set():
                reached.set()  # the run is under way: hold it until the app has closed
                release.wait(60)
            progress(event)

        try:
            return real_update(self, paths, progress=held, **kwargs)
        finally:
            finished.set()

    monkeypatch.setattr(Index, "update", held_update)
    app = make(settings)
    try:
        async with app.run_test() as pilot:
            await settle(pilot)
            assert app.add_folder(str(folder))
            for _ in range(1200):  # not wait_until: it would wait for the held worker
                if reached.is_set():
                    break
                await pilot.pause(0.05)
            assert reached.is_set()
            await pilot.press("ctrl+c")
    finally:
        release.set()
    assert finished.wait(60)
    index = Index(settings)
    try:
        assert index.status().documents < 12  # it stopped rather than read every file
        index.update([folder])  # nothing half-written: the next run finishes it
        assert index.status().documents == 12
    finally:
        index.close()
    assert app.stopped_jobs == ["index"]  # for the CLI to say what was kept
