"""The skipped files: each path the last index runs could not index, and why.

What `localsearch index --verbose` prints, kept in the store's skip records so it can be read
at any time: from the folders screen (`s`), the command palette, or the notification after an
index run that skipped something.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from localsearch.terminal_text import terminal_safe
from localsearch.tui.backend import shorten_path


def describe_skipped(path: str, reason: str, roots: Sequence[str]) -> Group:
    """Two lines: the file name and its folder (shortened to its root), then the reason."""
    name = Text(terminal_safe(Path(path).name), style="bold")
    folder = shorten_path(str(Path(path).parent), roots)
    name.append(f"  {terminal_safe(folder)}", style="dim")
    name.no_wrap, name.overflow = True, "ellipsis"
    return Group(name, Text(f"  {terminal_safe(reason)}", style="italic"))


def skipped_title(count: int) -> str:
    if not count:
        return "No skipped files: every file found was indexed."
    return f"{count:,} skipped file{'s' if count != 1 else ''} and why (esc closes)"


class SkippedScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,s", "dismiss", "Close")]

    def __init__(self, skipped: Sequence[tuple[str, str]], roots: Sequence[str]) -> None:
        super().__init__()
        self.skipped = list(skipped)
        self.roots = list(roots)

    def compose(self) -> ComposeResult:
        with Vertical(id="skipped-body"):
            yield Static(skipped_title(len(self.skipped)), classes="screen-title")
            yield OptionList(
                *(
                    Option(describe_skipped(path, reason, self.roots), id=str(number))
                    for number, (path, reason) in enumerate(self.skipped)
                ),
                id="skipped-list",
            )

    def on_mount(self) -> None:
        listing = self.query_one("#skipped-list", OptionList)
        listing.display = bool(self.skipped)
        listing.focus()
