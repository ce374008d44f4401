"""The adapt screen: fine-tune the model on your own documents, watch it, keep or roll back.

The form lists the adapt engine's options with their defaults; the run happens in the app's
worker with live progress (stage, step, loss, time left); at the end the retrieval numbers
before and after are shown side by side with the choice to keep the new model or go back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Input, Label, Static, Switch

from localsearch.errors import LocalSearchError
from localsearch.tui.adapt_bridge import (
    ADAPT_STAGE_LABELS,
    AdaptOutcome,
    OptionField,
    adapt_unavailable_reason,
    option_fields,
    parse_option,
)
from localsearch.tui.widgets.job_progress import JobProgress

if TYPE_CHECKING:
    from localsearch.tui.app import LocalSearchApp

INPUT_TYPES: dict[type, Literal["integer", "number", "text"]] = {
    int: "integer",
    float: "number",
}
INTRO = (
    "Adapting teaches the embedding model [b]your[/b] words: it learns from the searches you made"
    " and the results you opened or marked (ctrl+y 'found it', ctrl+g 'not it'), with practice"
    " queries written from your files while that log is short. It then measures search quality"
    " on searches it never trained on, keeps the new model only if it does better there, and"
    " you can roll back afterwards (F4). Nothing leaves this machine."
)


def metric_rows(outcome: AdaptOutcome) -> list[tuple[str, str, str, Text]]:
    rows = []
    for measure, before, after in outcome.rows:
        delta = after - before
        style = "green" if delta > 0 else "red" if delta < 0 else ""
        rows.append((measure, f"{before:.3f}", f"{after:.3f}", Text(f"{delta:+.3f}", style=style)))
    return rows


def as_sentence(text: str) -> str:
    """`text` with a capital first letter and a full stop, to follow another sentence."""
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def describe_outcome(outcome: AdaptOutcome) -> Text:
    text = describe_verdict(outcome)
    if outcome.judged_on:
        text.append("\n" + outcome.judged_on[:1].upper() + outcome.judged_on[1:] + ".")
    return text


def describe_verdict(outcome: AdaptOutcome) -> Text:
    if outcome.kept:
        text = Text("The adapted model ", style="")
        text.append(str(outcome.model), style="bold")
        text.append(" did better on held-out queries and is active now. ")
        text.append(as_sentence(outcome.reason), style="italic")
        text.append("\nKeep it, or roll back to ")
        text.append(outcome.previous_model, style="bold")
        text.append(".")
        return text
    text = Text("The new model was not better, so ")
    text.append(outcome.previous_model, style="bold")
    text.append(" stays in use. ")
    text.append(as_sentence(outcome.reason), style="italic")
    return text


class AdaptScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.switch_mode('search')", "Search"),
        Binding("ctrl+r", "start", "Start"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[OptionField] = option_fields()
        self.unavailable = adapt_unavailable_reason()

    @property
    def localsearch(self) -> LocalSearchApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="adapt-main"):
            yield Static("Adapt the model to your documents", classes="screen-title")
            yield Static(INTRO, id="adapt-intro")
            if self.unavailable:
                yield Static(self.unavailable, id="adapt-unavailable")
            with Grid(id="adapt-form"):
                for item in self.fields:
                    yield Label(item.label, classes="form-label")
                    if item.kind is bool:
                        yield Switch(value=bool(item.default), id=f"opt-{item.name}")
                    else:
                        yield Input(
                            "" if item.default is None else str(item.default),
                            placeholder="blank" if item.optional else "",
                            id=f"opt-{item.name}",
                            type=INPUT_TYPES.get(item.kind, "text"),
                            valid_empty=item.optional,
                            tooltip=item.help or None,
                            compact=True,
                        )
                    yield Static(item.help, classes="form-help")
            with Horizontal(id="adapt-actions"):
                yield Button(
                    "Start adapting",
                    id="adapt-start",
                    variant="primary",
                    disabled=bool(self.unavailable),
                )
            yield JobProgress("adapting", ADAPT_STAGE_LABELS, id="adapt-progress")
            yield DataTable(id="adapt-metrics", show_cursor=False)
            yield Static("", id="adapt-verdict")
            with Horizontal(id="adapt-choice"):
                yield Button("Keep it", id="adapt-keep", variant="success")
                yield Button("Roll back", id="adapt-rollback", variant="warning")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#adapt-metrics", DataTable)
        table.add_columns("Held-out queries", "Before", "After", "Change")
        # The page, not a field: keys typed just after F3 must not land in a number box.
        self.query_one("#adapt-main", VerticalScroll).focus()
        self.watch(self.app, "adapt_outcome", self._show_outcome, init=True)
        self.watch(self.app, "adapting", self._job_changed, init=True)

    def _job_changed(self, state: Any) -> None:
        self.query_one("#adapt-start", Button).disabled = bool(self.unavailable) or state.running
        if state.running and not state.stage:
            # Just started: bring the progress panel into view.
            self.call_after_refresh(self._bring_into_view, "#adapt-progress")

    def _bring_into_view(self, selector: str) -> None:
        self.query_one("#adapt-main", VerticalScroll).scroll_to_widget(
            self.query_one(selector), animate=False, top=True
        )

    def form_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for item in self.fields:
            widget: Any = self.query_one(f"#opt-{item.name}")
            values[item.name] = parse_option(item, widget.value)
        return values

    @on(Button.Pressed, "#adapt-start")
    def action_start(self) -> None:
        if self.unavailable:
            self.notify(self.unavailable, severity="warning")
            return
        try:
            values = self.form_values()
        except LocalSearchError as exc:
            self.localsearch.report_error(exc, "Check the options")
            return
        self.localsearch.start_adapting(values)

    def _show_outcome(self, outcome: AdaptOutcome | None) -> None:
        table = self.query_one("#adapt-metrics", DataTable)
        choice = self.query_one("#adapt-choice")
        verdict = self.query_one("#adapt-verdict", Static)
        table.clear()
        if outcome is None:
            table.display = verdict.display = choice.display = False
            return
        for row in metric_rows(outcome):
            table.add_row(*row)
        table.display = bool(table.row_count)
        verdict.display = True
        verdict.update(describe_outcome(outcome))
        choice.display = outcome.kept
        if outcome.kept:
            self.query_one("#adapt-keep", Button).focus()
        self.call_after_refresh(self._bring_into_view, "#adapt-progress")

    @on(Button.Pressed, "#adapt-keep")
    def _keep(self) -> None:
        self.localsearch.choose_adapted_model(keep=True)

    @on(Button.Pressed, "#adapt-rollback")
    def _roll_back(self) -> None:
        self.localsearch.choose_adapted_model(keep=False)
