"""The filter row under the results: search mode, path glob, file type and age."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Label, Select, Static

from localsearch.ingest.extract import SUPPORTED_TYPES
from localsearch.search.engine import MODES

# The ages the age filter offers (files modified within them), as search's `since` takes them.
AGES = (("1 day", "1d"), ("1 week", "7d"), ("1 month", "30d"), ("1 year", "1y"))
MODE_HINTS = {
    "hybrid": "keywords + meaning",
    "bm25": "keywords only",
    "dense": "meaning only",
}


class ModeIndicator(Static):
    """The three modes with the active one marked; follows the app's `mode`."""

    def on_mount(self) -> None:
        self.watch(self.app, "mode", self._show, init=True)

    def _show(self, mode: str) -> None:
        out = Text("Mode ")
        for name in MODES:
            if name == mode:
                out.append(f" {name} ", style="bold reverse")
            else:
                out.append(f" {name} ", style="dim")
        self.update(out)
        self.tooltip = f"{mode}: {MODE_HINTS.get(mode, '')} (ctrl+t to switch)"


class GlobInput(Input):
    """The path filter: `/` in it while empty is the screen's key (back to the search box)."""

    async def _on_key(self, event: events.Key) -> None:
        if event.character == "/" and not self.value:
            event.prevent_default()  # not typed here: it bubbles on to the screen's binding


class FilterBar(Horizontal):
    def compose(self) -> ComposeResult:
        yield ModeIndicator(id="mode")
        yield Label("Path", classes="filter-label")
        yield GlobInput(
            placeholder="glob, e.g. peps/* or *.md",
            id="path-filter",
            compact=True,
        )
        # The prompts say what the two lists are: labels left no room for a glob at 80 columns.
        yield Select(
            [(name, name) for name in SUPPORTED_TYPES],
            prompt="any type",
            id="type-filter",
            compact=True,
        )
        yield Select(AGES, prompt="any age", id="since-filter", compact=True)

    @property
    def path_glob(self) -> str:
        return self.query_one("#path-filter", Input).value.strip()

    @property
    def doc_types(self) -> list[str]:
        value: Any = self.query_one("#type-filter", Select).value
        return [] if value is Select.NULL or value is None else [str(value)]

    @property
    def since(self) -> str | None:
        value: Any = self.query_one("#since-filter", Select).value
        return None if value is Select.NULL or value is None else str(value)
