"""Carrying on with a new version: noticing that localsearch's own files changed on disk (an
upgrade, an edit) and settled, and starting the same command again from them, in the same
process. `watch` and `serve --watch` run for days; left on the old code they would keep
writing the index as that version does (and rebuild what a newer one made,
lexical/catch_up.py), and a search from the new code would not trust their answers.
"""

from __future__ import annotations

import os
import sys
import time

from localsearch.server.protocol import code_stamp, code_stamp_now

CODE_SETTLE_SECONDS = 3.0  # pip replaces localsearch's files one at a time


class CodeChange:
    """Whether localsearch's own files changed since this process started, and have stayed
    as they are since for CODE_SETTLE_SECONDS (an upgrade half done does not import)."""

    def __init__(self) -> None:
        self.loaded = self.seen = code_stamp()
        self.seen_since = time.monotonic()
        self.changed = False

    def __call__(self) -> bool:
        now = code_stamp_now()
        if now != self.seen:
            self.seen, self.seen_since = now, time.monotonic()
        settled = time.monotonic() - self.seen_since >= CODE_SETTLE_SECONDS
        self.changed = now != self.loaded and settled
        return self.changed


def run_again() -> None:
    """This command again, in this process (its pid, its open inheritable files), from the
    code now on disk."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
