"""Ctrl-C in a command that only reads says that nothing was written; they said an interrupted
index's "Everything committed so far is kept and searchable; run the command again to finish",
as though there were a run to finish."""

from __future__ import annotations

import pytest
from helpers import index_files, run_cli

NOTHING_WRITTEN = "Interrupted; nothing was written.\n"


def interrupted(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory):
    _, home = index_files(tmp_path_factory.mktemp("reads"), {"a.md": "# Otters\n\nSea otters."})
    return home


@pytest.mark.parametrize(
    ("args", "module", "attribute"),
    [
        (["status"], "localsearch.index.Index", "status"),
        (["status", "--skipped"], "localsearch.store.Store", "skipped"),
        (["roots"], "localsearch.index.Index", "status"),
        (["search", "otters"], "localsearch.cli.search_cmd", "run_search"),
        (["history"], "localsearch.history.SearchHistory", "searches"),
        (["models"], "localsearch.adapt.models", "list_models"),
        (["models", "list"], "localsearch.adapt.models", "list_models"),
        (["serve", "--status"], "localsearch.server.client", "ask_once_started"),
        (["mcp"], "localsearch.mcp_server", "run_stdio"),
    ],
)
def test_an_interrupted_read_says_nothing_was_written(
    home, monkeypatch, capsys, args, module, attribute
):
    monkeypatch.setattr(f"{module}.{attribute}", interrupted)
    assert run_cli([*args, "--home", str(home)], capsys) == (130, "", NOTHING_WRITTEN)


def test_an_interrupted_write_still_says_what_was_kept(home, monkeypatch, capsys):
    monkeypatch.setattr("localsearch.index.Index.remove_root", interrupted)
    code, _, err = run_cli(["roots", "--remove", "/nowhere", "--home", str(home)], capsys)
    assert (code, err.strip()) == (
        130,
        "Interrupted. Everything committed so far is kept and searchable; run the command"
        " again to finish.",
    )
