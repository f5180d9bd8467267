"""A keyed request's claim on its ``Idempotency-Key``, taken with the run it starts.

The idempotency middleware puts a :class:`KeyClaim` in the ASGI scope of every POST with an
``Idempotency-Key``. Most requests reserve the key before they run (the middleware does it).
A *streaming* request that starts or continues a run does not: the route claims the key *in
the transaction that creates or re-queues the run* (:func:`stream_recorder`), first thing in
it, and stores the run on it at the end of it. One transaction then does both, so such a
request costs no extra write, and the key and its run are stored together or not at all.

If the key is already taken when that transaction claims it, the transaction rolls back
(nothing is created) and :class:`KeyTaken` carries the existing record to the middleware,
which answers as for any repeat: it streams the recorded run, or refuses a different request
with the same key. A request that fails before its transaction (a 400 or 404 from its checks)
has its response remembered afterwards, if the key is still free.

Requests without a key carry no claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.direct_statements import direct
from sqlalchemy import Connection, Insert, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from starlette.types import Scope

SCOPE_KEY_CLAIM = "assistants_idempotency_claim"
"""ASGI scope entry holding the request's :class:`KeyClaim` (absent without a key)."""
UPDATE_KEY = direct(
    update(db.idempotency_keys).where(
        db.idempotency_keys.c.scope == bindparam("scope_"),
        db.idempotency_keys.c.key == bindparam("key_"),
    )
)
"""Prepared ``UPDATE`` of one key record; the SET columns are the keys of its parameters."""
PENDING_TAKEOVER_SECONDS = 120
"""A key left pending this long (its process died mid-request) may be executed again."""
RETENTION_SECONDS = 24 * 60 * 60
"""How long a key is remembered; afterwards the same key executes as a new request."""

_INSERT_IF_ABSENT: dict[str, Insert] = {
    "sqlite": direct(sqlite.insert(db.idempotency_keys).on_conflict_do_nothing()),
    "postgresql": postgresql.insert(db.idempotency_keys).on_conflict_do_nothing(),
}
"""``INSERT ... ON CONFLICT DO NOTHING`` of a key, per dialect name (others: select first)."""


class KeyTaken(Exception):
    """The request's key is already recorded (``row``); its transaction was rolled back."""

    def __init__(self, row: Any) -> None:
        super().__init__(row.key)
        self.row = row


def select_key(conn: Connection, api_scope: str, key: str) -> Any:
    """Return the key's record, or None."""
    table = db.idempotency_keys
    return conn.execute(select(table).where(table.c.scope == api_scope, table.c.key == key)).first()


def _insert_if_absent(conn: Connection, values: dict[str, Any]) -> bool:
    """Insert a key record unless one exists; True when this call inserted it."""
    statement = _INSERT_IF_ABSENT.get(conn.dialect.name)
    if statement is None:
        if select_key(conn, values["scope"], values["key"]) is not None:
            return False
        statement = insert(db.idempotency_keys)
    return bool(conn.execute(statement, values).rowcount == 1)


def reserve_key(conn: Connection, values: dict[str, Any], now_s: float) -> Any:
    """Store a new key record (returns None) or return the one in the way.

    ``values`` is the new record (``scope``, ``key``, ``request_hash``, ``state``,
    ``created_at`` and any others). A record left pending by a request that died with the
    same body, or one past retention, is replaced. The common case, a new key, is one
    ``INSERT ... ON CONFLICT DO NOTHING``.
    """
    if _insert_if_absent(conn, values):
        return None
    row = select_key(conn, values["scope"], values["key"])
    if row is None:  # deleted between the two statements (no other dialect gets here)
        conn.execute(insert(db.idempotency_keys).values(**values))
        return None
    abandoned = (
        row.state == "pending"
        and row.request_hash == values["request_hash"]
        and row.created_at < now_s - PENDING_TAKEOVER_SECONDS
    )
    expired = row.created_at < now_s - RETENTION_SECONDS
    if not (abandoned or expired):
        return row
    table = db.idempotency_keys
    conn.execute(delete(table).where(table.c.scope == row.scope, table.c.key == row.key))
    conn.execute(insert(db.idempotency_keys).values(**values))
    return None


@dataclass
class KeyClaim:
    """The (API-key scope, idempotency key) of a request, and how far its claim went."""

    api_scope: str
    key: str
    request_hash: str
    now_s: float
    deferred: bool = False
    """True when the route claims the key in its run's write (the middleware reserved nothing)."""
    held: bool = True
    """Whether the key's record belongs to this request (a deferred claim: once its write
    committed)."""
    recorded: bool = False
    """True once the request's streamed run is stored on the key."""

    def __post_init__(self) -> None:
        if self.deferred:
            self.held = False

    def new_record(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return a key record of this request with ``values`` (``state`` etc.)."""
        return {
            "scope": self.api_scope,
            "key": self.key,
            "request_hash": self.request_hash,
            "created_at": int(self.now_s),
            **values,
        }


@dataclass
class StreamRecorder:
    """Claims a deferred key in the write that creates or re-queues a run; records a stream."""

    claim: KeyClaim
    stream: bool

    def claim_key(self, conn: Connection) -> None:
        """First thing in the write: take the key, or raise :class:`KeyTaken` (rolls back)."""
        if not self.claim.deferred:
            return  # the middleware reserved it before the request ran
        row = reserve_key(conn, self.claim.new_record({"state": "pending"}), self.claim.now_s)
        if row is not None:
            raise KeyTaken(row)

    def record_run(self, conn: Connection, run: dict[str, Any]) -> None:
        """Last thing in the write: a streamed request's run goes on the key."""
        if self.stream:
            conn.execute(
                UPDATE_KEY,
                {
                    "scope_": self.claim.api_scope,
                    "key_": self.claim.key,
                    "state": "stream",
                    "status_code": 200,
                    "content_type": "text/event-stream",
                    "run_id": run["id"],
                    "thread_id": run["thread_id"],
                },
            )
            self.claim.recorded = True
        self.claim.held = True


def stream_recorder(scope: Scope, stream: bool | None) -> StreamRecorder | None:
    """Return what claims a run request's key in the run's write (and records a stream).

    None without a key, or for a non-streamed request whose key the middleware already holds.
    """
    claim: KeyClaim | None = scope.get(SCOPE_KEY_CLAIM)
    if claim is None or (not stream and not claim.deferred):
        return None
    return StreamRecorder(claim, bool(stream))
