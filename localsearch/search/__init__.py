"""Ranking: pure fusion functions and the engine that turns a query into document hits."""

from localsearch.search.engine import Hit, SearchEngine, SearchResults

__all__ = ["Hit", "SearchEngine", "SearchResults"]
