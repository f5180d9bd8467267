"""The store's async facade: transactions over one engine, run on the database thread.

Every store operation is a plain function taking a SQLAlchemy ``Connection`` (in
``store.objects``, ``store.runs``, ``store.run_progress``, ``store.leases``,
``store.idempotency_keys``). :meth:`Store.read` and :meth:`Store.write` run one such function in
one transaction on the store's own database thread, so the server's event loop never blocks
on the database; one thread serialises every call in submission order, so writers of one
process never contend for SQLite's lock and a run's changes land in the order its task made
them. A function that raises rolls its whole transaction back: bad input or a crash never
leaves half-written state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.store.database_thread import DatabaseThread
from assistant_graph.assistants_server.store.history import AFTER_COMMIT, HistoryCache
from sqlalchemy import Connection, Engine

_P = ParamSpec("_P")
_T = TypeVar("_T")

STORE_NOT_OPEN_MESSAGE = (
    "The store is not open; await Store.open() first (the app's lifespan does)."
)


class Store:
    """The server's data: ``Store(url)`` does no I/O; :meth:`open` creates the engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._thread = DatabaseThread()
        self.history = HistoryCache()
        """Decoded thread histories, for :func:`store.leases.begin_attempt` (see ``history``)."""

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (after :meth:`open`)."""
        if self._engine is None:
            raise RuntimeError(STORE_NOT_OPEN_MESSAGE)
        return self._engine

    async def open(self) -> None:
        """Create the engine and any missing tables (idempotent)."""

        def create() -> None:
            if self._engine is None:
                self._engine = db.create_engine_for_url(self.url)

        await self._thread.call(create)

    async def close(self) -> None:
        """Dispose of the engine's connections and stop the database thread."""
        if self._engine is None:
            return
        engine, self._engine = self._engine, None
        await self._thread.call(engine.dispose)
        self._thread.close()
        self._thread = DatabaseThread()  # a later open() starts afresh

    async def read(
        self,
        function: Callable[Concatenate[Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Run ``function(conn, *args, **kwargs)`` in one read transaction; return its result."""

        def run() -> _T:
            return _transaction(self.engine.connect(), function, *args, **kwargs)

        return await self._thread.call(run)

    async def write(
        self,
        function: Callable[Concatenate[Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Run ``function(conn, *args, **kwargs)`` in one write transaction; return its result.

        SQLite: BEGIN IMMEDIATE. Committed when it returns, rolled back when it raises.
        """

        def run() -> _T:
            connection = self.engine.connect().execution_options(**{db.WRITE_OPTION: True})
            return _transaction(connection, function, *args, **kwargs)

        return await self._thread.call(run)


def _transaction(
    connection: Connection,
    function: Callable[Concatenate[Connection, _P], _T],
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _T:
    """Run ``function`` in one transaction on ``connection``; then its after-commit callbacks."""
    with connection as conn:
        callbacks: list[Callable[[], None]] = conn.info.setdefault(AFTER_COMMIT, [])
        callbacks.clear()  # left by nothing: a rolled-back transaction's are cleared below
        try:
            with conn.begin():
                result = function(conn, *args, **kwargs)
            for callback in callbacks:
                callback()
        finally:
            callbacks.clear()
        return result
