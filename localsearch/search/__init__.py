"""Ranking: pure fusion functions and the engine that turns a query into document hits.

The engine is imported on first use, so that `localsearch.search.modes` stays cheap for the
CLI's client path.
"""

from typing import Any

__all__ = ["Hit", "SearchEngine", "SearchResults"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from localsearch.search import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'localsearch.search' has no attribute {name!r}")
