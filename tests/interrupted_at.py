"""`python -m interrupted_at POINT ARGS…`: `python -m localsearch ARGS…` sent a real SIGINT at
POINT of its start-up (tests/test_server.py), rather than after a sleep that lands somewhere.

POINT is `import:MODULE`, inside the first exec() of a string once MODULE starts importing (how
dataclasses make their methods: a Ctrl-C there was marked by CPython as unhandled even once
caught, and the process died by SIGINT), or `call:MODULE:NAME`, as the function NAME starts.
"""

from __future__ import annotations

import builtins
import importlib
import importlib.abc
import os
import runpy
import signal
import sys
from typing import Any

# Once the signal is sent: a loop, which gives Python a point to raise KeyboardInterrupt at.
SIGNALLED = "__import__('os').kill(__import__('os').getpid(), 2)\nfor _ in range(10**6): pass\n"


def interrupt_in_an_exec_from(module: str) -> None:
    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> None:
            if name == module:
                import dataclasses

                def exec_interrupted(source: str, *args: Any) -> Any:
                    del dataclasses.exec  # type: ignore[attr-defined]  # once
                    return builtins.exec(SIGNALLED + source, *args)

                dataclasses.exec = exec_interrupted  # type: ignore[attr-defined]
            return None

    sys.meta_path.insert(0, Finder())


def interrupt_as_called(module: str, name: str) -> None:
    owner: Any = importlib.import_module(module)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, attribute)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10**6):
            pass
        return original(*args, **kwargs)

    setattr(owner, attribute, interrupted)


if __name__ == "__main__":
    kind, _, where = sys.argv.pop(1).partition(":")
    if kind == "import":
        interrupt_in_an_exec_from(where)
    else:
        interrupt_as_called(*where.split(":"))
    runpy.run_module("localsearch", run_name="__main__", alter_sys=True)
