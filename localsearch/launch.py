"""The `localsearch` command: the CLI, imported only once a Ctrl-C can end it quietly.

Importing the CLI takes a tenth of a second or more; a Ctrl-C in that time printed Python's
traceback, before the CLI's own handler (one line, exit 130) existed.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from localsearch.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        sys.exit(130)
    run()
