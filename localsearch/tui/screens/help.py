"""The help screen: what each key does, and what the search modes mean."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Search",
        [
            ("type", "search as you type"),
            ("↑ ↓ ctrl+n ctrl+p", "move through the results (j k too, in the list)"),
            ("PgUp PgDn", "move five results at a time"),
            ("enter", "open the result in $EDITOR at its line (PDF: at its page)"),
            ("click", "select a result; a double click opens it"),
            ("typing", "in the result list, goes to the search box"),
            ("→ ←", 'show or hide the other places a file matches ("n more in this file")'),
            ("ctrl+o", "open the folder that holds the result"),
            ("ctrl+y", 'mark the result "this is it" (kept in your search history)'),
            ("ctrl+g", 'mark the result "not this"'),
            ("tab, shift+tab", "move between search box, results, preview and filters"),
            ("/", "back to the search box (in the path filter: when it is empty)"),
            ("esc", "clear the search box"),
            ("ctrl+t", "switch mode: hybrid → bm25 → dense"),
            ("ctrl+f", "filters: path glob (peps/*, *.md), file type and age"),
        ],
    ),
    (
        "Everywhere",
        [
            ("F1, ?", "this help"),
            ("F2", "folders: add, remove, re-index"),
            ("F3", "adapt the model to your documents"),
            ("F4", "models: use another one, or roll back"),
            ("ctrl+p", "command palette: every action by name"),
            ("q", "quit: asks first, q again says yes (in the search box and the list, q types)"),
            ("ctrl+c", "quit at once"),
        ],
    ),
    (
        "Folders (F2)",
        [
            ("a", "add a folder (tab completes the path)"),
            ("r", "re-index every folder"),
            ("s", "the skipped files and why"),
            ("delete", "remove the selected folder from the index (files stay)"),
            ("esc", "back to search"),
        ],
    ),
    (
        "Models (F4)",
        [
            ("u, enter", "search with the highlighted model (embeds what it lacks)"),
            ("b", "roll back to the model used before"),
        ],
    ),
]

MODES_TEXT = (
    "Modes: hybrid combines the keyword and the meaning rankings; bm25 matches your words;"
    " dense matches meaning, even in other words. Indexing runs in the background: you can"
    " search while it works."
)


def help_renderable() -> Group:
    parts: list[object] = [Text("localsearch: keys", style="bold")]
    for title, rows in SECTIONS:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, min_width=14)
        table.add_column()
        for key, what in rows:
            table.add_row(key, what)
        parts += [Text(""), Text(title, style="bold underline"), table]
    parts += [Text(""), Text(MODES_TEXT, style="italic")]
    return Group(*parts)  # type: ignore[arg-type]


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_renderable(), id="help-text")
