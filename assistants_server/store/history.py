"""A thread's history as a model request needs it: its messages and tool-call steps, in order.

Decoding a long thread's rows (their JSON bodies) for every model step is most of a step's
database time, so each thread's longest *final prefix* is kept between steps and runs in a
:class:`HistoryCache`: its rows from the first up to the first one not yet in a final state (a
completed or incomplete message, a finished step), whose content never changes again (only
metadata can, which no prompt reads). A read then costs work proportional to what is new:

- rows are only ever appended to a thread (``seq`` grows), so one indexed query returns the rows
  from the prefix's last position on, and a second counts the thread's rows up to it;
- a deletion anywhere in the prefix (by any process on the same database) changes that count,
  or removes the prefix's last row (whose id the first query checks, as SQLite may give a new
  row the ``seq`` of a deleted last one): then the whole thread is read again;
- the cache is updated only after the reading transaction commits (:func:`after_commit`), and
  beyond its bound the least recently used thread is dropped.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from assistant_graph.assistants_server import db
from sqlalchemy import Connection, Select, Table, bindparam, func, select

HISTORY_CACHE_THREADS = 256
"""How many threads keep their decoded history in memory (least recently used dropped)."""
FINAL_STATUSES = frozenset({"completed", "incomplete", "failed", "cancelled", "expired"})
"""Statuses after which a message's or step's content never changes."""
AFTER_COMMIT = "assistants_after_commit"
"""``Connection.info`` entry: callbacks :class:`~.database.Store` runs once the transaction
committed (and drops when it rolls back)."""


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the transaction of ``conn`` has committed."""
    conn.info.setdefault(AFTER_COMMIT, []).append(callback)


class Prefix(NamedTuple):
    """A thread's leading rows of one kind, all in a final state, oldest first."""

    rows: tuple[Any, ...] = ()

    @property
    def seq(self) -> int:
        """The position of the last row (0 when empty: ``seq`` starts at 1)."""
        return self.rows[-1].seq if self.rows else 0


class CachedHistory(NamedTuple):
    """The final prefixes of a thread's messages and tool-call steps."""

    messages: Prefix = Prefix()
    tool_steps: Prefix = Prefix()


class HistoryCache:
    """Decoded final prefixes (messages and tool-call steps), per recently run thread."""

    def __init__(self, threads: int = HISTORY_CACHE_THREADS) -> None:
        self.threads = threads
        self._threads: OrderedDict[str, CachedHistory] = OrderedDict()

    def cached(self, thread_id: str) -> CachedHistory:
        """Return the thread's cached prefixes (empty when none)."""
        return self._threads.get(thread_id, CachedHistory())

    def known(self, thread_id: str) -> Mapping[str, Any]:
        """Return the thread's cached rows by id (empty when none)."""
        cached = self.cached(thread_id)
        return {row.id: row for row in (*cached.messages.rows, *cached.tool_steps.rows)}

    def keep(self, thread_id: str, history: CachedHistory) -> None:
        """Replace the thread's cached prefixes (called after commit only)."""
        self._threads[thread_id] = history
        self._threads.move_to_end(thread_id)
        while len(self._threads) > self.threads:
            self._threads.popitem(last=False)


MessageRow = namedtuple("MessageRow", db.messages.c.keys())  # type: ignore[misc]
"""A decoded message row: plain attributes, several times faster to read than a database row
(each model request reads every message of the thread)."""
StepRow = namedtuple("StepRow", db.run_steps.c.keys())  # type: ignore[misc]
"""A decoded run-step row."""


class _Kind(NamedTuple):
    record: Any
    rows_from: Select[Any]
    """The thread's rows from position ``pos`` on (bodies included), in order."""
    count_to: Select[Any]
    """How many rows the thread has up to position ``pos``."""


def _kind(table: Table, record: Any, *conditions: Any) -> _Kind:
    thread = table.c.thread_id == bindparam("thread_id")
    seq = table.c.seq
    return _Kind(
        record,
        select(table).where(thread, *conditions, seq >= bindparam("pos")).order_by(seq),
        select(func.count()).select_from(table).where(thread, *conditions, seq <= bindparam("pos")),
    )


_MESSAGES = _kind(db.messages, MessageRow)
_TOOL_STEPS = _kind(db.run_steps, StepRow, db.run_steps.c.type == "tool_calls")


def _read(
    conn: Connection, kind: _Kind, thread_id: str, cached: Prefix
) -> tuple[list[Any], Prefix]:
    """Return the thread's rows of ``kind`` in order, and their final prefix.

    Only rows after ``cached`` are decoded, unless a row of it was deleted since.
    """
    pos = cached.seq
    params = {"thread_id": thread_id, "pos": pos}
    newer = [kind.record._make(row) for row in conn.execute(kind.rows_from, params)]
    if pos:
        intact = (
            bool(newer)
            and newer[0].id == cached.rows[-1].id
            and conn.execute(kind.count_to, params).scalar_one() == len(cached.rows)
        )
        if intact:
            current = [*cached.rows, *newer[1:]]
        else:
            cached = Prefix()
            params["pos"] = 0
            current = [kind.record._make(row) for row in conn.execute(kind.rows_from, params)]
    else:
        current = newer
    final = len(cached.rows)
    while final < len(current) and current[final].status in FINAL_STATUSES:
        final += 1
    return current, cached if final == len(cached.rows) else Prefix(tuple(current[:final]))


def read_history(
    conn: Connection,
    thread_id: str,
    last_messages: int | None = None,
    cache: HistoryCache | None = None,
) -> tuple[list[Any], list[Any]]:
    """Return the thread's message rows and tool-call step rows, oldest first.

    With ``last_messages`` (a run's ``truncation_strategy``), only that many latest messages
    and the tool-call steps recorded after the message before them. With ``cache``, the final
    prefix decoded before is reused (only later rows are read), and the one read here is kept
    once the transaction commits.
    """
    cached = cache.cached(thread_id) if cache is not None else CachedHistory()
    message_rows, messages = _read(conn, _MESSAGES, thread_id, cached.messages)
    tool_steps, steps = _read(conn, _TOOL_STEPS, thread_id, cached.tool_steps)
    if cache is not None:
        history = CachedHistory(messages, steps)
        after_commit(conn, lambda: cache.keep(thread_id, history))
    if last_messages is not None:
        message_rows = message_rows[max(0, len(message_rows) - last_messages) :]
        if last_messages:
            first_seq = message_rows[0].seq if message_rows else 0
            tool_steps = [s for s in tool_steps if s.after_message_seq >= first_seq - 1]
    return message_rows, tool_steps
