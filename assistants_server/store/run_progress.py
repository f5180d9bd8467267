"""What a run writes while it executes: its assistant message, its steps, its status changes.

Each function is one transaction's work for the worker; none checks an API key (the worker
acts for whoever created the run).
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.objects import insert_message
from assistant_graph.assistants_server.store.queries import get_row, insert_row, update_by_id
from sqlalchemy import Connection, delete, func, select

_RUNS, _STEPS, _MESSAGES = db.runs, db.run_steps, db.messages
RELEASED = {"owner": None, "owner_pid": None, "owner_host": None, "lease_expires_at": None}
"""Owner columns of a run nobody executes (see ``store.leases``)."""


def insert_step(
    conn: Connection,
    run: dict[str, Any],
    step_type: str,
    details: dict[str, Any],
    *,
    after_message_seq: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Insert an in-progress run step placed after the thread's latest message; return it."""
    if after_message_seq is None:
        after_message_seq = (
            conn.execute(
                select(func.max(_MESSAGES.c.seq)).where(_MESSAGES.c.thread_id == run["thread_id"])
            ).scalar()
            or 0
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
    columns = {
        "id": new_id("step"),
        "run_id": run["id"],
        "thread_id": run["thread_id"],
        "type": step_type,
        "status": "in_progress",
        "created_at": now(),
    }
    insert_row(conn, _STEPS, {**columns, "after_message_seq": after_message_seq, "data": data})
    return {"object": "thread.run.step", **columns, **data}


def _update_row(
    conn: Connection, table: Any, object_id: str, status: str | None, changes: dict[str, Any]
) -> Any:
    """Change a message's or step's status and body fields; return the changed object."""
    row = get_row(conn, table, object_id)
    values: dict[str, Any] = {"data": {**row.data, **changes}}
    if status is not None:
        values["status"] = status
    update_by_id(conn, table, object_id, values)
    return {**rows.BUILDERS[table.name](row), "status": values.get("status", row.status), **changes}


def start_assistant_message(
    conn: Connection, run: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Insert the run's in-progress assistant message and its ``message_creation`` step."""
    message, seq = insert_message(
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
    step = insert_step(
        conn,
        run,
        "message_creation",
        {"type": "message_creation", "message_creation": {"message_id": message["id"]}},
        after_message_seq=seq,  # the message just inserted is the thread's latest
    )
    return message, step


def update_run(
    conn: Connection,
    run_id: str,
    *,
    status: str | None = None,
    only_if_status: tuple[str, ...] | None = None,
    **changes: Any,
) -> dict[str, Any] | None:
    """Change a run; with ``only_if_status`` return None (and change nothing) otherwise.

    A run leaving the executable statuses gives up its lease.
    """
    row = get_row(conn, _RUNS, run_id)
    if only_if_status is not None and row.status not in only_if_status:
        return None
    values: dict[str, Any] = {}
    if "expires_at" in changes:
        values["expires_at"] = changes.pop("expires_at")
    if changes:
        values["data"] = {**row.data, **changes}
    if status is not None:
        values["status"] = status
        if status not in rows.EXECUTABLE_RUN_STATUSES:
            values.update(RELEASED)
    if values:
        update_by_id(conn, _RUNS, run_id, values)
    return rows.run(row, values)


def finish_assistant_message(
    conn: Connection,
    message_id: str,
    step_id: str,
    message_status: str,
    message_changes: dict[str, Any],
    step_changes: dict[str, Any],
    complete_run: tuple[str, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Complete (or mark incomplete) the run's message and complete its step.

    With ``complete_run=(run_id, changes)`` the run also becomes ``completed`` if it is
    still ``in_progress`` (the third item; None otherwise).
    """
    message = _update_row(conn, _MESSAGES, message_id, message_status, message_changes)
    step = _update_row(conn, _STEPS, step_id, "completed", step_changes)
    run = None
    if complete_run is not None:
        run_id, changes = complete_run
        run = update_run(
            conn, run_id, status="completed", only_if_status=("in_progress",), **changes
        )
    return message, step, run


def record_tool_calls(
    conn: Connection,
    run: dict[str, Any],
    calls: list[dict[str, Any]],
    usage: dict[str, int],
    run_changes: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Record a ``tool_calls`` step and move the run to ``requires_action``.

    Returns the step as created (no calls yet), the step with its calls, and the run (None
    when the run had left ``in_progress`` meanwhile: it does not change).
    """
    step = insert_step(
        conn, run, "tool_calls", {"type": "tool_calls", "tool_calls": calls}, usage=usage
    )
    created = {**step, "step_details": {"type": "tool_calls", "tool_calls": []}}
    updated = update_run(
        conn, run["id"], status="requires_action", only_if_status=("in_progress",), **run_changes
    )
    return created, step, updated


def end_run(
    conn: Connection,
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
    run = update_run(conn, run_id, status=status, only_if_status=from_statuses, **run_changes)
    if run is None:
        return None, [], []
    open_steps = conn.execute(
        select(_STEPS.c.id)
        .where(_STEPS.c.run_id == run_id, _STEPS.c.status == "in_progress")
        .order_by(_STEPS.c.seq)
    ).all()
    open_messages = conn.execute(
        select(_MESSAGES.c.id)
        .where(_MESSAGES.c.run_id == run_id, _MESSAGES.c.status == "in_progress")
        .order_by(_MESSAGES.c.seq)
    ).all()
    steps = [_update_row(conn, _STEPS, s.id, step_status, step_changes) for s in open_steps]
    messages = [
        _update_row(conn, _MESSAGES, m.id, "incomplete", message_changes) for m in open_messages
    ]
    return run, steps, messages


def discard_partial_output(conn: Connection, run_id: str) -> None:
    """Remove an interrupted attempt's unfinished message steps and messages (on resume)."""
    partial = conn.execute(
        select(_STEPS).where(
            _STEPS.c.run_id == run_id,
            _STEPS.c.status == "in_progress",
            _STEPS.c.type == "message_creation",
        )
    ).all()
    for step in partial:
        message_id = step.data["step_details"]["message_creation"]["message_id"]
        conn.execute(delete(_MESSAGES).where(_MESSAGES.c.id == message_id))
        conn.execute(delete(_STEPS).where(_STEPS.c.id == step.id))
    conn.execute(
        delete(_MESSAGES).where(_MESSAGES.c.run_id == run_id, _MESSAGES.c.status == "in_progress")
    )
