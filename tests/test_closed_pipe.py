"""Output into a pipe whose reader went away (`localsearch search … | head -1`): a quiet end
with 141, what a shell reports for `git log | head -1`, never "Error" or a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import index_files

NOTES = {
    "fox.md": "# Fox\n\nThe quick brown fox jumps over the lazy dog.\n",
    "bread.md": "# Sourdough\n\nA recipe for bread: flour, water, salt and a starter.\n",
}


@pytest.mark.parametrize(
    "command",
    [
        ["search", "fox"],
        ["search", "fox", "--json"],
        ["history"],
        ["history", "--json"],
        ["roots"],
        ["status"],
        ["status", "--json"],
        ["--help"],
    ],
)
def test_output_into_a_closed_pipe_ends_quietly_with_141(tmp_path, monkeypatch, command):
    # It ended with exit 1 and no word: rich and click each turn a closed pipe into exit 1.
    _, home = index_files(tmp_path, NOTES)
    monkeypatch.setenv("LOCALSEARCH_SERVER_AUTOSTART", "0")
    search = [sys.executable, "-m", "localsearch", "search", "fox", "--home", str(home)]
    subprocess.run(search, capture_output=True, check=True)  # a search for history to list
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: every write fails
    try:
        done = subprocess.run(
            [sys.executable, "-m", "localsearch", *command, "--home", str(home)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, ""), command
