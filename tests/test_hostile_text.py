"""Hostile text (issue 15): file names and queries that are not UTF-8, and control
characters in documents and names, which must be shown, never obeyed by the terminal.

Split from test_hostile.py, which holds the faults of disks, data folders and arguments
(test_hostile_files.py, those of files).
"""

from __future__ import annotations

from helpers import write_files
from test_hostile import NOTES, index_into, search

from localsearch.config import load_settings
from localsearch.index import Index

# -- 4 and 13. names and queries that are not valid UTF-8 ---------------------------------------


def test_file_names_that_are_not_utf8_are_indexed_losslessly_and_open_at_their_path(
    tmp_path, capsys
):
    import json
    import os

    from helpers import run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    odd = os.path.join(os.fsencode(docs), b"caf\xe9 llamas.md")
    with open(odd, "wb") as handle:
        handle.write(b"# Llamas\n\nThe llama is a domesticated camelid from the Andes.\n")
    # No heading: the title is the name, and its odd byte stopped the whole run.
    with open(os.path.join(os.fsencode(docs), b"n\xe9e.py"), "wb") as handle:
        handle.write(b"def alpaca_shearing(): pass\n")
    home = tmp_path / "home"
    index = Index(load_settings(home))
    try:
        report = index.update([docs])
        assert (report.added, report.skipped) == (5, [])
        again = index.update()
        assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    finally:
        index.close()

    hit = search(home, "domesticated camelid llama").hits[0]
    assert hit.path == str(docs / "caf\\xe9 llamas.md")
    with open(hit.os_path, "rb") as handle:
        assert b"camelid" in handle.read()
    assert os.fsencode(hit.os_path) == odd

    code, out, err = run_cli(["search", "camelid", "--json", "--home", str(home)], capsys)
    assert (code, err) == (0, "")
    assert json.loads(out)["results"][0]["path"] == str(docs / "caf\\xe9 llamas.md")
    code, out, err = run_cli(["search", "camelid", "--home", str(home)], capsys)
    assert code == 0 and "caf\\xe9 llamas.md" in out
    [named] = search(home, "alpaca shearing", mode="bm25").hits
    assert named.title == "n\\xe9e.py"


def test_queries_and_path_filters_that_are_not_utf8_search_instead_of_crashing(tmp_path, capsys):
    from helpers import run_cli

    docs = write_files(tmp_path / "docs", NOTES)
    home = tmp_path / "home"
    index_into(home, docs)
    code, out, err = run_cli(["search", "caf\udce9 capybara", "--home", str(home)], capsys)
    assert (code, err) == (0, "")
    assert "capybara.md" in out.splitlines()[1]
    code, out, err = run_cli(
        ["search", "capybara", "--path", "caf\udce9*", "--home", str(home)], capsys
    )
    # Named as it is stored (backslash escapes), and no file's name matches it.
    assert (code, out, err) == (
        0,
        "No results.\n",
        "Warning: no indexed file matches --path 'caf\\xe9*'\n",
    )


# -- 9. control characters never reach the terminal ---------------------------------------------


def test_escape_sequences_in_documents_and_names_are_shown_not_obeyed(tmp_path, capsys):
    from helpers import run_cli

    docs = write_files(
        tmp_path / "docs",
        {
            "evil\x1b[2J.md": "# Pwned\x1b]0;pwned\x07 title\n\nThe capybara\x1b[31m swims.\n",
            "noise\x1b[2J.exe": "binary",
        },
    )
    home = tmp_path / "home"
    code, _, err = run_cli(["index", str(docs), "-v", "-q", "--home", str(home)], capsys)
    assert code == 0
    assert f"skipped {docs}/noise\u241b[2J.exe: binary file" in err
    code, out, err = run_cli(["search", "capybara", "--home", str(home)], capsys)
    assert code == 0 and err == ""
    assert "\x1b" not in out and "\x07" not in out
    assert "Pwned\u241b]0;pwned\u2407 title" in out
    assert f"{docs}/evil\u241b[2J.md:1-3" in out


def test_a_newline_in_a_file_name_cannot_forge_a_line_of_output(tmp_path, capsys):
    from helpers import run_cli

    forged = "fake\n2. INJECTED  9.9999\n   x.md"
    docs = write_files(
        tmp_path / "docs",
        {f"{forged}.md": "# Hoatzin\n\nThe hoatzin lives here.\n", "a\nskipped b.exe": "bin"},
    )
    home = tmp_path / "home"
    code, _, err = run_cli(["index", str(docs), "-v", "-q", "--home", str(home)], capsys)
    assert code == 0
    assert f"skipped {docs}/a\u240askipped b.exe: binary file\n" in err
    code, out, err = run_cli(["search", "hoatzin", "--home", str(home)], capsys)
    assert code == 0 and err == ""
    assert [line[:3] for line in out.splitlines()] == ["1. ", "   ", "   "]  # one result
    assert f"{docs}/fake\u240a2. INJECTED  9.9999\u240a   x.md.md:1-3" in out


def test_highlights_stay_on_the_matched_words_after_control_characters():
    from localsearch.cli.output import highlighted

    text = "\x07\x07\x1b[2J the capybara swims"
    start = text.index("capybara")
    shown = highlighted(text, [(start, start + len("capybara"))])
    span = shown.spans[0]
    assert shown.plain[span.start : span.end] == "capybara"


def test_bidirectional_overrides_are_shown_not_obeyed():
    from localsearch.terminal_text import terminal_safe

    # Trojan-source reordering: each control becomes one visible character, offsets kept.
    text = "access\u202e\u2066 admin\u2069\u202c ok"
    assert terminal_safe(text) == "access\ufffd\ufffd admin\ufffd\ufffd ok"
