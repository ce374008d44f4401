"""The only place with SQL: the connection, migrations and the queries the engine needs."""

from localsearch.store.database import DocumentRow, EmbeddingSpace, Store

__all__ = ["DocumentRow", "EmbeddingSpace", "Store"]
