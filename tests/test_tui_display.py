"""What the TUI shows (issue 12, second round): skipped files and why, every chunk of a file,
snippets without markup, a footer and status bar that tell the truth at 80 columns, and text
from files that can never drive the terminal (issue 15)."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import (
    index_folder,
    notifications,
    result_list,
    running,
    screen_output,
    search_for,
)

from localsearch.config import Settings

# -- terminal escapes in names and text (issue 15) -------------------------------------------

ESCAPE_NAME = "turbine\x1b]0;pwned\x07.md"
ESCAPE_TEXT = (
    "# Turbine \x1b[2J guide\n\n"
    "The turbine \x1b]0;pwned\x07 blade needs a check.\r\n"
    "Bidi: \u202eevil\u202c and a bell \x07 here.\n"
)


async def test_escape_sequences_in_names_and_text_are_shown_not_obeyed(
    settings: Settings, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / ESCAPE_NAME).write_text(ESCAPE_TEXT)
    index_folder(settings, docs)
    async with running(settings, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine blade")
        hit = result_list(app).hits[0]
        assert Path(hit.path).name == ESCAPE_NAME
        await pilot.press("ctrl+y")  # "This is it: <file name>" as a notification
        await pilot.pause()
        assert any("turbine␛]0;pwned␇.md" in m for m in notifications(app))
        shown = screen_output(app)
        for raw in ("\x1b]0;pwned", "\x1b[2J", "\x07", "\r", "\u202e"):
            assert raw not in shown, repr(raw)
        assert "turbine␛]0;pwned␇.md" in shown  # the name, in the list and the preview
        assert "␛[2J" in shown
        # The highlights still mark the query's words, not characters shifted by the controls.
        snippet = hit.snippet
        marked = [snippet.text[start:end].lower() for start, end in snippet.highlights]
        assert set(marked) == {"turbine", "blade"}
