"""A path input that completes folder names as you type (`tab` or `→` accepts)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input


def complete_folder(value: str, limit: int = 2000) -> str | None:
    """`value` extended to the first folder that starts with what was typed, with a slash."""
    if not value:
        return None
    if value.startswith("~") and os.sep not in value:
        return "~" + os.sep if value == "~" else None
    expanded = os.path.expanduser(value)
    folder, _, prefix = expanded.rpartition(os.sep)
    base = Path(folder or (os.sep if expanded.startswith(os.sep) else "."))
    try:
        names = []
        with os.scandir(base) as entries:
            for count, entry in enumerate(entries):
                if count >= limit:
                    break
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                if entry.is_dir():
                    names.append(entry.name)
    except OSError:
        return None
    names.sort(key=str.casefold)
    match = next((n for n in names if n.startswith(prefix)), None)
    if match is None:
        match = next((n for n in names if n.casefold().startswith(prefix.casefold())), None)
    if match is None:
        return None
    typed_folder = value[: len(value) - len(prefix)]
    return typed_folder + match + os.sep


class FolderSuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_folder(value)


class PathInput(Input):
    """Input for a folder path: suggests completions; `tab` accepts one, else moves focus."""

    BINDINGS = [Binding("tab", "complete_or_focus_next", "Complete", show=False)]

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("placeholder", "Folder to add, e.g. ~/Documents")
        super().__init__(suggester=FolderSuggester(), **kwargs)  # type: ignore[arg-type]

    def action_complete_or_focus_next(self) -> None:
        suggestion = self._suggestion
        if self.cursor_at_end and suggestion and suggestion != self.value:
            self.value = suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()
