"""The vector index: chunk embeddings in a ``sqlite-vec`` ``vec0`` table, reached through apsw.

This Python's ``sqlite3`` cannot load extensions, so the vectors live in their own SQLite file
beside the store, opened with ``apsw`` (which can). One ``vec0`` table per embedding dimension
(``chunk_vectors_<dim>``), keyed by the chunk's id in the store, partitioned by vector store,
with cosine distance; its KNN query is sqlite-vec's own (exact, no home-made index).
Vectors are written only for chunks already committed in the store and deleted after their
chunks, so a crash can leave at most vectors whose chunk is gone; searches ignore those.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

VECTORS_SUFFIX = ".vectors"


def vector_path_for(database_url: str) -> str | None:
    """Return the vector index file beside a SQLite store (``None``: in-memory or not SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return str(Path(url.database).expanduser()) + VECTORS_SUFFIX


class VectorIndex:
    """Embeddings of chunks, by chunk id; thread-safe (one apsw connection behind a lock)."""

    def __init__(self, path: str) -> None:
        import apsw
        import sqlite_vec

        self._lock = threading.Lock()
        self._connection = apsw.Connection(path)
        self._connection.enable_load_extension(True)
        self._connection.load_extension(sqlite_vec.loadable_path())
        self._connection.enable_load_extension(False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.set_busy_timeout(10_000)
        self._tables: set[int] = set()

    def close(self) -> None:
        """Close the index file."""
        with self._lock:
            self._connection.close()

    def _table(self, dimensions: int) -> str:
        name = f"chunk_vectors_{int(dimensions)}"
        if dimensions not in self._tables:
            self._connection.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING vec0("
                "chunk_id INTEGER PRIMARY KEY, vector_store_id TEXT PARTITION KEY, "
                f"embedding FLOAT[{int(dimensions)}] distance_metric=cosine)"
            )
            self._tables.add(dimensions)
        return name

    def _existing_tables(self) -> list[str]:
        rows = self._connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING vec0%'"
        )
        return [row[0] for row in rows]

    def add(
        self, vector_store_id: str, items: Iterable[tuple[int, Sequence[float]]]
    ) -> None:
        """Store ``(chunk_id, embedding)`` pairs of one vector store (one transaction)."""
        import sqlite_vec

        with self._lock, self._connection:
            for chunk_id, embedding in items:
                table = self._table(len(embedding))
                self._connection.execute(
                    f"INSERT OR REPLACE INTO {table}(chunk_id, vector_store_id, embedding) "  # noqa: S608
                    "VALUES (?, ?, ?)",
                    (chunk_id, vector_store_id, sqlite_vec.serialize_float32(list(embedding))),
                )

    def delete(self, chunk_ids: Iterable[int]) -> None:
        """Remove the vectors of these chunks (any dimension)."""
        ids = list(chunk_ids)
        if not ids:
            return
        with self._lock, self._connection:
            for table in self._existing_tables():
                self._connection.executemany(
                    f"DELETE FROM {table} WHERE chunk_id = ?",  # noqa: S608
                    [(chunk_id,) for chunk_id in ids],
                )

    def nearest(
        self, vector_store_ids: Sequence[str], embedding: Sequence[float], k: int
    ) -> list[tuple[int, float]]:
        """Find the ``k`` nearest chunks over the stores: ``(chunk_id, cosine similarity)``."""
        import sqlite_vec

        table = f"chunk_vectors_{len(embedding)}"
        blob = sqlite_vec.serialize_float32(list(embedding))
        found: list[tuple[int, float]] = []
        with self._lock:
            if table not in self._existing_tables():
                return []
            for store_id in vector_store_ids:
                rows = self._connection.execute(
                    f"SELECT chunk_id, distance FROM {table} WHERE embedding MATCH ? "  # noqa: S608
                    "AND k = ? AND vector_store_id = ?",
                    (blob, int(k), store_id),
                )
                found.extend((int(chunk_id), 1.0 - float(distance)) for chunk_id, distance in rows)
        found.sort(key=lambda item: item[1], reverse=True)
        return found[:k]
