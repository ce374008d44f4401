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


def test_status_says_bm25_behind_a_running_index_is_brought_up_by_it(tmp_path, capsys) -> None:
    # It said "out of step; repaired on next search" while the run writing commits BM25 every
    # few seconds itself (paced commits), and no search may repair it under that run's lock.
    from localsearch.store import Store

    _, home = index_files(tmp_path, {"a.md": "# Otters\n\nSea otters.\n"})
    store = Store(home / "localsearch.db")
    with store.transaction():
        store.bump_data_version()  # a batch in SQLite that BM25 has not taken yet
    store.close()
    with WriterLock(load_settings(home).lock_path):
        _, out, _ = run_cli(["status", "--home", str(home)], capsys)
    assert "BM25 index" in out and "(a few seconds behind the index run, which brings it" in out
    _, out, _ = run_cli(["status", "--home", str(home)], capsys)
    assert "(out of step; repaired on the next search)" in out
