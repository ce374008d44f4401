"""What the TUI shows (issue 12, second round): skipped files and why, every chunk of a file,
snippets without markup, a footer and status bar that tell the truth at 80 columns, and text
from files that can never drive the terminal (issue 15)."""

from __future__ import annotations

from pathlib import Path

from tui_helpers import (
    RecordingOpener,
    index_texts,
    notifications,
    result_list,
    running,
    screen_text,
    search_for,
    settle,
    wait_until,
)

from localsearch.config import Settings
from localsearch.search.engine import Hit
from localsearch.search.snippet import Snippet
from localsearch.tui.widgets.results import describe_location

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
    index_texts(settings, tmp_path / "docs", {ESCAPE_NAME: ESCAPE_TEXT})
    async with running(settings, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine blade")
        hit = result_list(app).hits[0]
        assert Path(hit.path).name == ESCAPE_NAME
        await pilot.press("ctrl+y")  # "This is it: <file name>" as a notification
        await pilot.pause()
        assert any("turbine␛]0;pwned␇.md" in m for m in notifications(app))
        shown = screen_text(app)
        for raw in ("\x1b]0;pwned", "\x1b[2J", "\x07", "\r", "\u202e"):
            assert raw not in shown, repr(raw)
        assert "turbine␛]0;pwned␇.md" in shown  # the name, in the list and the preview
        assert "␛[2J" in shown
        # The highlights still mark the query's words, not characters shifted by the controls.
        snippet = hit.snippet
        marked = [snippet.text[start:end].lower() for start, end in snippet.highlights]
        assert set(marked) == {"turbine", "blade"}


# -- skipped files and why -----------------------------------------------------------------------


async def test_skipped_files_are_announced_and_listed_with_their_reasons(
    settings: Settings, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Notes\n\nThe turbine needs oil.\n")
    (docs / "tool.exe").write_bytes(b"MZ\x00\x00\x90\x00binary")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    async with running(settings) as pilot:
        app = pilot.app
        await pilot.press("f2", *str(docs), "enter")
        await wait_until(pilot, lambda: app.indexing.outcome != "", timeout=120)
        done = next(m for m in notifications(app) if m.startswith("Indexed in"))
        assert ", 2 skipped;" in done
        assert done.endswith("\nF2 then s lists the skipped files and why.")
        await wait_until(pilot, lambda: app.index_status and app.index_status.skipped == 2)
        assert "2 skipped files (s lists them)" in str(
            app.screen.query_one("#index-summary").render()
        )
        await pilot.press("s")
        screen = app.screen
        assert type(screen).__name__ == "SkippedScreen"
        assert screen.skipped == [
            (str(docs / "broken.pdf"), screen.skipped[0][1]),
            (str(docs / "tool.exe"), "binary file"),
        ]
        shown = screen_text(app)
        assert "2 skipped files and why" in shown
        assert "broken.pdf  docs" in shown and "tool.exe  docs" in shown
        assert screen.skipped[0][1] in shown and "binary file" in shown
        await pilot.press("escape")
        assert type(app.screen).__name__ == "IndexScreen"


# -- every place a file matches --------------------------------------------------------------

FILLER = " ".join(f"word{i}" for i in range(120))
MANUAL = "\n\n".join(
    f"# Part {n}\n\nTurbine check number {n}: listen for the hum. {FILLER}\n" for n in range(1, 10)
)


async def test_more_in_this_file_shows_every_place_not_only_five(
    settings: Settings, tmp_path: Path
) -> None:
    index_texts(settings, tmp_path / "docs", {"manual.md": MANUAL})
    opener = RecordingOpener()
    async with running(settings, opener, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine check")
        results = result_list(app)
        manual = results.hits[0]
        assert manual.more_count == 8 and len(manual.more) == 5  # the search brings five
        await pilot.press("tab", "right")
        await wait_until(pilot, lambda: len(results.hits) == 9)
        parts = sorted(int(h.text.split("number ")[1].split(":")[0]) for h in results.hits)
        assert parts == list(range(1, 10))  # each part once: the best, then all eight more
        assert "▾ 8 more in this file" in screen_text(app)
        assert "loading" not in screen_text(app)
        await pilot.press("end")
        last = results.highlighted_hit
        assert last is results.hits[8] and last.chunk_id not in {
            m.chunk_id for m in manual.more[:5]
        }
        await pilot.press("enter")
        assert opener.calls[-1] == ("file", Path(manual.path), last.start_line)
        await pilot.press("left")
        assert len(results.hits) == 1 and results.highlighted_hit is manual


# -- snippets and the preview without markup ---------------------------------------------------

GUIDE_RST = """Writing directives
==================

Intro paragraph about nothing in particular.

Blades
------

See the `Docutils reference <https://docutils.sf.net>`_ and ``directive`` class
:class:`Directive` with **strong turbine** words and Spec_ links.

Example::

    x = ``kept`` and Spec_ as written
"""
NOTES_MD = "# Notes\n\nThe **turbine** has [a blade](http://x.org) and `code_span` here.\n"


async def test_snippets_and_preview_show_text_without_markup(
    settings: Settings, tmp_path: Path
) -> None:
    index_texts(settings, tmp_path / "docs", {"guide.rst": GUIDE_RST, "notes.md": NOTES_MD})
    opener = RecordingOpener()
    async with running(settings, opener, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine")
        hits = {Path(h.path).name: h for h in result_list(app).hits}
        rst, md = hits["guide.rst"], hits["notes.md"]
        assert (
            "See the Docutils reference and directive class Directive with strong turbine"
            " words and Spec links." in rst.snippet.text
        )
        assert "The turbine has a blade and code_span here." in md.snippet.text
        for hit in (rst, md):
            assert [hit.snippet.text[a:b] for a, b in hit.snippet.highlights] == ["turbine"]
        results = result_list(app)
        await pilot.press("tab")
        results.highlighted = results.hits.index(rst)
        await pilot.pause()
        preview = str(app.screen.query_one("#preview-hit").render())
        assert "with strong turbine words and Spec links." in preview
        assert "x = ``kept`` and Spec_ as written" in preview  # a literal block stays literal
        # The lines the preview names and the editor opens at are the source's own.
        source = GUIDE_RST.split("\n")[rst.start_line - 1 : rst.end_line]
        assert any("**strong turbine**" in line for line in source)
        await pilot.press("enter")
        assert opener.calls[-1] == ("file", Path(rst.path), rst.start_line)


# -- the footer and the status bar at 80 columns -------------------------------------------------


async def test_the_footer_says_what_q_does_and_the_status_bar_fits_80_columns(
    settings: Settings, tmp_path: Path
) -> None:
    import time

    from localsearch.tui.state import JobState

    index_texts(settings, tmp_path / "docs", {"notes.md": "# Notes\n\nThe turbine needs oil.\n"})
    async with running(settings, size=(80, 24)) as pilot:
        app = pilot.app

        def footer() -> str:
            return screen_text(app).split("\n")[-1]

        assert app.screen.focused.id == "query"
        assert "^c Quit" in footer() and "q Quit" not in footer()
        await search_for(pilot, "turbine")
        await pilot.press("tab")
        assert type(app.screen.focused).__name__ == "ResultList"
        await pilot.pause()
        assert "^c Quit" in footer() and "q Quit" not in footer()
        await pilot.press("f2")
        await wait_until(pilot, lambda: "Quit" in footer())
        assert "q Quit" in footer() and "^c Quit" not in footer()
        await pilot.press("escape")
        await wait_until(pilot, lambda: "Quit" in footer())
        app.latency_ms = 12.0
        app.indexing = JobState(
            running=True,
            stage="embed",
            completed=512,
            total=1611,
            stages={"files": (64, 64), "embed": (512, 1611)},
            started_at=time.monotonic() - 20,
            stage_started={"files": time.monotonic() - 20, "embed": time.monotonic() - 10},
        )
        await pilot.pause()
        bar = app.screen.query_one("#status")
        line = screen_text(app).split("\n")[bar.region.y].strip()
        assert line.startswith("1 docs"), line
        assert "all-MiniLM-L6" in line and "│ hybrid │" in line
        assert "│ Embedding 512/1,611 · ~2" in line, line  # about 21 s left
        assert len(line) <= 78


def test_a_hit_says_slide_or_sheet_where_its_page_number_counts_one() -> None:
    def located(doc_type: str, page: int | None) -> str:
        hit = Hit(
            path="/d/f", title="t", doc_type=doc_type, score=1.0, chunk_id=1, document_id=1,
            heading="Results", page=page, start_line=4, end_line=9, text="x", snippet=Snippet("x"),
        )  # fmt: skip
        return describe_location(hit)

    assert located("pdf", 3) == "page 3 · Results"
    assert located("pptx", 3) == "slide 3 · Results"
    assert located("sheet", 2) == "sheet 2 · Results"
    assert located("md", None) == "Results · line 4"


# -- a wait the engine explains -----------------------------------------------------------


async def test_the_status_bar_says_while_a_search_rebuilds_bm25_for_a_new_version(
    settings: Settings, tmp_path: Path, monkeypatch
) -> None:
    # The CLI said "Rebuilding the BM25 index for this version of localsearch (N chunks)…";
    # the TUI's first search after such an upgrade waited without a word.
    import json
    import threading

    from localsearch.lexical import LexicalIndex, catch_up
    from localsearch.tui.widgets.status_bar import StatusBar

    index_texts(settings, tmp_path / "docs", {"owl.md": "# Owl\n\nOwls hunt at night.\n"})
    lexical = LexicalIndex(settings.lexical_dir)
    state = json.loads(lexical.state_path.read_text())
    lexical.state_path.write_text(json.dumps({**state, "schema": state["schema"] - 1}))
    lexical.close()
    rebuilding, finish = threading.Event(), threading.Event()
    rebuild_whole = catch_up.rebuild_whole

    def held_rebuild(*args, **kwargs):  # type: ignore[no-untyped-def]
        rebuilding.set()
        finish.wait(60)
        return rebuild_whole(*args, **kwargs)

    monkeypatch.setattr(catch_up, "rebuild_whole", held_rebuild)
    notice = "Rebuilding the BM25 index for this version of localsearch (1 chunk)…"
    async with running(settings, mode="bm25") as pilot:
        app = pilot.app
        status = app.screen.query_one(StatusBar)
        try:
            await pilot.click("#query")
            await pilot.press(*"owls")
            # Not wait_until, which waits for the workers: the search's waits for `finish`.
            for _ in range(1200):
                if rebuilding.is_set() and notice in str(status.render()):
                    break
                await pilot.pause(0.05)
            assert str(status.render()).startswith(notice + " │ "), str(status.render())
        finally:
            finish.set()
        await wait_until(pilot, lambda: result_list(app).hits)
        assert [Path(hit.path).name for hit in result_list(app).hits] == ["owl.md"]
        assert notice not in str(status.render())


async def test_an_index_with_no_vector_yet_says_so_not_that_it_is_busy(
    settings: Settings, tmp_path: Path
) -> None:
    # A first index run stopped before its model loaded (quitting it, say) leaves text and no
    # vector. With nothing running, hybrid said "keyword (BM25) results while the index is
    # busy" for the whole session, and dense the same over an empty list.
    from localsearch.index import Index
    from localsearch.progress import ProgressEvent

    class Stopped(BaseException):
        pass

    def stop_at_the_model(event: ProgressEvent) -> None:
        if event.stage == "model":
            raise Stopped

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "owl.md").write_text("# Owls\n\nOwls hunt at night.\n")
    index = Index(settings)
    try:
        index.update([folder], progress=stop_at_the_model)
    except Stopped:
        pass
    finally:
        index.close()
    async with running(settings) as pilot:
        app = pilot.app
        await search_for(pilot, "owls")
        assert [Path(hit.path).name for hit in result_list(app).hits] == ["owl.md"]
        assert result_list(app).border_subtitle == (
            "no chunk is embedded yet: keyword (BM25) results; F2 then r embeds them"
        )
        app.mode = "dense"
        await wait_until(pilot, lambda: app.screen.shown_results.mode == "dense")
        shown = str(result_list(app).get_option_at_index(0).prompt)
        assert shown == "no chunk is embedded yet: F2 then r embeds them"


async def test_the_preview_keeps_its_hit_in_view_when_the_terminal_is_resized(
    settings: Settings, tmp_path: Path
) -> None:
    # The text before the hit wraps to more lines in a narrower terminal; the preview kept its
    # old offset, so after a resize it showed the text before the hit instead.
    prose = " ".join(f"Sentence {n} of plain prose about harbours and cranes." for n in range(40))
    text = f"# Port\n\n{prose}\n\n## Gulls\n\nGulls nest on the pier.\n\n## Ships\n\n{prose}\n"
    index_texts(settings, tmp_path / "docs", {"port.md": text})
    async with running(settings, size=(200, 50), mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "gulls nest")
        body = app.screen.query_one("#preview-body")
        hit = app.screen.query_one("#preview-hit")

        def at_the_hit() -> bool:  # its first line at the top, or as near as the end allows
            return body.scroll_y == min(hit.virtual_region.y, body.max_scroll_y) > 0

        await wait_until(pilot, at_the_hit)
        for size in ((60, 20), (120, 40)):
            await pilot.resize_terminal(*size)
            await settle(pilot, 0.2)
            await wait_until(pilot, at_the_hit, timeout=10)
