"""The user's own search history: what was searched, shown, opened and marked.

It lives only in the user's database and never leaves the machine; `record_history = false`
turns recording off. adapt learns from it and `eval --history` scores models on it.
"""

from localsearch.history.log import ACTIONS, SOURCES, LoggedSearch, SearchHistory, open_history

__all__ = ["ACTIONS", "SOURCES", "LoggedSearch", "SearchHistory", "open_history"]
