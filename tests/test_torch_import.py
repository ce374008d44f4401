"""A Ctrl-C held through torch's first import (localsearch/torch_import.py); the command's own
exit on it is tested in test_server.py, with a real SIGINT inside torch's import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from localsearch.torch_import import ctrl_c_held


def _signalled() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(10**5):  # where Python would run a handler
        pass


def test_a_held_ctrl_c_goes_to_the_handler_in_place_once_the_import_ends() -> None:
    said: list[str] = []
    previous = signal.signal(signal.SIGINT, lambda *_: said.append("stop"))  # serve's kind
    try:
        with ctrl_c_held():
            _signalled()
            assert said == []  # held: the import would go on
        assert said == ["stop"]
        # Ignored stays ignored (`cmd &`): nothing is raised after the import either.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with ctrl_c_held():
            _signalled()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_torch_imported_through_the_hold_is_the_module_its_spec_describes() -> None:
    # A look for torch's spec (transformers asks importlib.util.find_spec) imports it through
    # the hold: the import after gets that module, whose spec still names its files.
    code = (
        "import importlib.resources, importlib.util, sys\n"
        "from localsearch.torch_import import hold_ctrl_c_through_torch_import as hold\n"
        "hold()\n"
        "probed = importlib.util.find_spec('torch')\n"
        "import torch, torch.nn\n"
        "assert sys.modules['torch'] is torch and probed.origin == torch.__file__\n"
        "assert importlib.resources.files('torch').joinpath('__init__.py').is_file()\n"
        "print(torch.zeros(2).shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (done.returncode, done.stdout, done.stderr) == (0, "torch.Size([2])\n", "")
