"""The preview pane: the highlighted hit's chunk in context, query words marked, scrollable.

Neighbouring chunks are shown dimmed around the hit; chunks overlap by design, so the repeated
text at each seam is dropped before display.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from localsearch.search.engine import Hit
from localsearch.search.inline_markup import strip_inline_markup
from localsearch.search.snippet import QueryMatcher
from localsearch.store.database import ChunkRow
from localsearch.terminal_text import terminal_safe
from localsearch.tui.backend import shorten_path
from localsearch.tui.widgets.results import also_at, describe_location, shown_title

# Lines that keep their own line: indented, list items, quotes, adornments, directives, and
# "Field: value" lines (a PEP's header, rst field lists), which read as a table, not prose.
_KEEP_LINE = re.compile(
    r"^(\s|[-*+•>|#]\s|\d+[.)]\s|([=\-~^\"'`#*+_.:])\2{2,}\s*$|\.\. |[A-Z][\w-]*: |:[\w -]+: )"
)
_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+_.:])\1{2,}\s*$")
# The border of a reStructuredText table, simple ("=====  =====") or grid ("+----+----+"):
# its paragraph is a table, every line kept.
_TABLE_BORDER = re.compile(r"^\s*(?:[=-]{2,}(?: +[=-]{2,})+|\+[-=]+(?:\+[-=]+)*\+)\s*$", re.M)
PROSE_TYPES = frozenset({"md", "rst", "txt", "html", "pdf", "docx", "pptx", "epub"})


def reflow(text: str) -> str:
    """Join the hard-wrapped lines of prose paragraphs so they wrap to the pane's width.

    Lines that carry structure stay on their own: indented blocks, list items, quotes, table
    rows, headings and reStructuredText adornments.
    """
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text):
        if _TABLE_BORDER.search(paragraph):
            paragraphs.append(paragraph)
            continue
        lines = paragraph.split("\n")
        out: list[str] = []
        for line in lines:
            if len(line) > 30 and _ADORNMENT.match(line):
                line = line[:30]  # a long underline would wrap into a second line
            if out and not _KEEP_LINE.match(line) and not _KEEP_LINE.match(out[-1]):
                out[-1] = out[-1].rstrip() + " " + line.strip()
            else:
                out.append(line)
        paragraphs.append("\n".join(out))
    return "\n\n".join(paragraphs)


def overlap_start(previous: str, following: str, probe: int = 12) -> int | None:
    """Where in `previous` the text begins that `following` repeats at its start, if any."""
    head = following[:probe]
    if len(head) < probe:
        return None
    position = previous.find(head, max(0, len(previous) - 4000))
    while position != -1:
        if following.startswith(previous[position:]):
            return position
        position = previous.find(head, position + 1)
    return None


def drop_overlap(previous: str, following: str) -> str:
    """`following` without the text it repeats from the end of `previous`."""
    position = overlap_start(previous, following)
    return following if position is None else following[len(previous) - position :].lstrip()


def trim_overlap(previous: str, following: str) -> str:
    """`previous` without the text that `following` repeats from its end."""
    position = overlap_start(previous, following)
    return previous if position is None else previous[:position].rstrip()


def mark_words(text: str, matcher: QueryMatcher, style: str, base_style: str = "") -> Text:
    out = Text(terminal_safe(text), style=base_style)
    if matcher:
        for start, end in matcher.spans(text):
            out.stylize(style, start, end)
    return out


class Preview(Vertical):
    """Shows a hit; `show` replaces what is there and scrolls to the hit's chunk."""

    _has_before = False  # whether the shown hit has text before it, to scroll past

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-header")
        with VerticalScroll(id="preview-body"):
            yield Static("", id="preview-before", classes="context")
            yield Static("", id="preview-hit")
            yield Static("", id="preview-after", classes="context")

    @property
    def body(self) -> VerticalScroll:
        return self.query_one("#preview-body", VerticalScroll)

    def on_mount(self) -> None:
        self.clear()
        # Laid out after the refresh that `show` scrolls after when the machine is busy: the hit's
        # place was not known yet, and the preview stayed at the top of the document.
        self.watch(self.body, "virtual_size", self._laid_out, init=False)

    def _laid_out(self) -> None:
        if self.query_one("#preview-hit", Static).has_class("-shown"):
            self.call_after_refresh(self._scroll_to_hit)

    def clear(self, message: str = "The highlighted result is previewed here.") -> None:
        self.query_one("#preview-header", Static).update(Text(message, style="dim italic"))
        for name in ("before", "hit", "after"):
            self.query_one(f"#preview-{name}", Static).update("")
        self.query_one("#preview-hit", Static).set_class(False, "-shown")
        self.body.scroll_home(animate=False)

    def show(self, hit: Hit, context: Sequence[ChunkRow], query: str, roots: Sequence[str]) -> None:
        variables = self.app.get_css_variables()
        mark = f"bold reverse {variables.get('text-warning', 'yellow')}"
        matcher = QueryMatcher(query)  # the query's words, CJK ones included
        header = Text(shown_title(hit), style="bold")
        header.append("\n")
        lines = ""
        if hit.page is None:
            lines = f":{hit.start_line}"
            if hit.end_line > hit.start_line:
                lines += f"-{hit.end_line}"
        header.append(terminal_safe(Path(hit.path).name) + lines)
        folder = terminal_safe(shorten_path(str(Path(hit.path).parent), roots))
        header.append(f"  {folder}", style="dim")
        location = describe_location(hit)
        if location:
            header.append(f"\n{location}", style="italic dim")
        if hit.also_at:
            header.append(f"\n{also_at(hit, roots)}", style="dim")
        self.query_one("#preview-header", Static).update(header)

        index = next((i for i, row in enumerate(context) if row.id == hit.chunk_id), None)
        hit_text = hit.text if index is None else context[index].text
        before = [row.text for row in context[:index]] if index is not None else []
        after = [row.text for row in context[index + 1 :]] if index is not None else []
        # Chunks overlap: the hit is shown whole, its neighbours without the repeated seams.
        if before:
            before[-1] = trim_overlap(before[-1], hit_text)
        if after:
            after[0] = drop_overlap(hit_text, after[0])
        prose = hit.doc_type in PROSE_TYPES

        def shaped(text: str) -> str:
            # Line by line, so the line numbers in the header still point at the source.
            text = strip_inline_markup(text, hit.doc_type)
            return reflow(text) if prose else text

        before_text = shaped("\n\n".join(t for t in before if t))
        after_text = shaped("\n\n".join(t for t in after if t))
        before_widget = self.query_one("#preview-before", Static)
        before_widget.update(mark_words(before_text, matcher, mark, "dim") if before_text else "")
        before_widget.display = bool(before_text)
        hit_widget = self.query_one("#preview-hit", Static)
        hit_widget.update(mark_words(shaped(hit_text), matcher, mark))
        hit_widget.set_class(True, "-shown")
        after_widget = self.query_one("#preview-after", Static)
        after_widget.update(mark_words(after_text, matcher, mark, "dim") if after_text else "")
        after_widget.display = bool(after_text)
        self._has_before = bool(before_text)
        self.call_after_refresh(self._scroll_to_hit)

    def on_resize(self) -> None:
        # The text before the hit wraps anew: the old offset would show some of it instead.
        if self.query_one("#preview-hit", Static).has_class("-shown"):
            self.call_after_refresh(self._scroll_to_hit)

    def _scroll_to_hit(self) -> None:
        if self._has_before:
            hit_widget = self.query_one("#preview-hit", Static)
            self.body.scroll_to_widget(hit_widget, animate=False, top=True)
        else:
            self.body.scroll_home(animate=False)
