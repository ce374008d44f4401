"""Copies of one file are one result that says where the others are ("also at"), in every
face; filters come first; `--duplicates` (setting collapse_duplicates) shows every copy."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from helpers import run_cli, write_files
from tui_helpers import index_folder, result_list, running, screen_text, search_for

from localsearch.config import load_settings
from localsearch.search.engine import SearchEngine

REPORT = (
    "# Lighthouse keepers' report\n\nThe Bell Rock lighthouse keepers logged the foghorn,"
    " the lamp oil and the storm damage of 1897 in one ledger.\n"
)
# One character apart: a different file, never a copy.
REPORT_EDITED = REPORT.replace("1897", "1898")
OTHERS = {
    "bread.md": "# Sourdough bread\n\nA starter is flour and water colonised by wild yeast.\n",
    "bees.txt": "Beekeeping notes: a hive needs a queen, workers and drones.\n",
}


def zipped(name: str, text: str) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr(name, text)
    return data.getvalue()


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(docs, home): the report in Documents, a copy in Downloads under another name, a copy
    inside an archive, an edited version, and two unrelated files."""
    base = tmp_path_factory.mktemp("copies")
    docs = write_files(
        base / "docs",
        {
            "Documents/report.md": REPORT,
            "Downloads/report (1).md": REPORT,
            "Downloads/keepers.zip": zipped("report.md", REPORT),
            "drafts/report.md": REPORT_EDITED,
            **OTHERS,
        },
    )
    index_folder(load_settings(base / "home"), docs)
    return docs, base / "home"


def search(home: Path, capsys, *args: str) -> tuple[int, str, str]:
    return run_cli(["search", *args, "--home", str(home)], capsys)


def search_json(home: Path, capsys, *args: str) -> list[dict]:
    code, out, err = search(home, capsys, *args, "--json")
    assert code == 0, err
    return list(json.loads(out)["results"])


QUERY = "Bell Rock lighthouse keepers foghorn ledger 1897"  # the edited report says 1898


def test_copies_are_one_result_with_also_at_and_an_edited_file_is_not_a_copy(
    copies, capsys
) -> None:
    docs, home = copies
    results = search_json(home, capsys, QUERY, "-k", "4")
    paths = [r["path"] for r in results]
    report_copies = {
        str(docs / "Documents/report.md"),
        str(docs / "Downloads/report (1).md"),
        f"{docs / 'Downloads/keepers.zip'} › report.md",
    }
    shown = [p for p in paths if p in report_copies]
    assert len(shown) == 1  # the three copies, one result
    [report] = [r for r in results if r["path"] == shown[0]]
    assert sorted([report["path"], *report["also_at"]]) == sorted(report_copies)
    # The edited version differs by one character: its own result, with no copies.
    [edited] = [r for r in results if r["path"] == str(docs / "drafts/report.md")]
    assert "also_at" not in edited
    assert len(paths) == len(set(paths)) == 4  # k distinct documents, the others filling in
    assert all("also_at" not in r for r in results if r is not report)

    code, out, _ = search(home, capsys, QUERY, "-k", "4")
    assert code == 0
    assert f"   also at: {', '.join(report['also_at'])}" in out.splitlines()
    assert out.count("also at:") == 1


def test_k_counts_distinct_documents_and_looks_deeper_when_copies_fill_the_candidates(
    tmp_path, capsys, monkeypatch
) -> None:
    # Five copies and two other files; with one candidate asked per place the first look
    # holds copies only, and the search must look deeper for a second document.
    files: dict[str, str | bytes] = {f"copy{n}/report.md": REPORT for n in range(5)}
    docs = write_files(tmp_path / "docs", {**files, "drafts/report.md": REPORT_EDITED, **OTHERS})
    home = tmp_path / "home"
    index_folder(load_settings(home), docs)
    monkeypatch.setenv("LOCALSEARCH_CANDIDATES", "1")
    results = search_json(home, capsys, QUERY, "-k", "2", "--mode", "bm25")
    assert len({r["path"] for r in results}) == 2
    first, second = results
    assert len(first["also_at"]) == 4 and second["path"] == str(docs / "drafts/report.md")
    code, out, _ = search(home, capsys, QUERY, "-k", "2", "--mode", "bm25")
    copies = ", ".join(first["also_at"][:2])
    assert f"   also at: {copies} and 2 more" in out.splitlines()


def test_copies_past_the_first_hashes_read_still_leave_k_documents(tmp_path, capsys) -> None:
    # Hashes are read for the first 20 candidates at k=2, then 20 more while k is not full.
    files: dict[str, str | bytes] = {f"copy{n:02}/report.md": REPORT for n in range(30)}
    docs = write_files(tmp_path / "docs", {**files, "drafts/report.md": REPORT_EDITED})
    home = tmp_path / "home"
    index_folder(load_settings(home), docs)
    first, second = search_json(home, capsys, QUERY, "-k", "2", "--mode", "bm25")
    assert len(first["also_at"]) == 29 and second["path"] == str(docs / "drafts/report.md")


def test_filters_apply_before_copies_collapse(copies, capsys) -> None:
    docs, home = copies
    # Inside Downloads, the archive's copy is the other copy; the one in Documents is
    # outside the filter and not offered.
    [report] = search_json(home, capsys, QUERY, "-k", "1", "--path", "Downloads/*")
    assert {report["path"], *report["also_at"]} == {
        str(docs / "Downloads/report (1).md"),
        f"{docs / 'Downloads/keepers.zip'} › report.md",
    }
    [report] = search_json(home, capsys, QUERY, "-k", "1", "--path", "Documents/*")
    assert report["path"] == str(docs / "Documents/report.md") and "also_at" not in report


def test_duplicates_flag_env_and_config_show_every_copy(copies, capsys, monkeypatch) -> None:
    docs, home = copies

    def report_results(*args: str) -> list[dict]:
        results = search_json(home, capsys, QUERY, "-k", "4", *args)
        return [r for r in results if "report" in r["path"] and "drafts" not in r["path"]]

    every = report_results("--duplicates")
    assert len(every) == 3 and all("also_at" not in r for r in every)
    assert len(report_results()) == 1
    monkeypatch.setenv("LOCALSEARCH_COLLAPSE_DUPLICATES", "0")
    assert len(report_results()) == 3
    assert len(report_results("--no-duplicates")) == 1  # the flag over the environment
    monkeypatch.delenv("LOCALSEARCH_COLLAPSE_DUPLICATES")
    (home / "config.toml").write_text("collapse_duplicates = false\n")
    try:
        assert len(report_results()) == 3
    finally:
        (home / "config.toml").unlink()


def test_the_server_collapses_as_the_client_settings_say(copies) -> None:
    from localsearch.server.protocol import PROTOCOL_VERSION, search_settings
    from localsearch.server.service import SearchServer

    _, home = copies
    server = SearchServer(load_settings(home), idle_seconds=0)
    try:
        for collapse, expected in ((True, 1), (False, 3)):
            reply = server.reply_to(
                {
                    "protocol": PROTOCOL_VERSION,
                    "op": "search",
                    "query": QUERY,
                    "k": 4,
                    "settings": search_settings(load_settings(home, collapse_duplicates=collapse)),
                }
            )
            paths = [r["path"] for r in reply["results"]["results"]]
            assert sum("report" in p and "drafts" not in p for p in paths) == expected
    finally:
        server.engine.close()


def test_mcp_search_names_the_copies_and_get_reads_the_one_shown(copies) -> None:
    from localsearch.mcp_server import Tools

    docs, home = copies
    tools = Tools(load_settings(home))
    try:
        [hit] = tools.search(QUERY, k=1, path="Documents/*")["results"]
        assert hit["path"] == str(docs / "Documents/report.md") and "also_at" not in hit
        [hit] = tools.search(QUERY, k=1)["results"]
        assert sorted([hit["path"], *hit["also_at"]]) == sorted(
            [
                str(docs / "Documents/report.md"),
                str(docs / "Downloads/report (1).md"),
                f"{docs / 'Downloads/keepers.zip'} › report.md",
            ]
        )
        assert tools.get(hit["path"])["path"] == hit["path"]  # the copy shown
        [plain] = tools.search("wild yeast starter", k=1)["results"]
        assert "also_at" not in plain
    finally:
        tools.close()


async def test_tui_lists_and_previews_the_copies_and_opens_the_one_shown(
    tmp_path: Path,
) -> None:
    from tui_helpers import RecordingOpener

    docs = write_files(
        tmp_path / "docs",
        {"Documents/report.md": REPORT, "Downloads/report (1).md": REPORT, **OTHERS},
    )
    settings = load_settings(tmp_path / "home")
    index_folder(settings, docs)
    opener = RecordingOpener()
    async with running(settings, opener, size=(160, 40), mode="bm25") as pilot:
        app = pilot.app
        await search_for(pilot, QUERY)
        hits = result_list(app).hits
        assert sum("report" in hit.path for hit in hits) == 1
        [copy] = hits[0].also_at
        shown = screen_text(app)
        # The list says it on one line, the preview's header too (where it lists them all),
        # each path from its indexed folder down.
        copy_shown = "docs/" + str(Path(copy).relative_to(docs))
        assert shown.count(f"also at: {copy_shown}") == 2
        await pilot.press("tab", "enter")
        assert [path for _, path, _ in opener.calls] == [Path(hits[0].path)]


def test_engine_collapse_keeps_rank_order_and_counts_deleted_documents_as_themselves() -> None:
    from localsearch.search.duplicates import collapse_by_hash

    hashes = {1: "a", 2: "b", 3: "a", 4: "c", 5: "b", 6: "a"}
    collapsed = collapse_by_hash([1, 2, 3, 4, 9, 5, 6], 3, hashes)
    assert collapsed.best == [1, 2, 4]
    assert collapsed.copies == {1: [3, 6], 2: [5]}  # copies of 9 (deleted): none, it is itself
    assert collapse_by_hash([3, 1], 1, hashes).best == [3]


def test_also_at_line_names_three_and_counts_past_that() -> None:
    from localsearch.cli.search_cmd import also_at_line

    assert also_at_line(["/a", "/b", "/c"]) == "also at: /a, /b, /c"
    assert also_at_line(["/a", "/b", "/c", "/d"]) == "also at: /a, /b and 2 more"
    assert also_at_line(["/a\nb"]) == "also at: /a\u240ab"


def test_eval_keeps_copies_apart(tmp_path: Path) -> None:
    # Judgements are by corpus id: a copy folded into "also at" would read as a miss.
    from localsearch.evaluate import evaluate

    bread = {"title": "Sourdough", "text": "A starter of flour and water leavens bread."}
    corpus = [{"_id": "d1", **bread}, {"_id": "d1-copy", **bread}]
    corpus.append({"_id": "d2", "title": "Glaciers", "text": "Ice sheets carve valleys."})
    dataset = tmp_path / "beir"
    (dataset / "qrels").mkdir(parents=True)
    (dataset / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in corpus) + "\n")
    (dataset / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "bread starter"}))
    (dataset / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1-copy\t1\n"
    )
    report = evaluate(dataset, home=tmp_path / "home", modes=["bm25"])
    assert report.modes["bm25"].recall_at_100 == 1.0


def test_the_engine_setting_off_keeps_copies_apart(copies) -> None:
    _, home = copies
    engine = SearchEngine(load_settings(home, collapse_duplicates=False))
    try:
        hits = engine.search(QUERY, k=4, mode="bm25").hits
    finally:
        engine.close()
    assert sum("report" in h.path and "drafts" not in h.path for h in hits) == 3
    assert all(not hit.also_at for hit in hits)
