"""Hostile input and faults (issue 15): real files, real mounts and real processes, no mocks.
Here the faults of disks, data folders and arguments; test_hostile_files.py holds those of files,
test_hostile_text.py those of names and text.

Each test builds the file or the fault that once broke localsearch and asserts the clean
outcome: a clear line, a non-zero exit where the input is bad, and an index that still answers.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CORPUS, require
from helpers import write_files

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.search import SearchEngine

PEPS = CORPUS / "python-peps" / "peps"

NOTES = {
    "capybara.md": "# Capybaras\n\nThe capybara is the largest living rodent on earth.\n",
    "bread.md": "# Sourdough\n\nA recipe for sourdough bread: flour, water, salt and a starter.\n",
    "tool.py": 'def greet(name):\n    """Say hello to someone by name."""\n    return name\n',
}


def _mount(point: Path, *options: str) -> bool:
    point.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *options, str(point)], capture_output=True)
    return done.returncode == 0


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    """Mount points to unmount at the end, innermost first."""
    mounted: list[Path] = []
    yield mounted
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def tiny_tmpfs(point: Path, mounts: list[Path], size: str = "2100k") -> Path:
    if not _mount(point, "-t", "tmpfs", "-o", f"size={size}", "tmpfs"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    mounts.append(point)
    return point


def read_only_view(source: Path, point: Path, mounts: list[Path]) -> Path:
    """`source` again at `point`, read-only even for root (a bind mount remounted ro)."""
    if not _mount(point, "--bind", str(source)):
        pytest.skip("cannot bind-mount here (needs root)")
    mounts.append(point)
    if not _mount(point, "-o", "remount,ro,bind"):
        pytest.skip("cannot remount read-only here")
    return point


def index_into(home: Path, *folders: Path) -> None:
    index = Index(load_settings(home))
    try:
        index.update(list(folders))
    finally:
        index.close()


def search(home: Path, query: str, mode: str = "hybrid"):  # type: ignore[no-untyped-def]
    engine = SearchEngine(load_settings(home))
    try:
        return engine.search(query, mode=mode, k=5)
    finally:
        engine.close()


# -- 1. a full disk while tantivy writes ----------------------------------------------------


def test_disk_full_while_bm25_is_written_keeps_search_answering_and_repairs_later(tmp_path, mounts):
    docs = tmp_path / "peps"
    docs.mkdir()
    for pep in sorted(require(PEPS).glob("pep-0*.rst"))[:12]:
        shutil.copy(pep, docs)
    built = tmp_path / "built"
    index_into(built, docs)
    lexical_bytes = sum(p.stat().st_size for p in (built / "lexical").iterdir())
    database_bytes = sum(p.stat().st_size for p in built.glob("localsearch.db*"))
    margin = 48 * 1024  # room for SQLite's -shm and -wal, far less than the BM25 files
    assert lexical_bytes > 2 * margin
    # The database fits on this disk and the BM25 index does not: every rebuild runs out of
    # space, as after an index run whose SQLite commits went through and tantivy's did not.
    size_kb = (database_bytes + margin) // 1024 + 1
    disk = tiny_tmpfs(tmp_path / "disk", mounts, size=f"{size_kb}k")
    home = disk / "home"
    home.mkdir()
    for part in built.glob("localsearch.db*"):
        shutil.copy(part, home)

    results = search(home, "python packaging metadata")
    assert results.hits, "dense search answers while BM25 cannot be brought up to date"
    assert results.warnings == [
        "the BM25 index is behind the database and could not be updated now"
        " (the disk is full); showing its last good state"
    ]
    assert search(home, "python packaging metadata", mode="bm25").hits == []
    assert not (home / "lexical.new").exists()

    subprocess.run(["mount", "-o", "remount,size=20m", str(disk)], check=True)
    repaired = search(home, "python packaging metadata", mode="bm25")
    assert repaired.hits and not repaired.warnings


# -- 5. damaged BM25 files -----------------------------------------------------------------


def _scramble_segments(lexical: Path) -> None:
    for part in lexical.glob("*.idx"):
        part.write_bytes(b"\xde\xad" * (part.stat().st_size // 2 + 1))


def _delete_store(lexical: Path) -> None:
    for part in lexical.glob("*.store"):
        part.unlink()


def _garbage_meta(lexical: Path) -> None:
    (lexical / "meta.json").write_text("garbage", encoding="utf-8")


@pytest.mark.parametrize("damage", [_scramble_segments, _delete_store, _garbage_meta])
def test_damaged_bm25_files_are_rebuilt_from_sqlite_and_said(tmp_path, damage):
    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    damage(home / "lexical")

    results = search(home, "capybara rodent", mode="bm25")
    assert [Path(h.path).name for h in results.hits][:1] == ["capybara.md"]
    assert results.warnings == ["the BM25 index was damaged; rebuilt it from the database"]
    assert not search(home, "capybara rodent", mode="bm25").warnings


def test_index_and_status_notice_damaged_bm25_files(tmp_path):
    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    _delete_store(home / "lexical")
    index = Index(load_settings(home))
    try:
        assert index.status().lexical_in_step is False
        report = index.update()
        assert report.warnings == ["the BM25 index was damaged; rebuilt it from the database"]
        assert index.status().lexical_in_step is True
    finally:
        index.close()


def test_damaged_bm25_that_cannot_be_rebuilt_falls_back_to_dense(tmp_path, mounts):
    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    _garbage_meta(home / "lexical")
    view = read_only_view(home, tmp_path / "view", mounts)
    results = search(view, "capybara rodent", mode="bm25")
    assert [Path(h.path).name for h in results.hits][:1] == ["capybara.md"]
    assert len(results.warnings) == 1
    assert results.warnings[0].startswith("the BM25 index is damaged and could not be rebuilt")
    assert results.warnings[0].endswith("showing dense results only")


def test_bm25_from_an_older_version_awaiting_its_rebuild_is_not_called_damaged(tmp_path):
    # Right after an upgrade, while another run held the writer lock, a search said "the BM25
    # index is damaged and could not be rebuilt now (… Schema error …)".
    import json

    import tantivy

    from localsearch.lock import WriterLock

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    lexical = home / "lexical"
    state = json.loads((lexical / "state.json").read_text())
    shutil.rmtree(lexical)
    lexical.mkdir()
    older = tantivy.SchemaBuilder()  # a schema before this version's fields
    older.add_integer_field("chunk_id", stored=True, indexed=True, fast=True)
    older.add_text_field("body", tokenizer_name="en_stem")
    tantivy.Index(older.build(), path=str(lexical), reuse=False)
    (lexical / "state.json").write_text(json.dumps({**state, "schema": state["schema"] - 1}))
    with WriterLock(load_settings(home).lock_path):
        results = search(home, "capybara rodent", mode="bm25")
    assert [Path(h.path).name for h in results.hits][:1] == ["capybara.md"]
    assert results.warnings == [
        "the BM25 index is from another version of localsearch and is rebuilt once the process"
        " writing to the index lets go; showing dense results only"
    ]
    assert not search(home, "capybara rodent", mode="bm25").warnings  # then it is rebuilt


# -- 20. a read-only home ------------------------------------------------------------------


def test_a_read_only_home_can_be_searched(tmp_path, mounts):
    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    view = read_only_view(home, tmp_path / "view", mounts)
    for mode in ("bm25", "hybrid"):
        results = search(view, "capybara rodent", mode=mode)
        assert [Path(h.path).name for h in results.hits][:1] == ["capybara.md"]
        assert not results.warnings


def test_closing_a_read_only_bm25_view_tantivy_still_writes_in_does_not_fail(
    tmp_path, mounts, monkeypatch
):
    # tantivy's reader thread made a lock file in the view while it was removed: close() then
    # raised "Directory not empty" (1 suite run in 2 at load 6).
    import errno
    import os

    from localsearch.lexical import LexicalIndex

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    view = read_only_view(home, tmp_path / "view", mounts)
    lexical = LexicalIndex(load_settings(view).lexical_dir)
    assert lexical.search("capybara", 5)

    def still_written_in(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOTEMPTY, "Directory not empty", path)

    monkeypatch.setattr(os, "rmdir", still_written_in)
    lexical.close()


def test_a_read_only_home_answers_every_command_that_only_reads(
    tmp_path, mounts, capsys, monkeypatch
):
    # From the command line, search failed on the server's log file, and status, roots,
    # history and models "cannot open the database … move the file aside and re-index".
    from helpers import run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    view = read_only_view(home, tmp_path / "view", mounts)
    monkeypatch.setenv("LOCALSEARCH_SERVER_AUTOSTART", "1")  # as for a user: none can start here
    for command in (["search", "capybara rodent"], ["status"], ["roots"], ["history"], ["models"]):
        code, out, err = run_cli([*command, "--home", str(view)], capsys)
        assert (code, err) == (0, ""), command
        assert out, command
    code, out, err = run_cli(["search", "capybara rodent", "--home", str(view)], capsys)
    assert "capybara.md" in out.splitlines()[1]
    assert not (view / "server.log").exists()
    monkeypatch.setenv("EDITOR", "true")
    code, out, err = run_cli(["search", "capybara", "--open", "1", "--home", str(view)], capsys)
    assert code == 0 and err.startswith("Opened ")
    assert err.endswith("Note: the data folder is read-only, so this search and open are not in"
                        " your history (adapt learns from it).\n")  # fmt: skip
    read_only = (
        f"Error: the data folder {view} is read-only: nothing was changed — searching works as"
        " it is; changes need write access\n"
    )
    for command in (
        ["feedback", "1", "--good"],
        ["index"],
        ["roots", "--remove", str(docs)],
        ["serve"],  # said "Read-only file system (…/server.starting)"
        ["models", "pull", "ms-marco-MiniLM-L6-v2"],  # "Downloading…", then "Read-only file…"
    ):
        code, out, err = run_cli([*command, "--home", str(view)], capsys)
        assert (code, err) == (1, read_only), command  # index said "Read-only file system"


def test_a_read_only_home_with_an_older_database_is_read_as_it_is(
    tmp_path, mounts, capsys, monkeypatch
):
    # Every command said "the database … needs an upgrade and its folder is read-only", though
    # what schema 7 lacks only index writes; one older than reads understand still says so.
    import apsw
    from helpers import as_schema_7, run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    as_schema_7(home)
    view = read_only_view(home, tmp_path / "view", mounts)
    monkeypatch.setenv("LOCALSEARCH_SERVER_AUTOSTART", "0")
    code, out, err = run_cli(["status", "--home", str(view)], capsys)
    assert (code, err) == (
        0,
        "Note: the database is in an older version's format (schema 7; this version's is 9),"
        " read as it is; the first command with write access to its folder upgrades it.\n",
    )
    assert out.startswith(f"Home:       {view}\n")
    for command in (["search", "capybara rodent"], ["roots"], ["history"], ["models"]):
        code, out, err = run_cli([*command, "--home", str(view)], capsys)
        assert (code, err) == (0, ""), command
        assert out, command
    code, out, _ = run_cli(["search", "capybara rodent", "--home", str(view)], capsys)
    assert "capybara.md" in out.splitlines()[1]

    conn = apsw.Connection(str(home / "localsearch.db"))
    conn.execute("DELETE FROM schema_migrations WHERE version = 7")
    conn.close()
    for command in (["status"], ["search", "capybara rodent"]):
        code, out, err = run_cli([*command, "--home", str(view)], capsys)
        assert (code, out) == (1, ""), command
        assert err == (
            f"Error: the database {view / 'localsearch.db'} is from an older version and needs"
            " an upgrade, which its read-only folder does not allow — run `localsearch status`"
            " once with write access to it\n"
        )


# -- 10. a private data folder ------------------------------------------------------------------


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_data_folder_is_private_whatever_the_umask(tmp_path, capsys):
    import os

    from helpers import run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    previous = os.umask(0o022)
    try:
        code, _, _ = run_cli(["index", str(docs), "-q", "--home", str(home)], capsys)
    finally:
        os.umask(previous)
    assert code == 0
    assert _mode(home) == 0o700
    assert _mode(home / "localsearch.db") == 0o600
    assert _mode(home / "lexical") == 0o700
    assert {_mode(p) for p in (home / "lexical").iterdir()} == {0o600}


def test_an_existing_open_data_folder_is_tightened(tmp_path, capsys):
    from helpers import run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    code, _, _ = run_cli(["status", "--home", str(home)], capsys)
    assert code == 0
    assert _mode(home) == 0o700
    assert {_mode(p) for p in home.rglob("*") if p.is_file()} == {0o600}


def test_a_home_that_holds_the_user_s_own_files_leaves_them_as_they_were(tmp_path, capsys):
    from helpers import run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "projects"
    script = home / "tools" / "deploy.sh"
    script.parent.mkdir(parents=True)
    script.write_text("echo deploy\n")
    script.chmod(0o755)
    (home / "readme.txt").write_text("mine\n")
    (home / "readme.txt").chmod(0o444)
    home.chmod(0o755)
    index_into(home, docs)
    (home / "localsearch.db").chmod(0o644)
    home.chmod(0o755)
    code, _, _ = run_cli(["status", "--home", str(home)], capsys)
    assert code == 0
    assert (_mode(home), _mode(home / "localsearch.db")) == (0o700, 0o600)
    assert (_mode(script), _mode(script.parent)) == (0o755, 0o755)
    assert _mode(home / "readme.txt") == 0o444


def test_an_empty_home_is_refused_rather_than_taken_as_the_current_folder(
    tmp_path, capsys, monkeypatch
):
    from helpers import run_cli

    monkeypatch.chdir(tmp_path)
    for args in (["status", "--home", ""], ["--home", " ", "status"]):
        code, out, err = run_cli(args, capsys)
        assert code == 2
        assert "Invalid value for '--home': is empty: name a folder" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["../../../victim", "/tmp/elsewhere", "a/b", ".hidden", ""])
def test_adapt_refuses_a_model_name_that_is_not_one_folder(tmp_path, capsys, name):
    from helpers import run_cli

    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "notes.txt").write_text("precious\n")
    home = tmp_path / "home"
    code, out, err = run_cli(["adapt", "--home", str(home), "--name", name], capsys)
    assert code == 2
    assert err.startswith(f"Error: cannot name a model {name!r} — use letters, digits")
    assert (victim / "notes.txt").read_text() == "precious\n"
    assert not home.exists()


# -- 11. model weights changed in place ---------------------------------------------------------


def test_search_refuses_a_model_whose_files_changed_since_indexing(tmp_path):
    from localsearch.errors import ModelMismatchError
    from localsearch.ingest.tokens import bundled_tokenizer_path

    model = tmp_path / "my-model"
    shutil.copytree(bundled_tokenizer_path().parent, model)
    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index = Index(load_settings(home))
    try:
        index.update([docs], model=str(model))
    finally:
        index.close()
    weights = next(model.glob("*.safetensors"))
    with weights.open("r+b") as handle:  # swap two 1 KB runs of weights: same size, same names
        handle.seek(40_000)
        first = handle.read(1024)
        second = handle.read(1024)
        handle.seek(40_000)
        handle.write(second + first)
    with pytest.raises(ModelMismatchError) as caught:
        search(home, "capybara", mode="dense")
    assert str(caught.value) == (
        f"the files of model {str(model)!r} changed since the index was built"
        " (run `localsearch index --reembed`)"
    )
    hybrid = search(home, "capybara")  # the words still match: BM25 answers, and says so
    assert [hit.dense_rank for hit in hybrid.hits] == [None]
    assert "capybara" in hybrid.hits[0].text.lower()
    assert hybrid.warnings == [
        f"the files of model {str(model)!r} changed since the index was built: results are"
        " BM25 alone (run `localsearch index --reembed`)"
    ]


# -- 12 and 14-17. arguments, configuration and bookkeeping ------------------------------------


def test_a_result_count_past_the_knn_limit_still_searches(tmp_path, capsys):
    from helpers import run_cli

    home = tmp_path / "home"
    index_into(home, write_files(tmp_path / "docs", NOTES))
    for mode in ("hybrid", "dense"):
        code, out, err = run_cli(["search", "capybara", "-k", "2049", "--mode", mode], capsys)
        assert (code, err) == (0, ""), err
        assert "capybara.md" in out


def test_a_home_that_is_a_file_is_said_to_be_one(isolated_home, tmp_path, capsys):
    from helpers import run_cli

    isolated_home.write_text("not a folder", encoding="utf-8")
    docs = write_files(tmp_path / "docs", NOTES)
    expected = (
        f"Error: LOCALSEARCH_HOME {isolated_home} is not a folder"
        " — point it at a folder (it is created if missing)\n"
    )
    for args in (["search", "capybara"], ["index", str(docs)]):
        code, out, err = run_cli(args, capsys)
        assert (code, out, err) == (2, "", expected)
    # Below a file: "no index … run `localsearch index PATH`", which then failed.
    inside = isolated_home / "sub"
    for args in (["status"], ["index", str(docs)]):
        code, out, err = run_cli([*args, "--home", str(inside)], capsys)
        assert (code, out, err) == (
            2,
            "",
            f"Error: --home {inside} is not a folder: {isolated_home} is a file"
            " — point it at a folder (it is created if missing)\n",
        )


def test_skip_records_of_files_that_are_gone_are_dropped(tmp_path):
    docs = write_files(
        tmp_path / "docs", {**NOTES, "a.exe": "x", "b.exe": "x", "c.exe": "x", "d.docx": "x"}
    )
    home = tmp_path / "home"
    index_into(home, docs)
    for name in ("a.exe", "b.exe", "d.docx"):
        (docs / name).unlink()
    index = Index(load_settings(home))
    try:
        index.update()
        assert index.status().skipped == 1
        assert index.store.skipped() == [(str(docs / "c.exe"), "binary file")]
    finally:
        index.close()


# -- 21. no "unexpected" errors -----------------------------------------------------------------


def test_no_message_in_the_package_calls_an_error_unexpected():
    package = Path(__file__).resolve().parents[1] / "localsearch"
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in sorted(package.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "unexpected" in line.lower()
    ]
    assert offenders == []
