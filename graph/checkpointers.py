"""Where conversations are saved: a SQLite file, or a PostgreSQL database shared by many workers.

:func:`open_checkpointer` gives LangGraph's own savers: ``SqliteSaver`` for a file path,
``PostgresSaver`` (``langgraph-checkpoint-postgres``, the ``[postgres]`` extra) for a
``postgresql://`` URL, its tables created on first use; :func:`open_async_checkpointer` their
async twins (``AsyncSqliteSaver``, ``AsyncPostgresSaver``) for ``ainvoke``.
:func:`conversation_lock` keeps two processes from running turns on one conversation at once:
a byte-range lock on ``<file>.lock`` beside a SQLite file, a PostgreSQL advisory lock (held by
a connection of its own) on a shared database, so workers on different hosts exclude each
other too.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

try:  # advisory per-conversation file lock between processes (POSIX)
    import fcntl
except ImportError:  # pragma: no cover - Windows: the endpoint's own refusal still applies
    fcntl = None  # type: ignore[assignment]

POSTGRES_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
POSTGRES_EXTRA_MISSING = (
    "Saving conversations in PostgreSQL needs the postgres extra: "
    "pip install 'assistant-graph[postgres]'."
)


DATABASE_UNREACHABLE = (
    "assistant-graph: cannot reach the conversation database {url} ({reason}). Check the URL "
    "given as --db (host, port, user, database) and that the server is running."
)


class DatabaseUnreachable(Exception):
    """The PostgreSQL database named for the conversations cannot be reached."""


@contextmanager
def _reachable(url: str) -> Iterator[None]:
    """Turn a failed PostgreSQL connection into :class:`DatabaseUnreachable` (no password)."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        try:
            parts = psycopg.conninfo.conninfo_to_dict(libpq_url(url))
            safe = " ".join(f"{key}={value}" for key, value in parts.items() if key != "password")
        except psycopg.Error:
            safe = "(an unreadable URL)"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnreachable(DATABASE_UNREACHABLE.format(url=safe, reason=reason)) from exc


class ConversationBusy(Exception):
    """Another process is running a turn on this conversation."""


def is_postgres(target: str | Path) -> bool:
    """Whether ``target`` is a PostgreSQL URL (else a SQLite file path)."""
    return isinstance(target, str) and target.startswith(POSTGRES_SCHEMES)


def libpq_url(url: str) -> str:
    """``url`` as libpq reads it (SQLAlchemy's ``postgresql+psycopg://`` spelling accepted)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def open_checkpointer(target: str | Path) -> Iterator[Any]:
    """Yield a saver for ``target``: ``PostgresSaver`` for a URL, ``SqliteSaver`` for a file."""
    if is_postgres(target):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError as exc:
            raise ImportError(POSTGRES_EXTRA_MISSING) from exc
        with ExitStack() as stack:
            with _reachable(str(target)):
                saver = stack.enter_context(PostgresSaver.from_conn_string(libpq_url(str(target))))
                saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


@asynccontextmanager
async def open_async_checkpointer(target: str | Path) -> AsyncIterator[Any]:
    """Yield an async saver: ``AsyncPostgresSaver`` for a URL, ``AsyncSqliteSaver`` for a file."""
    if is_postgres(target):
        try:
            from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        except ImportError as exc:
            raise ImportError(POSTGRES_EXTRA_MISSING) from exc
        async with AsyncPostgresSaver.from_conn_string(libpq_url(str(target))) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


@contextmanager
def conversation_lock(target: str | Path, thread: str) -> Iterator[None]:
    """Hold ``thread``'s lock on ``target`` or raise :class:`ConversationBusy` at once."""
    key = zlib.crc32(thread.encode())
    if is_postgres(target):
        import psycopg

        with _reachable(str(target)):
            conn = psycopg.connect(libpq_url(str(target)), autocommit=True)
        with conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not row or not row[0]:
                raise ConversationBusy(thread)
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = Path(target)
    with open(path.with_name(path.name + ".lock"), "a+b") as lock_file:
        try:
            fcntl.lockf(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, key)
        except OSError as exc:
            raise ConversationBusy(thread) from exc
        try:
            yield
        finally:
            fcntl.lockf(lock_file, fcntl.LOCK_UN, 1, key)
