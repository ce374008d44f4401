"""The TUI as a demanding user finds it (issue 12): opening that fails loudly, clicks that
select, keys that go where they say, and screens that stay useful in a small terminal."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from ingest_fixtures import one_page_pdf
from rich.console import Console
from tui_helpers import (
    RecordingOpener,
    index_folder,
    index_texts,
    make,
    notifications,
    result_list,
    running,
    search_for,
    settle,
    wait_until,
)

from localsearch.config import Settings


def fake_program(folder: Path, name: str, body: str) -> Path:
    """A shell script called `name` in `folder`; it logs its pid and arguments to name.log."""
    folder.mkdir(exist_ok=True)
    script = folder / name
    log = folder / f"{name}.log"
    script.write_text(f'#!/bin/sh\necho "$$ $*" > "{log}"\n{body}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


@pytest.fixture
def pdf_home(settings: Settings, tmp_path: Path) -> Settings:
    docs = tmp_path / "manuals"
    docs.mkdir()
    (docs / "turbine.pdf").write_bytes(one_page_pdf("Turbine maintenance schedule"))
    index_folder(settings, docs)
    return settings


# -- bug 1: opening ------------------------------------------------------------------------


async def test_a_failing_desktop_opener_is_a_notification_and_no_zombie(
    pdf_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    log = fake_program(bin_dir, "xdg-open", "exit 3")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DISPLAY", ":99")
    async with running(pdf_home, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine")
        hit = result_list(app).hits[0]
        assert hit.path.endswith("turbine.pdf")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("exit status 3" in m for m in notifications(app)))
        message = next(m for m in notifications(app) if "exit status 3" in m)
        assert message.startswith(f"xdg-open could not open {hit.path} (exit status 3)")
        pid = int(log.read_text().split()[0])
        assert not Path(f"/proc/{pid}").exists(), "the opener's child was left as a zombie"


async def test_a_pdf_opens_at_the_hits_page_in_a_viewer_that_can(
    pdf_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    log = fake_program(bin_dir, "zathura", "exit 0")
    fake_program(bin_dir, "xdg-open", "exit 0")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DISPLAY", ":99")
    async with running(pdf_home, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine")
        hit = result_list(app).hits[0]
        await pilot.press("enter")
        await wait_until(pilot, log.exists, timeout=10)
        assert log.read_text().split()[1:] == [f"--page={hit.page}", hit.path]
        assert not [m for m in notifications(app) if "could not" in m]


async def test_a_missing_editor_is_a_notification_with_the_path(
    peps_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDITOR", "no-such-editor-here")
    async with running(peps_home, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "docstring")
        hit = result_list(app).hits[0]
        await pilot.press("enter")
        await pilot.pause()
        assert (
            f"cannot start no-such-editor-here to open {hit.path}: not found"
            in (notifications(app)[-1])
        )


# -- bug 2: a click selects, a double click opens ------------------------------------------


async def test_a_click_selects_and_a_double_click_opens(peps_home: Settings) -> None:
    opener = RecordingOpener()
    async with running(peps_home, opener, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "python")
        results = result_list(app)
        assert len(results.hits) > 1
        second = results.hits[1]
        console = Console(width=results.scrollable_content_region.width, file=io.StringIO())
        first_height = len(console.render_lines(results.get_option_at_index(0).prompt))
        on_second = (10, 1 + first_height + 1)  # below the border and the first entry
        await pilot.click(results, offset=on_second)
        await pilot.pause()
        assert opener.calls == []
        assert results.highlighted_hit == second
        await pilot.double_click(results, offset=on_second)
        await pilot.pause()
        assert opener.calls == [("file", Path(second.path), second.start_line)]


# -- bug 3: after adding a folder, `a` is a key again ---------------------------------------


async def test_after_adding_a_folder_the_keys_work_again(
    settings: Settings, tmp_path: Path, corpus: Path
) -> None:
    folder = tmp_path / "zen"
    folder.mkdir()
    (folder / "zen.rst").write_text((corpus / "python-peps/peps/pep-0020.rst").read_text())
    async with running(settings) as pilot:
        app = pilot.app
        await pilot.press("f2")
        await pilot.press(*str(folder), "enter")
        await wait_until(pilot, lambda: not app.indexing.running, timeout=120)
        screen = app.screen
        assert screen.focused.id != "add-path"
        await pilot.press("a")
        assert screen.focused.id == "add-path"
        assert screen.query_one("#add-path").value == ""


# -- bug 4: `/` returns to the search box from the path filter ----------------------------


async def test_slash_in_an_empty_path_filter_returns_to_the_search_box(
    peps_home: Settings,
) -> None:
    async with running(peps_home) as pilot:
        app = pilot.app
        await pilot.press("ctrl+f")
        assert app.screen.focused.id == "path-filter"
        await pilot.press("slash")
        assert app.screen.focused.id == "query"
        assert app.screen.query_one("#path-filter").value == ""
        # Inside a glob it is a character like any other.
        await pilot.press("ctrl+f", *"peps", "slash")
        assert app.screen.query_one("#path-filter").value == "peps/"


# -- bug 5: clearing the query clears the count --------------------------------------------


async def test_escape_clears_the_result_count(peps_home: Settings) -> None:
    async with running(peps_home, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "python")
        results = result_list(app)
        assert "results · bm25" in str(results.border_title)
        await pilot.press("escape")
        await settle(pilot, 0.3)
        assert app.screen.query_one("#query").value == ""
        assert str(results.border_title) == "Results"


# -- bug 6: the adapt form --------------------------------------------------------------------


async def test_adapt_form_keeps_keys_out_and_blank_fields_valid(peps_home: Settings) -> None:
    from textual.widgets import Input

    async with running(peps_home) as pilot:
        app = pilot.app
        await pilot.press("f3", "1", "0", "2", "0", "0")
        screen = app.screen
        assert not isinstance(screen.focused, Input)
        assert screen.query_one("#opt-epochs").value == ""
        for _ in range(12):
            await pilot.press("tab")
        await pilot.pause()
        for name in ("time_budget_minutes", "epochs", "max_steps", "max_passages"):
            field = screen.query_one(f"#opt-{name}", Input)
            assert field.value == "" and not field.has_class("-invalid"), name


# -- bug 7: the adapt verdict is in sentences ------------------------------------------------


async def test_adapt_verdict_starts_each_sentence_with_a_capital(peps_home: Settings) -> None:
    from localsearch.tui.adapt_bridge import AdaptOutcome

    async with running(peps_home) as pilot:
        app = pilot.app
        await pilot.press("f3")
        app.adapt_outcome = AdaptOutcome(
            kept=False,
            model=None,
            previous_model="all-MiniLM-L6-v2",
            reason="worse for dense search (nDCG@10 0.512 -> 0.498)",
        )
        await pilot.pause()
        verdict = str(app.screen.query_one("#adapt-verdict").render())
        assert "stays in use. Worse for dense search (nDCG@10 0.512 -> 0.498)." in verdict


async def test_adapt_says_what_it_will_be_judged_on_before_it_trains(
    peps_home: Settings, monkeypatch
) -> None:
    from types import SimpleNamespace

    import localsearch.adapt

    said_while_running: list[bool] = []

    def adapt(settings, options, progress, announce):
        announce("this run will be judged on synthetic queries: the log needs at least 40")
        said_while_running.append(True)
        return SimpleNamespace(
            kept=False, model=None, previous_model="all-MiniLM-L6-v2", reason="not better",
            gate=None, seconds=1.0, judged_on="",
        )  # fmt: skip

    monkeypatch.setattr(localsearch.adapt, "adapt", adapt)
    async with running(peps_home) as pilot:
        app = pilot.app
        assert app.start_adapting({})
        await wait_until(pilot, lambda: not app.adapting.running)
        assert said_while_running and (
            "This run will be judged on synthetic queries: the log needs at least 40."
            in notifications(app)
        )


# -- bug 9: a models view --------------------------------------------------------------------


async def test_models_screen_switches_and_rolls_back(
    peps_home: Settings, tmp_path: Path, active_model_folder: Path
) -> None:
    import shutil

    from localsearch.adapt.models import switch_model
    from localsearch.config import load_settings

    shutil.copytree(peps_home.home, tmp_path / "home-copy")
    settings = load_settings(tmp_path / "home-copy")
    other = str(active_model_folder)
    switch_model(settings, other)  # as `localsearch models use FOLDER` would
    async with running(settings) as pilot:
        app = pilot.app
        await pilot.press("f4")
        screen = app.screen
        assert type(screen).__name__ == "ModelsScreen"
        names = [choice.name for choice in screen.choices]
        assert "all-MiniLM-L6-v2" in names and other in names
        assert screen.selected().name == other and screen.selected().active
        await pilot.press("b")
        await wait_until(pilot, lambda: not app.adapting.running, timeout=120)
        assert "Rolled back: searches use all-MiniLM-L6-v2 again." in notifications(app)
        await wait_until(pilot, lambda: screen.selected() and screen.selected().active)
        assert screen.selected().name == "all-MiniLM-L6-v2"
        screen.query_one("#models-table").move_cursor(row=names.index(other))
        await pilot.press("u")
        await wait_until(pilot, lambda: not app.adapting.running, timeout=120)
        assert f"Searches now use {other} (was all-MiniLM-L6-v2)." in notifications(app)
        card = str(screen.query_one("#model-card").render())
        assert other in card and "in use" in card


@pytest.fixture
def active_model_folder(tmp_path: Path) -> Path:
    """A copy of the bundled model in a folder of its own: a second model to switch to."""
    import shutil

    from localsearch.catalog import resolve_model

    source = resolve_model("all-MiniLM-L6-v2", tmp_path / "unused")
    return Path(shutil.copytree(source.location, tmp_path / "minilm-copy"))


# -- fzf habits ------------------------------------------------------------------------------


async def test_the_result_list_keeps_fzf_habits(peps_home: Settings) -> None:
    async with running(peps_home, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "python")
        results = result_list(app)
        await pilot.press("ctrl+n", "ctrl+n")  # from the search box too
        assert results.highlighted == 2
        await pilot.press("tab")
        assert app.screen.focused is results
        await pilot.press("j")
        assert results.highlighted == 3
        await pilot.press("k", "ctrl+p")
        assert results.highlighted == 1
        # Typing in the list goes to the search box; `q` there is a letter, not "quit".
        await pilot.press(*" quux")
        await pilot.pause()
        assert app.is_running
        assert app.screen.focused.id == "query"
        assert app.screen.query_one("#query").value == "python quux"


async def test_q_asks_before_quitting(peps_home: Settings) -> None:
    async with running(peps_home) as pilot:
        app = pilot.app
        await pilot.press("f2", "q")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("escape")
        assert app.is_running and type(app.screen).__name__ == "IndexScreen"
        await pilot.press("q", "q")
        await pilot.pause()
        assert not app.is_running


async def test_results_show_the_file_name_before_the_folder(peps_home: Settings) -> None:
    async with running(peps_home, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "docstring conventions")
        console = Console(width=60, file=io.StringIO(), record=True)
        console.print(result_list(app).get_option_at_index(0).prompt)
        lines = console.export_text().splitlines()
        assert lines[1].startswith("pep-0257.rst  peps"), lines


async def test_a_screenshot_works_without_a_downloads_folder(
    peps_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    async with running(peps_home) as pilot:
        app = pilot.app
        app.action_screenshot()
        await wait_until(pilot, lambda: any("screenshot" in m.lower() for m in notifications(app)))
        assert not [m for m in notifications(app) if "Failed" in m]
        assert list(home.glob("*.svg"))


def test_preview_keeps_field_lines_and_joins_hard_wrapped_prose() -> None:
    from localsearch.tui.widgets.preview import reflow

    source = "PEP: 257\nTitle: Docstring Conventions\nStatus: Active\n\nA line\nwrapped here."
    assert reflow(source) == (
        "PEP: 257\nTitle: Docstring Conventions\nStatus: Active\n\nA line wrapped here."
    )


def test_preview_keeps_the_rows_of_rst_tables() -> None:
    # The rows of "Directive Quick Reference" ran into one paragraph.
    from localsearch.tui.widgets.preview import reflow

    simple = (
        "=========  ===========\nDirective  Purpose\n=========  ===========\nimage      a picture\n"
    )
    grid = (
        "+------+-------+\n| a    | b     |\n+======+=======+\n| 1    | 2     |\n+------+-------+"
    )
    for table in (simple.rstrip("\n"), grid):
        assert reflow(table) == table
    assert reflow(f"Some prose\nwrapped.\n\n{grid}") == f"Some prose wrapped.\n\n{grid}"


async def test_the_welcome_card_is_centred(settings: Settings) -> None:
    async with running(settings, size=(120, 35)) as pilot:
        app = pilot.app
        for selector in ("#welcome", "#welcome-add", "#welcome-hint"):
            region = app.screen.query_one(selector).region
            left, right = region.x, app.size.width - region.right
            assert abs(left - right) <= 1, (selector, left, right)


# -- several hits in one document --------------------------------------------------------------


async def test_more_in_this_file_expands_and_opens_at_each_place(
    settings: Settings, tmp_path: Path
) -> None:
    from test_per_doc import DOCS

    index_texts(settings, tmp_path / "docs", DOCS)
    opener = RecordingOpener()
    async with running(settings, opener, mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, "turbine")
        results = result_list(app)
        assert len(results.hits) == 2
        at = next(i for i, hit in enumerate(results.hits) if hit.path.endswith("manual.md"))
        manual = results.hits[at]
        assert manual.more_count == 2
        await pilot.press("tab")
        results.highlighted = at
        await pilot.press("right")
        assert len(results.hits) == 4 and results.highlighted == at
        await pilot.press("down")
        other = results.highlighted_hit
        assert other.path == manual.path and other.start_line != manual.start_line
        await pilot.press("enter")
        assert opener.calls[-1] == ("file", Path(manual.path), other.start_line)
        await pilot.press("left")
        assert len(results.hits) == 2 and results.highlighted_hit is manual


# -- snapshots at a small and a roomy size -------------------------------------------------------


def snapshot_search(peps_home: Settings, snap_compare, size: tuple[int, int]) -> bool:
    from textual.widgets import Input
    from tui_helpers import searched

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.model_state == "ready")
        app.mode = "bm25"
        await pilot.press(*"python imports")
        await searched(pilot)
        app.latency_ms = 12.0  # the one number that changes from run to run
        for widget in app.screen.query(Input):
            widget.cursor_blink = False

    return snap_compare(make(peps_home), terminal_size=size, run_before=run_before)


def test_snapshot_search_at_80x24(peps_home: Settings, snap_compare) -> None:
    assert snapshot_search(peps_home, snap_compare, (80, 24))


def test_snapshot_search_at_120x35(peps_home: Settings, snap_compare) -> None:
    assert snapshot_search(peps_home, snap_compare, (120, 35))


async def test_a_small_terminal_shows_the_path_box_and_whole_dialogs(settings) -> None:
    # At 40x12 the focused path box was below the screen, and a 64-column dialog hid Cancel.
    from tui_helpers import make, settle

    from localsearch.tui.screens.confirm import ConfirmScreen

    app = make(settings)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(pilot)
        await pilot.pause(0.2)
        screen = app.screen.region
        path_box = app.screen.query_one("#welcome-path")
        assert app.screen.focused is path_box
        assert screen.contains_region(path_box.region), path_box.region
        app.push_screen(ConfirmScreen("Remove /home/someone/Documents/notes from the index?"))
        await pilot.pause(0.2)
        for button in ("#yes", "#no"):
            assert screen.contains_region(app.screen.query_one(button).region), button
