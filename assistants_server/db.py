"""Database schema and engine: SQLAlchemy Core tables, SQLite pragmas (WAL) on connect.

Each object keeps the columns the server filters, orders or claims by as real columns; the
rest of its public body lives in a JSON ``data`` column. ``seq`` is a monotonically increasing
integer used for ordering and pagination cursors (``created_at`` seconds often tie).
Nothing here is SQLite-specific except :func:`create_engine_for_url`'s pragma setup, so a
PostgreSQL URL works unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    inspect,
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
)

threads = Table(
    "threads",
    metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("data", JSON, nullable=False),
    # Bumped in the same transaction as every write to the thread's messages or run steps, so
    # a process that keeps a decoded copy of the history can tell (one indexed select) whether
    # anyone, in any process, changed it since.
    Column("history_version", BigInteger, nullable=False, server_default=text("0")),
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
        # Straight on the driver: this runs once per transaction, and SQLAlchemy's execution
        # path would cost several times what the BEGIN itself does.
        driver = conn.connection.driver_connection
        driver.execute(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        )


ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("threads", "history_version", "BIGINT NOT NULL DEFAULT 0"),
)
"""Columns added after the first release: (table, column, DDL type), added to older files."""


def _add_missing_columns(conn: Connection) -> None:
    """Bring a database made by an earlier version up to date (``ALTER TABLE ... ADD COLUMN``)."""
    inspector = inspect(conn)
    for table, column, ddl in ADDED_COLUMNS:
        if column not in {c["name"] for c in inspector.get_columns(table)}:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


def create_engine_for_url(url: str) -> Engine:
    """One engine per server; creates missing tables and adds columns missing from old files."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            from pathlib import Path

            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        _configure_sqlite(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn:
        metadata.create_all(conn, checkfirst=True)
        _add_missing_columns(conn)
        conn.commit()
    return engine
