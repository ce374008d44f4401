"""Titles and headings come out clean at extraction: what the rendered page shows, without the
markup of its source (issue 12: "Creating reStructuredText_ Directives")."""

from __future__ import annotations

import pytest
from ingest_fixtures import corpus_file

from localsearch.ingest.extract import extract_file
from localsearch.ingest.extract_markup import clean_heading, clean_rst_heading

DOCUTILS = "docutils/docutils/docs"


@pytest.mark.parametrize(
    ("relative", "title", "heading"),
    [
        ("howto/rst-directives.rst", "Creating reStructuredText Directives", "The Directive Class"),
        ("dev/todo.rst", "Docutils To Do List", "Repository"),
        ("user/rst/quickref.html", "Quick reStructuredText", "Inline Markup"),
    ],
)
def test_docutils_titles_lose_their_markup(relative: str, title: str, heading: str) -> None:
    document = extract_file(corpus_file(f"{DOCUTILS}/{relative}"))
    assert document.title == title
    headings = [section.heading for section in document.sections]
    assert f"{title} > {heading}" in headings
    assert not [h for h in headings if "_ " in h or h.endswith("_") or "re Structured" in h]


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("`Foo bar <https://example.org>`_ and more", "Foo bar and more"),
        ("Anonymous__ link", "Anonymous link"),
        ("PEP :pep:`287` notes", "PEP 287 notes"),
        ("the |name| thing", "the name thing"),
        ("``literal`` and *emphasis*", "literal and emphasis"),
        ("__init__ and docutils.__version__ stay", "__init__ and docutils.__version__ stay"),
    ],
)
def test_rst_inline_markup_in_titles(source: str, shown: str) -> None:
    assert clean_rst_heading(source) == shown


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("运行时 API {#runtime-api}", "运行时 API"),  # VitePress, as in the CJK corpus
        ('Teleport {#teleport .tip data-x="1"}', "Teleport"),  # Pandoc attributes
        ("Installing {: #install}", "Installing"),  # kramdown
        ("フックでアクセスする\u3000{#hooks}", "フックでアクセスする"),  # an ideographic space
        ("Use `{#each}`", "Use {#each}"),  # code, not an attribute
        ("Blocks {#each items as item}", "Blocks {#each items as item}"),  # Svelte, not one
        ("{#only-an-id}", "{#only-an-id}"),  # nothing would be left
    ],
)
def test_markdown_heading_attributes_are_not_shown(source: str, shown: str) -> None:
    assert clean_heading(source) == shown


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ('MPA 模式 <Badge type="warning" text="experimental" />', "MPA 模式 experimental"),
        ('`useData` <Badge type="info" text="composable" />', "useData composable"),
        ('<a name="performance"></a>Performance', "Performance"),
        ('Suppressing inferred conformance<a name="suppression"></a>', "Suppressing inferred"
         " conformance"),
        ("Line one<br>line two", "Line one line two"),
        # Code and generics stay as written.
        ("`<Content />` component", "<Content /> component"),
        ("`Atomic<Value>`", "Atomic<Value>"),
        ("Methods of UnsafePointer<Pointee>", "Methods of UnsafePointer<Pointee>"),
    ],
)  # fmt: skip
def test_inline_html_in_markdown_headings_is_shown_as_rendered(source: str, shown: str) -> None:
    # VitePress titles read 'MPA 模式 <Badge type="warning" text="experimental" />'.
    assert clean_heading(source) == shown


def test_a_vitepress_page_title_has_no_heading_id(tmp_path) -> None:
    page = tmp_path / "teleport.md"
    page.write_text("# Teleport {#teleport}\n\n## 基本的な使い方 {#basic-usage}\n\ntext\n")
    document = extract_file(page)
    assert document.title == "Teleport"
    assert [s.heading for s in document.sections][-1] == "Teleport > 基本的な使い方"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        # mdBook's sub-chapters (the Rust book) open on an H2: the file name, in English, was the
        # title of a Chinese page.
        ("## 注释\n\n所有程序员都力求使其代码易于理解。\n", "注释"),
        (
            "---\nlayout: doc\n---\n\n### Proposal: Persistent Memory\n\nAuthors: A\n",
            "Proposal: Persistent Memory",
        ),
        ("Text before any heading.\n\n## Gcshapes\n\nMore.\n", "ch03-04-comments"),
        ("## Overview\n\nIntro.\n\n# The Real Title\n\nBody.\n", "The Real Title"),
        ("Setext second level\n-------------------\n\nBody.\n", "Setext second level"),
    ],
)
def test_a_markdown_page_that_opens_on_a_lower_heading_is_titled_by_it(text, title, tmp_path):
    path = tmp_path / "ch03-04-comments.md"
    path.write_text(text, encoding="utf-8")
    assert extract_file(path).title == title
