"""The TUI, driven with textual's Pilot against a real small index of a few PEPs.

The only thing replaced is the opener (so that `enter` records what it would open rather than
starting an editor); the engine, model, SQLite and tantivy are the real ones.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tui_helpers import (
    RecordingOpener,
    make,
    notifications,
    result_list,
    search_for,
    searched,
    settle,
    wait_until,
)

from localsearch.config import Settings, load_settings
from localsearch.index import Index

SIZE = (100, 30)


@pytest.fixture
def one_pep(tmp_path: Path, corpus: Path) -> Path:
    folder = tmp_path / "zen"
    folder.mkdir()
    shutil.copy(corpus / "python-peps" / "peps" / "pep-0020.rst", folder / "pep-0020.rst")
    return folder


async def test_settling_waits_past_a_worker_a_newer_one_of_its_group_cancelled() -> None:
    # settle() raised WorkerCancelled when a status refresh replaced one still running (seen in
    # two suite runs at load 9); a cancelled worker is as done as a finished one.
    import threading

    from textual import work
    from textual.app import App
    from textual.worker import WorkerState

    release = threading.Event()

    class Refreshing(App[None]):
        @work(thread=True, exclusive=True, group="status")
        def load_status(self) -> None:
            release.wait(10)

    app = Refreshing()
    async with app.run_test() as pilot:
        replaced = app.load_status()
        app.load_status()
        release.set()
        await settle(pilot)
        assert replaced.state == WorkerState.CANCELLED and not list(app.workers)


# -- searching -----------------------------------------------------------------------------


async def test_typing_shows_matching_results_with_a_preview(peps_home: Settings) -> None:
    app = make(peps_home)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.focused.id == "query"
        await pilot.press(*"docstring conventions")
        await searched(pilot)
        hits = result_list(app).hits
        assert hits, "typing should show results"
        assert hits[0].path.endswith("pep-0257.rst")
        assert hits[0].title == "Docstring Conventions"
        preview = str(app.screen.query_one("#preview-hit").render())
        assert "docstring" in preview.lower()
        # Once the model is in, the same query gives hybrid results.
        await wait_until(pilot, lambda: app.model_state == "ready")
        await wait_until(pilot, lambda: app.screen._shown_provisional is False)
        assert result_list(app).hits[0].path.endswith("pep-0257.rst")
        assert app.latency_ms is not None
        status = str(app.screen.query_one("#status").render())
        assert "4 documents" in status and "all-MiniLM-L6-v2" in status and "hybrid" in status


async def test_nonsense_is_shown_as_a_weak_match(peps_home: Settings) -> None:
    app = make(peps_home)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.model_state == "ready")
        await search_for(pilot, "qwxzv plorkk")
        assert result_list(app).hits, "the nearest results are still shown"
        assert "weak match" in str(result_list(app).border_subtitle)
        await search_for(pilot, "docstring conventions")
        assert result_list(app).hits[0].path.endswith("pep-0257.rst")
        assert "weak match" not in str(result_list(app).border_subtitle)


async def test_mode_toggle_changes_results(peps_home: Settings) -> None:
    app = make(peps_home)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model_state == "ready")
        await pilot.press("ctrl+t")  # hybrid -> bm25
        assert app.mode == "bm25"
        await search_for(pilot, "readability counts")
        bm25_top = result_list(app).hits[0].path
        await pilot.press("ctrl+t")  # bm25 -> dense
        await wait_until(pilot, lambda: app.screen.shown_results.mode == "dense")
        assert app.mode == "dense"
        dense_hits = result_list(app).hits
        assert dense_hits and app.screen._shown_query == "readability counts"
        assert bm25_top.endswith("pep-0020.rst")  # the Zen has the words
        assert dense_hits[0].path.endswith("pep-0285.rst")  # closest in meaning
        assert "dense" in str(app.screen.query_one("#mode").render())


async def test_newest_query_wins(peps_home: Settings) -> None:
    from localsearch.search.engine import SearchResults
    from localsearch.tui.messages import SearchCompleted

    app = make(peps_home)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.mode = "bm25"
        for word in ("relative", " imports"):
            await pilot.press(*word)
            await pilot.pause(0.05)
        await searched(pilot)
        screen = app.screen
        assert screen._shown_query == "relative imports"
        newest = result_list(app).hits[0].path
        # A late answer to an older query is dropped.
        screen.post_message(
            SearchCompleted(screen._sequence - 1, SearchResults("old", "bm25", "rrf"))
        )
        await settle(pilot)
        assert screen._shown_query == "relative imports"
        assert result_list(app).hits[0].path == newest


async def test_filters_narrow_the_results(peps_home: Settings) -> None:
    app = make(peps_home)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.mode = "bm25"
        await search_for(pilot, "python")
        assert len({h.path for h in result_list(app).hits}) > 1
        await pilot.press("ctrl+f")
        assert app.screen.focused.id == "path-filter"
        await pilot.press(*"*0328*")
        await searched(pilot)
        paths = {h.path for h in result_list(app).hits}
        assert paths and all(p.endswith("pep-0328.rst") for p in paths)
        # A filter no file passes says so where the preview would be, not only "No results".
        await pilot.press(*".md")
        await searched(pilot)
        assert not result_list(app).hits
        header = str(app.screen.query_one("#preview-header").render())
        assert header == "No indexed file matches --path '*0328*.md'"
        await pilot.press("escape")  # from a filter: back to the search box
        assert app.screen.focused.id == "query"
        await pilot.press("tab", "slash")
        assert app.screen.focused.id == "query"


# -- opening -------------------------------------------------------------------------------


async def test_enter_opens_the_hit_at_its_line(peps_home: Settings) -> None:
    opener = RecordingOpener()
    app = make(peps_home, opener)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.mode = "bm25"
        await search_for(pilot, "relative imports")
        hits = result_list(app).hits
        await pilot.press("enter")
        assert opener.calls == [("file", Path(hits[0].path), hits[0].start_line)]
        await pilot.press("down", "enter")
        assert opener.calls[-1] == ("file", Path(hits[1].path), hits[1].start_line)
        await pilot.press("ctrl+o")
        assert opener.calls[-1] == ("folder", Path(hits[1].path).parent, None)
        # From the result list too, after tab.
        await pilot.press("tab")
        assert app.screen.focused.id == "results"
        await pilot.press("up", "enter")
        assert opener.calls[-1] == ("file", Path(hits[0].path), hits[0].start_line)


async def test_opening_a_vanished_file_is_a_notification(settings: Settings, one_pep: Path) -> None:
    Index(settings).update([one_pep])
    (one_pep / "pep-0020.rst").unlink()
    app = make(settings)  # the real opener: it checks the file before starting anything
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.mode = "bm25"
        await search_for(pilot, "beautiful")
        assert result_list(app).hits
        await pilot.press("enter")
        await pilot.pause()
        assert any("no longer exists" in m for m in notifications(app))
        assert app.is_running


async def test_a_missing_model_is_a_notification_and_keyword_search_goes_on(
    settings: Settings, one_pep: Path
) -> None:
    index = Index(settings)
    index.update([one_pep])
    with index.store.transaction():
        space = index.store.create_space("no-such-model", "nowhere", 384, "none")
        index.store.activate_space(space)
    index.close()
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.model_state == "failed")
        assert any("unknown model 'no-such-model'" in m for m in notifications(app))
        await search_for(pilot, "beautiful")
        assert app.mode == "hybrid"
        assert result_list(app).hits[0].path.endswith("pep-0020.rst")
        assert "keyword (BM25) results" in str(result_list(app).border_subtitle)


# -- folders -------------------------------------------------------------------------------


async def test_first_run_shows_a_welcome_that_adds_a_folder(
    settings: Settings, one_pep: Path
) -> None:
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert screen.has_class("-empty")
        assert screen.query_one("#welcome").display
        assert screen.focused.id == "welcome-path"
        await pilot.press(*"/no/such/folder", "enter")
        await pilot.pause()
        assert any("No such folder" in m for m in notifications(app))
        # "~Documents" for "~/Documents" names a user that does not exist: it crashed the app.
        screen.query_one("#welcome-path").value = ""
        await pilot.press(*"~Documents", "enter")
        await pilot.pause()
        assert "No such folder: ~Documents" in notifications(app)
        screen.query_one("#welcome-path").value = str(one_pep)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.indexing.running, timeout=120)
        await wait_until(pilot, lambda: not screen.has_class("-empty"))
        assert app.index_status.documents == 1
        assert screen.focused.id == "query"


async def test_index_screen_adds_a_folder_with_progress(settings: Settings, one_pep: Path) -> None:
    states = []
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.watch(app, "indexing", lambda state: states.append(state), init=False)
        await pilot.press("f2")
        screen = app.screen
        assert type(screen).__name__ == "IndexScreen"
        assert screen.focused.id == "add-path"
        await pilot.press(*str(one_pep), "enter")
        await wait_until(pilot, lambda: not app.indexing.running, timeout=120)
        assert states[0].running
        assert any(s.running and s.stage in ("scan", "files", "embed") for s in states)
        assert states[-1].outcome.startswith("Indexed in")
        assert screen.query_one("#index-progress").display  # the outcome stays on show
        await wait_until(pilot, lambda: screen.query_one("#roots").row_count == 1)
        assert app.index_status.roots[0]["path"] == str(one_pep)
        assert app.index_status.roots[0]["documents"] == 1
        # Back on the search screen the new folder is searchable.
        await pilot.press("escape")
        app.mode = "bm25"
        await search_for(pilot, "beautiful ugly")
        assert result_list(app).hits[0].path == str(one_pep / "pep-0020.rst")
        # And it can be removed again, after a confirmation.
        await pilot.press("f2")
        screen.query_one("#roots").focus()
        await pilot.press("delete")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.query_one("#roots").row_count == 0)
        assert app.index_status.documents == 0
        assert any("Removed" in m for m in notifications(app))


async def test_the_status_follows_an_index_run_in_another_process(
    settings: Settings, one_pep: Path, tmp_path: Path
) -> None:
    # `localsearch index` in a shell beside the TUI: the status bar kept its first counts
    # ("dense: 0 of 289 chunks embedded") however long one waited or searched.
    Index(settings).update([one_pep])
    more = tmp_path / "more"
    more.mkdir()
    (more / "tides.md").write_text("# Tides\n\nSpring tides peak after the new moon.\n")
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_until(pilot, lambda: app.index_status and app.index_status.documents == 1)
        index = subprocess.run(
            [sys.executable, "-m", "localsearch", "index", str(more), "--home", str(settings.home)],
            capture_output=True,
            text=True,
        )
        assert index.returncode == 0, index.stderr
        await wait_until(pilot, lambda: app.index_status.documents == 2, timeout=20)
        assert {root["path"] for root in app.index_status.roots} == {str(one_pep), str(more)}


async def test_a_damaged_database_is_said_on_screen_not_taken_for_an_empty_home(
    settings: Settings, one_pep: Path
) -> None:
    # The error came and went in 8 s; what stayed was "Nothing is indexed yet" and a box to
    # add a folder to the broken index.
    Index(settings).update([one_pep])
    settings.database_path.write_bytes(b"not a database, " * 4096)
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.status_loaded)
        screen = app.screen
        assert not screen.has_class("-empty")
        shown = str(result_list(app).get_option_at_index(0).prompt)
        assert shown.startswith("Cannot read the index: "), shown


async def test_opening_a_file_whose_folder_is_gone_says_what_to_do(
    settings: Settings, one_pep: Path
) -> None:
    Index(settings).update([one_pep])
    app = make(settings, RecordingOpener())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.index_status and app.index_status.documents == 1)
        shutil.rmtree(one_pep)
        assert app.open_path(one_pep / "pep-0020.rst", 1) is False
        await pilot.pause()
        assert (
            f"{one_pep}/pep-0020.rst no longer exists: the indexed folder {one_pep} is gone\n"
            "put it back (a disk not mounted?), or remove it on the Index screen (F2)"
        ) in notifications(app)


async def test_a_busy_index_is_a_notification(settings: Settings, one_pep: Path) -> None:
    Index(settings).update([one_pep])
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f2")
        with Index(settings).writer_lock(purpose="test"):
            app.screen.query_one("#roots").focus()
            await pilot.press("r")
            await wait_until(pilot, lambda: not app.indexing.running)
        assert any("another localsearch process" in m for m in notifications(app))
        assert "Indexing stopped" in app.indexing.error


# -- adapting ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_adapt_screen_runs_adapt_and_shows_before_and_after(
    peps_home: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localsearch.adapt import pipeline

    monkeypatch.setattr(pipeline, "MIN_JUDGED", 1)  # a few PEPs hold out a query or two
    shutil.copytree(peps_home.home, tmp_path / "home-copy")
    settings = load_settings(tmp_path / "home-copy")
    states = []
    app = make(settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.watch(app, "adapting", lambda state: states.append(state), init=False)
        await pilot.press("f3")
        screen = app.screen
        assert type(screen).__name__ == "AdaptScreen"
        assert screen.focused.id == "adapt-main"
        screen.query_one("#opt-max_steps").value = "1"
        screen.query_one("#opt-epochs").value = "nonsense"
        await pilot.press("ctrl+r")
        assert any("not a number" in m for m in notifications(app))
        assert not app.adapting.running
        screen.query_one("#opt-epochs").value = "1"
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: not app.adapting.running, timeout=300)
        assert not app.adapting.error, app.adapting.error
        stages = {s.stage for s in states if s.running}
        assert {"generate", "train", "evaluate"} <= stages
        outcome = app.adapt_outcome
        assert outcome is not None and outcome.rows
        assert screen.query_one("#adapt-metrics").row_count == len(outcome.rows)
        verdict = str(screen.query_one("#adapt-verdict").render())
        assert outcome.previous_model in verdict
        assert screen.query_one("#adapt-choice").display is outcome.kept
        if outcome.kept:
            await pilot.click("#adapt-rollback")
            await wait_until(pilot, lambda: not app.adapting.running, timeout=120)
            assert any("Rolled back" in m for m in notifications(app))


# -- the rest of the app -------------------------------------------------------------------


async def test_help_and_command_palette(peps_home: Settings) -> None:
    app = make(peps_home)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "SearchScreen"
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"Mode: bm25")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.mode == "bm25"
        await pilot.press("f2", "q")  # out of the search box, `q` asks, and quits on yes
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("y")
        await pilot.pause()
        assert not app.is_running


def test_start_up_does_not_import_torch(tmp_path: Path) -> None:
    """The UI thread never pays for torch: with no index there is no model to warm either."""
    code = (
        "import asyncio, sys\n"
        "from localsearch.config import load_settings\n"
        "from localsearch.tui.app import make_app\n"
        f"app = make_app(load_settings({str(tmp_path / 'home')!r}))\n"
        "async def main():\n"
        "    async with app.run_test() as pilot:\n"
        "        await pilot.pause(0.3)\n"
        "asyncio.run(main())\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_tui_command_is_registered() -> None:
    from click.testing import CliRunner

    from localsearch.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["tui", "--help"])
    assert result.exit_code == 0
    assert "interactive search" in result.output


# -- the opener ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("editor", "expected", "in_terminal"),
    [
        ("vim", ["vim", "+12", "/d/a.md"], True),
        ("nano", ["nano", "+12", "/d/a.md"], True),
        ("emacs -nw", ["emacs", "-nw", "+12", "/d/a.md"], True),
        ("code --wait", ["code", "--wait", "--goto", "/d/a.md:12"], False),
        ("hx", ["hx", "/d/a.md:12"], True),
        ("/opt/bin/myeditor", ["/opt/bin/myeditor", "/d/a.md"], True),
    ],
)
def test_editor_command(editor: str, expected: list[str], in_terminal: bool) -> None:
    from localsearch.opener import editor_command

    plan = editor_command(editor, Path("/d/a.md"), 12)
    assert plan.argv == expected
    assert plan.in_terminal is in_terminal


def test_documents_go_to_the_platform_opener(monkeypatch: pytest.MonkeyPatch) -> None:
    from localsearch import opener

    monkeypatch.setenv("EDITOR", "vim")
    monkeypatch.setattr(opener.sys, "platform", "darwin")
    assert opener.plan_open_file(Path("/d/paper.pdf"), 3).argv == ["open", "/d/paper.pdf"]
    assert opener.plan_open_file(Path("/d/notes.md"), 3).argv == ["vim", "+3", "/d/notes.md"]


def test_with_no_desktop_opener_the_hint_names_a_pdf_viewer_for_pdfs_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from localsearch import opener

    monkeypatch.setattr(opener.sys, "platform", "linux")
    monkeypatch.setattr(opener.shutil, "which", lambda name: None)
    hints = {}
    for name in ("paper.pdf", "talk.pptx"):
        with pytest.raises(opener.OpenFailed) as failed:
            opener.plan_open_file(Path("/d") / name, None, 3)
        hints[name] = failed.value.hint
    assert hints == {
        "paper.pdf": "install xdg-utils or a PDF viewer, or open it yourself",
        "talk.pptx": "install xdg-utils, or open it yourself",
    }


def test_terminal_editor_runs_with_the_app_suspended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import contextmanager

    from localsearch import opener

    events: list[str] = []

    @contextmanager
    def suspend():
        events.append("suspend")
        yield
        events.append("resume")

    def run(argv, check, cwd=None):
        events.append(" ".join(argv[:2]))
        return subprocess.CompletedProcess(argv, 0)

    target = tmp_path / "a.md"
    target.write_text("# A\n")
    monkeypatch.setenv("EDITOR", "vim")
    monkeypatch.setattr(opener.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(opener.subprocess, "run", run)
    opener.SystemOpener(suspend).open_file(target, 7)
    assert events == ["suspend", "vim +7", "resume"]


def test_folders_open_a_shell_in_a_bare_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localsearch import opener

    monkeypatch.setattr(opener.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("SHELL", "/bin/zsh")
    plan = opener.plan_open_folder(tmp_path)
    assert plan.argv == ["/bin/zsh"] and plan.cwd == tmp_path and plan.in_terminal


def test_shorten_path() -> None:
    from localsearch.tui.backend import shorten_path

    roots = ["/home/me/docs", "/home/me/docs/peps"]
    assert shorten_path("/home/me/docs/peps/pep-8.rst", roots) == "peps/pep-8.rst"
    assert shorten_path("/home/me/docs/a/b.md", roots) == "docs/a/b.md"
    assert shorten_path("/elsewhere/x.md", roots) == "/elsewhere/x.md"


def test_preview_drops_the_overlap_between_chunks() -> None:
    from localsearch.tui.widgets.preview import drop_overlap, reflow, trim_overlap

    first = "one two three four five six seven eight"
    second = "five six seven eight nine ten"
    assert drop_overlap(first, second) == "nine ten"
    assert trim_overlap(first, second) == "one two three four"
    assert reflow("Title\n=====\n\nA line\nwrapped here.\n\n- item\n- item") == (
        "Title\n=====\n\nA line wrapped here.\n\n- item\n- item"
    )


# -- snapshots -----------------------------------------------------------------------------


def steady_cursors(app) -> None:
    """A blinking cursor would make the screenshot depend on the moment it is taken."""
    from textual.widgets import Input

    for widget in app.screen.query(Input):
        widget.cursor_blink = False


def test_snapshot_search_results(peps_home: Settings, snap_compare) -> None:
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.model_state == "ready")
        app.mode = "bm25"
        await pilot.press(*"docstring conventions")
        await searched(pilot)
        app.latency_ms = 12.0  # the one number that changes from run to run
        steady_cursors(app)

    assert snap_compare(make(peps_home), terminal_size=SIZE, run_before=run_before)


def test_snapshot_first_run(settings: Settings, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        steady_cursors(pilot.app)

    assert snap_compare(make(settings), terminal_size=SIZE, run_before=run_before)


def test_snapshot_help(settings: Settings, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")

    assert snap_compare(make(settings), terminal_size=SIZE, run_before=run_before)


def test_snapshot_folders_screen(settings: Settings, snap_compare) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("f2")
        await settle(pilot)
        steady_cursors(pilot.app)

    assert snap_compare(make(settings), terminal_size=SIZE, run_before=run_before)


def test_job_state_measures_files_while_chunks_are_embedded() -> None:
    from localsearch.progress import ProgressEvent
    from localsearch.tui.state import JobState

    state = JobState().started()
    for event in (
        ProgressEvent("lexical", 0, 0),
        ProgressEvent("scan", 40, 40),
        ProgressEvent("files", 10, 40, "a.md"),
        ProgressEvent("embed", 256, None),
    ):
        state = state.progressed(event)
    assert state.stage == "embed" and state.measured_stage == "files"
    assert state.stages["files"] == (10, 40)
    assert state.ended(outcome="done").running is False
