"""The value of search's --since: an age back from now or a date, as a Unix time.

Apart from the store's filter (store/document_filter.py), which takes the time it gives: the
CLI checks a value before it asks the server, and its client path imports no database.
"""

from __future__ import annotations

import re
from datetime import datetime

from localsearch.errors import UsageError

# An age back from now: "12h", "3d", "2w", "6m", "1y".
_AGE = re.compile(r"(\d+)\s*([hdwmy])", re.IGNORECASE)
_AGE_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400, "m": 30 * 86400, "y": 365 * 86400}


def since_time(since: str, now: float, name: str = "--since") -> float:
    """The Unix time a --since value names: an age back from `now` ("12h", "3d", "2w", "6m",
    "1y"; a month is 30 days) or a date or time in ISO form, local time ("2026-11-01").
    `name`: what the caller's face calls it, for the error (MCP's argument is `since`)."""
    text = since.strip()
    age = _AGE.fullmatch(text)
    if age is not None:
        return now - int(age.group(1)) * _AGE_UNIT_SECONDS[age.group(2).lower()]
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        raise UsageError(
            f"{name} {since!r} is neither a date nor an age",
            "give a date (2026-11-01) or an age back from now (12h, 3d, 2w, 6m, 1y)",
        ) from None
