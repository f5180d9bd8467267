"""The vector index on PostgreSQL: chunk embeddings in pgvector's ``retrieval_vectors`` table.

Revision 0004 makes the table when the ``vector`` extension is available: one row per chunk
(its id, vector store, dimension count and embedding, any dimension), deleted with its chunk
(``ON DELETE CASCADE``), in the store's own database, so every server process sees the same
vectors. The nearest chunks come from pgvector's exact cosine-distance search (``<=>``,
``ORDER BY ... LIMIT k``) over the searched stores' rows of the query's dimension, the same
exact search sqlite-vec runs on SQLite. Same methods as :class:`.vectors.VectorIndex`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from assistant_graph.assistants_server import db
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert

vectors = Table(
    db.VECTORS_TABLE,
    MetaData(),  # not db.metadata: revision 0004 makes it, on PostgreSQL only
    Column("chunk_id", Integer, primary_key=True),
    Column("vector_store_id", String(64), nullable=False),
    Column("dimensions", Integer, nullable=False),
    Column("embedding", VECTOR(), nullable=False),
)


def has_vector_table(engine: Engine) -> bool:
    """Whether revision 0004 made ``retrieval_vectors`` (pgvector was available)."""
    with engine.connect() as conn:
        return conn.scalar(select(func.to_regclass(db.VECTORS_TABLE))) is not None


class PostgresVectorIndex:
    """Embeddings of chunks in the store's PostgreSQL database (thread-safe: the engine's pool)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def close(self) -> None:
        """Nothing to close: the store owns the engine."""

    def add(self, vector_store_id: str, items: Iterable[tuple[int, Sequence[float]]]) -> None:
        """Store ``(chunk_id, embedding)`` pairs of one vector store (one transaction).

        A chunk deleted meanwhile (its file cancelled or detached) gets no vector.
        """
        chunks = db.retrieval_chunks
        rows = [
            {"chunk": chunk_id, "dimensions": len(embedding), "embedding": list(embedding)}
            for chunk_id, embedding in items
        ]
        if not rows:
            return
        source = select(
            chunks.c.id,
            chunks.c.vector_store_id,
            bindparam("dimensions", type_=Integer),
            bindparam("embedding", type_=VECTOR()),
        ).where(chunks.c.id == bindparam("chunk"), chunks.c.vector_store_id == vector_store_id)
        statement = insert(vectors).from_select(
            ["chunk_id", "vector_store_id", "dimensions", "embedding"], source
        )
        statement = statement.on_conflict_do_update(
            index_elements=[vectors.c.chunk_id],
            set_={
                "dimensions": statement.excluded.dimensions,
                "embedding": statement.excluded.embedding,
            },
        )
        with self._engine.begin() as conn:
            conn.execute(statement, rows)

    def delete(self, chunk_ids: Iterable[int]) -> None:
        """Remove the vectors of these chunks (deleting a chunk already removes its vector)."""
        ids = list(chunk_ids)
        if ids:
            with self._engine.begin() as conn:
                conn.execute(delete(vectors).where(vectors.c.chunk_id.in_(ids)))

    def nearest(
        self, vector_store_ids: Sequence[str], embedding: Sequence[float], k: int
    ) -> list[tuple[int, float]]:
        """Find the ``k`` nearest chunks over the stores: ``(chunk_id, cosine similarity)``."""
        if not vector_store_ids:
            return []
        distance = vectors.c.embedding.cosine_distance(list(embedding)).label("distance")
        statement = (
            select(vectors.c.chunk_id, distance)
            .where(
                vectors.c.vector_store_id.in_(list(vector_store_ids)),
                vectors.c.dimensions == len(embedding),
            )
            .order_by(distance, vectors.c.chunk_id)
            .limit(int(k))
        )
        with self._engine.connect() as conn:
            return [
                (int(chunk_id), 1.0 - float(distance))
                for chunk_id, distance in conn.execute(statement)
            ]
