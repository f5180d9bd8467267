"""Store functions for indexed chunks: write a file's chunks, find them, delete them.

Plain functions on a SQLAlchemy ``Connection`` (run them with ``Store.read``/``Store.write``).
On SQLite, triggers keep the FTS5 keyword index in step with ``retrieval_chunks``.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval.chunking import Chunk
from sqlalchemy import Connection, delete, insert, select


def insert_chunks(
    conn: Connection, vector_store_id: str, file_id: str, chunks: Sequence[Chunk]
) -> list[int]:
    """Add a file's chunks in order; return their ids (the keys of their vectors)."""
    if not chunks:
        return []
    table = db.retrieval_chunks
    rows = [
        {
            "vector_store_id": vector_store_id,
            "file_id": file_id,
            "position": position,
            "tokens": chunk.tokens,
            "text": chunk.text,
        }
        for position, chunk in enumerate(chunks)
    ]
    conn.execute(insert(table), rows)
    return file_chunk_ids(conn, vector_store_id, file_id)


def file_chunk_ids(conn: Connection, vector_store_id: str, file_id: str) -> list[int]:
    """Ids of a file's chunks in one vector store, in order."""
    table = db.retrieval_chunks
    query = (
        select(table.c.id)
        .where(table.c.vector_store_id == vector_store_id, table.c.file_id == file_id)
        .order_by(table.c.position)
    )
    return list(conn.scalars(query))


def delete_file_chunks(conn: Connection, vector_store_id: str, file_id: str) -> list[int]:
    """Delete a file's chunks from one vector store; return the deleted ids (for vectors)."""
    ids = file_chunk_ids(conn, vector_store_id, file_id)
    table = db.retrieval_chunks
    conn.execute(
        delete(table).where(
            table.c.vector_store_id == vector_store_id, table.c.file_id == file_id
        )
    )
    return ids


def delete_store_chunks(conn: Connection, vector_store_id: str) -> list[int]:
    """Delete every chunk of a vector store; return the deleted ids."""
    table = db.retrieval_chunks
    ids = list(conn.scalars(select(table.c.id).where(table.c.vector_store_id == vector_store_id)))
    conn.execute(delete(table).where(table.c.vector_store_id == vector_store_id))
    return ids
