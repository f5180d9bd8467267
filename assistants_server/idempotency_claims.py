"""A keyed streaming request's claim on its ``Idempotency-Key``, recorded with the run itself.

The idempotency middleware reserves a key before the request runs and puts a :class:`KeyClaim`
in the ASGI scope. A route that starts or continues a run for a streaming request records the
run on the key *in the same transaction* that creates or re-queues the run
(:func:`stream_recorder`), so the middleware needs no further write once the stream begins, and
a repeat of the request streams that run. Requests without a key carry no claim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, update
from starlette.types import Scope

from assistants_server import db

SCOPE_KEY_CLAIM = "assistants_idempotency_claim"
"""ASGI scope entry holding the request's :class:`KeyClaim` (absent without a key)."""
UPDATE_KEY = update(db.idempotency_keys).where(
    db.idempotency_keys.c.scope == bindparam("scope_"),
    db.idempotency_keys.c.key == bindparam("key_"),
)
"""Prepared ``UPDATE`` of one key record; the SET columns are the keys of its parameters."""


@dataclass
class KeyClaim:
    """The (API-key scope, idempotency key) a request reserved, and whether its run is on it."""

    api_scope: str
    key: str
    recorded: bool = False
    """True once the run of a streaming request is stored on the key."""


def stream_recorder(
    scope: Scope, stream: bool | None
) -> Callable[[Connection, dict[str, Any]], None] | None:
    """For a keyed streaming request, a hook storing its run on the key (else None).

    Call the hook inside the transaction that creates or re-queues the run.
    """
    claim: KeyClaim | None = scope.get(SCOPE_KEY_CLAIM)
    if claim is None or not stream:
        return None

    def record(conn: Connection, run: dict[str, Any]) -> None:
        conn.execute(
            UPDATE_KEY,
            {
                "scope_": claim.api_scope,
                "key_": claim.key,
                "state": "stream",
                "status_code": 200,
                "content_type": "text/event-stream",
                "run_id": run["id"],
                "thread_id": run["thread_id"],
            },
        )
        claim.recorded = True

    return record
