"""The interactive TUI (textual): search as you type, preview, open, manage the index.

Importing this package does not import textual's app machinery until `make_app` is used, so
the CLI's start-up stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localsearch.tui.app import LocalSearchApp, make_app

__all__ = ["LocalSearchApp", "make_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from localsearch.tui import app

        return getattr(app, name)
    raise AttributeError(name)
