"""The store's prepared statements, executed straight on the SQLite driver's cursor.

SQLAlchemy's execution path (execution context, events, result object) costs ~25-35 µs per
statement on this machine, about ten times what ``sqlite3`` itself needs for the store's small
indexed statements, and a run's model step executes a dozen of them on the server's critical
path. So the statements the store prepares once at import (:func:`direct`) are compiled once
per set of parameter names with the engine's own dialect and run on the DBAPI cursor of the
connection SQLAlchemy manages, inside the transaction SQLAlchemy began. Parameters and results
go through the column types' own bind and result processors (JSON columns are encoded and
decoded exactly as SQLAlchemy would), and rows come back as named tuples (attribute access, as
with SQLAlchemy rows).

Only the ``pysqlite`` driver takes this path. Every other statement, every other database,
and any prepared statement that needs SQLAlchemy's help at execution time (expanding ``IN``
parameters, Python-side column defaults) goes through ``Connection.execute`` unchanged.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Select, Table, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import ResourceClosedError
from sqlalchemy.sql import ClauseElement

_DIRECT: set[ClauseElement] = set()
"""Statements registered with :func:`direct` (module-level constants: a bounded set)."""

MAX_PLANS = 512
"""Compiled forms kept per store (statement x parameter names); beyond it, SQLAlchemy runs."""

_USE_SQLALCHEMY = object()
"""Plan-cache entry of a statement that must run through SQLAlchemy."""


def direct(statement: Any) -> Any:
    """Register a prepared statement for direct execution; returns it unchanged."""
    _DIRECT.add(statement)
    return statement


def supports(dialect: Dialect) -> bool:
    """Whether statements run directly on this dialect's driver."""
    return dialect.name == "sqlite" and dialect.driver == "pysqlite"


NO_ROWS_MESSAGE = "This result object does not return rows. It has been closed automatically."


class DirectResult:
    """The rows (or row count) of one directly executed statement; fetched eagerly.

    Answers like SQLAlchemy's result for the store's uses: ``first``, ``all``, ``scalar``,
    iteration, ``rowcount`` and ``inserted_primary_key``; asking a statement without rows for
    rows raises SQLAlchemy's ``ResourceClosedError``, as SQLAlchemy does.
    """

    __slots__ = ("_lastrowid", "_rows", "rowcount")

    def __init__(self, rows: list[Any] | None, rowcount: int, lastrowid: int | None) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self._lastrowid = lastrowid

    def _fetched(self) -> list[Any]:
        if self._rows is None:
            raise ResourceClosedError(NO_ROWS_MESSAGE)
        return self._rows

    def first(self) -> Any:
        """Return the first row, or None."""
        rows = self._fetched()
        return rows[0] if rows else None

    def all(self) -> list[Any]:
        """Return every row."""
        return list(self._fetched())

    def scalar(self) -> Any:
        """Return the first column of the first row, or None."""
        rows = self._fetched()
        return rows[0][0] if rows else None

    def __iter__(self) -> Iterator[Any]:
        return iter(self._fetched())

    @property
    def inserted_primary_key(self) -> tuple[Any, ...]:
        """Return the integer primary key an ``INSERT`` produced (SQLite's rowid)."""
        return (self._lastrowid,)


class _Plan:
    """One statement compiled for one set of parameter names."""

    __slots__ = ("binders", "defaults", "dialect", "names", "row_types", "sql", "table")

    def __init__(self, sql: str, names: Sequence[str], table: Table, dialect: Dialect) -> None:
        self.sql = sql
        self.names = tuple(names)
        self.defaults: dict[str, Any] = {}
        self.binders: tuple[Callable[[Any], Any] | None, ...] = ()
        self.table = table
        self.dialect = dialect
        self.row_types: dict[tuple[str, ...], tuple[Any, tuple[Any, ...]]] = {}
        """Row class and result processors per result shape (cursor description)."""

    def run(self, dbapi_connection: Any, params: dict[str, Any]) -> DirectResult:
        values = []
        for name, binder in zip(self.names, self.binders, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(binder(value) if binder is not None else value)
        cursor = dbapi_connection.execute(self.sql, values)
        try:
            rows: list[Any] | None = None
            if cursor.description is not None:
                raw = cursor.fetchall()
                rows = self._decode(cursor.description, raw) if raw else []
            return DirectResult(rows, cursor.rowcount, cursor.lastrowid)
        finally:
            cursor.close()

    def _decode(self, description: Any, raw: list[tuple[Any, ...]]) -> list[Any]:
        shape = tuple(column[0] for column in description)
        known = self.row_types.get(shape)
        if known is None:
            known = self.row_types[shape] = self._row_type(shape)
        row_class, processors = known
        if not any(processors):
            return [row_class._make(row) for row in raw]
        return [
            row_class._make(
                [
                    process(value) if process is not None else value
                    for process, value in zip(processors, row, strict=True)
                ]
            )
            for row in raw
        ]

    def _row_type(self, shape: tuple[str, ...]) -> tuple[Any, tuple[Any, ...]]:
        columns = self.table.c
        processors = tuple(
            columns[name].type.dialect_impl(self.dialect).result_processor(self.dialect, None)
            if name in columns
            else None
            for name in shape
        )
        return namedtuple("Row", shape), processors  # type: ignore[misc]


def _table_of(statement: Any) -> Table | None:
    table: Any
    if isinstance(statement, Insert | Update | Delete):
        table = statement.table
    elif isinstance(statement, Select):
        froms = statement.get_final_froms()
        table = froms[0] if len(froms) == 1 else None
    else:
        return None
    return table if isinstance(table, Table) else None


def _compile(statement: Any, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    """Compile ``statement`` for parameters named ``keys``; None if it needs SQLAlchemy."""
    table = _table_of(statement)
    if table is None:
        return None
    if isinstance(statement, Insert | Update) and any(
        column.default is not None or column.onupdate is not None for column in table.c
    ):
        return None  # Python-side defaults are applied by SQLAlchemy's execution context
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    if not compiled.positional or compiled.positiontup is None:
        return None
    if "POSTCOMPILE" in compiled.string or any(b.expanding for b in compiled.binds.values()):
        return None
    names = list(compiled.positiontup)
    plan = _Plan(compiled.string, names, table, dialect)
    binders = []
    for name in names:
        bind = compiled.binds[name]
        if name not in keys:
            if bind.callable is not None or bind.required:
                return None
            plan.defaults[name] = bind.effective_value
        binders.append(bind.type.dialect_impl(dialect).bind_processor(dialect))
    plan.binders = tuple(binders)
    return plan


class DirectStatements:
    """Compiled plans of the registered statements for one engine's dialect."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.enabled = supports(dialect)
        self._plans: dict[tuple[Any, tuple[str, ...]], Any] = {}

    def plan(self, statement: Any, params: Any) -> _Plan | None:
        """Return the direct plan for executing ``statement`` with ``params``, or None."""
        if not self.enabled or statement not in _DIRECT or not isinstance(params, dict):
            return None
        key = (statement, tuple(params))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= MAX_PLANS:
                return None
            plan = _compile(statement, key[1], self.dialect) or _USE_SQLALCHEMY
            self._plans[key] = plan
        return plan if isinstance(plan, _Plan) else None


class DirectConnection:
    """A SQLAlchemy ``Connection`` whose registered statements run on the driver directly.

    Everything else (``begin``, ``commit``, other statements, ``dialect``…) is the wrapped
    connection's.
    """

    __slots__ = ("_dbapi", "_statements", "connection")

    def __init__(self, connection: Connection, statements: DirectStatements) -> None:
        self.connection = connection
        self._statements = statements
        self._dbapi: Any = None

    def execute(self, statement: Any, parameters: Any = None, **kwargs: Any) -> Any:
        """Execute ``statement`` (directly when it is registered and the driver allows)."""
        plan = None if kwargs else self._statements.plan(statement, parameters or {})
        if plan is None:
            return self.connection.execute(statement, parameters, **kwargs)
        if self._dbapi is None:
            self._dbapi = self.connection.connection.dbapi_connection
        return plan.run(self._dbapi, parameters or {})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)
