"""Baseline: the server's schema before migrations (assistants ... idempotency keys).

Revision ID: 0001
Revises:
Create Date: 2026-11-30

A frozen copy of the tables as ``db.py`` defined them when migrations were introduced. On an
empty database it creates them; on a database made before migrations (no ``alembic_version``)
it adds what older versions lacked (the ``api_key_hash`` columns, their indexes) and keeps
every row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")

baseline = sa.MetaData()


def _owner() -> sa.Column:
    return sa.Column("api_key_hash", sa.String(64), nullable=False, server_default=sa.text("''"))


sa.Table(
    "assistants", baseline,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    _owner(),
    sa.Index("ix_assistants_key_seq", "api_key_hash", "seq"),
)  # fmt: skip
sa.Table(
    "threads", baseline,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    _owner(),
)  # fmt: skip
sa.Table(
    "messages", baseline,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_messages_thread_seq", "thread_id", "seq"),
    sa.Index("ix_messages_run_seq", "run_id", "seq"),
)  # fmt: skip
sa.Table(
    "runs", baseline,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("assistant_id", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=True),
    sa.Column("owner", sa.String(128), nullable=True),
    sa.Column("owner_pid", sa.Integer, nullable=True),
    sa.Column("owner_host", sa.String(255), nullable=True),
    sa.Column("lease_expires_at", sa.Float, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_runs_thread_seq", "thread_id", "seq"),
    sa.Index("ix_runs_thread_status", "thread_id", "status"),
    sa.Index("ix_runs_status", "status"),
)  # fmt: skip
sa.Table(
    "run_steps", baseline,
    sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(64), nullable=False, unique=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("thread_id", sa.String(64), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("after_message_seq", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Index("ix_run_steps_run_seq", "run_id", "seq"),
    sa.Index("ix_run_steps_thread_seq", "thread_id", "seq"),
)  # fmt: skip
sa.Table(
    "idempotency_keys", baseline,
    sa.Column("scope", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("content_type", sa.String(128), nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("thread_id", sa.String(64), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)  # fmt: skip

ADDED_BEFORE_MIGRATIONS = (("assistants", "api_key_hash"), ("threads", "api_key_hash"))
"""Columns that files made by the first releases lack."""


def upgrade() -> None:
    """Create the baseline tables, or complete a database made before migrations."""
    bind = op.get_bind()
    baseline.create_all(bind, checkfirst=True)
    inspector = sa.inspect(bind)
    for name, column in ADDED_BEFORE_MIGRATIONS:
        if column not in {c["name"] for c in inspector.get_columns(name)}:
            op.add_column(name, _owner())
    for table in baseline.sorted_tables:
        for index in table.indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    """Drop every table (the database is empty again)."""
    baseline.drop_all(op.get_bind())
