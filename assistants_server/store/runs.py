"""Runs and run steps as clients see them: create, re-queue with tool outputs, read, list.

Creating a run and re-queueing it are each one transaction that also claims the request's
``Idempotency-Key`` (first) and records the run on it (last), and, when this instance will
execute the run, begins its first attempt (so the worker starts the model step without
another transaction).
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.store import idempotency_keys, rows
from assistant_graph.assistants_server.store.errors import (
    ACTIVE_RUN_NEW_RUN_MESSAGE,
    DUPLICATE_OUTPUT_MESSAGE,
    MISSING_CALL_ID_MESSAGE,
    MISSING_OUTPUTS_MESSAGE,
    NO_TOOL_OUTPUTS_MESSAGE,
    UNKNOWN_OUTPUT_MESSAGE,
    InvalidRequest,
    RunDeadlinePassed,
    ThreadBusy,
)
from assistant_graph.assistants_server.store.files import check_references
from assistant_graph.assistants_server.store.history import HistoryCache
from assistant_graph.assistants_server.store.idempotency_keys import IdempotencyKey
from assistant_graph.assistants_server.store.leases import Attempt, Lease, begin_attempt
from assistant_graph.assistants_server.store.objects import (
    active_run_id,
    create_thread,
    insert_message,
)
from assistant_graph.assistants_server.store.queries import (
    get_row,
    list_page,
    owned_thread,
    update_by_id,
)
from sqlalchemy import Connection, insert, select, update

_RUNS, _STEPS = db.runs, db.run_steps

INHERITED = ("model", "instructions", "tools", "temperature", "top_p", "response_format")
"""Run settings that default to the assistant's when the request leaves them None."""


def run_settings(assistant: dict[str, Any], requested: dict[str, Any]) -> dict[str, Any]:
    """Return a run's stored body: the requested settings, the assistant's where they are None."""
    data = dict(requested)
    for name in INHERITED:
        if data.get(name) is None:
            data[name] = assistant.get(name)
    data["instructions"] = data["instructions"] or ""
    data["response_format"] = data["response_format"] or "auto"
    return data


def create_run(
    conn: Connection,
    owner: str,
    thread_id: str | None,
    assistant_id: str,
    requested: dict[str, Any],
    *,
    additional_messages: tuple[dict[str, Any], ...] | list[dict[str, Any]] = (),
    new_thread: tuple[dict[str, Any], list[dict[str, Any]]] | None = None,
    lease: Lease | None = None,
    begin: bool = False,
    history: HistoryCache | None = None,
    key: IdempotencyKey | None = None,
    stream: bool = False,
) -> tuple[dict[str, Any], dict[str, Any] | None, Attempt | None]:
    """Insert a queued run (and its new thread, or extra messages on ``thread_id``).

    Refused: a thread or assistant the owner does not have (the thread is checked first), an
    active run on the thread. ``requested`` is the run's body (see :func:`run_settings`).
    Returns the run (as queued), the new thread (or None) and, with ``begin`` and a
    ``lease``, this instance's first attempt at the run.
    """
    idempotency_keys.claim(conn, key)
    if new_thread is None:
        assert thread_id is not None
        owned_thread(conn, owner, thread_id)
    assistant = get_row(conn, db.assistants, assistant_id, api_key_hash=owner)
    data = run_settings(rows.assistant(assistant), requested)
    check_references(
        conn,
        owner,
        tool_resources=requested.get("_tool_resources"),
        messages=additional_messages,
        messages_param="additional_messages",
    )
    thread: dict[str, Any] | None = None
    if new_thread is not None:
        thread = create_thread(conn, owner, *new_thread, param="thread")
        thread_id = thread["id"]
    else:
        assert thread_id is not None
        active = active_run_id(conn, thread_id)
        if active is not None:
            raise ThreadBusy(ACTIVE_RUN_NEW_RUN_MESSAGE.format(thread_id=thread_id, run_id=active))
    for message in additional_messages:
        insert_message(conn, thread_id, message)
    run_id = new_id("run")
    conn.execute(
        insert(_RUNS).values(
            id=run_id,
            thread_id=thread_id,
            assistant_id=assistant_id,
            status="queued",
            created_at=now(),
            expires_at=None,
            data=data,
            **(lease.values() if lease is not None else {}),
        )
    )
    run = rows.run(get_row(conn, _RUNS, run_id))
    idempotency_keys.record_run(conn, key, run, stream)
    attempt = begin_attempt(conn, run_id, lease, history) if begin and lease is not None else None
    return run, thread, attempt


def checked_tool_outputs(
    tool_outputs: list[tuple[str | None, str]], run: dict[str, Any]
) -> dict[str, str]:
    """Return the submitted ``(tool_call_id, output)`` pairs by call id: one per pending call."""
    pending = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
    outputs: dict[str, str] = {}
    for index, (call_id, output) in enumerate(tool_outputs):
        param = f"tool_outputs[{index}].tool_call_id"
        if call_id is None:
            raise InvalidRequest(MISSING_CALL_ID_MESSAGE.format(index=index), param=param)
        if call_id not in pending:
            message = UNKNOWN_OUTPUT_MESSAGE.format(call_id=call_id, expected=", ".join(pending))
            raise InvalidRequest(message, param=param)
        if call_id in outputs:
            raise InvalidRequest(DUPLICATE_OUTPUT_MESSAGE.format(call_id=call_id), param=param)
        outputs[call_id] = output
    if any(call_id not in outputs for call_id in pending):
        message = MISSING_OUTPUTS_MESSAGE.format(expected=pending, got=list(outputs))
        raise InvalidRequest(message, param="tool_outputs")
    return outputs


def requeue_with_outputs(
    conn: Connection,
    owner: str,
    thread_id: str,
    run_id: str,
    tool_outputs: list[tuple[str | None, str]],
    lease: Lease,
    *,
    begin: bool = False,
    history: HistoryCache | None = None,
    key: IdempotencyKey | None = None,
    stream: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]], Attempt | None]:
    """Check a submit, record its tool outputs and re-queue the run.

    The run must be in the owner's thread and waiting for outputs (else
    :class:`InvalidRequest`), one output per pending call; past its deadline it raises
    :class:`RunDeadlinePassed` (the caller expires it). The outputs go onto the run's waiting
    ``tool_calls`` steps, which complete. Returns the run (as queued), those steps and, with
    ``begin``, this instance's attempt at the run's next step.
    """
    stamp = now()
    idempotency_keys.claim(conn, key)
    current = _run_row_in_thread(conn, owner, thread_id, run_id)
    if current.status != "requires_action":
        raise InvalidRequest(NO_TOOL_OUTPUTS_MESSAGE.format(status=current.status))
    if current.expires_at is not None and current.expires_at <= stamp:
        raise RunDeadlinePassed(run_id)
    outputs = checked_tool_outputs(tool_outputs, rows.run(current))
    waiting = conn.execute(
        select(_STEPS)
        .where(
            _STEPS.c.run_id == run_id,
            _STEPS.c.status == "in_progress",
            _STEPS.c.type == "tool_calls",
        )
        .order_by(_STEPS.c.seq)
    ).all()
    completed: list[dict[str, Any]] = []
    for step in waiting:
        details = step.data["step_details"]
        calls = [
            {**call, "function": {**call["function"], "output": outputs[call["id"]]}}
            if call["id"] in outputs
            else call
            for call in details["tool_calls"]
        ]
        data = {
            **step.data,
            "step_details": {**details, "tool_calls": calls},
            "completed_at": stamp,
        }
        conn.execute(
            update(_STEPS).where(_STEPS.c.id == step.id).values(status="completed", data=data)
        )
        completed.append({**rows.step(step), "status": "completed", **data})
    values = {
        "status": "queued",
        "expires_at": None,
        "data": {**current.data, "required_action": None},
        **lease.values(),
    }
    update_by_id(conn, _RUNS, run_id, values)
    run = rows.run(current, values)
    idempotency_keys.record_run(conn, key, run, stream)
    attempt = begin_attempt(conn, run_id, lease, history) if begin else None
    return run, completed, attempt


def _run_row_in_thread(conn: Connection, owner: str, thread_id: str, run_id: str) -> Any:
    owned_thread(conn, owner, thread_id)
    return get_row(conn, _RUNS, run_id, thread_id=thread_id)


def get_run(conn: Connection, owner: str, thread_id: str, run_id: str) -> dict[str, Any]:
    """One run of the owner's thread."""
    return rows.run(_run_row_in_thread(conn, owner, thread_id, run_id))


def list_runs(conn: Connection, owner: str, thread_id: str, **page: Any) -> rows.Page:
    """Return a page of the thread's runs."""
    owned_thread(conn, owner, thread_id)
    return list_page(conn, _RUNS, [_RUNS.c.thread_id == thread_id], **page)


def modify_run(
    conn: Connection, owner: str, thread_id: str, run_id: str, metadata: dict[str, Any] | None
) -> dict[str, Any]:
    """Replace a run's metadata (None: leave the run as it is)."""
    row = _run_row_in_thread(conn, owner, thread_id, run_id)
    if metadata is None:
        return rows.run(row)
    values = {"data": {**row.data, "metadata": metadata}}
    update_by_id(conn, _RUNS, run_id, values)
    return rows.run(row, values)


def get_step(
    conn: Connection, owner: str, thread_id: str, run_id: str, step_id: str
) -> dict[str, Any]:
    """One step of a run of the owner's thread."""
    _run_row_in_thread(conn, owner, thread_id, run_id)
    return rows.step(get_row(conn, _STEPS, step_id, run_id=run_id))


def list_steps(conn: Connection, owner: str, thread_id: str, run_id: str, **page: Any) -> rows.Page:
    """Return a page of a run's steps."""
    _run_row_in_thread(conn, owner, thread_id, run_id)
    return list_page(conn, _STEPS, [_STEPS.c.run_id == run_id], **page)


def run_row(conn: Connection, run_id: str) -> Any:
    """Return the raw run row (with owner and lease columns), for the worker."""
    return get_row(conn, _RUNS, run_id)


def get_run_by_id(conn: Connection, run_id: str) -> dict[str, Any]:
    """One run by id alone, for the worker and for streams already authorised."""
    return rows.run(get_row(conn, _RUNS, run_id))


def overdue_runs(conn: Connection, now_s: int, thread_id: str | None = None) -> list[str]:
    """Ids of runs waiting for tool outputs past their deadline (of one thread, if given)."""
    query = select(_RUNS.c.id).where(
        _RUNS.c.status == "requires_action", _RUNS.c.expires_at <= now_s
    )
    if thread_id is not None:
        query = query.where(_RUNS.c.thread_id == thread_id)
    return [row.id for row in conn.execute(query)]
