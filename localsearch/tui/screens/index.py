"""The index screen: which folders are indexed, add one, remove one, re-index with progress.

Indexing runs in the app's worker, so leaving this screen (or searching meanwhile) does not
stop it; the progress panel follows the app's `indexing` state wherever it is shown.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Static

from localsearch.index_status import IndexStatus
from localsearch.terminal_text import terminal_safe
from localsearch.tui.screens.confirm import ConfirmScreen
from localsearch.tui.state import INDEX_STAGE_LABELS
from localsearch.tui.widgets.job_progress import JobProgress
from localsearch.tui.widgets.path_input import PathInput
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.tui.app import LocalSearchApp


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def describe_age(timestamp: float | None, now: float | None = None) -> str:
    if not timestamp:
        return "never"
    seconds = (now or time.time()) - timestamp
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d")


def describe_index(status: IndexStatus | None) -> Text:
    if status is None:
        return Text("Nothing is indexed yet. Add a folder below.", style="italic")
    out = Text()
    out.append(f"{status.documents:,}", style="bold")
    out.append(" documents · ")
    out.append(f"{status.chunks:,}", style="bold")
    out.append(" chunks · ")
    out.append(f"{status.skipped:,}", style="bold")
    out.append(" skipped files")
    if status.skipped:
        out.append(" (s lists them)", style="italic")
    out.append("\nModel ")
    out.append(status.model or "none", style="bold")
    if status.dimension:
        out.append(f" ({status.dimension}-d, {plural(status.vectors, 'vector', separator=',')})")
    out.append(
        f" · database {human_bytes(status.database_bytes)}"
        f" · keyword index {human_bytes(status.lexical_bytes)}"
    )
    if lag := status.lexical_lag():
        out.append(f" ({lag})", style="italic")
    return out


class IndexScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.switch_mode('search')", "Search"),
        Binding("a", "focus_add", "Add"),
        Binding("r", "reindex", "Re-index"),
        Binding("delete,x", "remove_root", "Remove"),
        Binding("s", "app.show_skipped", "Skipped"),
    ]

    @property
    def localsearch(self) -> LocalSearchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="index-main"):
            yield Static("Indexed folders", classes="screen-title")
            yield Static("", id="index-summary")
            yield DataTable(id="roots", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="add-row"):
                yield PathInput(id="add-path")
                yield Button("Add folder", id="add-button", variant="primary")
            yield JobProgress("indexing", INDEX_STAGE_LABELS, id="index-progress")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#roots", DataTable)
        table.add_column("Folder", key="path")
        table.add_column("Documents", key="documents")
        table.add_column("Chunks", key="chunks")
        table.add_column("Last indexed", key="last")
        self.watch(self.app, "index_status", self._show_status, init=True)

    def on_screen_resume(self) -> None:
        self.localsearch.refresh_status()

    def _show_status(self, status: IndexStatus | None) -> None:
        self.query_one("#index-summary", Static).update(describe_index(status))
        table = self.query_one("#roots", DataTable)
        selected = self.selected_root()
        table.clear()
        for root in status.roots if status else []:
            table.add_row(
                terminal_safe(root["path"]),
                Text(f"{root['documents']:,}", justify="right"),
                Text(f"{root['chunks']:,}", justify="right"),
                describe_age(root["last_indexed_at"]),
                key=root["path"],
            )
        if selected and status and any(r["path"] == selected for r in status.roots):
            table.move_cursor(row=table.get_row_index(selected))
        if not table.row_count:
            self.query_one("#add-path", PathInput).focus()

    def selected_root(self) -> str | None:
        table = self.query_one("#roots", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - no row under the cursor
            return None
        return str(key.value) if key.value is not None else None

    def action_focus_add(self) -> None:
        self.query_one("#add-path", PathInput).focus()

    @on(Input.Submitted, "#add-path")
    @on(Button.Pressed, "#add-button")
    def _add(self) -> None:
        path_input = self.query_one("#add-path", PathInput)
        if self.localsearch.add_folder(path_input.value):
            path_input.value = ""
            # Out of the box, so that the screen's keys (`a`, `r`, `x`) are keys again.
            self.query_one("#roots", DataTable).focus()

    def action_reindex(self) -> None:
        self.localsearch.start_indexing(None)

    def action_remove_root(self) -> None:
        root = self.selected_root()
        if root is None:
            self.notify("No folder selected.", severity="warning")
            return

        def answered(yes: Any) -> None:
            if yes:
                self.localsearch.remove_root(root)

        self.app.push_screen(
            ConfirmScreen(
                f"Remove [b]{escape(terminal_safe(root))}[/b] from the index?\n\nIts documents"
                " leave the index; the files themselves are not touched.",
                yes="Remove",
            ),
            answered,
        )
