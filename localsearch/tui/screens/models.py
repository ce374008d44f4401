"""The models screen: the embedding models this index can search with, each one's card, and
the switch between them (use one, or roll back to the one before).

Switching runs in the app's worker like adapting does, and re-embeds only what the chosen
model's vectors lack; the progress panel follows the app's `adapting` state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from localsearch.tui.adapt_bridge import ADAPT_STAGE_LABELS, EmbedderChoice, list_embedders
from localsearch.tui.widgets.job_progress import JobProgress
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.tui.app import LocalSearchApp

INTRO = (
    "The embedding model turns text into the vectors that dense and hybrid search compare."
    " Switching re-embeds only what the chosen model has no vectors for yet; the previous"
    " model's vectors are kept, so rolling back is quick."
)


def describe_card(choice: EmbedderChoice) -> Text:
    """What the screen says about the highlighted model."""
    out = Text(choice.name, style="bold")
    out.append(f"\n{choice.origin}")
    if choice.active:
        out.append(" · in use", style="bold")
    if choice.vectors is not None:
        out.append(f" · {plural(choice.vectors, 'vector', separator=',')} stored")
    if choice.notes:
        out.append(f"\n{choice.notes}", style="italic")
    metrics = (choice.card or {}).get("metrics", {})
    new, old = metrics.get("new", {}), metrics.get("current", {})
    for mode in ("dense", "hybrid"):
        if mode in new and mode in old:
            before, after = old[mode].get("ndcg_at_10"), new[mode].get("ndcg_at_10")
            if before is not None and after is not None:
                out.append(f"\nHeld-out nDCG@10, {mode}: {before:.3f} → {after:.3f}")
    if not choice.present:
        out.append(f"\nNot on this computer: `localsearch models pull {choice.name}`.")
    return out


class ModelsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.switch_mode('search')", "Search"),
        Binding("u", "use", "Use"),
        Binding("b", "roll_back", "Roll back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.choices: list[EmbedderChoice] = []

    @property
    def localsearch(self) -> LocalSearchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="models-main"):
            yield Static("Models", classes="screen-title")
            yield Static(INTRO, id="models-intro")
            yield DataTable(id="models-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="model-card")
            yield JobProgress("adapting", ADAPT_STAGE_LABELS, id="models-progress")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#models-table", DataTable)
        table.add_column("", key="active")
        table.add_column("Model", key="name")
        table.add_column("Origin", key="origin")
        table.add_column("Vectors", key="vectors")
        table.focus()
        self.watch(self.app, "index_status", self._reload, init=True)

    def on_screen_resume(self) -> None:
        self._reload()

    def _reload(self, *_: Any) -> None:
        try:
            self.choices = list_embedders(self.localsearch.settings)
        except Exception as exc:  # noqa: BLE001 - an unreadable index is a notification
            self.localsearch.report_error(exc, "Cannot list the models")
            self.choices = []
        table = self.query_one("#models-table", DataTable)
        table.clear()
        for choice in self.choices:
            table.add_row(
                Text("●", style="bold green") if choice.active else "",
                choice.name,
                choice.origin,
                Text("" if choice.vectors is None else f"{choice.vectors:,}", justify="right"),
                key=choice.name,
            )
        active = next((c.name for c in self.choices if c.active), None)
        if active is not None:
            table.move_cursor(row=table.get_row_index(active))
        self._show_card()

    def selected(self) -> EmbedderChoice | None:
        table = self.query_one("#models-table", DataTable)
        if not table.row_count:
            return None
        row = table.cursor_row
        return self.choices[row] if 0 <= row < len(self.choices) else None

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._show_card()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_use()

    def _show_card(self) -> None:
        choice = self.selected()
        card = self.query_one("#model-card", Static)
        card.update(describe_card(choice) if choice else Text("No models found.", style="italic"))

    def action_use(self) -> None:
        choice = self.selected()
        if choice is None:
            return
        if choice.active:
            self.notify(f"{choice.name} is already in use.", markup=False)
            return
        if not choice.present:
            self.notify(
                f"{choice.name} is not on this computer: run `localsearch models pull"
                f" {choice.name}` first.",
                severity="warning",
                markup=False,
            )
            return
        self.localsearch.switch_model(choice.name)

    def action_roll_back(self) -> None:
        self.localsearch.switch_model(None)
