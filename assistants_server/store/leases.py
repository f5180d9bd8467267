"""Run leases: which server instance executes a run, and an attempt at its next model step.

A run being executed names its owner (``instance:pid@host``) and a lease expiry. The owner
renews its leases on a heartbeat; another instance takes a run over only when its owner's
process is dead or its lease lapsed, so several processes can share one database without
stealing each other's live runs. A claim reads the run with ``SELECT ... FOR UPDATE``: on
PostgreSQL a second process claiming the same run at once waits for the first to commit, then
sees its owner and backs off (SQLite's write transactions are serial already), so a run is
executed by exactly one process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import now
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.history import HistoryCache, read_history
from assistant_graph.assistants_server.store.queries import update_by_id
from assistant_graph.assistants_server.store.run_progress import (
    RELEASED,
    discard_partial_output,
)
from assistant_graph.assistants_server.store.tool_steps import fail_interrupted_steps
from sqlalchemy import Connection, select, update

_RUNS = db.runs


@dataclass(frozen=True)
class Lease:
    """The owner columns of a run this instance executes, and how long its lease lasts."""

    owner: str
    pid: int
    host: str
    seconds: float

    def values(self) -> dict[str, Any]:
        """Owner columns for a lease starting now."""
        return {
            "owner": self.owner,
            "owner_pid": self.pid,
            "owner_host": self.host,
            "lease_expires_at": time.time() + self.seconds,
        }


@dataclass(frozen=True)
class Attempt:
    """What the worker needs to execute one model step of a run."""

    run: dict[str, Any]
    moved_to_in_progress: bool
    """Whether this attempt moved the run from ``queued`` (publish ``thread.run.in_progress``)."""
    additional_instructions: str | None
    message_rows: list[Any]
    tool_steps: list[Any]


def _free_for(row: Any, owner: str, dead_owners: tuple[str, ...] = ()) -> bool:
    """Whether ``owner`` may take the run: nobody, itself or a dead owner holds it."""
    return (
        row.owner is None
        or row.owner == owner
        or row.owner in dead_owners
        or (row.lease_expires_at is not None and row.lease_expires_at < time.time())
    )


def begin_attempt(
    conn: Connection, run_id: str, lease: Lease, history: HistoryCache | None = None
) -> Attempt | None:
    """Start an attempt at a run's next model step.

    Claims the run, clears an interrupted attempt's output, marks it ``in_progress`` and
    reads what the model request needs (reusing rows ``history`` decoded before). None when
    the run is not ours to run.
    """
    row = conn.execute(select(_RUNS).where(_RUNS.c.id == run_id).with_for_update()).first()
    if row is None or row.status not in rows.EXECUTABLE_RUN_STATUSES:
        return None
    if not _free_for(row, lease.owner):
        return None
    values = lease.values()
    if row.status == "cancelling":
        update_by_id(conn, _RUNS, run_id, values)
        return Attempt(rows.run(row), False, None, [], [])
    moved = row.status == "queued"
    if moved:
        values["status"] = "in_progress"
        values["data"] = {**row.data, "started_at": row.data.get("started_at") or now()}
    else:
        # Only an attempt cut short leaves partial output, and it leaves the run
        # in_progress: a queued run (new, or re-queued after tool outputs) has none.
        discard_partial_output(conn, run_id)
        fail_interrupted_steps(conn, run_id)
    update_by_id(conn, _RUNS, run_id, values)
    run = rows.run(row, values)
    truncation = run.get("truncation_strategy") or {}
    last = truncation.get("last_messages") if truncation.get("type") == "last_messages" else None
    message_rows, tool_steps = read_history(conn, row.thread_id, last, history)
    instructions = row.data.get("_additional_instructions")
    return Attempt(run, moved, instructions, message_rows, tool_steps)


def claim_run(conn: Connection, run_id: str, lease: Lease, dead_owners: tuple[str, ...]) -> bool:
    """Take a queued/in-progress run for this instance unless a live owner holds it."""
    row = conn.execute(
        select(_RUNS.c.status, _RUNS.c.owner, _RUNS.c.lease_expires_at)
        .where(_RUNS.c.id == run_id)
        .with_for_update()
    ).first()
    if row is None or row.status not in rows.EXECUTABLE_RUN_STATUSES:
        return False
    if not _free_for(row, lease.owner, dead_owners):
        return False
    update_by_id(conn, _RUNS, run_id, lease.values())
    return True


def renew_leases(conn: Connection, lease: Lease) -> list[tuple[str, str]]:
    """Extend this instance's leases; return (run id, status) of the runs it owns."""
    conn.execute(
        update(_RUNS)
        .where(_RUNS.c.owner == lease.owner, _RUNS.c.status.in_(rows.EXECUTABLE_RUN_STATUSES))
        .values(lease_expires_at=time.time() + lease.seconds)
    )
    owned = conn.execute(select(_RUNS.c.id, _RUNS.c.status).where(_RUNS.c.owner == lease.owner))
    return [(row.id, row.status) for row in owned]


def release_run(conn: Connection, run_id: str, owner: str) -> None:
    """Give up ``owner``'s claim on a run without changing its status."""
    conn.execute(
        update(_RUNS).where(_RUNS.c.id == run_id, _RUNS.c.owner == owner).values(**RELEASED)
    )


def orphan_candidates(conn: Connection) -> list[Any]:
    """Return the executable runs with their owner columns, for the reclaim check."""
    return list(
        conn.execute(
            select(
                _RUNS.c.id,
                _RUNS.c.status,
                _RUNS.c.owner,
                _RUNS.c.owner_pid,
                _RUNS.c.owner_host,
                _RUNS.c.lease_expires_at,
            ).where(_RUNS.c.status.in_(rows.EXECUTABLE_RUN_STATUSES))
        )
    )
