"""The search screen: type, see results and a preview, open what you found.

Every keystroke restarts a short timer; when it fires, a search runs in a worker thread. Each
search carries a sequence number and only the newest one's results are shown, so a slow old
query never overwrites a fast new one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Input, OptionList, Select, Static
from textual.worker import get_current_worker

from localsearch.history.settle import SETTLE_SECONDS, SettledSearchLog
from localsearch.search.engine import Hit, SearchResults
from localsearch.store.database import ChunkRow
from localsearch.tui.messages import (
    MoreLoaded,
    SearchCompleted,
    SearchFailed,
    SearchWaitExplained,
)
from localsearch.tui.state import INDEX_STAGE_LABELS
from localsearch.tui.widgets.filter_bar import FilterBar
from localsearch.tui.widgets.job_progress import JobProgress
from localsearch.tui.widgets.path_input import PathInput
from localsearch.tui.widgets.preview import Preview
from localsearch.tui.widgets.results import ResultList
from localsearch.tui.widgets.status_bar import StatusBar
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.tui.app import LocalSearchApp

DEBOUNCE_SECONDS = 0.15
RESULT_COUNT = 20
CHUNKS_PER_DOCUMENT = 6  # a document's best chunk and five more at once; → loads the rest

WELCOME = """\
[b]Welcome to localsearch[/b]

Search your own documents by words and by meaning. Everything stays on this computer.

Nothing is indexed yet: add a folder of notes, docs or papers to begin.
Indexing reads the files once; later runs only look at what changed."""


class EmptyState(Vertical):
    """Shown until something is indexed: offers to add a folder and shows the first indexing."""

    def compose(self) -> ComposeResult:
        yield Static(WELCOME, id="welcome")
        with Horizontal(id="welcome-add"):
            yield PathInput(id="welcome-path")
            yield Button("Add folder", id="welcome-add-button", variant="primary")
        yield JobProgress("indexing", INDEX_STAGE_LABELS, id="welcome-progress")
        yield Static(
            "Type a folder path (tab completes) and press enter.  F2 manages folders later.",
            id="welcome-hint",
        )


class SearchScreen(Screen[None]):
    BINDINGS = [
        Binding("ctrl+t", "cycle_mode", "Mode"),
        Binding("ctrl+f", "focus_filters", "Filter"),
        Binding("ctrl+o", "open_folder", "Folder"),
        Binding("ctrl+y", "mark('relevant')", "Found it"),
        Binding("ctrl+g", "mark('not_relevant')", "Not it"),
        Binding("slash", "focus_search", "Search", show=False),
        Binding("up", "move_highlight(-1)", "Up", show=False),
        Binding("down,ctrl+n", "move_highlight(1)", "Down", show=False),
        Binding("pageup", "move_highlight(-5)", show=False),
        Binding("pagedown", "move_highlight(5)", show=False),
        Binding("escape", "clear_or_focus_search", "Clear", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._sequence = 0
        self._debounce: Timer | None = None
        self._shown_provisional = False
        self._contexts: dict[int, list[ChunkRow]] = {}
        self._shown_query = ""
        # What the inputs said (query, mode, filters) for the search under way, and for the
        # results on screen: enter opens a result only when they answer the inputs as they are.
        self._asked: tuple[object, ...] = ()
        self._shown_asked: tuple[object, ...] = ()
        self.shown_results: SearchResults | None = None
        self.search_log: SettledSearchLog | None = None
        self._settle_timer: Timer | None = None

    @property
    def localsearch(self) -> LocalSearchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="Search your files…  (words, a question, a phrase)",
            id="query",
            select_on_focus=False,  # typing from the result list adds to the query
        )
        with Horizontal(id="results-view"):
            yield ResultList(id="results")
            yield Preview(id="preview")
        yield EmptyState(id="empty")
        yield FilterBar(id="filters")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.search_log = SettledSearchLog(self.localsearch.search_history, "tui")
        self.query_one("#query", Input).focus()
        self.query_one(ResultList).show_message(self._prompt())
        self.watch(self.app, "index_status", self._index_status_changed, init=True)
        self.watch(self.app, "model_state", self._model_state_changed, init=False)
        self.watch(self.app, "mode", self._mode_changed, init=False)
        self.watch(self.app, "data_generation", self._data_changed, init=False)

    # -- empty state --------------------------------------------------------------------------

    def _prompt(self) -> str:
        status = self.localsearch.index_status
        if status is None or not status.documents:
            return "Type to search."
        return f"Type to search {plural(status.documents, 'document', separator=',')}."

    def _index_status_changed(self, status: Any) -> None:
        loaded = self.localsearch.status_loaded
        error = self.localsearch.status_error
        # An index that cannot be read is not an empty one to add folders to.
        empty = loaded and not error and (status is None or not status.documents)
        was_empty = self.has_class("-empty")
        self.set_class(empty, "-empty")
        self.refresh_bindings()
        if error:
            self.query_one(ResultList).show_message(f"Cannot read the index: {error}")
        elif not self.query_one("#query", Input).value.strip():
            self.query_one(ResultList).show_message(self._prompt())
        if empty and not was_empty:
            path_input = self.query_one("#welcome-path", PathInput)
            path_input.focus()
            # Once laid out: in a short terminal the box is below the welcome text.
            self.call_after_refresh(path_input.scroll_visible, animate=False)
        elif was_empty and not empty:
            self.query_one("#query", Input).focus()

    @on(Input.Submitted, "#welcome-path")
    @on(Button.Pressed, "#welcome-add-button")
    def _add_first_folder(self) -> None:
        path_input = self.query_one("#welcome-path", PathInput)
        self.localsearch.add_folder(path_input.value)

    # -- searching ----------------------------------------------------------------------------

    @on(Input.Changed, "#query")
    @on(Input.Changed, "#path-filter")
    def _schedule_search(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, self.run_search)

    @on(Select.Changed, "#type-filter")
    @on(Select.Changed, "#since-filter")
    def _filter_changed(self) -> None:
        self.run_search()

    def _mode_changed(self, _mode: str) -> None:
        self.run_search()

    def _model_state_changed(self, state: str) -> None:
        if state in ("ready", "failed") and self._shown_provisional:
            self.run_search()

    def _data_changed(self, _generation: int) -> None:
        if self.query_one("#query", Input).value.strip():
            self.run_search()

    def run_search(self) -> None:
        """Search now for what the inputs say; newer calls supersede older ones."""
        if self._debounce is not None:
            self._debounce.stop()
            self._debounce = None
        self._sequence += 1
        query = self.query_one("#query", Input).value
        if not query.strip():
            self._shown_provisional = False
            self._shown_query = ""
            self._forget_shown()
            self.shown_results = None
            result_list = self.query_one(ResultList)
            result_list.show_message(self._prompt())
            result_list.border_title = "Results"
            result_list.border_subtitle = ""
            self.query_one(Preview).clear()
            return
        if not self.localsearch.backend.has_index():
            self.query_one(ResultList).show_message("Nothing is indexed yet.")
            return
        filters = self.query_one(FilterBar)
        self._asked = self._inputs()
        self._search_in_worker(
            self._sequence,
            query,
            self.localsearch.mode,
            filters.path_glob,
            filters.doc_types,
            filters.since,
        )

    @work(thread=True, exclusive=True, group="search")
    def _search_in_worker(
        self,
        sequence: int,
        query: str,
        mode: str,
        path_glob: str,
        doc_types: list[str],
        since: str | None,
    ) -> None:
        worker = get_current_worker()

        def explain(line: str) -> None:
            self.post_message(SearchWaitExplained(sequence, line))

        try:
            outcome = self.localsearch.backend.search(
                query,
                k=RESULT_COUNT,
                mode=mode,
                path_glob=path_glob,
                doc_types=doc_types,
                since=since,
                per_doc=CHUNKS_PER_DOCUMENT,
                superseded=lambda: worker.is_cancelled,
                on_notice=explain,
            )
        except Exception as exc:  # noqa: BLE001 - shown as a notification, never a crash
            if not worker.is_cancelled:
                self.post_message(SearchFailed(sequence, exc))
            return
        if outcome is not None and not worker.is_cancelled:
            self.post_message(
                SearchCompleted(
                    sequence, outcome.results, outcome.contexts, outcome.provisional, outcome.note
                )
            )

    def on_search_wait_explained(self, message: SearchWaitExplained) -> None:
        self.localsearch.waiting_for = message.line  # the status bar says it until it is over

    def on_search_completed(self, message: SearchCompleted) -> None:
        self.localsearch.waiting_for = ""  # its search is done, or a newer one is under way
        if message.sequence != self._sequence:
            return  # a newer search is under way or done: never show stale results
        results = message.results
        self.shown_results = results
        self._contexts = message.contexts
        self._shown_provisional = message.provisional
        self._shown_query = results.query
        self._shown_asked = self._asked
        self.localsearch.latency_ms = results.elapsed_ms
        note = message.note
        if message.provisional and self.localsearch.model_state == "idle":
            note = self._without_model(results.mode)
        result_list = self.query_one(ResultList)
        if results.hits:
            result_list.show_hits(results.hits, self.localsearch.root_paths)
        else:
            result_list.show_message(note if message.provisional else "No results.")
            why = "; ".join(results.warnings) or "no results for this query and these filters."
            self.query_one(Preview).clear(why[:1].upper() + why[1:])
        if results.weak_match and results.hits and not note:
            note = "weak match: nothing matches this query well"
        result_list.border_subtitle = note
        count = len(results.hits)
        result_list.border_title = (
            f"{count} result{'s' if count != 1 else ''} · {results.mode}" if count else "Results"
        )
        self._log_shown(results)

    def _without_model(self, mode: str) -> str:
        """Why a search ran without the model: it loads once a running job is done, and not at
        all before any chunk has a vector (a first run stopped before its model loaded)."""
        app = self.localsearch
        status = app.index_status
        busy = app.indexing.running or app.adapting.running or (status and status.writer)
        if status is not None and status.model is None and not busy:
            shown = "" if mode == "dense" else "keyword (BM25) results; "
            return f"no chunk is embedded yet: {shown}F2 then r embeds them"
        if mode == "dense":
            return "dense search waits for the running job"
        return "keyword (BM25) results while the index is busy"

    def on_search_failed(self, message: SearchFailed) -> None:
        self.localsearch.waiting_for = ""
        if message.sequence != self._sequence:
            return
        self.localsearch.report_error(message.error, "Search failed")
        self.query_one(ResultList).show_message("The search failed; see the notification.")

    @on(ResultList.MoreWanted)
    def _load_more(self, message: ResultList.MoreWanted) -> None:
        self._more_in_worker(self._sequence, message.hit, self._shown_query)

    @work(thread=True, group="more")
    def _more_in_worker(self, sequence: int, hit: Hit, query: str) -> None:
        try:
            more, contexts = self.localsearch.backend.all_more(hit, query)
        except Exception as exc:  # noqa: BLE001 - a notification; the results stay
            self.app.call_from_thread(
                self.localsearch.report_error, exc, "Cannot list the other places in this file"
            )
            return
        self.post_message(MoreLoaded(sequence, hit, more, contexts))

    def on_more_loaded(self, message: MoreLoaded) -> None:
        if message.sequence != self._sequence:
            return  # the results have changed since
        self._contexts.update(message.contexts)
        self.query_one(ResultList).show_more(message.hit, message.more)

    @on(OptionList.OptionHighlighted, "#results")
    def _preview_highlighted(self) -> None:
        hit = self.query_one(ResultList).highlighted_hit
        if hit is None:
            return
        self.query_one(Preview).show(
            hit,
            self._contexts.get(hit.chunk_id, []),
            self._shown_query,
            self.localsearch.root_paths,
        )

    # -- opening ------------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#results")
    def _open_selected(self) -> None:
        self.action_open_hit()

    @on(Input.Submitted, "#query")
    def _open_from_query(self) -> None:
        if self._debounce is not None:
            # Enter before the results caught up: search first, the user can press it again.
            self.run_search()
            return
        if self._shown_asked != self._inputs():
            return  # its search is under way: what is listed answers older inputs
        self.action_open_hit()

    def _inputs(self) -> tuple[object, ...]:
        filters = self.query_one(FilterBar)
        query = self.query_one("#query", Input).value
        mode = self.localsearch.mode
        return (query, mode, filters.path_glob, tuple(filters.doc_types), filters.since)

    def current_hit(self) -> Hit | None:
        return self.query_one(ResultList).highlighted_hit

    def action_open_hit(self) -> None:
        hit = self.current_hit()
        if hit is None:
            return
        line = None if hit.page is not None else hit.start_line
        if self.localsearch.open_path(Path(hit.os_path), line, hit.page):
            self._log_action(hit, "open")

    def action_open_folder(self) -> None:
        hit = self.current_hit()
        if hit is None:
            self.notify("Highlight a result first.", severity="warning")
            return
        if self.localsearch.open_folder(Path(hit.os_path).parent):
            self._log_action(hit, "open_folder")

    # -- the search history: the search the user settled on, what they opened and marked -----

    def _log_shown(self, results: SearchResults) -> None:
        if self.search_log is None:
            return
        if self._settle_timer is not None:
            self._settle_timer.stop()
        self.search_log.showing(
            results.query,
            results.mode,
            [h.chunk_id for h in results.hits],
            results.path_glob,
            results.doc_types,
        )
        self._settle_timer = self.set_timer(SETTLE_SECONDS, self._settle_shown)

    def _forget_shown(self) -> None:
        if self._settle_timer is not None:
            self._settle_timer.stop()
            self._settle_timer = None
        if self.search_log is not None:
            self.search_log.clear()

    def _settle_shown(self) -> None:
        self._settle_timer = None
        if self.search_log is not None:
            try:
                self.search_log.settle()
            except Exception as exc:  # noqa: BLE001 - a full disk: a notification, never a crash
                self.localsearch.report_error(exc, "Cannot record the search")

    def _log_action(self, hit: Hit, action: str) -> bool:
        if self.search_log is None:
            return False
        try:
            return self.search_log.act(hit.chunk_id, action)
        except Exception as exc:  # noqa: BLE001
            self.localsearch.report_error(exc, "Cannot record the search")
            return False

    def action_mark(self, mark: str) -> None:
        hit = self.current_hit()
        if hit is None:
            self.notify("Highlight a result first.", severity="warning")
            return
        label = "This is it" if mark == "relevant" else "Not this"
        if self._log_action(hit, mark):
            self.notify(f"{label}: {Path(hit.path).name}", title="Marked", timeout=2, markup=False)
        elif why := self.localsearch.history_unrecorded():
            self.notify(why, severity="warning", markup=False)

    # -- keys ---------------------------------------------------------------------------------

    def action_move_highlight(self, step: int) -> None:
        result_list = self.query_one(ResultList)
        if not result_list.hits:
            return
        current = result_list.highlighted or 0
        result_list.highlighted = max(0, min(len(result_list.hits) - 1, current + step))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("cycle_mode", "focus_filters", "open_folder", "focus_search", "mark"):
            return not self.has_class("-empty")
        return True

    def action_cycle_mode(self) -> None:
        self.localsearch.action_cycle_mode()

    def action_focus_filters(self) -> None:
        self.query_one("#path-filter", Input).focus()

    def action_focus_search(self) -> None:
        self.query_one("#query", Input).focus()

    @on(ResultList.TypedAhead)
    def _type_into_query(self, message: ResultList.TypedAhead) -> None:
        query = self.query_one("#query", Input)
        query.focus()
        query.cursor_position = len(query.value)
        query.insert_text_at_cursor(message.character)

    def action_clear_or_focus_search(self) -> None:
        query = self.query_one("#query", Input)
        if self.focused is query:
            query.value = ""
        else:
            query.focus()
