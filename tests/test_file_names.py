"""A file's name as BM25 terms: "PEP 8" finds pep-0008.rst, "lecture 5" lecture05.md, while a
query's incidental small number ("python 3 strings") pulls up no file that shares only it."""

from __future__ import annotations

from pathlib import Path

import pytest

from localsearch.config import load_settings
from localsearch.index import Index
from localsearch.ingest.mailbox import mailbox_member_name
from localsearch.lexical.file_names import NameTerms, file_name_terms, query_name_terms
from localsearch.search.engine import SearchEngine

# Files that mention "PEP 8" and "lecture 5" beat, on their words, the files so named.
FILES = {
    "peps/pep-0008.rst": "Style Guide for Python Code\n\nConventions for indentation and naming.",
    "peps/pep-0001.rst": "PEP Purpose and Guidelines\n\nA PEP such as PEP 8 says what a PEP is;"
    " PEP 8 and PEP 7 are style PEPs, and every PEP links PEP 8.",
    "peps/pep-0012.rst": "PEP Template\n\nFollow PEP 8 for code in a PEP; PEP 8 applies.",
    "lectures/lecture05.md": "# Fourier transforms\n\nSignals as sums of waves.",
    "lectures/lecture06.md": "# Laplace transforms\n\nAs lecture 5 showed, and lecture 5 again.",
    "notes/swift-3_0.md": "# Swift release notes\n\nWhat changed in the language.",
    "notes/text.md": "# Text\n\nStrings hold unicode.",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("names")
    for name, text in FILES.items():
        (root / "docs" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_text(text, encoding="utf-8")
    settings = load_settings(root / "home")
    index = Index(settings)
    try:
        index.update([root / "docs"])
    finally:
        index.close()
    engine = SearchEngine(settings)
    yield engine
    engine.close()


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("PEP 8", "pep-0008.rst"),
        ("pep 0008", "pep-0008.rst"),
        ("pep-0008", "pep-0008.rst"),
        ("pep8", "pep-0008.rst"),
        ("lecture 5", "lecture05.md"),
        ("python 3 strings", "text.md"),
    ],
)
def test_a_file_named_by_a_number_comes_first_for_that_number(engine, mode, query, expected):
    hits = engine.search(query, mode=mode, k=3).hits
    # Each side's score too: hybrid's "lecture 5" leads by 0.025 of fused score (0.431 vs 0.406)
    # and a failure that named only the files left nothing to tell which side moved.
    assert Path(hits[0].path).name == expected, [
        (Path(h.path).name, h.score, h.bm25_score, h.dense_score) for h in hits
    ]


def test_full_width_numbers_as_an_ime_types_them_find_the_file_too(engine):
    hits = engine.search("ＰＥＰ ８", mode="bm25", k=3).hits
    assert Path(hits[0].path).name == "pep-0008.rst"


def test_a_name_gives_its_numbers_padded_and_not_and_its_words():
    assert file_name_terms("/docs/peps/pep-0008.rst") == NameTerms([("0008", "8")], ["pep", "rst"])
    assert file_name_terms("/x/notes.zip › term 2/Lecture05.pdf") == NameTerms(
        [("05", "5")], ["lecture05", "lecture", "pdf"]
    )
    # A number inside a word, or one that ends it unpadded, is no place in a series.
    assert file_name_terms("/a/0464-utf8span-utf8.md").numbers == [("0464", "464")]
    assert query_name_terms("ＰＥＰ ８") == NameTerms([("8",)], ["pep"])
    # A query's word and number written together are both looked up; a name's only when padded.
    assert query_name_terms("pep8 style") == NameTerms([("8",)], ["pep8", "pep", "style"])


def test_a_mailbox_message_s_own_number_is_not_a_name_number():
    name = mailbox_member_name(b"Subject: Lunch on Friday\r\n\r\nSee you.", 10)
    assert name.startswith("0010 ")
    terms = file_name_terms(f"/mail/all.mbox › {name}")
    assert terms == NameTerms([], ["lunch", "on", "friday", "eml"])
    subject_numbers = file_name_terms(
        "/mail/all.mbox › " + mailbox_member_name(b"Subject: Top 10 tips\r\n\r\n", 7)
    )
    assert subject_numbers.numbers == [("10",)]
