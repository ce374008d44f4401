"""`status` while another process writes to the index: it says which, and does not tell the
user to run `localsearch index`, which that run's lock would refuse."""

from __future__ import annotations

import os

from helpers import index_files, run_cli

from localsearch.config import load_settings
from localsearch.lock import WriterLock


def test_status_names_the_run_writing_to_the_index(tmp_path, capsys) -> None:
    # It said "Last index: never" and "`localsearch index` embeds the rest" during a first
    # index's text phase; running that index again only got "another localsearch process is
    # writing to this index".
    _, home = index_files(tmp_path, {"a.md": "# Otters\n\nSea otters.\n"})
    code, out, _ = run_cli(["status", "--home", str(home)], capsys)
    assert code == 0 and "Running:" not in out

    with WriterLock(load_settings(home).lock_path):
        code, out, _ = run_cli(["status", "--home", str(home)], capsys)
        json_code, json_out, _ = run_cli(["status", "--json", "--home", str(home)], capsys)
    assert code == 0
    assert (
        f"Running:    index, pid {os.getpid()}, writing to the index now; the counts here are"
        " what it has committed so far\n"
    ) in out
    assert json_code == 0 and f'"writer": "index, pid {os.getpid()}"' in json_out
