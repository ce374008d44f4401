"""`localsearch mcp` driven by the MCP SDK's own stdio client: tools, results, bad arguments."""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from pathlib import Path

import anyio
import pytest
from helpers import index_files
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from localsearch import __version__
from localsearch.history import SearchHistory
from localsearch.store import Store

DOCS = {
    "bread.md": "# Sourdough bread\n\nA sourdough starter is flour and water colonised by wild"
    " yeast.\n\n## Feeding\n\nFeed it daily; bake when it doubles.\n",
    "notes.txt": "Beekeeping notes: a hive needs a queen, workers and drones.\n",
}


def server_parameters(home: Path) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if k in ("PYTHONPATH", "HF_HUB_OFFLINE", "PATH")}
    return StdioServerParameters(
        command=sys.executable, args=["-m", "localsearch", "mcp", "--home", str(home)], env=env
    )


def test_mcp_tools_search_get_status_and_bad_arguments(tmp_path) -> None:
    docs, home = index_files(tmp_path, DOCS)
    bread = str(docs / "bread.md")

    async def session() -> None:
        async with Client(server_parameters(home)) as client:
            assert (client.server_info.name, client.server_info.version) == (
                "localsearch",
                __version__,
            )
            tools = await client.list_tools()
            assert {"search", "get", "status"} <= {tool.name for tool in tools.tools}

            found = await client.call_tool("search", {"query": "wild yeast starter", "k": 1})
            assert not found.is_error
            assert found.structured_content["weak_match"] is False
            [hit] = found.structured_content["results"]
            assert (hit["path"], hit["lines"], hit["heading"]) == (bread, "1-7", "Sourdough bread")
            assert "wild yeast" in hit["snippet"] and hit["score"] > 0

            lines = await client.call_tool("get", {"path": bread, "start_line": 5, "end_line": 7})
            assert not lines.is_error
            assert lines.structured_content["text"] == (
                "## Feeding\n\nFeed it daily; bake when it doubles."
            )
            # `lines` as search gave them, which an agent passes on (it was ignored: the
            # whole document came back).
            same = await client.call_tool("get", {"path": bread, "lines": "5-7"})
            assert same.structured_content["text"] == lines.structured_content["text"]
            for bad in ("7-5", "abc", "5-"):
                refused = await client.call_tool("get", {"path": bread, "lines": bad})
                assert refused.is_error, bad
            whole = await client.call_tool("get", {"path": bread})
            assert whole.structured_content["text"].startswith("# Sourdough bread\n")

            status = await client.call_tool("status", {})
            assert status.structured_content["documents"] == 2

            outside = await client.call_tool("get", {"path": str(tmp_path / "secret.txt")})
            assert outside.is_error
            assert f"not an indexed document: {tmp_path / 'secret.txt'}" in outside.content[0].text
            bad_k = await client.call_tool("search", {"query": "yeast", "k": 0})
            # The tool's argument is k: the CLI's "-k" would send an agent looking for a flag.
            assert bad_k.is_error and bad_k.content[0].text.endswith(": k must be at least 1")
            bad_mode = await client.call_tool("search", {"query": "yeast", "mode": "fuzzy"})
            assert bad_mode.is_error
            bad_type = await client.call_tool("search", {"query": "yeast", "k": "ten"})
            assert bad_type.is_error
            # One line that names the argument and the value, not pydantic's report and links.
            said = bad_type.content[0].text
            assert said.startswith("bad arguments for search: k: ") and said.endswith("'ten')")
            assert "\n" not in said and "http" not in said
            missing = await client.call_tool("search", {"k": 3})
            assert missing.content[0].text == "bad arguments for search: query is required"
            # An agent's own name for an argument is refused, not ignored for the default.
            limit = await client.call_tool("search", {"query": "yeast", "limit": 1})
            assert limit.is_error and limit.content[0].text == (
                "search has no argument 'limit': it takes query, k, mode, path, types, since"
            )
            extra = await client.call_tool("status", {"verbose": True})  # "it takes " and no more
            assert extra.is_error and extra.content[0].text == (
                "status has no argument 'verbose': it takes none"
            )
            blank = await client.call_tool("search", {"query": "  "})
            assert blank.is_error and "the query is empty" in blank.content[0].text
            # A filter no file passes says why there is nothing, for an agent to fix its call.
            none = await client.call_tool("search", {"query": "yeast", "types": ["docx"]})
            assert none.structured_content["results"] == []
            # Named as the agent's arguments, not the CLI's --type flag.
            assert none.structured_content["warnings"] == [
                "no indexed file matches types ['docx'] (indexed types: md, txt)"
            ]
            assert "warnings" not in found.structured_content

            # Still answering after the errors.
            again = await client.call_tool("search", {"query": "hive queen", "mode": "bm25"})
            assert Path(again.structured_content["results"][0]["path"]).name == "notes.txt"

            # The CLI's "qwxzv plorkk": no word found, the nearest passage no closer than noise.
            nonsense = await client.call_tool("search", {"query": "qwxzv plorkk"})
            assert not nonsense.is_error and nonsense.structured_content["results"]
            assert nonsense.structured_content["weak_match"] is True

    anyio.run(session)
    store = Store(home / "localsearch.db")
    try:
        logged = SearchHistory(store).latest("mcp")
    finally:
        store.close()
    assert logged is not None and logged.query == "qwxzv plorkk"


def test_get_of_lines_needs_the_page_when_each_page_numbers_its_own(tmp_path) -> None:
    from format_fixtures import write_workbook

    from localsearch.config import load_settings
    from localsearch.errors import LocalSearchError
    from localsearch.index import Index
    from localsearch.mcp_server import Tools

    (tmp_path / "docs").mkdir()
    workbook = write_workbook(tmp_path / "docs" / "stock.xlsx")
    settings = load_settings(tmp_path / "home")
    index = Index(settings)
    try:
        index.update([workbook.parent])
    finally:
        index.close()
    tools = Tools(settings)
    try:
        budget = tools.get(str(workbook), start_line=2, end_line=2, page=2)
        assert budget["text"] == "Department: Marketing | Amount: 48250.5"
        with pytest.raises(LocalSearchError, match="stock.xlsx has pages 1-2, each numbering its"):
            tools.get(str(workbook), start_line=2, end_line=2)  # was line 2 of both sheets
        whole = tools.get(str(workbook))["text"]
        assert "hex bolts" in whole and "Glassblowing" in whole
    finally:
        tools.close()


def test_get_reads_archive_members_odd_names_and_says_when_a_file_is_gone(tmp_path) -> None:
    from localsearch.config import load_settings
    from localsearch.errors import LocalSearchError
    from localsearch.index import Index
    from localsearch.mcp_server import Tools

    docs = tmp_path / "docs"
    docs.mkdir()
    with zipfile.ZipFile(docs / "pack.zip", "w") as archive:
        archive.writestr("inner/otter.md", "# Otters\n\nSea otters hold hands while they sleep.\n")
    odd_name = os.fsdecode(b"caf\xe9.md")  # Latin-1 bytes: not a UTF-8 name
    (docs / odd_name).write_text("# Coffee\n\nA cortado is espresso cut with milk.\n")
    (docs / "gone.md").write_text("# Gone\n\nThe quagga was a zebra of the Cape.\n")
    settings = load_settings(tmp_path / "home")
    index = Index(settings)
    try:
        index.update([docs])
    finally:
        index.close()
    (docs / "gone.md").unlink()

    tools = Tools(settings)
    try:
        member = tools.get(f"{docs / 'pack.zip'} › inner/otter.md")
        assert member["text"] == "# Otters\n\nSea otters hold hands while they sleep."
        odd = tools.get(str(docs / "caf\\xe9.md"))  # as `search` shows the name
        assert (odd["path"], odd["title"]) == (str(docs / "caf\\xe9.md"), "Coffee")
        with pytest.raises(LocalSearchError, match="gone.md is gone since it was indexed"):
            tools.get(str(docs / "gone.md"))
        coffee = str(docs / "caf\\xe9.md")
        assert tools.get(coffee, start_line=3)["text"] == "A cortado is espresso cut with milk."
        assert odd["last_line"] == 3 and "warning" not in odd
        with pytest.raises(LocalSearchError, match="^bad line range 9-3: lines are 1-3$"):
            tools.get(coffee, start_line=9)  # was an empty text
        with pytest.raises(LocalSearchError, match="^bad line range 0-3: lines are 1-3$"):
            tools.get(coffee, start_line=0)  # was read as line 1
        with pytest.raises(LocalSearchError, match="^no page 2 in .*: it has no pages$"):
            tools.get(coffee, page=2)  # was an empty text
    finally:
        tools.close()
    assert not list(Path(tempfile.gettempdir()).glob("localsearch-unpack-*/**/otter.md"))


def test_get_says_when_a_file_changed_since_indexing_and_refuses_lines_past_its_end(
    tmp_path,
) -> None:
    # A start past the end gave empty text, and a file changed on disk its new lines unremarked.
    from localsearch.config import load_settings
    from localsearch.errors import LocalSearchError
    from localsearch.mcp_server import Tools

    docs, home = index_files(tmp_path, DOCS)
    bread = str(docs / "bread.md")
    tools = Tools(load_settings(home))
    try:
        whole = tools.get(bread, start_line=5, end_line=10**20)
        assert (whole["end_line"], whole["last_line"]) == (7, 7) and "warning" not in whole
        with pytest.raises(LocalSearchError, match=r"bad line range 100-7: lines are 1-7$"):
            tools.get(bread, start_line=100)
        (docs / "bread.md").write_text("Changed on disk.\n", encoding="utf-8")
        changed = tools.get(bread)
        assert changed["text"] == "Changed on disk."
        assert changed["warning"] == (
            f"{bread} changed since it was indexed: lines may not match what `search` reported;"
            " run `localsearch index` to catch up"
        )
        with pytest.raises(LocalSearchError) as refused:
            tools.get(bread, start_line=3, end_line=3)
        assert refused.value.hint is not None and "run `localsearch index`" in refused.value.hint
    finally:
        tools.close()


def piped(home: Path, lines: list[str]) -> list[dict]:
    """The messages `localsearch mcp` writes for `lines` piped into it, stdin then closed."""
    return piped_and_stderr(home, lines)[0]


def piped_and_stderr(home: Path, lines: list[str]) -> tuple[list[dict], str]:
    import json
    import subprocess

    parameters = server_parameters(home)
    done = subprocess.run(
        [parameters.command, *parameters.args],
        input="".join(line + "\n" for line in lines),
        capture_output=True,
        text=True,
        env=parameters.env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return list(map(json.loads, done.stdout.splitlines())), done.stderr


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "sh", "version": "0"},
    },
}


def test_requests_piped_in_are_all_answered_before_the_server_exits(tmp_path) -> None:
    # With stdin closed after them, only the first one or two got an answer.
    import json

    _, home = index_files(tmp_path, DOCS)
    requests = [
        INITIALIZE,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "status"}},
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "wild yeast", "k": 1}},
        },
        {"jsonrpc": "2.0", "id": 5, "method": "ping"},
    ]
    replies = {m["id"]: m for m in piped(home, [json.dumps(r) for r in requests])}
    assert sorted(replies) == [1, 2, 3, 4, 5]
    found = replies[4]["result"]["structuredContent"]["results"]
    assert Path(found[0]["path"]).name == "bread.md"


def test_lines_that_are_not_json_rpc_get_json_rpc_errors(tmp_path) -> None:
    # They went unanswered, so a client waiting on its id hung, and nothing said why.
    import json

    _, home = index_files(tmp_path, DOCS)
    replies = piped(
        home,
        [
            json.dumps(INITIALIZE),
            "{bad json",
            json.dumps({"id": 7, "method": "tools/list"}),
            json.dumps([1, 2]),
            "",
            json.dumps({"jsonrpc": "2.0", "id": 8, "method": "ping"}),
        ],
    )
    # Refusals are written as the lines are read, the SDK's answers when handled: in any order.
    answered = sorted((r.get("id") or 0, r.get("error", {}).get("code", 0)) for r in replies)
    assert answered == [(0, -32700), (0, -32600), (1, 0), (7, -32600), (8, 0)]
    parse_error = next(r for r in replies if "error" in r and r["error"]["code"] == -32700)
    assert parse_error["error"]["message"].startswith("Parse error: ")
    assert all(r["jsonrpc"] == "2.0" for r in replies)


def test_arguments_are_named_as_sent_and_refused_calls_leave_stderr_quiet(tmp_path) -> None:
    import json

    _, home = index_files(tmp_path, DOCS)

    def call(identifier: int, name: str, arguments: dict) -> str:
        params = {"name": name, "arguments": arguments}
        request = {"jsonrpc": "2.0", "id": identifier, "method": "tools/call", "params": params}
        return json.dumps(request)

    replies, stderr = piped_and_stderr(
        home,
        [
            json.dumps(INITIALIZE),
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            call(2, "search", {"query": "yeast", "since": "yesterday"}),
            call(3, "search", {"query": "yeast", "k": True}),
            call(4, "get", {"path": "bread.md", "start_line": False}),
            call(5, "search", {"query": "yeast", "path": "x/*", "types": ["md"], "since": "3d"}),
        ],
    )
    said = {r["id"]: r["result"] for r in replies if r["id"] != 1}
    assert all(said[i]["isError"] for i in (2, 3, 4))
    # The agent sent `since`: the CLI's "--since" named no argument it has.
    assert said[2]["content"][0]["text"].endswith(
        ": since 'yesterday' is neither a date nor an age (give a date (2026-11-01) or an age"
        " back from now (12h, 3d, 2w, 6m, 1y))"
    )
    # A JSON boolean is no number: true searched for one result, false asked for line 0.
    assert said[3]["content"][0]["text"] == (
        "bad arguments for search: k: Input should be a valid integer (got true)"
    )
    assert said[4]["content"][0]["text"] == (
        "bad arguments for get: start_line: Input should be a valid integer (got false)"
    )
    assert said[5]["structuredContent"]["warnings"] == [
        "no indexed file matches path 'x/*', types ['md'], since '3d' (indexed types: md, txt)"
    ]
    # The SDK logged each refused call at INFO, boxed over four lines, on the client's stderr.
    assert stderr == ""
