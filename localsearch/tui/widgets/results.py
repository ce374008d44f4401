"""The result list: one entry per document, showing its best chunk.

Each entry is title and score, the path (relative to its indexed folder) with the heading or
page, and the snippet with the query's words marked, clamped to two lines so a screenful holds
several results; a file with identical copies elsewhere says where ("also at: …").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from localsearch.ingest.types import page_label
from localsearch.search.engine import Hit
from localsearch.terminal_text import terminal_safe
from localsearch.tui.backend import shorten_path
from localsearch.wording import also_at as copies_named

# Keys the list keeps for itself; any other printable key is typing for the search box.
LIST_KEYS = frozenset("jk/?")


class ClampedText:
    """Rich text wrapped to the width it is given, cut to `max_lines` with an ellipsis."""

    def __init__(self, text: Text, max_lines: int) -> None:
        self.text = text
        self.max_lines = max_lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = list(self.text.wrap(console, options.max_width))
        if len(lines) > self.max_lines:
            lines = lines[: self.max_lines]
            last = lines[-1]
            last.truncate(max(1, options.max_width - 1))
            last.rstrip()
            last.append("…")
        yield from lines


def name_and_folder(path: str, roots: Sequence[str]) -> Text:
    """The file name first, then its folder shortened to the indexed root: a deep path still
    shows which file it is when the line is cut."""
    name = terminal_safe(Path(path).name)
    folder = terminal_safe(shorten_path(str(Path(path).parent), roots))
    out = Text(name, style="bold")
    if folder and folder != ".":
        out.append(f"  {folder}", style="dim")
    return out


def describe_location(hit: Hit) -> str:
    """Where in the document the hit is: heading, page and line."""
    parts = []
    if hit.page is not None:
        parts.append(page_label(hit.doc_type, hit.page))
    if hit.heading:
        parts.append(terminal_safe(hit.heading))
    if hit.page is None and hit.start_line:
        parts.append(f"line {hit.start_line}")
    return " · ".join(parts)


def also_at(hit: Hit, roots: Sequence[str]) -> str:
    """Where the hit's copies are, each path from its indexed folder down; empty for a file
    without copies (search/duplicates.py)."""
    paths = [terminal_safe(shorten_path(path, roots)) for path in hit.also_at]
    return copies_named(paths) if paths else ""


def shown_title(hit: Hit) -> str:
    return terminal_safe(hit.title or Path(hit.path).name)


def marked_snippet(hit: Hit, mark_style: str) -> Text:
    # Controls become visible symbols one for one, so the highlight offsets still fit.
    text = Text(terminal_safe(hit.snippet.text))
    for start, end in hit.snippet.highlights:
        text.stylize(mark_style, start, end)
    return text


class ResultList(OptionList):
    """Search hits; `enter` posts OptionSelected with the hit's index as the option id.

    fzf habits: j/k move, and typing anything else sends it to the search box (`TypedAhead`).
    """

    BINDINGS = [
        Binding("j,ctrl+n", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("right", "expand", "More in file", show=False),
        Binding("left", "collapse", "Fewer", show=False),
    ]

    @dataclass
    class MoreWanted(Message):
        """A document was expanded whose other chunks are not all loaded yet."""

        hit: Hit

    @dataclass
    class TypedAhead(Message):
        """A printable key pressed in the list: it belongs in the search box."""

        character: str

    async def _on_key(self, event: events.Key) -> None:
        character = event.character
        if character and event.is_printable and character not in LIST_KEYS:
            event.stop()
            event.prevent_default()
            self.post_message(self.TypedAhead(character))

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hits: list[Hit] = []  # as listed: documents' best chunks, expanded ones' others
        self.documents: list[Hit] = []  # one per document, ranked
        self.expanded: set[int] = set()  # document ids showing their other chunks
        self._roots: Sequence[str] = ()

    def action_expand(self) -> None:
        """→ on a document with "n more in this file": list all those chunks under it (the
        search brought the first few; the rest load at once, in the screen's worker)."""
        hit = self.highlighted_hit
        if hit is not None and hit.more_count and hit.document_id not in self.expanded:
            self.expanded.add(hit.document_id)
            if len(hit.more) < hit.more_count:
                self.post_message(self.MoreWanted(hit))
            self._list(keep=hit)

    def show_more(self, hit: Hit, more: Sequence[Hit]) -> None:
        """`hit`'s other chunks, all of them now; the highlight stays where it was."""
        hit.more = list(more)
        if hit.document_id in self.expanded:
            self._list(keep=self.highlighted_hit)

    def action_collapse(self) -> None:
        hit = self.highlighted_hit
        if hit is not None and hit.document_id in self.expanded:
            self.expanded.discard(hit.document_id)
            parent = next(d for d in self.documents if d.document_id == hit.document_id)
            self._list(keep=parent)

    async def _on_click(self, event: events.Click) -> None:
        """A click highlights (and so previews); a double click opens, like enter."""
        event.prevent_default()
        clicked = event.style.meta.get("option")
        if clicked is None or self._options[clicked].disabled:
            return
        self.highlighted = clicked
        if event.chain >= 2:
            self.action_select()

    @property
    def highlighted_hit(self) -> Hit | None:
        if self.highlighted is None or not self.hits or self.highlighted >= len(self.hits):
            return None
        return self.hits[self.highlighted]

    def show_hits(self, hits: Sequence[Hit], roots: Sequence[str]) -> None:
        self.documents = list(hits)
        self.expanded = set()
        self._roots = roots
        self._list(keep=None)

    def _list(self, keep: Hit | None) -> None:
        variables = self.app.get_css_variables()
        mark = f"bold {variables.get('text-warning', 'yellow')}"
        title_style = f"bold {variables.get('text-primary', '')}".strip()
        roots = self._roots
        self.hits = []
        options = []
        for rank, hit in enumerate(self.documents, start=1):
            head = Table.grid(expand=True)
            head.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
            head.add_column(justify="right", no_wrap=True)
            title = Text(f"{rank}. ", style="dim")
            title.append(shown_title(hit), style=title_style)
            head.add_row(title, Text(f"  {hit.score:.3f}", style="dim"))
            where = name_and_folder(hit.path, roots)
            where.no_wrap = True
            location = describe_location(hit)
            if location:
                where.append(f" › {location}", style="dim italic")
            where.overflow = "ellipsis"
            parts: list[object] = [head, where, ClampedText(marked_snippet(hit, mark), 2)]
            if hit.also_at:  # one line, cut to the list's width; the preview's may wrap
                copies = Text(also_at(hit, roots), style="dim", no_wrap=True)
                copies.overflow = "ellipsis"
                parts.append(copies)
            open_ = hit.document_id in self.expanded
            if hit.more_count:
                sign = "▾" if open_ else "▸"
                more = f"{sign} {hit.more_count} more in this file"
                if open_ and len(hit.more) < hit.more_count:
                    more += "  (loading…)"
                parts.append(Text(more + ("" if open_ else "  (→)"), style="dim"))
            parts.append(Text(""))
            self.hits.append(hit)
            options.append(Option(Group(*parts)))  # type: ignore[arg-type]
            for other in hit.more if open_ else []:
                place = Text("  ↳ ", style="dim")
                place.append(describe_location(other) or shown_title(other), style="italic")
                place.append(f"  {other.score:.3f}", style="dim")
                place.no_wrap, place.overflow = True, "ellipsis"
                snippet = ClampedText(Text("    ") + marked_snippet(other, mark), 2)
                self.hits.append(other)
                options.append(Option(Group(place, snippet, Text(""))))
        self.set_options(options)
        if options:
            kept = keep.chunk_id if keep is not None else None
            self.highlighted = next((i for i, h in enumerate(self.hits) if h.chunk_id == kept), 0)

    def show_message(self, message: str) -> None:
        """An explanation in place of results ("No results", "Type to search")."""
        self.hits = []
        self.set_options([Option(Text(message, style="dim italic"), disabled=True)])
