"""chunk_document on real documents with the bundled tokenizer, and on small built ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_fixtures import MARKITDOWN, corpus_file

from localsearch.ingest.chunk import chunk_document
from localsearch.ingest.extract import decode_text, extract_file
from localsearch.ingest.tokens import TokenCounter, load_token_counter
from localsearch.ingest.types import Chunk, ExtractedDocument, Section

LONG_DOCUMENTS = [
    "pcre2/doc/pcre2.txt",  # 650 KB of man pages
    "docutils/docutils/docs/ref/doctree.rst",
    "python-peps/peps/pep-0008.rst",
    "swift-evolution/proposals/0166-swift-archival-serialization.md",
    "pcre2/doc/html/pcre2api.html",
    "typst-fletcher/docs/manual.pdf",
    f"{MARKITDOWN}/test.docx",
]
LINE_EXACT_DOCUMENTS = LONG_DOCUMENTS[:4] + ["multivae-paper/paper/paper.md"]


@pytest.fixture(scope="module")
def count() -> TokenCounter:
    return load_token_counter()


def chunks_of(
    relative: str, count: TokenCounter, **kwargs: int
) -> tuple[ExtractedDocument, list[Chunk]]:
    doc = extract_file(corpus_file(relative))
    return doc, chunk_document(doc, count, **kwargs)


def test_token_counter_counts_word_pieces_without_special_tokens(count: TokenCounter) -> None:
    assert count("") == 0
    assert count("hello world") == 2
    assert count("tokenization") == 2  # token ##ization
    long_text = "word " * 1000
    assert count(long_text) == 1000  # not truncated at the model's 128/256 tokens
    assert count.count_batch(["hello world", "", long_text]) == [2, 0, 1000]


@pytest.mark.parametrize("relative", LONG_DOCUMENTS)
def test_chunks_respect_the_token_limit_on_long_documents(
    relative: str, count: TokenCounter
) -> None:
    doc, chunks = chunks_of(relative, count)
    assert len(chunks) > 5
    sizes = count.count_batch([c.text for c in chunks])
    assert max(sizes) <= 250
    assert sum(sizes) / len(sizes) > 120  # chunks are filled, not crumbs
    assert all(c.text.strip() == c.text and c.text for c in chunks)
    assert all(c.start_line <= c.end_line for c in chunks)
    # Every word of the document is in some chunk (nothing lost between chunks).
    words_in_chunks = {w for c in chunks for w in c.text.split()}
    assert set(doc.text.split()) <= words_in_chunks


@pytest.mark.parametrize("relative", LINE_EXACT_DOCUMENTS)
def test_line_numbers_point_at_the_chunk_text(relative: str, count: TokenCounter) -> None:
    path = corpus_file(relative)
    lines = decode_text(path.read_bytes()).split("\n")
    _, chunks = chunks_of(relative, count)
    for chunk in chunks:
        chunk_lines = chunk.text.split("\n")
        assert chunk_lines[0] in lines[chunk.start_line - 1]
        assert chunk_lines[-1] in lines[chunk.end_line - 1]
        if "\n\n" not in chunk.text:  # merged sections are joined with a blank line
            assert chunk.end_line - chunk.start_line == len(chunk_lines) - 1


def test_smaller_limit_and_headings_follow_sections(count: TokenCounter) -> None:
    doc, chunks = chunks_of(
        "python-peps/peps/pep-0008.rst", count, max_tokens=64, overlap_tokens=16
    )
    assert max(count.count_batch([c.text for c in chunks])) <= 64
    indentation = [c for c in chunks if c.heading == "Code Lay-out > Indentation"]
    assert len(indentation) > 3
    assert "Use 4 spaces per indentation level." in indentation[0].text


def test_pdf_chunks_never_cross_pages(count: TokenCounter) -> None:
    doc, chunks = chunks_of("typst-fletcher/docs/manual.pdf", count)
    pages = {s.page: s.text for s in doc.sections}
    assert {c.page for c in chunks} == set(pages)
    for chunk in chunks:
        assert chunk.text in pages[chunk.page]
        page_lines = pages[chunk.page].split("\n")
        assert chunk.text.split("\n")[0] in page_lines[chunk.start_line - 1]
    pages_doc, page_chunks = chunks_of(f"{MARKITDOWN}/REPAIR-2022-INV-001_multipage.pdf", count)
    assert [c.page for c in page_chunks] == [1, 1, 2, 3]  # page 1 is long, the others short
    texts = {s.page: s.text for s in pages_doc.sections}
    assert all(c.text in texts[c.page] for c in page_chunks)


def test_consecutive_chunks_of_a_section_overlap(count: TokenCounter) -> None:
    _, chunks = chunks_of("pcre2/doc/pcre2.txt", count)
    pairs = [(a, b) for a, b in zip(chunks, chunks[1:], strict=False) if a.heading == b.heading]
    assert len(pairs) > 50
    overlapping = [a for a, b in pairs if b.text[:40] in a.text]
    assert len(overlapping) / len(pairs) > 0.8
    for a, b in pairs:
        if b.text[:40] in a.text:
            shared = a.text[a.text.rindex(b.text[:40]) :]
            assert b.text.startswith(shared)
            assert count(shared) <= 40


def test_small_sections_are_merged_with_related_neighbours(count: TokenCounter) -> None:
    third = "# Third\n\n" + "A long sentence about other things. " * 20
    doc = ExtractedDocument(
        title="t",
        doc_type="md",
        sections=[
            Section("# Guide\n\nIntro.", "Guide", None, 1),
            Section("## Install\n\nRun pip.", "Guide > Install", None, 5),
            Section("## Use\n\nRun it.", "Guide > Use", None, 9),
            Section("### Deep\n\nTiny.", "Other > Sub > Deep", None, 13),
            Section("#### Deeper\n\nTiny.", "Other > Sub > Deep > Deeper", None, 17),
            Section(third, "Third", None, 21),
            Section("# Fourth\n\n" + "Another long sentence here. " * 25, "Fourth", None, 25),
        ],
    )
    chunks = chunk_document(doc, count)
    assert [(c.heading, c.start_line, c.end_line) for c in chunks] == [
        ("Guide", 1, 11),  # siblings under one parent: headed by the parent
        ("Third", 13, 23),  # unrelated: headed by the biggest member
        ("Fourth", 25, 27),  # big enough on its own
    ]
    assert chunks[0].text == "# Guide\n\nIntro.\n\n## Install\n\nRun pip.\n\n## Use\n\nRun it."
    assert chunks[1].text.endswith(third.strip())


def test_a_lone_parent_heading_opens_the_next_long_section(count: TokenCounter) -> None:
    long_text = "## Part\n\n" + "\n\n".join(
        f"Paragraph {n} has some words in it." * 6 for n in range(30)
    )
    doc = ExtractedDocument(
        title="t",
        doc_type="md",
        sections=[Section("# Book", "Book", None, 1), Section(long_text, "Book > Part", None, 3)],
    )
    chunks = chunk_document(doc, count)
    assert chunks[0].text.startswith("# Book\n\n## Part\n\nParagraph 0")
    assert (chunks[0].heading, chunks[0].start_line) == ("Book > Part", 1)
    assert max(count.count_batch([c.text for c in chunks])) <= 250


def test_pages_are_never_merged_even_when_tiny(count: TokenCounter) -> None:
    doc = ExtractedDocument(
        title="t",
        doc_type="pdf",
        sections=[Section("one", page=1), Section("two", page=2), Section("  \n ", page=3)],
    )
    assert [(c.text, c.page) for c in chunk_document(doc, count)] == [("one", 1), ("two", 2)]


def test_giant_words_and_unbroken_text_are_cut(count: TokenCounter) -> None:
    blob = "x" * 3000 + " " + "abc-def_" * 400  # no spaces, no sentences, no lines
    doc = ExtractedDocument(title="t", doc_type="txt", sections=[Section(blob)])
    chunks = chunk_document(doc, count, max_tokens=50, overlap_tokens=10)
    assert len(chunks) > 10
    assert max(count.count_batch([c.text for c in chunks])) <= 50
    assert "".join(c.text for c in chunks).replace(" ", "").startswith("x" * 3000)


def test_empty_and_whitespace_documents_give_no_chunks(count: TokenCounter) -> None:
    assert chunk_document(ExtractedDocument(title="t", doc_type="txt"), count) == []
    blank = ExtractedDocument(title="t", doc_type="txt", sections=[Section(" \n\n\t ")])
    assert chunk_document(blank, count) == []


def test_output_is_deterministic_and_independent_of_batch_counting(count: TokenCounter) -> None:
    doc = extract_file(corpus_file("docutils/docutils/docs/ref/doctree.rst"))
    first = chunk_document(doc, count)
    assert chunk_document(doc, count) == first
    assert chunk_document(doc, lambda text: count(text)) == first


def test_each_text_is_tokenised_about_once(count: TokenCounter) -> None:
    doc = extract_file(corpus_file("pcre2/doc/pcre2.txt"))
    counted = 0

    def counting(text: str) -> int:
        nonlocal counted
        counted += len(text)
        return count(text)

    chunk_document(doc, counting)
    assert counted < 1.5 * len(doc.text)


def test_every_corpus_format_chunks(count: TokenCounter, tmp_path: Path) -> None:
    for relative in (
        f"{MARKITDOWN}/test.pptx",
        f"{MARKITDOWN}/test.epub",
        f"{MARKITDOWN}/test_blog.html",
        "multivae-paper/paper/paper.pdf",
    ):
        doc, chunks = chunks_of(relative, count)
        assert chunks, relative
        assert all(count(c.text) <= 250 for c in chunks)


@pytest.mark.parametrize(
    "relative", [f"{MARKITDOWN}/test_blog.html", "pcre2/doc/html/pcre2api.html"]
)
def test_html_chunks_stay_within_the_lines_of_their_file(count: TokenCounter, relative) -> None:
    # Each block of an HTML page is a line of its text, not of its source: a chunk of the
    # 69-line test_blog.html ended at line 85.
    lines = corpus_file(relative).read_bytes().count(b"\n") + 1
    _, chunks = chunks_of(relative, count)
    assert all(1 <= c.start_line <= c.end_line <= lines for c in chunks)


def test_a_small_html_page_ends_on_its_last_line(count: TokenCounter, tmp_path: Path) -> None:
    page = tmp_path / "a.html"
    page.write_text(
        "<html><head><title>T</title></head><body>\n<h1>Serval notes</h1>\n<p>The serval has"
        " long legs.</p><ul>" + "".join(f"<li>{n}</li>" for n in range(6)) + "</ul><p>end</p>\n"
        "</body></html>\n"
    )
    [chunk] = chunk_document(extract_file(page), count)
    assert (chunk.start_line, chunk.end_line) == (2, 4)
