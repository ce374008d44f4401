"""The tantivy BM25 index: derived from SQLite, rebuilt whenever it is missing or out of step."""

from localsearch.lexical.tantivy_index import LexicalIndex, build_query_text

__all__ = ["LexicalIndex", "build_query_text"]
