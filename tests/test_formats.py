"""Spreadsheets, csv, notebooks, feeds, and what PPTX and EPUB hold beyond their body text:
extracted with their structure, and found by `localsearch search` in both modes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from format_fixtures import (
    ATOM_FEED,
    NOTES_MARKER,
    RSS_FEED,
    SAMPLE_NOTEBOOK,
    pptx_with_notes,
    write_workbook,
)
from helpers import run_cli
from ingest_fixtures import MARKITDOWN, corpus_file

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.ingest.extract import ExtractionError, detect_doc_type, extract_file

REAL = Path(__file__).parent / "fixtures" / "markitdown"  # real files, see NOTICE.md there
SHIFT_JIS_CSV = "品名,型番,数量\n六角ボルト,KX-4471,120\n座金,WS-0093,300\n"


@pytest.mark.parametrize(
    ("name", "doc_type"),
    [
        ("a.xlsx", "sheet"), ("a.XLS", "sheet"), ("a.ods", "sheet"), ("a.csv", "csv"),
        ("a.tsv", "csv"), ("a.ipynb", "ipynb"), ("a.rss", "feed"), ("a.atom", "feed"),
        ("a.xml", "code"),
    ],
)  # fmt: skip
def test_detect_new_formats(name: str, doc_type: str) -> None:
    assert detect_doc_type(Path(name)) == doc_type


# -- spreadsheets and csv ---------------------------------------------------------------------


def test_markitdown_xlsx_rows_carry_their_headers_and_sheet_names() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test.xlsx"))
    assert doc.doc_type == "sheet"
    assert [(s.heading, s.page) for s in doc.sections] == [
        ("Sheet1", 1),
        ("09060124-b5e7-4717-9d07-3c046eb", 2),
    ]
    first, second = doc.sections
    assert first.text.split("\n")[:2] == [
        "Alpha | Beta | Gamma | Delta",
        "Alpha: 89 | Beta: 82 | Gamma: 100 | Delta: 12",
    ]
    assert "ColC: 15 | ColD: affc7dad-52dc-4b98-9b5d-51e65d8a8ad0" in second.text


def test_openpyxl_workbook_dates_numbers_and_sheets(tmp_path: Path) -> None:
    doc = extract_file(write_workbook(tmp_path / "stock.xlsx"))
    assert [s.heading for s in doc.sections] == ["Inventory", "Budget 2025"]
    inventory, budget = (s.text.split("\n") for s in doc.sections)
    assert inventory[2] == (
        "Item: anchor brackets | Supplier: Würth | Quantity: 75 | Received: 2024-04-17"
    )
    assert budget[1:] == [
        "Department: Marketing | Amount: 48250.5",
        "Department: Glassblowing workshop | Amount: 9100",
    ]


def test_shift_jis_csv_rows_with_header(tmp_path: Path) -> None:
    path = tmp_path / "部品.csv"
    path.write_bytes(SHIFT_JIS_CSV.encode("shift_jis"))
    doc = extract_file(path)
    assert doc.doc_type == "csv"
    assert doc.sections[0].text.split("\n") == [
        "品名 | 型番 | 数量",
        "品名: 六角ボルト | 型番: KX-4471 | 数量: 120",
        "品名: 座金 | 型番: WS-0093 | 数量: 300",
    ]


def test_real_xls_and_ms_kanji_csv() -> None:
    legacy = extract_file(REAL / "test.xls")
    assert [s.heading for s in legacy.sections] == ["Sheet1", "09060124-b5e7-4717-9d07-3c046eb"]
    assert "ColC: 15 | ColD: affc7dad-52dc-4b98-9b5d-51e65d8a8ad0" in legacy.sections[1].text
    kanji = extract_file(REAL / "test_mskanji.csv")
    assert kanji.sections[0].text.split("\n")[-1] == "名前: 髙橋淳 | 年齢: 35 | 住所: 名古屋"


def test_csv_without_header_semicolons_and_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text('12;"two\nlines";3\n\n4;5;6\n', encoding="utf-8")
    section = extract_file(path).sections[0]
    # Blank lines keep each row on its own line of the file: "4;5;6" is line 4.
    assert section.text.split("\n") == ["12 | two lines | 3", "", "", "4 | 5 | 6"]
    assert section.start_line == 1


def test_long_csv_chunks_point_at_their_rows(tmp_path: Path) -> None:
    from localsearch.ingest.chunk import chunk_document
    from localsearch.ingest.tokens import load_token_counter

    rows = [f'{n},"plot {n}\nnorth side",{n * 7}' if n % 10 == 0 else f"{n},plot {n},{n * 7}"
            for n in range(1, 400)]  # fmt: skip
    path = tmp_path / "plots.csv"
    path.write_text("id,name,yield\n\n" + "\n".join(rows) + "\n", encoding="utf-8")
    file_lines = path.read_text(encoding="utf-8").split("\n")
    chunks = chunk_document(extract_file(path), load_token_counter(), max_tokens=120)
    assert len(chunks) > 5
    for chunk in chunks:
        first_row = next(line for line in chunk.text.split("\n") if line.startswith("id: "))
        row_id = first_row.split(" | ")[0].removeprefix("id: ")
        assert file_lines[chunk.start_line - 1].startswith(f"{row_id},") or (
            chunk.start_line == 1 and chunk.text.startswith("id | name | yield")
        )


def test_tsv_and_blank_files(tmp_path: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_text("name\tcolour\nfinch\tred, brown\n", encoding="utf-8")
    assert extract_file(tsv).sections[0].text.split("\n")[1] == "name: finch | colour: red, brown"
    blank = tmp_path / "blank.csv"
    blank.write_text(",,\n,,\n", encoding="utf-8")
    assert extract_file(blank).sections == []


def test_broken_workbook_is_an_extraction_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(ExtractionError):
        extract_file(path)


# -- notebooks --------------------------------------------------------------------------------


def test_notebook_cells_in_order_with_outputs_and_cell_lines(tmp_path: Path) -> None:
    path = tmp_path / "survey.ipynb"
    path.write_text(SAMPLE_NOTEBOOK, encoding="utf-8")
    doc = extract_file(path)
    assert (doc.doc_type, doc.title) == ("ipynb", "Plankton survey")
    assert [s.heading for s in doc.sections] == [
        "Plankton survey > cell 1",
        "Plankton survey > cell 2",
        "Plankton survey > cell 3",
        "Plankton survey > Salinity > cell 4",
        "Plankton survey > Salinity > cell 5",
    ]
    assert doc.sections[2].text == "print(counts.total.sum())\n\ncopepod total 48213"
    assert doc.sections[4].text == "salinity.describe()\n\nmean salinity 33.9 psu"
    assert "iVBORw0K" not in doc.text
    lines = path.read_text(encoding="utf-8").split("\n")
    for section in doc.sections:
        assert lines[section.start_line - 1].strip() == f'"cell_type": "{_kind(section.text)}",'


def _kind(text: str) -> str:
    return "markdown" if text.startswith("#") or text.startswith("Haloclines") else "code"


def test_real_jupyter_notebook() -> None:
    doc = extract_file(REAL / "test_notebook.ipynb")
    assert doc.title == "Test Notebook"
    assert [(s.heading, s.start_line) for s in doc.sections[:3]] == [
        ("Test Notebook > cell 1", 4),
        ("Test Notebook > cell 2", 12),
        ("Test Notebook > Code Cell Below > cell 3", 30),
    ]
    assert doc.sections[1].text == 'print("markitdown")\n\nmarkitdown'


def test_broken_notebook(tmp_path: Path) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    with pytest.raises(ExtractionError, match=r"^broken notebook: invalid JSON at line 1$"):
        extract_file(path)
    path.write_text(json.dumps({"metadata": {}}), encoding="utf-8")
    with pytest.raises(ExtractionError, match=r"^broken notebook: no cells$"):
        extract_file(path)


# -- feeds ------------------------------------------------------------------------------------


def test_rss_items_not_raw_xml(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(RSS_FEED, encoding="utf-8")
    doc = extract_file(path)
    assert (doc.doc_type, doc.title) == ("feed", "Harbour Notes")
    assert [s.heading for s in doc.sections] == ["Caulking a clinker dinghy", "Winter mooring"]
    lines = RSS_FEED.split("\n")
    assert [lines[s.start_line - 1].strip() for s in doc.sections] == ["<item>", "<item>"]
    assert doc.sections[0].text.split("\n") == [
        "Caulking a clinker dinghy",
        "https://example.org/caulking",
        "Tue, 05 Mar 2024 09:00:00 GMT",
        "Oakum and pine tar seal the planks.",
    ]
    assert "<" not in doc.text


def test_atom_entries(tmp_path: Path) -> None:
    path = tmp_path / "orchard.atom"
    path.write_text(ATOM_FEED, encoding="utf-8")
    doc = extract_file(path)
    assert doc.title == "Orchard log"
    entry = doc.sections[0].text.split("\n")
    assert entry[:3] == [
        "Grafting the russet apples",
        "https://example.org/grafting",
        "2024-04-01T10:00:00Z",
    ]
    assert " ".join(" ".join(entry[3:]).split()) == (
        "Whip and tongue grafts on scionwood cut in January."
    )


def test_entity_expansion_bomb_in_a_feed_is_refused(tmp_path: Path) -> None:
    entities = "".join(
        f'<!ENTITY {name} "{("&" + previous + ";") * 20}">'
        for previous, name in zip("abcdef", "bcdefg", strict=True)
    )
    path = tmp_path / "lol.rss"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"a" * 100}">{entities}]>'
        "<rss><channel><title>&g;</title></channel></rss>",
        encoding="utf-8",
    )
    with pytest.raises(ExtractionError, match=r"^broken feed: limit on input amplification"):
        extract_file(path)


def test_other_xml_is_still_code(tmp_path: Path) -> None:
    path = tmp_path / "pom.xml"
    path.write_text("<project><name>feedback</name></project>\n", encoding="utf-8")
    assert extract_file(path).doc_type == "code"


# -- PowerPoint and EPUB ----------------------------------------------------------------------


def test_pptx_chart_alt_text_and_table_cells() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test.pptx"))
    chart_slide = doc.sections[3].text.split("\n")
    assert chart_slide[1:] == [
        "Chart: a3f6004b-6f4f-4ea8-bee3-3741f4dc385f",
        "Series 1: 2000: 2000 | 2001: 2001 | 2002: 2002 | 2003: 2003",
    ]
    assert "Image: The first page of the AutoGen ArXiv paper." in doc.sections[1].text
    assert doc.sections[5].text.endswith("Image: This phrase of the caption is Human-written.")
    assert "7 | 8 | 9 | 1b92870d-e3b5-4e65-8153-919f4ff45592" in doc.sections[2].text


def test_pptx_speaker_notes(tmp_path: Path) -> None:
    path = pptx_with_notes(corpus_file(f"{MARKITDOWN}/test.pptx"), tmp_path / "talk.pptx")
    first = extract_file(path).sections[0]
    assert first.text.endswith(f"Notes: {NOTES_MARKER}")


def test_epub_metadata_section() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test.epub"))
    assert doc.sections[0].text.split("\n") == [
        "Test EPUB Document",
        "by Test Author",
        "A test EPUB document for MarkItDown testing",
    ]


# -- found by search --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def formats_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("formats")
    docs = base / "docs"
    docs.mkdir()
    for name in ("test.xlsx", "test.epub"):
        shutil.copy(corpus_file(f"{MARKITDOWN}/{name}"), docs / name)
    pptx_with_notes(corpus_file(f"{MARKITDOWN}/test.pptx"), docs / "talk.pptx")
    write_workbook(docs / "stock.xlsx")
    (docs / "parts.csv").write_bytes(SHIFT_JIS_CSV.encode("shift_jis"))
    (docs / "survey.ipynb").write_text(SAMPLE_NOTEBOOK, encoding="utf-8")
    (docs / "harbour.rss").write_text(RSS_FEED, encoding="utf-8")
    (docs / "orchard.xml").write_text(ATOM_FEED, encoding="utf-8")
    home = base / "home"
    index = Index(load_settings(home))
    try:
        report = index.update([docs])
    finally:
        index.close()
    assert report.skipped == []
    return home


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
@pytest.mark.parametrize(
    ("query", "name", "expected"),
    [
        ("affc7dad-52dc-4b98-9b5d-51e65d8a8ad0", "test.xlsx", "ColD: affc7dad"),
        ("Glassblowing workshop", "stock.xlsx", "Department: Glassblowing workshop | Amount: 9100"),
        ("KX-4471", "parts.csv", "型番: KX-4471"),
        ("copepod total", "survey.ipynb", "copepod total 48213"),
        ("Caulking clinker dinghy", "harbour.rss", "Caulking a clinker dinghy"),
        ("russet apples grafting", "orchard.xml", "Grafting the russet apples"),
        ("a3f6004b-6f4f-4ea8-bee3-3741f4dc385f", "talk.pptx", "Series 1: 2000: 2000"),
        ("reviewers from Oslo", "talk.pptx", NOTES_MARKER),
        ("Test Author", "test.epub", "by Test Author"),
    ],
)
def test_search_finds_cells_outputs_items_charts_and_metadata(
    formats_home: Path, capsys: pytest.CaptureFixture[str], query: str, name: str,
    expected: str, mode: str,
) -> None:  # fmt: skip
    code, out, err = run_cli(
        ["search", query, "--mode", mode, "-k", "3", "--home", str(formats_home), "--json"],
        capsys,
    )
    assert code == 0, err
    top = json.loads(out)["results"][0]
    assert Path(top["path"]).name == name
    assert expected in " ".join(top["snippet"].split())


@pytest.mark.parametrize(
    ("query", "name", "where"),
    [
        ("Glassblowing workshop", "stock.xlsx", "sheet"),
        ("reviewers from Oslo", "talk.pptx", "slide"),
    ],
)
def test_results_say_sheet_and_slide_not_page(
    formats_home: Path, capsys: pytest.CaptureFixture[str], query: str, name: str, where: str
) -> None:
    code, out, err = run_cli(
        ["search", query, "--mode", "bm25", "-k", "1", "--home", str(formats_home)], capsys
    )
    assert code == 0, err
    location = out.splitlines()[1]
    assert Path(location.split(":")[0].strip()).name == name
    assert re.search(rf"\({where} \d+\)", location), location
