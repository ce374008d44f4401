"""The `localsearch` command: the CLI, imported only once a Ctrl-C can end it quietly.

Importing the CLI takes a tenth of a second or more; a Ctrl-C in that time printed Python's
traceback, before the CLI's own handler (one line, exit 130) existed.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        try:
            from localsearch.cli import main as run
            from localsearch.torch_import import hold_ctrl_c_through_torch_import
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            sys.exit(130)
        hold_ctrl_c_through_torch_import()
        run()
    finally:
        _forget_caught_interrupts()


def _forget_caught_interrupts() -> None:
    """A Ctrl-C that lands while exec() runs a string (dataclasses and namedtuple build their
    methods so, during many an import) is marked by CPython as unhandled even once caught, and
    `python -m localsearch` (how search starts a server) then ends by SIGINT, -2, after its
    message rather than with exit 130. An exec() of a string clears the mark as it starts; one
    still unhandled (raised past here) is marked again by the interpreter."""
    exec("")
