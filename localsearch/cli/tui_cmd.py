"""`localsearch tui` (also a bare `localsearch`)."""

from __future__ import annotations

from localsearch.config import Settings
from localsearch.errors import LocalSearchError


def run_tui(settings: Settings) -> None:
    raise LocalSearchError("the interactive UI is not built yet", "use `localsearch search QUERY`")


commands: list = []
