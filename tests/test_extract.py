"""extract_file on real documents of every format, and on broken ones built in the test."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from ingest_fixtures import MARKITDOWN, corpus_file, one_page_pdf

from localsearch.ingest.extract import ExtractionError, detect_doc_type, extract_file
from localsearch.ingest.types import ExtractedDocument, Section


def section(doc: ExtractedDocument, heading: str) -> Section:
    return next(s for s in doc.sections if s.heading == heading)


def source_line(path: Path, number: int) -> str:
    return path.read_text(encoding="utf-8").split("\n")[number - 1]


# -- type detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "doc_type"),
    [
        ("a.md", "md"), ("A.MARKDOWN", "md"), ("a.rst", "rst"), ("a.txt", "txt"),
        ("README", "txt"), ("a.weird", "txt"), ("a.html", "html"), ("a.xhtml", "html"),
        ("a.pdf", "pdf"), ("a.docx", "docx"), ("a.pptx", "pptx"), ("a.epub", "epub"),
        ("a.py", "code"), ("a.tsx", "code"), ("Makefile", "code"), ("Dockerfile", "code"),
        ("a.toml", "code"), ("a.png", "binary"), ("a.pyc", "binary"), ("a.odt", "unsupported"),
    ],
)  # fmt: skip
def test_detect_doc_type(name: str, doc_type: str) -> None:
    assert detect_doc_type(Path(name)) == doc_type


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_proposal_sections_have_heading_paths_and_exact_lines() -> None:
    path = corpus_file("swift-evolution/proposals/0001-keywords-as-argument-labels.md")
    doc = extract_file(path)
    assert doc.doc_type == "md"
    assert doc.title == "Allow (most) keywords as argument labels"
    headings = [s.heading for s in doc.sections]
    assert headings[:3] == [
        "Allow (most) keywords as argument labels",
        "Allow (most) keywords as argument labels > Introduction",
        "Allow (most) keywords as argument labels > Motivation",
    ]
    motivation = section(doc, "Allow (most) keywords as argument labels > Motivation")
    assert motivation.start_line == 12
    assert motivation.text.startswith("## Motivation")
    for s in doc.sections:
        assert source_line(path, s.start_line) == s.text.split("\n")[0]


def test_markdown_front_matter_gives_the_title_and_is_not_text() -> None:
    path = corpus_file("multivae-paper/paper/paper.md")
    doc = extract_file(path)
    assert doc.title.startswith("MultiVae: A Python package for Multimodal Variational")
    assert "orcid" not in doc.text
    assert doc.sections[0].heading == "Summary"
    assert doc.sections[0].start_line == 37
    assert "Statement of Need > List of Models and Features" in [s.heading for s in doc.sections]


def test_markdown_setext_fences_and_nesting(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "Intro text before any heading.\n"
        "\n"
        "Guide\n"
        "=====\n"
        "\n"
        "Install\n"
        "-------\n"
        "```sh\n"
        "# not a heading\n"
        "pip install it\n"
        "```\n"
        "### From *source* ###\n"
        "Build [it](https://example.org).\n"
        "\n"
        "- a list item\n"
        "---\n"
        "# Other\n"
        "text\n"
    )
    doc = extract_file(path)
    assert doc.title == "Guide"
    assert [(s.heading, s.start_line) for s in doc.sections] == [
        ("", 1),
        ("Guide", 3),
        ("Guide > Install", 6),
        ("Guide > Install > From source", 12),
        ("Other", 17),
    ]
    assert "# not a heading" in doc.sections[2].text


# -- reStructuredText -------------------------------------------------------------------------


def test_rst_pep_title_from_header_and_nested_sections() -> None:
    path = corpus_file("python-peps/peps/pep-0008.rst")
    doc = extract_file(path)
    assert doc.doc_type == "rst"
    assert doc.title == "Style Guide for Python Code"
    indentation = section(doc, "Code Lay-out > Indentation")
    assert indentation.start_line == 71
    assert source_line(path, 71) == "Indentation"
    assert "Use 4 spaces per indentation level." in indentation.text
    assert section(doc, "Code Lay-out > Tabs or Spaces?").start_line == 197


def test_rst_levels_follow_the_order_adornments_first_appear() -> None:
    path = corpus_file("docutils/docutils/docs/user/rst/quickstart.rst")
    doc = extract_file(path)
    assert doc.title == "A ReStructuredText Primer"
    headings = [s.heading for s in doc.sections]
    assert "A ReStructuredText Primer > Sections > Document Title / Subtitle" in headings
    for s in doc.sections:
        assert source_line(path, s.start_line) == s.text.split("\n")[0]


def test_rst_overlined_title_and_subtitle(tmp_path: Path) -> None:
    path = tmp_path / "doc.rst"
    path.write_text(
        "=======\n Title\n=======\n--------\nSubtitle\n--------\n\nBody.\n\n"
        "Part\n====\n\nText::\n\n    Not a title\n    -----------\n"
    )
    doc = extract_file(path)
    assert doc.title == "Title"
    assert [(s.heading, s.start_line) for s in doc.sections] == [
        ("Title", 1),
        ("Title > Subtitle", 4),
        ("Title > Subtitle > Part", 10),
    ]


# -- HTML -------------------------------------------------------------------------------------


def test_html_blog_visible_text_title_and_sections() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test_blog.html"))
    assert doc.doc_type == "html"
    assert doc.title.startswith("Does Model and Inference Parameter Matter in LLM Applications?")
    text = doc.text
    assert "Just by tuning the inference parameters like model" in text
    assert "data-theme" not in text  # script
    assert "Blog recent posts" not in text and "Recent posts" not in text  # navigation
    headings = [s.heading for s in doc.sections]
    assert any(h.endswith("> Experiment Setup") for h in headings)
    # Block elements are separate lines: list items are not glued together.
    assert "gpt-3.5-turbo, a relatively cheap model" in text
    assert "ChatGPT app\ngpt-4, the state of the art" in text


def test_html_heading_lines_point_at_the_source() -> None:
    path = corpus_file("multivae-paper/paper/paper.html")
    doc = extract_file(path)
    assert doc.title == "Summary"
    need = section(doc, "Statement of need")
    assert '<h1 id="statement-of-need">' in source_line(path, need.start_line)


def test_html_drops_hidden_parts_and_keeps_table_cells_apart(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text(
        "<html><head><title>Page</title><style>p{color:red}</style></head><body>"
        "<nav>Home | About</nav><script>var x = 1;</script><p hidden>secret</p>"
        "<h1>Top</h1><p>One<br>Two</p><table><tr><td>a</td><td>b</td></tr></table>"
        "<h2>Sub</h2><p>Caf&eacute;&nbsp;time</p></body></html>"
    )
    doc = extract_file(path)
    assert doc.title == "Page"
    assert [s.heading for s in doc.sections] == ["Top", "Top > Sub"]
    assert doc.sections[0].text == "Top\n\nOne\nTwo\n\na | b"
    assert doc.sections[1].text == "Sub\n\nCafé time"


# -- PDF --------------------------------------------------------------------------------------


def test_pdf_manual_one_section_per_page() -> None:
    doc = extract_file(corpus_file("typst-fletcher/docs/manual.pdf"))
    assert doc.doc_type == "pdf"
    assert doc.title == "fletcher"  # no metadata title; the first line with words
    pages = [s.page or 0 for s in doc.sections]
    assert pages == sorted(pages) and pages[0] == 1 and len(pages) >= 50
    assert "A Typst package for diagrams with lots of arrows" in doc.sections[0].text
    assert all(s.start_line == 1 for s in doc.sections)
    assert "\r" not in doc.text


def test_pdf_paper_title_from_metadata() -> None:
    doc = extract_file(corpus_file("multivae-paper/paper/paper.pdf"))
    assert doc.title.startswith("MultiVae: A Python package for Multimodal")
    assert [s.page for s in doc.sections] == [1, 2, 3, 4, 5]


def test_pdf_pages_keep_their_own_text() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/REPAIR-2022-INV-001_multipage.pdf"))
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert "Gabriel Diaz" in doc.sections[0].text
    assert "Bruce Wayne" in doc.sections[1].text and "Gabriel Diaz" not in doc.sections[1].text


def test_scanned_pdf_has_no_extractable_text() -> None:
    path = corpus_file(f"{MARKITDOWN}/MEDRPT-2024-PAT-3847_medical_report_scan.pdf")
    with pytest.raises(ExtractionError, match=r"^no extractable text \(scanned PDF\?\)$"):
        extract_file(path)


def test_encrypted_pdf_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "locked.pdf"
    path.write_bytes(one_page_pdf("Hidden words", user_password="secret"))
    with pytest.raises(ExtractionError, match=r"^encrypted PDF$"):
        extract_file(path)
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(one_page_pdf("Visible words"))
    assert extract_file(plain).sections[0].text == "Visible words"


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\n garbage \n%%EOF", b"not a pdf at all", b"%PDF-1.7\n" + b"\x00" * 64],
)
def test_corrupt_pdf(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(data)
    with pytest.raises(ExtractionError, match=r"^corrupt PDF: "):
        extract_file(path)


def test_truncated_real_pdf_never_raises_anything_else(tmp_path: Path) -> None:
    data = corpus_file("multivae-paper/paper/paper.pdf").read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) // 2])
    try:
        extract_file(path)
    except ExtractionError:
        pass


# -- DOCX -------------------------------------------------------------------------------------


def test_docx_headings_paragraphs_and_tables_in_order() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test.docx"))
    assert doc.doc_type == "docx"
    assert doc.title == "AutoGen: Enabling Next-Gen LLM Applications via Multi-Agent Conversation"
    headings = [s.heading for s in doc.sections]
    assert headings[1:3] == ["Abstract", "Introduction"]
    abstract = section(doc, "Abstract")
    assert abstract.start_line == 4  # the 4th paragraph of the body
    assert abstract.text.startswith("Abstract\nAutoGen is an open-source framework")
    text = doc.text
    assert "13 | 14 | 49e168b7-d2ae-407f-a055-2167576f39a1 | 15 | 16 | 17" in text
    assert text.index("Here is a random table") < text.index("49e168b7")


def test_docx_from_python_docx_tests() -> None:
    doc = extract_file(
        corpus_file("python-docx/features/steps/test_files/par-known-paragraphs.docx")
    )
    assert doc.title == "Heading Paragraph"
    assert doc.sections[0].text == "Heading Paragraph\nNormal paragraph"
    empty_cells = extract_file(
        corpus_file("python-docx/features/steps/test_files/tbl-having-tables.docx")
    )
    assert empty_cells.sections == []  # nothing but empty tables: nothing to index
    assert empty_cells.title == "tbl-having-tables"


def test_broken_docx(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.docx"
    garbage.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(ExtractionError, match=r"^broken DOCX: "):
        extract_file(garbage)
    other_zip = tmp_path / "other.docx"
    with zipfile.ZipFile(other_zip, "w") as package:
        package.writestr("hello.txt", "hi")
    with pytest.raises(ExtractionError, match=r"^broken DOCX: "):
        extract_file(other_zip)


# -- PowerPoint, EPUB, unsupported ------------------------------------------------------------


def test_pptx_slides_are_pages_with_their_titles() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test.pptx"))
    assert doc.doc_type == "pptx"
    assert [s.page for s in doc.sections] == [1, 2, 3, 4, 5, 6]
    table_slide = doc.sections[2]
    assert table_slide.heading == "A table to test parsing:"
    assert "ColA | ColB | ColC" in table_slide.text


def test_epub_chapters_in_spine_order() -> None:
    doc = extract_file(corpus_file(f"{MARKITDOWN}/test.epub"))
    assert doc.title == "Test EPUB Document"
    assert [s.heading for s in doc.sections] == [
        "",  # the metadata: title, authors, description
        "Chapter 1: Test Content",
        "Chapter 2: More Content",
    ]
    assert "This is a blockquote for testing." in doc.sections[2].text


def test_odt_is_an_unsupported_format(tmp_path: Path) -> None:
    path = tmp_path / "letter.odt"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(ExtractionError, match=r"^unsupported format \(\.odt\)$"):
        extract_file(path)


# -- plain text and encodings -----------------------------------------------------------------


def test_plain_text_man_page_headings() -> None:
    doc = extract_file(corpus_file("pcre2/doc/pcre2.txt"))
    assert doc.doc_type == "txt"
    assert doc.title.startswith("This file contains a concatenation of the PCRE2 man pages")
    assert "INTRODUCTION" in [s.heading for s in doc.sections]


def test_extensionless_text_file() -> None:
    doc = extract_file(corpus_file("pcre2/README"))
    assert doc.doc_type == "txt"
    assert "PCRE2" in doc.title


FRENCH = "Le café crème est une boisson. À Paris, c'est déjà une tradition française.\n"
JAPANESE = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。"
RUSSIAN = "Привет, как дела? Это обычный текст на русском языке.\n"
POLISH = "Zażółć gęślą jaźń. Polska jest krajem w Europie Środkowej.\n"
CHINESE = "中华人民共和国是一个位于东亚的国家。首都是北京，最大的城市是上海。"
HEBREW = "ישראל היא מדינה במזרח התיכון. בירתה היא ירושלים."
# Short Shift-JIS that cp949 used to win: its rare Hangul, and Japanese punctuation counted as
# symbols inside words.
KANA_NOTE = "これはシフトJISのテキストです。カモノハシについて。"
SHOPPING = "買い物リスト：牛乳、卵、パン"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (FRENCH, "latin-1"), (FRENCH * 20, "cp1252"), (JAPANESE, "shift_jis"),
        (JAPANESE * 20, "shift_jis"), (JAPANESE, "euc_jp"), (RUSSIAN, "cp1251"),
        (RUSSIAN, "koi8_r"), (POLISH, "cp1250"), (CHINESE, "gbk"), (HEBREW, "cp1255"),
        (FRENCH + JAPANESE, "utf-16"), (FRENCH, "utf-16-le"), (RUSSIAN, "utf-16-be"),
        (FRENCH, "utf-8-sig"), (JAPANESE, "utf-32"), (KANA_NOTE, "shift_jis"),
        (SHOPPING, "shift_jis"), (SHOPPING, "euc_jp"),
    ],
)  # fmt: skip
def test_text_in_any_encoding(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes(text.encode(encoding))  # utf-16/utf-32/utf-8-sig write a BOM; -le/-be not
    assert extract_file(path).text == text.strip()


@pytest.mark.parametrize("text", [FRENCH * 3, JAPANESE * 3, CHINESE, "Release 🎉 — fixed ✅"])
@pytest.mark.parametrize("stray", [b"\x92", b"\xff", "中".encode()[:2]])
def test_utf8_with_a_stray_byte_stays_utf8(tmp_path: Path, text: str, stray: bytes) -> None:
    # One bad byte used to send the whole file to the legacy guess: mojibake, or "binary file".
    path = tmp_path / "note.txt"
    half = len(text) // 2
    path.write_bytes(text[:half].encode() + stray + text[half:].encode())
    assert extract_file(path).text == (text[:half] + "\ufffd" + text[half:]).strip()


def test_windows_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "crlf.md"
    path.write_bytes(b"# One\r\n\r\nfirst\r\n\r\n## Two\r\nsecond\r\n")
    doc = extract_file(path)
    assert [(s.heading, s.start_line) for s in doc.sections] == [("One", 1), ("One > Two", 5)]
    assert "\r" not in doc.text


@pytest.mark.parametrize("name", ["blob.bin.txt", "mystery", "data.md", "page.html", "x.py"])
def test_binary_content_is_rejected_whatever_the_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ExtractionError, match=r"^binary file$"):
        extract_file(path)


def test_image_is_a_binary_file() -> None:
    with pytest.raises(ExtractionError, match=r"^binary file$"):
        extract_file(corpus_file("multivae-paper/paper/code_structure.png"))


@pytest.mark.parametrize(
    "name",
    ["empty.txt", "empty.md", "blank.rst", "empty.py", "e.html"]
    # 0 bytes (`touch notes.docx`): empty, where they were reported as corrupt
    + ["empty.pdf", "empty.docx", "empty.pptx", "empty.xlsx", "empty.epub", "empty.zip"]
    + ["empty.ipynb", "empty.eml", "empty.csv"],
)
def test_empty_files_give_a_document_without_sections(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("" if name.startswith("e") else "\n  \n\t\n")
    doc = extract_file(path)
    assert doc.sections == []
    assert doc.title


# -- code -------------------------------------------------------------------------------------


def test_python_sections_from_ast(tmp_path: Path) -> None:
    path = tmp_path / "shapes.py"
    path.write_text(
        '"""Shapes."""\n'
        "import math\n"
        "\n"
        "\n"
        "# The unit circle.\n"
        "@dataclass\n"
        "class Circle(Shape):\n"
        "    r: float = 1.0\n"
        "\n"
        "    def area(self) -> float:\n"
        "        return math.pi * self.r**2\n"
        "\n"
        "\n"
        "async def fetch(url: str) -> bytes:\n"
        "    ...\n"
    )
    doc = extract_file(path)
    assert doc.doc_type == "code" and doc.title == "shapes.py"
    assert [(s.heading, s.start_line) for s in doc.sections] == [
        ("", 1),
        ("class Circle(Shape)", 5),
        ("class Circle(Shape) > def area(self) -> float", 10),
        ("async def fetch(url: str) -> bytes", 14),
    ]


def test_python_with_syntax_errors_falls_back_to_heuristics(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("def ok():\n    pass\n\ndef broken(:\n    pass\n")
    doc = extract_file(path)
    assert [(s.heading, s.start_line) for s in doc.sections] == [
        ("def ok()", 1),
        ("def broken(", 4),
    ]


def test_other_languages_split_at_top_level_definitions(tmp_path: Path) -> None:
    go = tmp_path / "main.go"
    go.write_text(
        'package main\n\nimport "fmt"\n\n// Point is a point.\ntype Point struct {\n'
        '\tX int\n}\n\nfunc (p Point) String() string {\n\tif p.X > 0 {\n\t\treturn "+"\n'
        "\t}\n\treturn fmt.Sprint(p.X)\n}\n"
    )
    assert [(s.heading, s.start_line) for s in extract_file(go).sections] == [
        ("", 1),
        ("type Point struct", 5),
        ("func (p Point) String() string", 10),
    ]
    c = tmp_path / "add.c"
    c.write_text("#include <stdio.h>\n\nstatic int add(int a, int b)\n{\n    return a + b;\n}\n")
    assert [s.heading for s in extract_file(c).sections] == ["", "static int add(int a, int b)"]
    toml = tmp_path / "config.toml"
    toml.write_text('title = "x"\n\n[server]\nport = 1\n\n[[users]]\nname = "a"\n')
    assert [s.heading for s in extract_file(toml).sections] == ["", "[server]", "[[users]]"]


# -- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "x.pdf", "x.docx", "x.pptx", "x.epub", "x.html", "x.md", "x.rst", "x.py", "x.txt",
        "x.xlsx", "x.ods", "x.csv", "x.ipynb", "x.rss", "x.xml",
    ],
)  # fmt: skip
@pytest.mark.parametrize(
    "data",
    [
        b"PK\x03\x04" + b"\xff" * 200,
        b"<html><body>" + b"<div>" * 5000 + b"deep" + b"</div>" * 5000,
        "\u2028\u2029\x0c\x0b\x1c text with odd separators \ud7ff".encode(),
    ],
)
def test_bad_input_only_ever_raises_extraction_error(
    tmp_path: Path, name: str, data: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    try:
        doc = extract_file(path)
    except ExtractionError as exc:
        assert str(exc)
    else:
        assert isinstance(doc, ExtractedDocument)


def test_unreadable_path_is_an_extraction_error(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="deleted while indexing"):
        extract_file(tmp_path / "gone.md")
    with pytest.raises(ExtractionError, match="is a directory"):
        extract_file(tmp_path)


def test_ingest_never_imports_torch_or_transformers() -> None:
    documents = [str(corpus_file(f"{MARKITDOWN}/{name}")) for name in ("test.docx", "test.pdf")]
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from localsearch.ingest import walk, extract, chunk, tokens\n"
        "count = tokens.load_token_counter()\n"
        f"for p in {documents!r}:\n"
        "    chunk.chunk_document(extract.extract_file(Path(p)), count)\n"
        "heavy = {'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
