"""Stored ``Idempotency-Key`` records: reserve, claim in a run's transaction, save, forget.

A record is keyed by (``scope``, ``key``): ``scope`` is the fingerprint of the API key, so two
API keys never share an idempotency key. ``state`` is ``pending`` (the first request is still
executing), ``done`` (its response is stored: status, content type, body), ``run`` (it created
or re-queued ``run_id``; a repeat gets that run) or ``stream`` (the same, asked with
``stream=true``; a repeat streams the run from where it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.store.errors import KeyAlreadyUsed
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

PENDING_TAKEOVER_SECONDS = 120
"""A key left pending this long (its process died mid-request) may be executed again."""
RETENTION_SECONDS = 24 * 60 * 60
"""How long a key is remembered; afterwards the same key executes as a new request."""

_KEYS = db.idempotency_keys


@dataclass(frozen=True)
class IdempotencyKey:
    """A request's ``Idempotency-Key``.

    Its scope (API key fingerprint), the key, a hash of the request (method, path, query,
    body) and the time it arrived (Unix seconds).
    """

    scope: str
    key: str
    request_hash: str
    now_s: float

    def record(self, **values: Any) -> dict[str, Any]:
        """Return a new record of this request with ``values`` (``state`` etc.)."""
        return {
            "scope": self.scope,
            "key": self.key,
            "request_hash": self.request_hash,
            "created_at": int(self.now_s),
            **values,
        }


def _select(conn: Connection, key: IdempotencyKey) -> Any:
    return conn.execute(
        select(_KEYS).where(_KEYS.c.scope == key.scope, _KEYS.c.key == key.key)
    ).first()


def reserve(conn: Connection, key: IdempotencyKey, **values: Any) -> Any:
    """Store a new record of ``key`` with ``values`` (returns None) or return the one in the way.

    A record left pending by a request that died with the same body, or one past retention,
    is replaced.
    """
    row = _select(conn, key)
    if row is not None:
        abandoned = (
            row.state == "pending"
            and row.request_hash == key.request_hash
            and row.created_at < key.now_s - PENDING_TAKEOVER_SECONDS
        )
        if not (abandoned or row.created_at < key.now_s - RETENTION_SECONDS):
            return row
        forget(conn, key)
    try:
        with conn.begin_nested():  # another process may insert the same key at this moment
            conn.execute(insert(_KEYS).values(**key.record(**values)))
    except IntegrityError:
        return _select(conn, key)  # PostgreSQL: the other transaction committed its record
    return None


def claim(conn: Connection, key: IdempotencyKey | None) -> None:
    """First thing in a run's transaction: take ``key`` or raise :class:`KeyAlreadyUsed`."""
    if key is None:
        return
    row = reserve(conn, key, state="pending")
    if row is not None:
        raise KeyAlreadyUsed(row)


def record_run(
    conn: Connection, key: IdempotencyKey | None, run: dict[str, Any], stream: bool
) -> None:
    """Last thing in a run's transaction: the claimed key remembers the run."""
    if key is not None:
        save(
            conn,
            key,
            state="stream" if stream else "run",
            run_id=run["id"],
            thread_id=run["thread_id"],
        )


def save(conn: Connection, key: IdempotencyKey, **values: Any) -> None:
    """Store the outcome on the request's own record."""
    conn.execute(
        update(_KEYS).where(_KEYS.c.scope == key.scope, _KEYS.c.key == key.key).values(**values)
    )


def save_if_free(conn: Connection, key: IdempotencyKey, **values: Any) -> None:
    """Store the outcome of a request that held no record, unless another took the key."""
    reserve(conn, key, **values)


def forget(conn: Connection, key: IdempotencyKey) -> None:
    """Drop the key's record (a retry executes again)."""
    conn.execute(delete(_KEYS).where(_KEYS.c.scope == key.scope, _KEYS.c.key == key.key))


def purge_expired(conn: Connection, now_s: float) -> int:
    """Delete records older than :data:`RETENTION_SECONDS`; returns how many were deleted."""
    result = conn.execute(delete(_KEYS).where(_KEYS.c.created_at < now_s - RETENTION_SECONDS))
    return int(result.rowcount or 0)
