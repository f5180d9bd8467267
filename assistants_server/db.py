"""Database schema and engine: SQLAlchemy Core tables, SQLite pragmas (WAL) on connect.

Each object keeps the columns the server filters, orders or claims by as real columns; the
rest of its public body lives in a JSON ``data`` column. ``seq`` is a monotonically increasing
integer used for ordering and pagination cursors (``created_at`` seconds often tie).
Assistants, threads and files carry ``api_key_hash``, a fingerprint of the API key that created
them (never the key itself); messages, runs and steps belong to their thread's key. A file's
bytes live in ``file_chunks``, in the database, so every server process can read them.
The server runs on SQLite (:func:`create_engine_for_url` sets its pragmas and locking up) and
on PostgreSQL through psycopg 3. Tables change only through migrations (``migrations/``):
after editing a table here, add a revision there.
"""

from __future__ import annotations

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url

metadata = MetaData()

SEQ = BigInteger().with_variant(Integer, "sqlite")

assistants = Table(
    "assistants",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Column("api_key_hash", String(64), nullable=False, server_default=text("''")),
    Index("ix_assistants_key_seq", "api_key_hash", "seq"),
)

threads = Table(
    "threads",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Column("api_key_hash", String(64), nullable=False, server_default=text("''")),
)

messages = Table(
    "messages",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("thread_id", String(64), nullable=False),
    Column("run_id", String(64), nullable=True),
    Column("role", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_messages_thread_seq", "thread_id", "seq"),
    Index("ix_messages_run_seq", "run_id", "seq"),
)

runs = Table(
    "runs",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("thread_id", String(64), nullable=False),
    Column("assistant_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("owner", String(128), nullable=True),
    Column("owner_pid", Integer, nullable=True),
    Column("owner_host", String(255), nullable=True),
    Column("lease_expires_at", Float, nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_runs_thread_seq", "thread_id", "seq"),
    Index("ix_runs_thread_status", "thread_id", "status"),
    Index("ix_runs_status", "status"),
)

run_steps = Table(
    "run_steps",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("run_id", String(64), nullable=False),
    Column("thread_id", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("after_message_seq", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_run_steps_run_seq", "run_id", "seq"),
    Index("ix_run_steps_thread_seq", "thread_id", "seq"),
)

files = Table(
    "files",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("api_key_hash", String(64), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("filename", Text, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("media_type", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Index("ix_files_key_seq", "api_key_hash", "seq"),
    Index("ix_files_key_purpose_seq", "api_key_hash", "purpose", "seq"),
)
"""Uploaded and server-written files: metadata only (lists never load their bytes)."""

file_chunks = Table(
    "file_chunks",
    metadata,
    Column("file_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
"""A file's bytes in order, in chunks (written with its ``files`` row, deleted with it)."""

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(128), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("content_type", String(128), nullable=True),
    Column("body", Text, nullable=True),
    Column("run_id", String(64), nullable=True),
    Column("thread_id", String(64), nullable=True),
    Column("created_at", BigInteger, nullable=False),
)

vector_stores = Table(
    "vector_stores",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("api_key_hash", String(64), nullable=False, server_default=text("''")),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("data", JSON, nullable=False),
    Index("ix_vector_stores_key_seq", "api_key_hash", "seq"),
)

vector_store_files = Table(
    "vector_store_files",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False),  # the file's id
    Column("vector_store_id", String(64), nullable=False),
    Column("filename", Text, nullable=False, server_default=text("''")),
    Column("batch_id", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("usage_bytes", BigInteger, nullable=False, server_default=text("0")),
    Column("attributes", JSON, nullable=True),
    Column("data", JSON, nullable=False),
    UniqueConstraint("vector_store_id", "id", name="uq_vector_store_files"),
    Index("ix_vector_store_files_status", "status"),
    Index("ix_vector_store_files_file", "id"),
    Index("ix_vector_store_files_batch", "batch_id"),
)

vector_store_file_batches = Table(
    "vector_store_file_batches",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("vector_store_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
)

retrieval_chunks = Table(
    "retrieval_chunks",
    metadata,
    # AUTOINCREMENT: a deleted chunk's id is never reused, so a vector left behind by a crash
    # can never be taken for another chunk's.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("vector_store_id", String(64), nullable=False),
    Column("file_id", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_retrieval_chunks_store_file", "vector_store_id", "file_id", "position"),
    sqlite_autoincrement=True,
)
"""Chunks of indexed files. On SQLite a trigger-maintained FTS5 table (``CHUNKS_FTS``) indexes
``text`` for BM25 keyword search, and ``vector_store_id`` so a search intersects with its stores
inside the index; vectors live in the vector index file (``retrieval.vectors``). On PostgreSQL
a generated ``tsvector`` column (``CHUNKS_TEXT_SEARCH``) with a GIN index serves keyword search
and pgvector's ``retrieval_vectors`` table (``VECTORS_TABLE``) the vectors (revision 0004)."""

CHUNKS_FTS = "retrieval_chunks_fts"
"""The FTS5 external-content table over ``retrieval_chunks.text`` (SQLite only)."""
CHUNKS_TEXT_SEARCH = "text_search"
"""``retrieval_chunks``' generated ``to_tsvector('english', text)`` column (PostgreSQL only)."""
CHUNKS_TEXT_SEARCH_INDEX = "ix_retrieval_chunks_text_search"
"""The GIN index on :data:`CHUNKS_TEXT_SEARCH` (PostgreSQL only)."""
VECTORS_TABLE = "retrieval_vectors"
"""Chunk embeddings in pgvector's ``vector`` type (PostgreSQL with the extension only)."""
POSTGRES_ONLY = frozenset({CHUNKS_TEXT_SEARCH, CHUNKS_TEXT_SEARCH_INDEX, VECTORS_TABLE})
"""Schema objects revision 0004 makes on PostgreSQL outside ``metadata`` (raw DDL)."""

_CHUNKS_FTS_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS retrieval_chunks_fts USING fts5(text, vector_store_id, "
    "content='retrieval_chunks', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS retrieval_chunks_ai AFTER INSERT ON retrieval_chunks BEGIN "
    "INSERT INTO retrieval_chunks_fts(rowid, text, vector_store_id) "
    "VALUES (new.id, new.text, new.vector_store_id); END",
    "CREATE TRIGGER IF NOT EXISTS retrieval_chunks_ad AFTER DELETE ON retrieval_chunks BEGIN "
    "INSERT INTO retrieval_chunks_fts(retrieval_chunks_fts, rowid, text, vector_store_id) "
    "VALUES ('delete', old.id, old.text, old.vector_store_id); END",
)
for _statement in _CHUNKS_FTS_DDL:
    event.listen(
        retrieval_chunks, "after_create", DDL(_statement).execute_if(dialect="sqlite")
    )

WRITE_OPTION = "assistants_write"
"""Execution option marking a connection whose transaction will write (SQLite: BEGIN IMMEDIATE)."""


def _configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, and explicit BEGINs so writers queue instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # A deferred transaction that later writes can fail with SQLITE_BUSY without waiting
        # when another process committed meanwhile; writers therefore take the lock up front.
        conn.exec_driver_sql(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        )


def driver_url(url: str) -> str:
    """Return ``url`` with psycopg 3 as the driver of a plain ``postgresql://`` URL.

    SQLAlchemy's default driver there is psycopg2, which the project does not install.
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def create_engine_for_url(url: str) -> Engine:
    """One engine per server, its database upgraded to the newest schema (``migrations``).

    Raises :class:`~assistant_graph.assistants_server.migrations.SchemaTooNewError` when a
    newer version of the code migrated the database.
    """
    from assistant_graph.assistants_server import migrations

    url = driver_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
            with conn.begin():
                migrations.upgrade(conn)
    except BaseException:
        engine.dispose()
        raise
    return engine
