"""search --since: files modified since a date or within an age, from the CLI (in process and
through the server), MCP and the TUI's Since filter; a bad value is a one-line error."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from helpers import run_cli
from test_server import serve_in_thread
from tui_helpers import SIZE, make, result_list, search_for, searched, settle

from localsearch.config import load_settings
from localsearch.index import Index

DAY = 86400
# Name, days since it was last modified, text: every file mentions bees.
FILES = [
    ("fresh.md", 1, "# Hive inspection\n\nThe bees were calm this morning."),
    ("month.md", 20, "# Swarming\n\nBees swarm when the hive is crowded."),
    ("old.md", 400, "# Honey harvest\n\nBees make honey from nectar."),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("since")
    docs = base / "docs"
    docs.mkdir()
    now = time.time()
    for name, days, text in FILES:
        (docs / name).write_text(text, encoding="utf-8")
        os.utime(docs / name, (now - days * DAY, now - days * DAY))
    index = Index(load_settings(base / "home"))
    try:
        index.update([docs])
    finally:
        index.close()
    return base / "home"


def found(home: Path, capsys, *args: str) -> set[str]:
    code, out, err = run_cli(["search", "bees hive", "--home", str(home), "--json", *args], capsys)
    assert code == 0, err
    return {Path(hit["path"]).name for hit in json.loads(out)["results"]}


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        ("7d", {"fresh.md"}),
        ("1w", {"fresh.md"}),
        ("30d", {"fresh.md", "month.md"}),
        ("1m", {"fresh.md", "month.md"}),
        ("2y", {"fresh.md", "month.md", "old.md"}),
        (time.strftime("%Y-%m-%d", time.localtime(time.time() - 10 * DAY)), {"fresh.md"}),
        ("2000-01-01", {"fresh.md", "month.md", "old.md"}),
    ],
)
@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_since_keeps_files_modified_within_an_age_or_since_a_date(
    home, capsys, since, expected, mode
) -> None:
    assert found(home, capsys, "--since", since, "--mode", mode) == expected


def test_a_since_no_file_passes_is_named(home, capsys) -> None:
    code, out, err = run_cli(["search", "bees", "--since", "1h", "--home", str(home)], capsys)
    assert (code, out, err) == (0, "No results.\n", "Warning: no indexed file matches --since 1h\n")


@pytest.mark.parametrize("since", ["yesterday", "3x", "2026-13-01", ""])
def test_a_since_that_is_no_date_or_age_is_a_one_line_error(home, capsys, since) -> None:
    code, out, err = run_cli(["search", "bees", "--since", since, "--home", str(home)], capsys)
    assert code == 2 and out == ""
    assert err == (
        f"Error: --since {since!r} is neither a date nor an age — give a date (2026-11-01) or an"
        " age back from now (12h, 3d, 2w, 6m, 1y)\n"
    )


def test_the_server_filters_by_since_too(home, capsys) -> None:
    server, thread = serve_in_thread(home, idle_seconds=0)
    try:
        assert found(home, capsys, "--since", "7d") == {"fresh.md"}
        assert server.served == 1
    finally:
        server.stop()
        thread.join(10)


def test_mcp_search_takes_since(home) -> None:
    from localsearch.errors import UsageError
    from localsearch.mcp_server import Tools

    tools = Tools(load_settings(home))
    try:
        results = tools.search("bees hive", since="30d")["results"]
        assert {Path(hit["path"]).name for hit in results} == {"fresh.md", "month.md"}
        with pytest.raises(UsageError, match="neither a date nor an age"):
            tools.search("bees", since="soon")
    finally:
        tools.close()


async def test_the_tui_since_filter_narrows_the_results(home) -> None:
    from textual.widgets import Select

    app = make(load_settings(home))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.mode = "bm25"
        await search_for(pilot, "bees hive")
        assert {Path(h.path).name for h in result_list(app).hits} == {
            "fresh.md",
            "month.md",
            "old.md",
        }
        app.screen.query_one("#since-filter", Select).value = "7d"
        await searched(pilot)
        assert {Path(h.path).name for h in result_list(app).hits} == {"fresh.md"}
