"""An index made by an older version: the first command to open it upgrades its schema, and
`status` says so; it upgraded it without a word."""

from __future__ import annotations

import json

from helpers import as_schema_8, index_files, run_cli

from localsearch.store.migrations import MIGRATIONS


def test_status_says_when_it_upgraded_an_older_database(tmp_path, capsys) -> None:
    assert len(MIGRATIONS) == 9  # a new migration: this test's schema 8 becomes another
    _, home = index_files(tmp_path, {"a.md": "# Otters\n\nSea otters.\n"})
    as_schema_8(home)
    code, out, err = run_cli(["status", "--home", str(home)], capsys)
    assert (code, err) == (
        0,
        "Upgraded the database to this version's format (schema 8 to 9).\n",
    ), err
    assert out.startswith(f"Home:       {home}\n")
    code, _, err = run_cli(["status", "--home", str(home)], capsys)
    assert (code, err) == (0, "")  # once

    as_schema_8(home)
    code, out, _ = run_cli(["status", "--json", "--home", str(home)], capsys)
    info = json.loads(out)
    assert (code, info["schema"], info["upgraded_from_schema"]) == (0, 9, 8)


def test_an_upgrade_interrupted_by_ctrl_c_is_not_called_a_read(tmp_path, monkeypatch, capsys):
    # status said "Interrupted; nothing was written." when Ctrl-C came during the upgrade.
    _, home = index_files(tmp_path, {"a.md": "# Otters\n\nSea otters.\n"})
    as_schema_8(home)

    def interrupted(conn):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr("localsearch.store.database.migrate", interrupted)
    code, _, err = run_cli(["status", "--home", str(home)], capsys)
    assert (code, err.strip()) == (
        130,
        "Interrupted. Everything committed so far is kept and searchable; run the command"
        " again to finish.",
    )
