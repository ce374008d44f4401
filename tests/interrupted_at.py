"""`python -m interrupted_at POINT ARGS…`: `python -m localsearch ARGS…` sent a real SIGINT at
POINT of its start-up (tests/test_server.py), rather than after a sleep that lands somewhere.

POINT is `import:MODULE`, inside the first exec() of a string once MODULE starts importing (how
dataclasses make their methods: a Ctrl-C there was marked by CPython as unhandled even once
caught, and the process died by SIGINT), `call:MODULE:NAME`, as the function NAME starts, or
`callback:NAME`, as the C function NAME first calls back into Python (torch's C++ does as torch
is imported: `_multiprocessing_init` imports a module, and a KeyboardInterrupt raised there met
C++ that cannot pass it on, and the process aborted).
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


def interrupt_in_a_callback_from(name: str) -> None:
    calling: dict[int, list[Any]] = {}  # a frame's C calls under way

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "c_call":
            calling.setdefault(id(frame), []).append(arg)
        elif event in ("c_return", "c_exception") and calling.get(id(frame)):
            calling[id(frame)].pop()
        elif event == "call" and frame.f_back is not None:
            under_way = calling.get(id(frame.f_back))
            if under_way and getattr(under_way[-1], "__name__", None) == name:
                sys.setprofile(None)
                os.kill(os.getpid(), signal.SIGINT)  # raised as the callback starts

    sys.setprofile(profile)


if __name__ == "__main__":
    kind, _, where = sys.argv.pop(1).partition(":")
    if kind == "import":
        interrupt_in_an_exec_from(where)
    elif kind == "callback":
        interrupt_in_a_callback_from(where)
    else:
        interrupt_as_called(*where.split(":"))
    runpy.run_module("localsearch", run_name="__main__", alter_sys=True)
