"""The textual app: screens for search, folders and adapting, engine work in worker threads.

`make_app` builds it for both the CLI and the tests; the tests pass a recording opener, the CLI
passes nothing and gets the real one. Nothing here imports torch: the model loads in a worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from platformdirs import user_downloads_path
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import reactive, var
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import get_current_worker

from localsearch.config import Settings, expand_user
from localsearch.errors import IndexBusyError, LocalSearchError, NoIndexError
from localsearch.history import SearchHistory
from localsearch.index import Index, IndexReport
from localsearch.index_status import IndexStatus
from localsearch.opener import Opener, SystemOpener, check_root_present
from localsearch.progress import ProgressEvent
from localsearch.search.engine import MODES
from localsearch.store import Store
from localsearch.terminal_text import terminal_safe
from localsearch.tui import adapt_bridge
from localsearch.tui.adapt_bridge import AdaptOutcome
from localsearch.tui.backend import EngineFactory, SearchBackend
from localsearch.tui.messages import (
    AdaptFailed,
    AdaptFinished,
    AdaptProgressed,
    IndexingFailed,
    IndexingFinished,
    IndexingProgressed,
    IndexStatusLoaded,
    ModelChoiceApplied,
    ModelFailed,
    ModelWarmed,
    RootRemovalFailed,
    RootRemoved,
)
from localsearch.tui.screens.adapt import AdaptScreen, as_sentence
from localsearch.tui.screens.confirm import ConfirmScreen
from localsearch.tui.screens.help import HelpScreen
from localsearch.tui.screens.index import IndexScreen
from localsearch.tui.screens.models import ModelsScreen
from localsearch.tui.screens.search import SearchScreen
from localsearch.tui.screens.skipped import SkippedScreen
from localsearch.tui.state import JobState, format_seconds
from localsearch.tui.watching import SessionWatcher, WatchedFilesIndexed, WatchingStopped
from localsearch.wording import plural

PROGRESS_INTERVAL_SECONDS = 0.1
OTHER_WRITERS_SECONDS = 3.0  # how often to look whether another process changed the index


class AppClosing(BaseException):
    """Raised into a job's own thread at its next progress event once the app has closed.

    A BaseException, as Ctrl-C's KeyboardInterrupt is, so that no `except Exception` in the
    engine takes it for a bad file; the engine keeps what it committed, as after a Ctrl-C."""


class ThrottledProgress:
    """A ProgressCallback for worker threads: posts at most every 0.1 s per stage, plus ends.

    `cancelled` (the worker's, which textual sets as the app closes) stops the job at its next
    event: quitting during an index run waited minutes for the run to end, with no word."""

    def __init__(
        self, post: Any, message: type, cancelled: Callable[[], bool] = lambda: False
    ) -> None:
        self.post = post
        self.message = message
        self.cancelled = cancelled
        self.thread = threading.get_ident()  # a GPU's encoding thread must not raise it
        self.last: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if self.cancelled() and threading.get_ident() == self.thread:
            raise AppClosing
        now = time.monotonic()
        finished = event.total is not None and event.completed >= event.total
        if finished or now - self.last.get(event.stage, 0.0) >= PROGRESS_INTERVAL_SECONDS:
            self.last[event.stage] = now
            self.post(self.message(event))


class LocalSearchApp(App[None]):
    TITLE = "localsearch"
    CSS_PATH = "localsearch.tcss"
    MODES = {
        "search": SearchScreen,
        "index": IndexScreen,
        "adapt": AdaptScreen,
        "models": ModelsScreen,
    }
    DEFAULT_MODE = "search"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (90, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [
        # The footer shows one way to quit: `q` where q is a key, ^c where q is typing.
        Binding("ctrl+c", "quit_while_typing", "Quit", key_display="^c", priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("q", "confirm_quit", "Quit"),
        Binding("f1,question_mark", "help", "Help", key_display="F1"),
        Binding("f2", "switch_mode('index')", "Folders", key_display="F2"),
        Binding("f3", "switch_mode('adapt')", "Adapt", key_display="F3"),
        Binding("f4", "switch_mode('models')", "Models", key_display="F4"),
    ]

    index_status: reactive[IndexStatus | None] = reactive(None, always_update=True)
    status_loaded: var[bool] = var(False)
    status_error: var[str | None] = var(None)  # why the index could not be read
    model_state: reactive[str] = reactive("idle")  # idle | loading | ready | failed
    mode: reactive[str] = reactive("hybrid")
    latency_ms: reactive[float | None] = reactive(None)
    waiting_for: reactive[str] = reactive("")  # what a search waits for, said by the engine
    indexing: reactive[JobState] = reactive(JobState, always_update=True)
    adapting: reactive[JobState] = reactive(JobState, always_update=True)
    adapt_outcome: reactive[AdaptOutcome | None] = reactive(None, always_update=True)
    data_generation: reactive[int] = reactive(0)  # bumped whenever indexed content changes

    def __init__(
        self,
        settings: Settings,
        *,
        opener: Opener | None = None,
        engine_factory: EngineFactory | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.backend = SearchBackend(settings, engine_factory)
        self.watcher = SessionWatcher(settings, self.post_message)
        self.opener: Opener = opener or SystemOpener(self.suspend, self._opening_failed)
        self._job_status_timer: Timer | None = None
        self._history: SearchHistory | None = None
        self._database_stamp = self.backend.database_stamp()
        self.stopped_jobs: list[str] = []  # jobs still running when the app closed

    # -- start-up -----------------------------------------------------------------------------

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(OTHER_WRITERS_SECONDS, self._notice_other_writers)

    def _notice_other_writers(self) -> None:
        """An `index` run in a shell beside the TUI changes what the status bar counts: read
        the counts again when the database changed (this app's own jobs follow them already)."""
        stamp = self.backend.database_stamp()
        if stamp != self._database_stamp and self._job_status_timer is None:
            self._database_stamp = stamp
            self.refresh_status()

    def on_unmount(self) -> None:
        # Their workers stop at their next progress event (AppClosing); the CLI says so.
        jobs = (("index", self.indexing), ("adapt", self.adapting))
        self.stopped_jobs = [name for name, job in jobs if job.running]
        self.watcher.stop()
        if self._history is not None:
            self._history.store.close()

    def action_toggle_watch(self) -> None:
        """Watch the indexed folders for this session, re-indexing files as they change."""
        if self.watcher.running:
            self.watcher.stop()
            self.notify("Stopped watching the folders.")
            return
        if not self.backend.has_index():
            self.notify("Index a folder first (F2).", severity="warning")
            return
        self.watcher.start()
        self.notify("Watching the indexed folders: changes are indexed as you save.")

    def on_watched_files_indexed(self, message: WatchedFilesIndexed) -> None:
        report = message.update.report
        if message.update.changed and report.wrote_anything():
            self.notify(describe_report(report), title="Files changed", timeout=4)
            self._index_changed()

    def on_watching_stopped(self, message: WatchingStopped) -> None:
        self.watcher.stop()
        if message.error is not None:
            self.report_error(message.error, "Watching stopped")

    @property
    def root_paths(self) -> list[str]:
        return [root["path"] for root in self.index_status.roots] if self.index_status else []

    def refresh_status(self) -> None:
        self._load_status()

    @work(thread=True, exclusive=True, group="status")
    def _load_status(self) -> None:
        try:
            status = self.backend.status()
        except Exception as exc:  # noqa: BLE001 - reported, never a crash
            self.call_from_thread(self.report_error, exc, "Cannot read the index")
            message = exc.message if isinstance(exc, LocalSearchError) else str(exc)
            self.post_message(IndexStatusLoaded(None, message))
            return
        self.post_message(IndexStatusLoaded(status))

    def on_index_status_loaded(self, message: IndexStatusLoaded) -> None:
        self.status_loaded = True
        self.status_error = message.error
        self.index_status = message.status
        status = message.status
        busy = self.indexing.running or self.adapting.running
        if status and status.model and self.model_state == "idle" and not busy:
            self.model_state = "loading"
            self._warm_up_model()

    @work(thread=True, exclusive=True, group="model")
    def _warm_up_model(self) -> None:
        started = time.monotonic()
        try:
            model = self.backend.warm_up()
        except Exception as exc:  # noqa: BLE001 - a missing model is a notification
            self.post_message(ModelFailed(exc))
            return
        self.post_message(ModelWarmed(model, time.monotonic() - started))

    def on_model_warmed(self, message: ModelWarmed) -> None:
        self.model_state = "ready"

    def on_model_failed(self, message: ModelFailed) -> None:
        self.model_state = "failed"
        self.report_error(
            message.error, "The model could not be loaded; keyword search still works"
        )

    # -- errors -------------------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every notification's text made safe: paths and errors may hold terminal escapes."""
        super().notify(
            terminal_safe(message),
            title=terminal_safe(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def report_error(self, error: BaseException, context: str = "") -> None:
        """One notification per error: the message and its hint, never a traceback."""
        if isinstance(error, LocalSearchError):
            text = error.message + (f"\n{error.hint}" if error.hint else "")
        else:
            text = f"{type(error).__name__}: {error}"
        title = context or ("Error" if not isinstance(error, NoIndexError) else "No index")
        self.notify(text, title=title, severity="error", timeout=8, markup=False)

    # -- modes --------------------------------------------------------------------------------

    def action_cycle_mode(self) -> None:
        self.mode = MODES[(MODES.index(self.mode) + 1) % len(MODES)]
        self.notify(f"Mode: {self.mode}", timeout=1.5)

    def action_set_mode(self, mode: str) -> None:
        self.mode = mode

    def action_command_palette(self) -> None:
        """ctrl+p is "up" in the result list (fzf's habit); anywhere else, the palette."""
        from localsearch.tui.widgets.results import ResultList

        if isinstance(self.focused, ResultList):
            self.focused.action_cursor_up()
            return
        super().action_command_palette()

    def q_is_typing(self) -> bool:
        """In the search box, the filters and the result list, q is a letter of the query."""
        from textual.widgets import Input

        from localsearch.tui.widgets.results import ResultList

        return isinstance(self.focused, (Input, ResultList))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "quit_while_typing":
            return self.q_is_typing()
        if action == "confirm_quit":
            return not self.q_is_typing()
        return True

    def action_quit_while_typing(self) -> None:
        self.exit()

    def action_confirm_quit(self) -> None:
        """`q` asks first (a stray q must not end a session); a second `q` says yes."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("Quit localsearch?", yes="Quit", purpose="quit"), answered)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Into ~/Downloads when there is one, else the home folder (textual fails without it)."""
        if path is None:
            downloads = user_downloads_path()
            path = str(downloads if downloads.is_dir() else Path.home())
        self.deliver_screenshot(filename, path)

    def action_show_skipped(self) -> None:
        """The files index runs skipped, and why (what `index --verbose` prints)."""
        if isinstance(self.screen, SkippedScreen):
            return
        try:
            skipped = self.backend.skipped_files()
        except Exception as exc:  # noqa: BLE001 - a locked or damaged database: a notification
            self.report_error(exc, "Cannot read the skipped files")
            return
        self.push_screen(SkippedScreen(skipped, self.root_paths))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # -- opening files ------------------------------------------------------------------------

    def open_path(self, path: Path, line: int | None, page: int | None = None) -> bool:
        try:
            if not path.exists():
                from localsearch.ingest.containers import unpack_member
                from localsearch.ingest.types import MEMBER_SEPARATOR

                if MEMBER_SEPARATOR in str(path):
                    # A member of an archive or a mail attachment: open a private unpacked copy.
                    path = unpack_member(str(path))
                else:
                    check_root_present(path, self.root_paths, "remove it on the Index screen (F2)")
            self.opener.open_file(path, line, page)
        except Exception as exc:  # noqa: BLE001 - unreadable file, no editor: a notification
            self.report_error(exc, "Cannot open the file")
            return False
        return True

    def _opening_failed(self, error: Exception) -> None:
        """From the opener's thread: a program started in the background exited with an error."""
        try:
            self.call_from_thread(self.report_error, error, "Cannot open the file")
        except RuntimeError:  # the app has closed meanwhile
            pass

    def open_folder(self, path: Path) -> bool:
        try:
            self.opener.open_folder(path)
        except Exception as exc:  # noqa: BLE001
            self.report_error(exc, "Cannot open the folder")
            return False
        return True

    # -- the search history -------------------------------------------------------------------

    def search_history(self) -> SearchHistory | None:
        """The user's search log on a connection of its own; None until there is an index.

        A read-only data folder records nothing and says so once: each settled search, open
        and mark was a red "read-only: nothing was changed" of its own."""
        if self._history is None and self.backend.has_index():
            store = Store(self.settings.database_path)
            recording = self.settings.record_history and not store.readonly
            self._history = SearchHistory(store, enabled=recording)
            if self.settings.record_history and store.readonly:
                self.notify(
                    "The data folder is read-only, so your searches are not recorded in the"
                    " history (adapt learns from it); searching works as it is.",
                    severity="warning",
                    timeout=8,
                )
        return self._history

    def history_unrecorded(self) -> str:
        """Why a mark was not recorded, for the user; empty where it was recordable."""
        if not self.settings.record_history:
            return "The search history is off (record_history = false): nothing was recorded."
        if self._history is not None and self._history.store.readonly:
            return "The data folder is read-only: nothing was recorded."
        return ""

    # -- indexing -----------------------------------------------------------------------------

    def add_folder(self, raw_path: str) -> bool:
        """Index a new folder; False (with a notification) when the path is not usable."""
        text = raw_path.strip()
        if not text:
            self.notify("Type the path of a folder first.", severity="warning")
            return False
        path = expand_user(text)
        if not path.exists():
            self.notify(f"No such folder: {path}", severity="error", markup=False)
            return False
        return self.start_indexing([path.absolute()])

    def start_indexing(self, paths: list[Path] | None) -> bool:
        """Index `paths` (None: re-index every known folder) in a worker; searching goes on."""
        if self.indexing.running:
            self.notify("Indexing is already running.", severity="warning")
            return False
        if paths is None and not self.root_paths:
            self.notify("No folders to re-index: add one first.", severity="warning")
            return False
        self.indexing = JobState().started()
        self._follow_job_status(True)
        self._index_in_worker(paths)
        return True

    def _follow_job_status(self, running: bool) -> None:
        """While a job writes, re-read the counts now and then: batches commit as they go."""
        if self._job_status_timer is not None:
            self._job_status_timer.stop()
            self._job_status_timer = None
        if running:
            self._job_status_timer = self.set_interval(2.0, self.refresh_status)

    @work(thread=True, exclusive=True, group="index")
    def _index_in_worker(self, paths: list[Path] | None) -> None:
        index = Index(self.settings)
        try:
            report = index.update(paths, progress=self._job_progress(IndexingProgressed))
        except AppClosing:
            return
        except Exception as exc:  # noqa: BLE001 - busy lock, bad path, model: notifications
            self.post_message(IndexingFailed(exc))
            return
        finally:
            index.close()
        self.post_message(IndexingFinished(report))

    def _job_progress(self, message: type) -> ThrottledProgress:
        """Progress for the job in this worker thread, which the app's closing stops."""
        worker = get_current_worker()
        return ThrottledProgress(self.post_message, message, lambda: worker.is_cancelled)

    def on_indexing_progressed(self, message: IndexingProgressed) -> None:
        if self.indexing.running:
            self.indexing = self.indexing.progressed(message.event)

    def on_indexing_finished(self, message: IndexingFinished) -> None:
        summary = describe_report(message.report)
        self.indexing = self.indexing.ended(outcome=summary)
        if message.report.skipped:
            summary += "\nF2 then s lists the skipped files and why."
        for notice in message.report.notices:
            summary += f"\n{notice}"
        self.notify(summary, title="Indexing finished", timeout=6, markup=False)
        for warning in message.report.warnings:
            self.notify(warning, severity="warning", markup=False)
        self._index_changed()

    def on_indexing_failed(self, message: IndexingFailed) -> None:
        error = message.error
        text = error.message if isinstance(error, LocalSearchError) else str(error)
        self.indexing = self.indexing.ended(error=f"Indexing stopped: {text}")
        context = "The index is busy" if isinstance(error, IndexBusyError) else "Indexing failed"
        self.report_error(error, context)
        self._index_changed()

    def _index_changed(self) -> None:
        self._follow_job_status(self.indexing.running or self.adapting.running)
        self.backend.reset()
        self.refresh_status()
        self.data_generation += 1
        if self.model_state == "failed":
            self.model_state = "idle"

    def remove_root(self, path: str) -> None:
        if self.indexing.running:
            self.notify("Wait for indexing to finish first.", severity="warning")
            return
        self._remove_root_in_worker(path)

    @work(thread=True, exclusive=True, group="index")
    def _remove_root_in_worker(self, path: str) -> None:
        index = Index(self.settings)
        try:
            removed = index.remove_root(Path(path))
        except Exception as exc:  # noqa: BLE001
            self.post_message(RootRemovalFailed(exc))
            return
        finally:
            index.close()
        self.post_message(RootRemoved(path, removed))

    def on_root_removed(self, message: RootRemoved) -> None:
        self.notify(
            f"Removed {message.path} ({plural(message.documents, 'document')}).", markup=False
        )
        self._index_changed()

    def on_root_removal_failed(self, message: RootRemovalFailed) -> None:
        self.report_error(message.error, "Cannot remove the folder")

    # -- adapting -----------------------------------------------------------------------------

    def start_adapting(self, values: dict[str, Any]) -> bool:
        if self.adapting.running or self.indexing.running:
            self.notify("Wait for the running job to finish first.", severity="warning")
            return False
        if not self.index_status or not self.index_status.documents:
            self.notify("Index some documents before adapting.", severity="warning")
            return False
        self.adapt_outcome = None
        self.adapting = JobState().started()
        self._adapt_in_worker(values)
        return True

    @work(thread=True, exclusive=True, group="adapt")
    def _adapt_in_worker(self, values: dict[str, Any]) -> None:
        try:
            outcome = adapt_bridge.run_adapt(
                self.settings,
                values,
                self._job_progress(AdaptProgressed),
                lambda line: self.call_from_thread(
                    self.notify, as_sentence(line), timeout=10, markup=False
                ),
            )
        except AppClosing:
            return
        except Exception as exc:  # noqa: BLE001 - a notification, never a crash
            self.post_message(AdaptFailed(exc))
            return
        self.post_message(AdaptFinished(outcome))

    def on_adapt_progressed(self, message: AdaptProgressed) -> None:
        if self.adapting.running:
            self.adapting = self.adapting.progressed(message.event)

    def on_adapt_finished(self, message: AdaptFinished) -> None:
        outcome: AdaptOutcome = message.result
        verdict = f"kept {outcome.model}" if outcome.kept else "the current model stays"
        self.adapting = self.adapting.ended(
            outcome=f"Adapting finished in {format_seconds(outcome.seconds)}: {verdict}."
        )
        self.adapt_outcome = outcome
        self.notify(f"Adapting finished: {verdict}.", timeout=6, markup=False)
        if outcome.kept:
            self._model_changed()

    def on_adapt_failed(self, message: AdaptFailed) -> None:
        error = message.error
        text = error.message if isinstance(error, LocalSearchError) else str(error)
        self.adapting = self.adapting.ended(error=f"Stopped: {text}")
        self.report_error(error, message.context)

    def choose_adapted_model(self, keep: bool) -> None:
        """After a kept run: keep the new model (nothing to do) or roll back in a worker."""
        outcome = self.adapt_outcome
        if outcome is None or not outcome.kept:
            return
        if keep:
            self.adapt_outcome = None
            self.adapting = JobState()
            self.notify(f"Keeping {outcome.model}.", markup=False)
            return
        self.switch_model(None)

    def switch_model(self, name: str | None) -> bool:
        """Make searches use model `name` (None: roll back to the one before) in a worker."""
        if self.adapting.running or self.indexing.running:
            self.notify("Wait for the running job to finish first.", severity="warning")
            return False
        self.adapting = JobState().started()
        self._switch_model_in_worker(name)
        return True

    @work(thread=True, exclusive=True, group="adapt")
    def _switch_model_in_worker(self, name: str | None) -> None:
        progress = self._job_progress(AdaptProgressed)
        try:
            if name is None:
                detail = adapt_bridge.roll_back(self.settings, progress)
            else:
                detail = adapt_bridge.use_model(self.settings, name, progress)
        except AppClosing:
            return
        except Exception as exc:  # noqa: BLE001 - no earlier model, a busy index: notifications
            self.post_message(AdaptFailed(exc, "Cannot switch the model"))
            return
        self.post_message(ModelChoiceApplied(detail))

    def on_model_choice_applied(self, message: ModelChoiceApplied) -> None:
        self.adapting = self.adapting.ended(outcome=message.detail)
        self.notify(message.detail, markup=False)
        self.adapt_outcome = None
        self._model_changed()

    def _model_changed(self) -> None:
        """The active model may differ now: load it afresh and search again."""
        self.backend.reset()
        self.backend.model_ready.clear()
        self.model_state = "idle"
        self.refresh_status()
        self.data_generation += 1

    # -- command palette ----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for mode in MODES:
            yield SystemCommand(
                f"Mode: {mode}", f"Search in {mode} mode", lambda m=mode: self.action_set_mode(m)
            )
        yield SystemCommand("Search", "Go to the search screen", self._go("search"))
        yield SystemCommand("Folders", "Indexed folders: add, remove, re-index", self._go("index"))
        yield SystemCommand(
            "Re-index all folders", "Bring the index up to date", lambda: self.start_indexing(None)
        )
        yield SystemCommand(
            "Stop watching folders" if self.watcher.running else "Watch folders",
            "Re-index files as they are saved, for this session",
            self.action_toggle_watch,
        )
        yield SystemCommand(
            "Skipped files", "The files indexing skipped, and why", self.action_show_skipped
        )
        yield SystemCommand("Adapt the model", "Fine-tune on your documents", self._go("adapt"))
        yield SystemCommand("Models", "Switch the model, or roll back", self._go("models"))
        yield SystemCommand("Help", "Keys and modes", self.action_help)
        yield from super().get_system_commands(screen)

    def _go(self, mode: str) -> Any:
        return lambda: self.switch_mode(mode)


def describe_report(report: IndexReport) -> str:
    text = f"Indexed in {report.seconds:.1f}s: {report.files_done()}, {report.unchanged} unchanged"
    if report.skipped:
        text += f", {len(report.skipped)} skipped"
    return text + f"; {report.chunks_done()}."


def make_app(
    settings: Settings,
    *,
    opener: Opener | None = None,
    engine_factory: EngineFactory | None = None,
) -> LocalSearchApp:
    """The app for `settings`; tests pass a recording `opener` and may pass an engine factory."""
    return LocalSearchApp(settings, opener=opener, engine_factory=engine_factory)
