"""PostgreSQL search: a full-text column with a GIN index on chunks, pgvector's vector table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:00:00.000000

PostgreSQL only (SQLite keeps 0003's FTS5 index and the sqlite-vec file):

- ``retrieval_chunks.text_search``: ``to_tsvector('english', text)`` as a stored generated
  column (PostgreSQL keeps it in step with ``text``), with a GIN index, for keyword search;
- ``retrieval_vectors``: one embedding per chunk (pgvector's ``vector``, any dimension), deleted
  with its chunk, when the ``vector`` extension is installed or can be installed here (the
  role may create it); without it file search ranks by keywords only.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of this revision's DDL.
TEXT_SEARCH_DDL = (
    "ALTER TABLE retrieval_chunks ADD COLUMN text_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED",
    "CREATE INDEX ix_retrieval_chunks_text_search ON retrieval_chunks USING gin (text_search)",
)
VECTORS_DDL = (
    "CREATE EXTENSION IF NOT EXISTS vector",
    "CREATE TABLE retrieval_vectors ("
    "chunk_id integer PRIMARY KEY REFERENCES retrieval_chunks (id) ON DELETE CASCADE, "
    "vector_store_id varchar(64) NOT NULL, "
    "dimensions integer NOT NULL, "
    "embedding vector NOT NULL)",
    "CREATE INDEX ix_retrieval_vectors_store ON retrieval_vectors (vector_store_id, dimensions)",
)


def _vector_extension() -> bool:
    """Install pgvector in this database if it can be (in a savepoint); say whether it is."""
    bind = op.get_bind()
    found = bind.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"))
    if found.first() is None:
        return False
    try:
        with bind.begin_nested():
            bind.execute(text(VECTORS_DDL[0]))
    except DBAPIError:  # e.g. a role that may not create extensions: keyword search only
        return False
    return True


def upgrade() -> None:
    """Apply this revision."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in TEXT_SEARCH_DDL:
        op.execute(statement)
    if _vector_extension():
        for statement in VECTORS_DDL[1:]:
            op.execute(statement)


def downgrade() -> None:
    """Revert this revision (the ``vector`` extension stays installed)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS retrieval_vectors")
    op.execute("DROP INDEX IF EXISTS ix_retrieval_chunks_text_search")
    op.execute("ALTER TABLE retrieval_chunks DROP COLUMN IF EXISTS text_search")
