"""torch's first import, with a Ctrl-C held until it is done.

torch's C++ calls back into Python as it loads; a KeyboardInterrupt raised in one of those
callbacks meets C++ that cannot pass it on, and the process aborted (exit -6, "terminate called
after throwing an instance of 'pybind11::error_already_set'" or 'python_error') rather than say
"Interrupted" and exit 130. torch is imported in many modules and by sentence-transformers, so
rather than wrap each import, `launch` puts a finder first on sys.meta_path that every first
`import torch` passes through. Only the main thread runs signal handlers: an import on another
thread (index loads its model beside the text phase) is not interrupted, and is left be.
"""

from __future__ import annotations

import copy
import importlib
import importlib.abc
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import FrameType, ModuleType
from typing import Any


def hold_ctrl_c_through_torch_import() -> None:
    """From now on, a Ctrl-C during torch's first import on the main thread waits for its end."""
    if "torch" not in sys.modules:
        sys.meta_path.insert(0, _TorchFinder())


class _TorchFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        # Only the main thread runs signal handlers (a thread's import cannot be interrupted).
        if name != "torch" or threading.current_thread() is not threading.main_thread():
            return None
        sys.meta_path.remove(self)
        # Imported whole here, and the Ctrl-C raised after: one raised by a loader has importlib
        # drop torch from sys.modules, and a second import of torch fails.
        with ctrl_c_held():
            module = importlib.import_module(name)
        # The import statement under way takes the spec of a module in sys.modules and would
        # run it again: this copy's loader hands the module over as it is. (A look that only
        # finds the spec, importlib.util.find_spec, leaves the copy, which reads as the real.)
        real = module.__spec__
        assert real is not None  # set by the import just done
        spec = copy.copy(real)
        spec.loader = _Imported(module, real)
        module.__spec__ = spec
        return spec


class _Imported(importlib.abc.Loader):
    """The loader of a module already imported, which puts its own spec back."""

    def __init__(self, module: ModuleType, spec: ModuleSpec) -> None:
        self.module, self.spec = module, spec

    def __getattr__(self, name: str) -> Any:  # resources, source: the real loader's
        return getattr(self.spec.loader, name)

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec


@contextmanager
def ctrl_c_held() -> Iterator[None]:
    """A SIGINT within is delivered as it ends, to the handler in place before it."""
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous: Any = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler not set from Python, which could not be put back
        yield
        return
    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)
