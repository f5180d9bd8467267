"""A thread's history as a model request needs it: its messages and tool-call steps, in order.

Decoding a long thread's rows (their JSON bodies) for every model step is most of a step's
database time, so decoded rows are kept between steps and runs in a :class:`HistoryCache`.
It is correct by construction:

- it keeps only rows in a final state (a completed or incomplete message, a finished step),
  whose content never changes again (only metadata can, which no prompt reads);
- every read lists the thread's current rows (id and status, no bodies) from the database, so
  rows deleted or added by any process are seen, and ids are never reused;
- it is updated only after the reading transaction commits (:func:`after_commit`), and the
  only invalidation is dropping the least recently used thread beyond its bound.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Mapping
from typing import Any

from assistant_graph.assistants_server import db
from sqlalchemy import Connection, Select, Table, bindparam, select

HISTORY_CACHE_THREADS = 256
"""How many threads keep their decoded history in memory (least recently used dropped)."""
FINAL_STATUSES = frozenset({"completed", "incomplete", "failed", "cancelled", "expired"})
"""Statuses after which a message's or step's content never changes."""
_CHUNK = 500
"""Ids fetched per ``IN (...)`` query (below every SQLite build's variable limit)."""
AFTER_COMMIT = "assistants_after_commit"
"""``Connection.info`` entry: callbacks :class:`~.database.Store` runs once the transaction
committed (and drops when it rolls back)."""


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the transaction of ``conn`` has committed."""
    conn.info.setdefault(AFTER_COMMIT, []).append(callback)


class HistoryCache:
    """Decoded final rows (messages and tool-call steps) by id, per recently run thread."""

    def __init__(self, threads: int = HISTORY_CACHE_THREADS) -> None:
        self.threads = threads
        self._rows: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def known(self, thread_id: str) -> Mapping[str, Any]:
        """Return the thread's cached rows by id (empty when none)."""
        return self._rows.get(thread_id, {})

    def keep(self, thread_id: str, rows: dict[str, Any]) -> None:
        """Replace the thread's cached rows (called after commit only)."""
        self._rows[thread_id] = rows
        self._rows.move_to_end(thread_id)
        while len(self._rows) > self.threads:
            self._rows.popitem(last=False)


MessageRow = namedtuple("MessageRow", db.messages.c.keys())  # type: ignore[misc]
"""A decoded message row: plain attributes, several times faster to read than a database row
(each model request reads every message of the thread)."""
StepRow = namedtuple("StepRow", db.run_steps.c.keys())  # type: ignore[misc]
"""A decoded run-step row."""


def _listing(table: Table, *conditions: Any) -> Select[Any]:
    """Ids and statuses of a thread's rows, in order (no bodies)."""
    thread = table.c.thread_id == bindparam("thread_id")
    return select(table.c.id, table.c.status).where(thread, *conditions).order_by(table.c.seq)


def _by_ids(table: Table) -> Select[Any]:
    return select(table).where(table.c.id.in_(bindparam("ids", expanding=True)))


_MESSAGES = (db.messages, MessageRow, _listing(db.messages), _by_ids(db.messages))
_TOOL_STEPS = (
    db.run_steps,
    StepRow,
    _listing(db.run_steps, db.run_steps.c.type == "tool_calls"),
    _by_ids(db.run_steps),
)


def _current_rows(
    conn: Connection,
    kind: tuple[Table, Any, Select[Any], Select[Any]],
    thread_id: str,
    known: Mapping[str, Any],
    final: dict[str, Any],
) -> list[Any]:
    """Return the thread's rows of ``kind`` in order, decoding bodies only if not ``known``.

    Rows in a final state are also put in ``final`` (by id).
    """
    _table, record, listing_statement, by_ids = kind
    listing = conn.execute(listing_statement, {"thread_id": thread_id}).all()
    missing = [object_id for object_id, _status in listing if object_id not in known]
    fetched: dict[str, Any] = {}
    for start in range(0, len(missing), _CHUNK):
        for row in conn.execute(by_ids, {"ids": missing[start : start + _CHUNK]}):
            fetched[row.id] = record._make(row)
    current = []
    for object_id, status in listing:
        row = known[object_id] if object_id in known else fetched[object_id]
        current.append(row)
        if status in FINAL_STATUSES:
            final[object_id] = row
    return current


def read_history(
    conn: Connection,
    thread_id: str,
    last_messages: int | None = None,
    cache: HistoryCache | None = None,
) -> tuple[list[Any], list[Any]]:
    """Return the thread's message rows and tool-call step rows, oldest first.

    With ``last_messages`` (a run's ``truncation_strategy``), only that many latest messages
    and the tool-call steps recorded after the message before them. With ``cache``, rows
    decoded before are reused, and the final rows read here are kept once the transaction
    commits.
    """
    known = cache.known(thread_id) if cache is not None else {}
    final: dict[str, Any] = {}
    message_rows = _current_rows(conn, _MESSAGES, thread_id, known, final)
    tool_steps = _current_rows(conn, _TOOL_STEPS, thread_id, known, final)
    if cache is not None:
        after_commit(conn, lambda: cache.keep(thread_id, final))
    if last_messages is not None:
        message_rows = message_rows[max(0, len(message_rows) - last_messages) :]
        if last_messages:
            first_seq = message_rows[0].seq if message_rows else 0
            tool_steps = [s for s in tool_steps if s.after_message_seq >= first_seq - 1]
    return message_rows, tool_steps
