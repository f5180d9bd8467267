"""The data layer: every read and write of assistants, threads, messages, runs and steps.

Public methods are coroutines: each runs its small, indexed queries in one transaction on the
store's own database thread, so the server's event loop never blocks on the database (and
``langgraph dev``'s blocking-call detector stays quiet). One thread serialises every database
call in submission order: writers of one process never contend for SQLite's lock, and a run's
changes land in the order its task made them. Each write runs in one transaction, so bad input
or a crash never leaves half-written state. Objects come back as the API's JSON dicts.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec, TypeVar

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.database_thread import DatabaseThread
from assistant_graph.assistants_server.direct_statements import (
    DirectConnection,
    DirectStatements,
    direct,
)
from assistant_graph.assistants_server.errors import (
    ACTIVE_RUN_MESSAGE,
    ACTIVE_RUN_NEW_RUN_MESSAGE,
    NO_TOOL_OUTPUTS_MESSAGE,
    APIError,
    bad_request,
    not_found,
)
from assistant_graph.assistants_server.idempotency_claims import StreamRecorder
from assistant_graph.assistants_server.ids import new_id, now
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    true,
    update,
)

ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")
EXECUTABLE_RUN_STATUSES = ("queued", "in_progress", "cancelling")
TERMINAL_RUN_STATUSES = ("completed", "failed", "cancelled", "expired", "incomplete")

_KINDS = {
    "assistants": ("assistant", "assistant_id"),
    "threads": ("thread", "thread_id"),
    "messages": ("message", "message_id"),
    "runs": ("run", "run_id"),
    "run_steps": ("run step", "step_id"),
}


class Page:
    """One page of a list endpoint."""

    def __init__(self, data: list[dict[str, Any]], has_more: bool) -> None:
        self.data = data
        self.has_more = has_more

    def body(self) -> dict[str, Any]:
        """Return the list response body."""
        return {
            "object": "list",
            "data": self.data,
            "first_id": self.data[0]["id"] if self.data else None,
            "last_id": self.data[-1]["id"] if self.data else None,
            "has_more": self.has_more,
        }


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """Body fields without the server's private ones (keys starting with ``_``)."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def _assistant(row: Any) -> dict[str, Any]:
    return {"id": row.id, "object": "assistant", "created_at": row.created_at, **_public(row.data)}


def _thread(row: Any) -> dict[str, Any]:
    return {"id": row.id, "object": "thread", "created_at": row.created_at, **row.data}


def _message(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "thread.message",
        "created_at": row.created_at,
        "thread_id": row.thread_id,
        "run_id": row.run_id,
        "role": row.role,
        "status": row.status,
        **row.data,
    }


def _run(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "thread.run",
        "created_at": row.created_at,
        "thread_id": row.thread_id,
        "assistant_id": row.assistant_id,
        "status": row.status,
        "expires_at": row.expires_at,
        **_public(row.data),
    }


def _step(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "thread.run.step",
        "created_at": row.created_at,
        "run_id": row.run_id,
        "thread_id": row.thread_id,
        "type": row.type,
        "status": row.status,
        **row.data,
    }


_SERIALIZERS = {
    "assistants": _assistant,
    "threads": _thread,
    "messages": _message,
    "runs": _run,
    "run_steps": _step,
}


def _run_changed(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Return the run of ``row`` as it is after an UPDATE of ``values`` (no re-read needed)."""
    return {
        "id": row.id,
        "object": "thread.run",
        "created_at": row.created_at,
        "thread_id": row.thread_id,
        "assistant_id": row.assistant_id,
        "status": values.get("status", row.status),
        "expires_at": values.get("expires_at", row.expires_at),
        **_public(values.get("data", row.data)),
    }


def _step_body(
    step_id: str,
    created_at: int,
    run_id: str,
    thread_id: str,
    step_type: str,
    status: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Return a run step's API body from its columns."""
    return {
        "id": step_id,
        "object": "thread.run.step",
        "created_at": created_at,
        "run_id": run_id,
        "thread_id": thread_id,
        "type": step_type,
        "status": status,
        **data,
    }


_BY_ID = {
    name: direct(select(table).where(table.c.id == bindparam("object_id")))
    for name, table in db.metadata.tables.items()
    if "id" in table.c
}
"""One prepared ``SELECT * ... WHERE id = :object_id`` per table (compiled once, cached)."""

_LAST_MESSAGE_SEQ = direct(
    select(func.max(db.messages.c.seq)).where(db.messages.c.thread_id == bindparam("thread_id"))
)
_UPDATE_BY_ID = {
    name: direct(update(table).where(table.c.id == bindparam("object_id_")))
    for name, table in db.metadata.tables.items()
    if "id" in table.c
}
"""One prepared ``UPDATE ... WHERE id = :object_id_`` per table; the SET columns are the keys of
the parameters it is executed with (built once instead of per call, see :func:`_update_by_id`)."""
_INSERT = {name: direct(insert(table)) for name, table in db.metadata.tables.items()}
"""One prepared ``INSERT`` per table; the columns are the keys of its parameters."""
_IN_THREAD = {
    name: direct(
        select(table).where(
            table.c.id == bindparam("object_id"), table.c.thread_id == bindparam("thread_id")
        )
    )
    for name, table in db.metadata.tables.items()
    if "id" in table.c and "thread_id" in table.c
}
_ACTIVE_RUNS = direct(
    select(db.runs.c.id, db.runs.c.status, db.runs.c.expires_at).where(
        db.runs.c.thread_id == bindparam("thread_id"), db.runs.c.status.in_(ACTIVE_RUN_STATUSES)
    )
)
_WAITING_TOOL_STEPS = direct(
    select(db.run_steps)
    .where(
        db.run_steps.c.run_id == bindparam("run_id"),
        db.run_steps.c.status == "in_progress",
        db.run_steps.c.type == "tool_calls",
    )
    .order_by(db.run_steps.c.seq.asc())
)
_OVERDUE_RUNS = direct(
    select(db.runs.c.id).where(
        db.runs.c.status == "requires_action", db.runs.c.expires_at <= bindparam("now_s")
    )
)
_OVERDUE_THREAD_RUNS = direct(_OVERDUE_RUNS.where(db.runs.c.thread_id == bindparam("thread_id")))


def _update_by_id(conn: Connection, table: Table, object_id: str, values: dict[str, Any]) -> None:
    """``UPDATE table SET <values> WHERE id = object_id`` through a prepared statement."""
    conn.execute(_UPDATE_BY_ID[table.name], {"object_id_": object_id, **values})


_PARTIAL_MESSAGE_STEPS = direct(
    select(db.run_steps).where(
        db.run_steps.c.run_id == bindparam("run_id"),
        db.run_steps.c.status == "in_progress",
        db.run_steps.c.type == "message_creation",
    )
)
_DELETE_PARTIAL_MESSAGES = direct(
    delete(db.messages).where(
        db.messages.c.run_id == bindparam("run_id"), db.messages.c.status == "in_progress"
    )
)

_HISTORY_VERSION = direct(
    select(db.threads.c.history_version).where(db.threads.c.id == bindparam("thread_id"))
)
_BUMP_HISTORY_VERSION = direct(
    update(db.threads)
    .where(db.threads.c.id == bindparam("thread_id"))
    .values(history_version=db.threads.c.history_version + 1)
    .returning(db.threads.c.history_version)
)
_MESSAGES_AFTER = direct(
    select(db.messages)
    .where(db.messages.c.thread_id == bindparam("thread_id"), db.messages.c.seq > bindparam("seq"))
    .order_by(db.messages.c.seq.asc())
)
_TOOL_STEPS_AFTER = direct(
    select(db.run_steps)
    .where(
        db.run_steps.c.thread_id == bindparam("thread_id"),
        db.run_steps.c.type == "tool_calls",
        db.run_steps.c.seq > bindparam("seq"),
    )
    .order_by(db.run_steps.c.seq.asc())
)

HISTORY_CACHE_THREADS = 256
"""How many threads keep their decoded history in memory between runs (least recent dropped)."""

MESSAGE, STEP = "message", "step"
"""Kinds of history rows a write can touch (see :meth:`Store._history_touched`)."""


MessageRow = namedtuple("MessageRow", db.messages.c.keys())  # type: ignore[misc]
"""A message row as kept in the history cache: plain attributes, several times faster to read
than a database row (a model request reads every message of the thread)."""
StepRow = namedtuple("StepRow", db.run_steps.c.keys())  # type: ignore[misc]
"""A run-step row as kept in the history cache."""


@dataclass
class _ThreadHistory:
    """A decoded prefix of a thread's history: finished messages and tool-call steps.

    Valid while the thread's ``history_version`` equals :attr:`version`. Holds, in ``seq``
    order, every message up to :attr:`message_seq` and every tool-call step up to
    :attr:`step_seq`, all in a final state (no run still writes them); a run reads only what
    came after those marks.
    """

    version: int
    message_rows: list[Any]
    tool_steps: list[Any]
    message_seq: int = 0
    step_seq: int = 0


_P = ParamSpec("_P")
_T = TypeVar("_T")

STORE_NOT_OPEN_MESSAGE = (
    "The store is not open; await Store.open() first (the app's lifespan does)."
)


def _offloaded(
    method: Callable[Concatenate[Store, _P], _T],
) -> Callable[Concatenate[Store, _P], Coroutine[Any, Any, _T]]:
    """Make a synchronous store method a coroutine that runs it on the database thread."""

    @wraps(method)
    async def offloaded(self: Store, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        return await self.call(method, self, *args, **kwargs)

    return offloaded


def _owner_values(owner: tuple[str, int, str, float] | None) -> dict[str, Any]:
    if owner is None:
        return {}
    name, pid, host, lease_seconds = owner
    import time

    return {
        "owner": name,
        "owner_pid": pid,
        "owner_host": host,
        "lease_expires_at": time.time() + lease_seconds,
    }


class RunDeadlinePassed(Exception):
    """A submit reached a run whose tool-output deadline has passed (it is due to expire)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(run_id)
        self.run_id = run_id


class Store:
    """The server's data: transactions over one engine, run on the store's database thread.

    ``Store(url)`` does no I/O; :meth:`open` creates the engine (and missing tables) and
    :meth:`close` disposes of it, both on the database thread.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._thread = DatabaseThread()
        self._conn: Connection | None = None
        """The transaction in progress on the database thread (nested calls join it)."""
        self._direct: DirectStatements | None = None
        """Prepared statements compiled for the engine's driver (see ``direct_statements``)."""
        self._histories: OrderedDict[str, _ThreadHistory] = OrderedDict()
        """Decoded history per thread (database thread only); see :meth:`_attempt_history`."""
        self._touched: dict[str, list[tuple[str | None, int | None]]] = {}
        """History rows the transaction in progress changed, per thread (kind, seq)."""
        self.history_rows_read = 0
        """Message and step rows read to build model requests (for tests: a long thread's
        later runs read only what is new)."""

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (after :meth:`open`)."""
        if self._engine is None:
            raise RuntimeError(STORE_NOT_OPEN_MESSAGE)
        return self._engine

    async def call(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``function(*args, **kwargs)`` on the database thread and return its result."""
        return await self._thread.call(function, *args, **kwargs)

    async def transact(
        self,
        function: Callable[Concatenate[Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Run ``function(conn, ...)`` in one write transaction on the database thread."""

        def run() -> _T:
            with self.write() as conn:
                return function(conn, *args, **kwargs)

        return await self.call(run)

    async def open(self) -> None:
        """Create the engine and any missing tables (idempotent)."""

        def create() -> None:
            if self._engine is None:
                self._engine = db.create_engine_for_url(self.url)
                self._direct = DirectStatements(self._engine.dialect)

        await self.call(create)

    async def close(self) -> None:
        """Dispose of the engine's connections and stop the database thread."""

        def dispose() -> None:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

        if self._engine is None:
            return
        await self.call(dispose)
        self._thread.close()
        self._thread = DatabaseThread()  # a later open() starts afresh

    # -- transactions (database thread only) ------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Return a write transaction (SQLite: BEGIN IMMEDIATE), committed on success.

        Inside another transaction of this store, the outer transaction is reused.
        """
        if self._conn is not None:
            yield self._conn
            return
        with self.engine.connect().execution_options(**{db.WRITE_OPTION: True}) as connection:
            with connection.begin():
                conn = self._direct_connection(connection)
                self._conn = conn
                try:
                    yield conn
                    if self._touched:
                        self._bump_history_versions(conn)
                finally:
                    self._conn = None
                    self._touched = {}

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Return a read transaction (or the transaction already in progress)."""
        if self._conn is not None:
            yield self._conn
            return
        with self.engine.connect() as connection:
            with connection.begin():
                conn = self._direct_connection(connection)
                self._conn = conn
                try:
                    yield conn
                finally:
                    self._conn = None

    def _direct_connection(self, connection: Connection) -> Connection:
        """Return ``connection`` running the registered statements directly on its driver."""
        if self._direct is None or not self._direct.enabled:
            return connection
        # Duck-typed: it answers everything a Connection does (execute, dialect, ...).
        return DirectConnection(connection, self._direct)  # type: ignore[return-value]

    # -- history versions (database thread only) --------------------------------------------

    def _history_touched(self, thread_id: str, kind: str | None, seq: int | None) -> None:
        """Note that this transaction changes a history row of ``thread_id``.

        ``kind`` is :data:`MESSAGE` or :data:`STEP` for rows a cached history may hold
        (messages, tool-call steps), None for rows it never holds; ``seq`` None means unknown
        (the cached history is dropped). The version is bumped once, at commit.
        """
        self._touched.setdefault(thread_id, []).append((kind, seq))

    def _bump_history_versions(self, conn: Connection) -> None:
        """Bump each touched thread's ``history_version``; keep or drop its cached history.

        A cached history stays valid only when this transaction is the sole writer since it was
        read (the new version is exactly one more) and changed nothing it holds.
        """
        for thread_id, touched in self._touched.items():
            version = conn.execute(_BUMP_HISTORY_VERSION, {"thread_id": thread_id}).scalar()
            cached = self._histories.get(thread_id)
            if cached is None:
                continue
            if version == cached.version + 1 and all(
                kind is None
                or (
                    seq is not None
                    and seq > (cached.message_seq if kind == MESSAGE else cached.step_seq)
                )
                for kind, seq in touched
            ):
                cached.version = version
            else:
                del self._histories[thread_id]

    # -- generic helpers ------------------------------------------------------------------

    @staticmethod
    def _get_row(conn: Connection, table: Table, object_id: str, **filters: str) -> Any:
        if filters:
            query = select(table).where(table.c.id == object_id)
            for column, value in filters.items():
                query = query.where(table.c[column] == value)
            row = conn.execute(query).first()
        else:
            row = conn.execute(_BY_ID[table.name], {"object_id": object_id}).first()
        if row is None:
            kind, param = _KINDS[table.name]
            raise not_found(kind, object_id, param)
        return row

    def _get(self, table_name: str, object_id: str, **filters: str) -> dict[str, Any]:
        """One object by id (optionally also matching ``thread_id``/``run_id``), else 404."""
        table = db.metadata.tables[table_name]
        with self.read() as conn:
            row = self._get_row(conn, table, object_id, **filters)
        return _SERIALIZERS[table_name](row)

    get = _offloaded(_get)

    def _get_in_thread(self, table_name: str, object_id: str, thread_id: str) -> dict[str, Any]:
        """One object of a thread, in one call: 404 for the thread first, then the object."""
        with self.read() as conn:
            row = conn.execute(
                _IN_THREAD[table_name], {"object_id": object_id, "thread_id": thread_id}
            ).first()
            if row is None:
                self._get_row(conn, db.threads, thread_id)
                kind, param = _KINDS[table_name]
                raise not_found(kind, object_id, param)
        return _SERIALIZERS[table_name](row)

    get_in_thread = _offloaded(_get_in_thread)

    def _exists(self, table_name: str, object_id: str) -> bool:
        """Whether an object with this id exists."""
        table = db.metadata.tables[table_name]
        with self.read() as conn:
            return (
                conn.execute(select(table.c.seq).where(table.c.id == object_id)).first() is not None
            )

    exists = _offloaded(_exists)

    def _list_objects(
        self,
        table_name: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
        in_thread: str | None = None,
        **filters: str | None,
    ) -> Page:
        """Return a page ordered by ``seq``, with cursors ``after``/``before`` (ids on the list).

        With ``in_thread``, a missing thread of that id is a 404 (checked in the same call).
        """
        table = db.metadata.tables[table_name]
        conditions = [table.c[column] == value for column, value in filters.items()]
        descending = order == "desc"
        with self.read() as conn:
            if in_thread is not None:
                self._get_row(conn, db.threads, in_thread)
            for cursor_name, cursor_id in (("after", after), ("before", before)):
                if cursor_id is None:
                    continue
                cursor_seq = conn.execute(
                    select(table.c.seq).where(table.c.id == cursor_id, *conditions)
                ).scalar()
                if cursor_seq is None:
                    kind, _ = _KINDS[table_name]
                    raise bad_request(
                        f"Invalid '{cursor_name}': no {kind} with id '{cursor_id}' in this list. "
                        f"Pass an id from a previous page ('first_id'/'last_id').",
                        param=cursor_name,
                    )
                # "after" continues in the list's order; "before" goes back against it.
                goes_up = (cursor_name == "after") != descending
                conditions.append(table.c.seq > cursor_seq if goes_up else table.c.seq < cursor_seq)
            query = select(table).where(and_(true(), *conditions))
            if before is not None and after is None:
                # Fetch the items nearest to the cursor, then present them in list order.
                query = query.order_by(table.c.seq.asc() if descending else table.c.seq.desc())
                rows = list(conn.execute(query.limit(limit + 1)))
                has_more = len(rows) > limit
                rows = list(reversed(rows[:limit]))
            else:
                query = query.order_by(table.c.seq.desc() if descending else table.c.seq.asc())
                rows = list(conn.execute(query.limit(limit + 1)))
                has_more = len(rows) > limit
                rows = rows[:limit]
        return Page([_SERIALIZERS[table_name](r) for r in rows], has_more)

    list_objects = _offloaded(_list_objects)

    # -- assistants -----------------------------------------------------------------------

    def _create_assistant(self, data: dict[str, Any]) -> dict[str, Any]:
        """Insert an assistant."""
        assistant_id = new_id("asst")
        with self.write() as conn:
            conn.execute(insert(db.assistants).values(id=assistant_id, created_at=now(), data=data))
            row = self._get_row(conn, db.assistants, assistant_id)
        return _assistant(row)

    create_assistant = _offloaded(_create_assistant)

    def _update_data(
        self, table_name: str, object_id: str, changes: dict[str, Any], **filters: str
    ) -> dict[str, Any]:
        """Merge ``changes`` into an object's JSON body."""
        table = db.metadata.tables[table_name]
        with self.write() as conn:
            row = self._get_row(conn, table, object_id, **filters)
            data = {**copy.deepcopy(row.data), **changes}
            _update_by_id(conn, table, object_id, {"data": data})
            if table_name == "messages":
                self._history_touched(row.thread_id, MESSAGE, row.seq)
            elif table_name == "run_steps":
                self._history_touched(row.thread_id, STEP, row.seq)
            row = self._get_row(conn, table, object_id)
        return _SERIALIZERS[table_name](row)

    update_data = _offloaded(_update_data)

    def _delete_assistant(self, assistant_id: str) -> None:
        """Delete an assistant (its past runs stay readable)."""
        with self.write() as conn:
            self._get_row(conn, db.assistants, assistant_id)
            conn.execute(delete(db.assistants).where(db.assistants.c.id == assistant_id))

    delete_assistant = _offloaded(_delete_assistant)

    # -- threads and messages ---------------------------------------------------------------

    def _insert_thread(
        self, conn: Connection, data: dict[str, Any], messages: list[dict[str, Any]]
    ) -> str:
        thread_id = new_id("thread")
        created = now()
        conn.execute(_INSERT["threads"], {"id": thread_id, "created_at": created, "data": data})
        for message in messages:
            # A brand-new thread's history is in no cache: no version bump needed.
            self._insert_message_row(conn, thread_id, message, new_thread=True)
        return thread_id

    def _insert_message(self, conn: Connection, thread_id: str, message: dict[str, Any]) -> str:
        return str(self._insert_message_row(conn, thread_id, message)[0]["id"])

    def _insert_message_row(
        self,
        conn: Connection,
        thread_id: str,
        message: dict[str, Any],
        *,
        new_thread: bool = False,
    ) -> tuple[dict[str, Any], int]:
        """Insert a message; return its API body and its ``seq``."""
        message_id = new_id("msg")
        fields = dict(message)
        role = fields.pop("role")
        status = fields.pop("status", "completed")
        run_id = fields.pop("run_id", None)
        created = now()
        data = {
            "assistant_id": None,
            "attachments": [],
            "metadata": {},
            "incomplete_details": None,
            "completed_at": created if status == "completed" else None,
            "incomplete_at": None,
            **fields,
        }
        result = conn.execute(
            _INSERT["messages"],
            {
                "id": message_id,
                "thread_id": thread_id,
                "run_id": run_id,
                "role": role,
                "status": status,
                "created_at": created,
                "data": data,
            },
        )
        body = {
            "id": message_id,
            "object": "thread.message",
            "created_at": created,
            "thread_id": thread_id,
            "run_id": run_id,
            "role": role,
            "status": status,
            **data,
        }
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        seq = int(primary_key[0])
        if not new_thread:
            self._history_touched(thread_id, MESSAGE, seq)
        return body, seq

    def _create_thread(
        self, data: dict[str, Any], messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Insert a thread and its initial messages in one transaction."""
        with self.write() as conn:
            thread_id = self._insert_thread(conn, data, messages)
            row = self._get_row(conn, db.threads, thread_id)
        return _thread(row)

    create_thread = _offloaded(_create_thread)

    def _delete_thread(self, thread_id: str) -> None:
        """Delete a thread with its messages, runs and steps."""
        with self.write() as conn:
            self._get_row(conn, db.threads, thread_id)
            conn.execute(delete(db.run_steps).where(db.run_steps.c.thread_id == thread_id))
            conn.execute(delete(db.runs).where(db.runs.c.thread_id == thread_id))
            conn.execute(delete(db.messages).where(db.messages.c.thread_id == thread_id))
            conn.execute(delete(db.threads).where(db.threads.c.id == thread_id))
        self._histories.pop(thread_id, None)

    delete_thread = _offloaded(_delete_thread)

    @staticmethod
    def _active_run_id(conn: Connection, thread_id: str) -> str | None:
        now_s = now()
        rows = conn.execute(_ACTIVE_RUNS, {"thread_id": thread_id}).all()
        for row in rows:
            if (
                row.status == "requires_action"
                and row.expires_at is not None
                and row.expires_at <= now_s
            ):
                continue  # expired; the worker marks it so, it no longer blocks the thread
            return str(row.id)
        return None

    def _add_message(self, thread_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Add a user/assistant message, refusing while a run is active on the thread."""
        with self.write() as conn:
            self._get_row(conn, db.threads, thread_id)
            active = self._active_run_id(conn, thread_id)
            if active is not None:
                raise APIError(400, ACTIVE_RUN_MESSAGE.format(thread_id=thread_id, run_id=active))
            message_id = self._insert_message(conn, thread_id, message)
            row = self._get_row(conn, db.messages, message_id)
        return _message(row)

    add_message = _offloaded(_add_message)

    def _insert_run_message(self, thread_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Add a message written by a run (no active-run check)."""
        with self.write() as conn:
            message_id = self._insert_message(conn, thread_id, message)
            row = self._get_row(conn, db.messages, message_id)
        return _message(row)

    insert_message = _offloaded(_insert_run_message)

    def _update_message(
        self, message_id: str, *, status: str | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change a message's status and/or body fields."""
        with self.write() as conn:
            row = self._get_row(conn, db.messages, message_id)
            data = {**row.data, **changes}  # row.data is freshly decoded: not shared
            values: dict[str, Any] = {"data": data}
            if status is not None:
                values["status"] = status
            _update_by_id(conn, db.messages, message_id, values)
            self._history_touched(row.thread_id, MESSAGE, row.seq)
        return {**_message(row), "status": values.get("status", row.status), **data}

    update_message = _offloaded(_update_message)

    # -- runs -----------------------------------------------------------------------------

    def _create_run(
        self,
        thread_id: str,
        assistant_id: str,
        build_data: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        additional_messages: list[dict[str, Any]] = (),  # type: ignore[assignment]
        new_thread: tuple[dict[str, Any], list[dict[str, Any]]] | None = None,
        owner: tuple[str, int, str, float] | None = None,
        key: StreamRecorder | None = None,
        begin: bool = False,
    ) -> tuple[dict[str, Any], dict[str, Any] | None, Attempt | None]:
        """Insert a queued run (and its thread or extra messages) in one transaction.

        ``build_data(assistant)`` makes the run's stored body from its assistant. A missing
        thread (checked first), a missing assistant or an active run on the thread is refused.
        ``key`` claims the request's idempotency key first thing in the same transaction and
        records the run on it last. Returns the run (as queued), the new thread (or None) and, with
        ``begin=True`` and an ``owner``, the owner's first attempt at the run, begun right
        after the commit in the same database call (see :meth:`_begin_attempt`).
        """
        run_id = new_id("run")
        with self.write() as conn:
            if key is not None:
                key.claim_key(conn)
            thread: dict[str, Any] | None = None
            if new_thread is None:
                self._get_row(conn, db.threads, thread_id)
            data = build_data(_assistant(self._get_row(conn, db.assistants, assistant_id)))
            if new_thread is not None:
                thread_id = self._insert_thread(conn, *new_thread)
                thread = _thread(self._get_row(conn, db.threads, thread_id))
            else:
                active = self._active_run_id(conn, thread_id)
                if active is not None:
                    raise APIError(
                        400, ACTIVE_RUN_NEW_RUN_MESSAGE.format(thread_id=thread_id, run_id=active)
                    )
            for message in additional_messages:
                self._insert_message(conn, thread_id, message)
            conn.execute(
                _INSERT["runs"],
                {
                    "id": run_id,
                    "thread_id": thread_id,
                    "assistant_id": assistant_id,
                    "status": "queued",
                    "created_at": now(),
                    "expires_at": None,
                    "data": data,
                    **_owner_values(owner),
                },
            )
            run = _run(self._get_row(conn, db.runs, run_id))
            if key is not None:
                key.record_run(conn, run)
            attempt = self._begin_for(conn, run_id, owner if begin else None)
        return run, thread, attempt

    create_run = _offloaded(_create_run)

    def _requeue_with_outputs(
        self,
        thread_id: str,
        run_id: str,
        outputs_for: Callable[[dict[str, Any]], dict[str, str]],
        owner: tuple[str, int, str, float],
        key: StreamRecorder | None = None,
        begin: bool = False,
    ) -> tuple[dict[str, Any], list[dict[str, Any]], Attempt | None]:
        """Check a submit, record its tool outputs and re-queue the run, in one transaction.

        The run must be in ``thread_id`` (else 404, for the thread first) and waiting for
        outputs (else 400); ``outputs_for(run)`` checks the submitted outputs against the run's
        pending calls and returns them by call id (it raises the 400 for a bad submit). A run
        whose deadline has passed raises :class:`RunDeadlinePassed` (expire it, then refuse).
        Outputs go onto the run's waiting ``tool_calls`` steps, which complete. Returns the run
        (as queued), the steps and, with ``begin=True``, the owner's attempt at the run's next
        step, begun at the end of the same transaction.
        ``key`` claims the request's idempotency key first thing in the same transaction and
        records the run on it last.
        """
        stamp = now()
        completed: list[dict[str, Any]] = []
        with self.write() as conn:
            if key is not None:
                key.claim_key(conn)
            current = conn.execute(
                _IN_THREAD["runs"], {"object_id": run_id, "thread_id": thread_id}
            ).first()
            if current is None:
                self._get_row(conn, db.threads, thread_id)
                kind, param = _KINDS["runs"]
                raise not_found(kind, run_id, param)
            if current.status != "requires_action":
                raise bad_request(NO_TOOL_OUTPUTS_MESSAGE.format(status=current.status))
            if current.expires_at is not None and current.expires_at <= stamp:
                raise RunDeadlinePassed(run_id)
            outputs = outputs_for(_run(current))
            steps = conn.execute(_WAITING_TOOL_STEPS, {"run_id": run_id}).all()
            for step in steps:
                details = step.data["step_details"]
                calls = [
                    {**call, "function": {**call["function"], "output": outputs[call["id"]]}}
                    if call["id"] in outputs
                    else call
                    for call in details["tool_calls"]
                ]
                # New dicts on the changed path only: _step(step) below keeps the original.
                data = {
                    **step.data,
                    "step_details": {**details, "tool_calls": calls},
                    "completed_at": stamp,
                }
                _update_by_id(conn, db.run_steps, step.id, {"status": "completed", "data": data})
                completed.append({**_step(step), "status": "completed", **data})
                self._history_touched(step.thread_id, STEP, step.seq)
            values = {
                "status": "queued",
                "expires_at": None,
                "data": {**current.data, "required_action": None},
                **_owner_values(owner),
            }
            _update_by_id(conn, db.runs, run_id, values)
            run = _run_changed(current, values)
            if key is not None:
                key.record_run(conn, run)
            attempt = self._begin_for(conn, run_id, owner if begin else None)
        return run, completed, attempt

    requeue_with_outputs = _offloaded(_requeue_with_outputs)

    def _run_row(self, run_id: str) -> Any:
        """Return the raw run row (with owner and lease columns)."""
        with self.read() as conn:
            return self._get_row(conn, db.runs, run_id)

    run_row = _offloaded(_run_row)

    def _update_run(
        self,
        run_id: str,
        *,
        status: str | None = None,
        only_if_status: tuple[str, ...] | None = None,
        owner: str | None = None,
        **changes: Any,
    ) -> dict[str, Any] | None:
        """Change a run; with ``only_if_status`` return None (and change nothing) otherwise.

        ``owner`` restricts the change to a run this server instance owns.
        """
        with self.write() as conn:
            row = self._get_row(conn, db.runs, run_id)
            if only_if_status is not None and row.status not in only_if_status:
                return None
            if owner is not None and row.owner != owner:
                return None
            values: dict[str, Any] = {}
            if "expires_at" in changes:
                values["expires_at"] = changes.pop("expires_at")
            if changes:
                values["data"] = {**row.data, **changes}  # row.data is freshly decoded
            if status is not None:
                values["status"] = status
                if status not in EXECUTABLE_RUN_STATUSES:
                    values.update(
                        owner=None, owner_pid=None, owner_host=None, lease_expires_at=None
                    )
            if values:
                _update_by_id(conn, db.runs, run_id, values)
        return _run_changed(row, values)

    update_run = _offloaded(_update_run)

    def _claim_run(
        self,
        run_id: str,
        owner: str,
        pid: int,
        host: str,
        lease_seconds: float,
        *,
        dead_owners: tuple[str, ...] = (),
    ) -> bool:
        """Take a queued/in-progress run for this instance unless a live owner holds it."""
        import time

        now_f = time.time()
        with self.write() as conn:
            row = conn.execute(
                select(db.runs.c.status, db.runs.c.owner, db.runs.c.lease_expires_at).where(
                    db.runs.c.id == run_id
                )
            ).first()
            if row is None or row.status not in EXECUTABLE_RUN_STATUSES:
                return False
            free = (
                row.owner is None
                or row.owner == owner
                or row.owner in dead_owners
                or (row.lease_expires_at is not None and row.lease_expires_at < now_f)
            )
            if not free:
                return False
            conn.execute(
                update(db.runs)
                .where(db.runs.c.id == run_id)
                .values(
                    owner=owner,
                    owner_pid=pid,
                    owner_host=host,
                    lease_expires_at=now_f + lease_seconds,
                )
            )
        return True

    claim_run = _offloaded(_claim_run)

    def _renew_leases(self, owner: str, lease_seconds: float) -> list[tuple[str, str]]:
        """Extend this instance's leases; return (run id, status) of the runs it owns."""
        import time

        with self.write() as conn:
            conn.execute(
                update(db.runs)
                .where(db.runs.c.owner == owner, db.runs.c.status.in_(EXECUTABLE_RUN_STATUSES))
                .values(lease_expires_at=time.time() + lease_seconds)
            )
            rows = conn.execute(
                select(db.runs.c.id, db.runs.c.status).where(db.runs.c.owner == owner)
            ).all()
        return [(r.id, r.status) for r in rows]

    renew_leases = _offloaded(_renew_leases)

    def _orphan_candidates(self) -> list[Any]:
        """Return the executable runs with their owner columns, for the reclaim check."""
        with self.read() as conn:
            return list(
                conn.execute(
                    select(
                        db.runs.c.id,
                        db.runs.c.status,
                        db.runs.c.owner,
                        db.runs.c.owner_pid,
                        db.runs.c.owner_host,
                        db.runs.c.lease_expires_at,
                    ).where(db.runs.c.status.in_(EXECUTABLE_RUN_STATUSES))
                )
            )

    orphan_candidates = _offloaded(_orphan_candidates)

    def _overdue_runs(self, now_s: int, thread_id: str | None = None) -> list[str]:
        """Ids of runs waiting for tool outputs past their expiry time (of one thread)."""
        with self.read() as conn:
            if thread_id is None:
                rows = conn.execute(_OVERDUE_RUNS, {"now_s": now_s})
            else:
                rows = conn.execute(_OVERDUE_THREAD_RUNS, {"now_s": now_s, "thread_id": thread_id})
            return [r.id for r in rows]

    overdue_runs = _offloaded(_overdue_runs)

    # -- steps ----------------------------------------------------------------------------

    def _insert_step(
        self,
        conn: Connection,
        run: dict[str, Any],
        step_type: str,
        details: dict[str, Any],
        *,
        after_message_seq: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Insert an in-progress run step placed after the thread's latest message; return it."""
        step_id = new_id("step")
        if after_message_seq is None:
            after_message_seq = (
                conn.execute(_LAST_MESSAGE_SEQ, {"thread_id": run["thread_id"]}).scalar() or 0
            )
        data = {
            "assistant_id": run["assistant_id"],
            "step_details": details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "metadata": {},
            "usage": None,
            **extra,
        }
        created_at = now()
        result = conn.execute(
            _INSERT["run_steps"],
            {
                "id": step_id,
                "run_id": run["id"],
                "thread_id": run["thread_id"],
                "type": step_type,
                "status": "in_progress",
                "after_message_seq": after_message_seq,
                "created_at": created_at,
                "data": data,
            },
        )
        primary_key = result.inserted_primary_key
        assert primary_key is not None
        self._history_touched(
            run["thread_id"], STEP if step_type == "tool_calls" else None, int(primary_key[0])
        )
        return _step_body(
            step_id, created_at, run["id"], run["thread_id"], step_type, "in_progress", data
        )

    def _create_step(
        self, run: dict[str, Any], step_type: str, details: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """Insert an in-progress run step, placed after the thread's latest message."""
        with self.write() as conn:
            return self._insert_step(conn, run, step_type, details, **extra)

    create_step = _offloaded(_create_step)

    def _update_step(
        self, step_id: str, *, status: str | None = None, **changes: Any
    ) -> dict[str, Any]:
        """Change a step's status and/or body fields."""
        with self.write() as conn:
            row = self._get_row(conn, db.run_steps, step_id)
            data = {**row.data, **changes}  # row.data is freshly decoded: not shared
            values: dict[str, Any] = {"data": data}
            if status is not None:
                values["status"] = status
            _update_by_id(conn, db.run_steps, step_id, values)
            self._history_touched(
                row.thread_id, STEP if row.type == "tool_calls" else None, row.seq
            )
        return {**_step(row), "status": values.get("status", row.status), **data}

    update_step = _offloaded(_update_step)

    def _run_steps(self, run_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """All steps of a run, oldest first."""
        with self.read() as conn:
            query = select(db.run_steps).where(db.run_steps.c.run_id == run_id)
            if status is not None:
                query = query.where(db.run_steps.c.status == status)
            return [_step(r) for r in conn.execute(query.order_by(db.run_steps.c.seq.asc()))]

    run_steps = _offloaded(_run_steps)

    def _run_messages(self, run_id: str, status: str | None = None) -> list[dict[str, Any]]:
        """Messages a run wrote, oldest first."""
        with self.read() as conn:
            query = select(db.messages).where(db.messages.c.run_id == run_id)
            if status is not None:
                query = query.where(db.messages.c.status == status)
            return [_message(r) for r in conn.execute(query.order_by(db.messages.c.seq.asc()))]

    run_messages = _offloaded(_run_messages)

    def _discard_partial_output(self, run_id: str, thread_id: str) -> None:
        """Remove an interrupted attempt's unfinished message steps and messages (on resume)."""
        with self.write() as conn:
            steps = conn.execute(_PARTIAL_MESSAGE_STEPS, {"run_id": run_id}).all()
            for step in steps:
                message_id = step.data["step_details"]["message_creation"]["message_id"]
                conn.execute(delete(db.messages).where(db.messages.c.id == message_id))
                conn.execute(delete(db.run_steps).where(db.run_steps.c.id == step.id))
            deleted = conn.execute(_DELETE_PARTIAL_MESSAGES, {"run_id": run_id}).rowcount
            if steps or deleted:
                self._history_touched(thread_id, MESSAGE, None)

    discard_partial_output = _offloaded(_discard_partial_output)

    def _delete_message(self, message_id: str) -> None:
        """Delete one message."""
        with self.write() as conn:
            row = conn.execute(
                select(db.messages.c.thread_id, db.messages.c.seq).where(
                    db.messages.c.id == message_id
                )
            ).first()
            if row is None:
                return
            conn.execute(delete(db.messages).where(db.messages.c.id == message_id))
            self._history_touched(row.thread_id, MESSAGE, row.seq)

    delete_message = _offloaded(_delete_message)

    # -- a run's attempt, in as few transactions as possible ---------------------------------

    def _begin_attempt(
        self, run_id: str, owner: str, pid: int, host: str, lease_seconds: float
    ) -> Attempt | None:
        """Start an attempt at a run's next model step, in one transaction.

        Claims the run, clears an interrupted attempt's output, marks it ``in_progress`` and
        reads what the model request needs. None when the run is not ours to run.
        """
        now_f = time.time()
        with self.write() as conn:
            row = conn.execute(_BY_ID["runs"], {"object_id": run_id}).first()
            if row is None or row.status not in EXECUTABLE_RUN_STATUSES:
                return None
            if not (
                row.owner is None
                or row.owner == owner
                or (row.lease_expires_at is not None and row.lease_expires_at < now_f)
            ):
                return None
            values: dict[str, Any] = {
                "owner": owner,
                "owner_pid": pid,
                "owner_host": host,
                "lease_expires_at": now_f + lease_seconds,
            }
            if row.status == "cancelling":
                _update_by_id(conn, db.runs, run_id, values)
                return Attempt(_run(row), False, None, [], [])
            moved = row.status == "queued"
            if not moved:
                # Only an attempt cut short leaves partial output, and it leaves the run
                # in_progress: a queued run (new, or re-queued after tool outputs) has none.
                self._discard_partial_output(run_id, row.thread_id)
            if moved:
                values["status"] = "in_progress"
                values["data"] = {**row.data, "started_at": row.data.get("started_at") or now()}
            _update_by_id(conn, db.runs, run_id, values)
            run = _run_changed(row, values)
            truncation = run.get("truncation_strategy") or {}
            last_messages = (
                truncation.get("last_messages")
                if truncation.get("type") == "last_messages"
                else None
            )
            message_rows, tool_steps = self._attempt_history(conn, run_id, run["thread_id"])
        if last_messages is not None:
            message_rows = message_rows[max(0, len(message_rows) - last_messages) :]
            if last_messages:
                first_seq = message_rows[0].seq if message_rows else 0
                tool_steps = [s for s in tool_steps if s.after_message_seq >= first_seq - 1]
        return Attempt(
            run,
            moved,
            row.data.get("_additional_instructions"),
            message_rows,
            tool_steps,
        )

    def _attempt_history(
        self, conn: Connection, run_id: str, thread_id: str
    ) -> tuple[list[Any], list[Any]]:
        """Return the thread's messages and tool-call steps for the run's next model request.

        The decoded history of a thread is kept between attempts and runs (bounded, least
        recently used dropped) and checked against the thread's ``history_version`` (one
        indexed select): every write to the thread's messages or steps, in any process, bumps
        it, and this process's own writes keep the copy only when they change nothing it
        holds. So a run reads only the rows after the copy's marks; a restarted server, or a
        copy another writer invalidated, reads the thread again.
        """
        version = conn.execute(_HISTORY_VERSION, {"thread_id": thread_id}).scalar() or 0
        cached = self._histories.get(thread_id)
        if cached is None or cached.version != version:
            cached = self._histories[thread_id] = _ThreadHistory(version, [], [])
            while len(self._histories) > HISTORY_CACHE_THREADS:
                self._histories.popitem(last=False)
        else:
            self._histories.move_to_end(thread_id)
        params = {"thread_id": thread_id}
        new_messages: list[Any] = [
            MessageRow._make(row)
            for row in conn.execute(_MESSAGES_AFTER, {**params, "seq": cached.message_seq})
        ]
        new_steps: list[Any] = [
            StepRow._make(row)
            for row in conn.execute(_TOOL_STEPS_AFTER, {**params, "seq": cached.step_seq})
        ]
        self.history_rows_read += len(new_messages) + len(new_steps)
        # Keep the leading rows that no run writes any more (the run's own rows come last).
        kept = _final_prefix(new_messages, run_id, "in_progress")
        if kept:
            cached.message_rows.extend(new_messages[:kept])
            cached.message_seq = new_messages[kept - 1].seq
        kept_steps = _final_prefix(new_steps, run_id, "in_progress")
        if kept_steps:
            cached.tool_steps.extend(new_steps[:kept_steps])
            cached.step_seq = new_steps[kept_steps - 1].seq
        return (
            cached.message_rows + new_messages[kept:],
            cached.tool_steps + new_steps[kept_steps:],
        )

    begin_attempt = _offloaded(_begin_attempt)

    def _begin_for(
        self, conn: Connection, run_id: str, owner: tuple[str, int, str, float] | None
    ) -> Attempt | None:
        """Begin ``owner``'s attempt at a run just queued (None without an owner).

        Called last in the transaction that queued the run, so the worker starts the model
        step without another transaction or trip to this thread. The history this
        transaction changed is accounted for first, so the attempt reads it like a later
        transaction would (and the thread's cached history stays valid).
        """
        if owner is None:
            return None
        if self._touched:
            self._bump_history_versions(conn)
            self._touched = {}
        name, pid, host, lease_seconds = owner
        return self._begin_attempt(run_id, name, pid, host, lease_seconds)

    def _start_assistant_message(
        self, run: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return the run's in-progress assistant message and its ``message_creation`` step."""
        with self.write() as conn:
            message, seq = self._insert_message_row(
                conn,
                run["thread_id"],
                {
                    "role": "assistant",
                    "status": "in_progress",
                    "run_id": run["id"],
                    "assistant_id": run["assistant_id"],
                    "content": [],
                },
            )
            step = self._insert_step(
                conn,
                run,
                "message_creation",
                {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
                after_message_seq=seq,  # the message just inserted is the thread's latest
            )
        return message, step

    start_assistant_message = _offloaded(_start_assistant_message)

    def _finish_assistant_message(
        self,
        message_id: str,
        step_id: str,
        message_status: str,
        message_changes: dict[str, Any],
        step_changes: dict[str, Any],
        complete_run: tuple[str, dict[str, Any]] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """Complete (or mark incomplete) the run's message and complete its step.

        With ``complete_run=(run_id, changes)`` the run also becomes ``completed`` if it is
        still ``in_progress`` (the third item; None otherwise), in the same transaction.
        """
        with self.write():
            message = self._update_message(message_id, status=message_status, **message_changes)
            step = self._update_step(step_id, status="completed", **step_changes)
            run = None
            if complete_run is not None:
                run_id, changes = complete_run
                run = self._update_run(
                    run_id, status="completed", only_if_status=("in_progress",), **changes
                )
        return message, step, run

    finish_assistant_message = _offloaded(_finish_assistant_message)

    def _record_tool_calls(
        self,
        run: dict[str, Any],
        calls: list[dict[str, Any]],
        usage: dict[str, int],
        run_changes: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        """Record a ``tool_calls`` step and move the run to ``requires_action``.

        Returns the step as created, the step with its calls, and the run.

        The run changes only if it is still ``in_progress`` (else the third item is None).
        """
        with self.write() as conn:
            step = self._insert_step(
                conn, run, "tool_calls", {"type": "tool_calls", "tool_calls": calls}, usage=usage
            )
            created = {**step, "step_details": {"type": "tool_calls", "tool_calls": []}}
            updated = self._update_run(
                run["id"],
                status="requires_action",
                only_if_status=("in_progress",),
                **run_changes,
            )
        return created, step, updated

    record_tool_calls = _offloaded(_record_tool_calls)

    def _end_run(
        self,
        run_id: str,
        status: str,
        from_statuses: tuple[str, ...],
        run_changes: dict[str, Any],
        step_status: str,
        step_changes: dict[str, Any],
        message_changes: dict[str, Any],
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
        """End a run with its unfinished steps and messages (marked ``incomplete``).

        Returns the run (None when it was not in ``from_statuses``: nothing changes), the
        steps and the messages it changed.
        """
        with self.write():
            run = self._update_run(
                run_id, status=status, only_if_status=from_statuses, **run_changes
            )
            if run is None:
                return None, [], []
            steps = [
                self._update_step(step["id"], status=step_status, **step_changes)
                for step in self._run_steps(run_id, status="in_progress")
            ]
            messages = [
                self._update_message(message["id"], status="incomplete", **message_changes)
                for message in self._run_messages(run_id, status="in_progress")
            ]
        return run, steps, messages

    end_run = _offloaded(_end_run)

    def _release_run(self, run_id: str, owner: str) -> None:
        """Give up this owner's claim on a run without changing its status."""
        with self.write() as conn:
            conn.execute(
                update(db.runs)
                .where(db.runs.c.id == run_id, db.runs.c.owner == owner)
                .values(owner=None, owner_pid=None, owner_host=None, lease_expires_at=None)
            )

    release_run = _offloaded(_release_run)


def _final_prefix(rows: list[Any], run_id: str, unfinished: str) -> int:
    """How many leading ``rows`` belong to no active run: not ``run_id``'s, not unfinished."""
    for index, row in enumerate(rows):
        if row.run_id == run_id or row.status == unfinished:
            return index
    return len(rows)


@dataclass(frozen=True)
class Attempt:
    """What the worker needs to execute one model step of a run."""

    run: dict[str, Any]
    moved_to_in_progress: bool
    """Whether this attempt moved the run from ``queued`` (publish ``thread.run.in_progress``)."""
    additional_instructions: str | None
    message_rows: list[Any]
    tool_steps: list[Any]
