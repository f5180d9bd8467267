"""Assistants, threads and messages: plain functions over one connection (one transaction).

Every function takes ``owner``, the fingerprint of the caller's API key: an assistant or
thread is found only by the key that created it, and a message only through its thread.
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.errors import (
    ACTIVE_RUN_MESSAGE,
    ThreadBusy,
)
from assistant_graph.assistants_server.store.file_search_attachments import (
    add_to_thread_store,
    file_search_attachments,
)
from assistant_graph.assistants_server.store.files import check_references
from assistant_graph.assistants_server.store.queries import (
    get_row,
    insert_row,
    list_page,
    owned_thread,
    update_by_id,
)
from sqlalchemy import Connection, delete, insert, select

# -- assistants ---------------------------------------------------------------------------


def _owned_assistant(conn: Connection, owner: str, assistant_id: str) -> Any:
    return get_row(conn, db.assistants, assistant_id, api_key_hash=owner)


def create_assistant(conn: Connection, owner: str, data: dict[str, Any]) -> dict[str, Any]:
    """Insert an assistant (the files its ``tool_resources`` name must be the owner's)."""
    check_references(conn, owner, tool_resources=data.get("tool_resources"))
    assistant_id = new_id("asst")
    conn.execute(
        insert(db.assistants).values(
            id=assistant_id, created_at=now(), data=data, api_key_hash=owner
        )
    )
    return rows.assistant(_owned_assistant(conn, owner, assistant_id))


def get_assistant(conn: Connection, owner: str, assistant_id: str) -> dict[str, Any]:
    """One assistant."""
    return rows.assistant(_owned_assistant(conn, owner, assistant_id))


def list_assistants(conn: Connection, owner: str, **page: Any) -> rows.Page:
    """Return a page of the owner's assistants."""
    return list_page(conn, db.assistants, [db.assistants.c.api_key_hash == owner], **page)


def modify_assistant(
    conn: Connection, owner: str, assistant_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``changes`` into an assistant's body."""
    row = _owned_assistant(conn, owner, assistant_id)
    check_references(conn, owner, tool_resources=changes.get("tool_resources"))
    data = {**row.data, **changes}
    update_by_id(conn, db.assistants, row.id, {"data": data})
    return rows.assistant(_owned_assistant(conn, owner, assistant_id))


def delete_assistant(conn: Connection, owner: str, assistant_id: str) -> None:
    """Delete an assistant (its past runs stay readable)."""
    _owned_assistant(conn, owner, assistant_id)
    conn.execute(delete(db.assistants).where(db.assistants.c.id == assistant_id))


# -- threads ------------------------------------------------------------------------------


def create_thread(
    conn: Connection,
    owner: str,
    data: dict[str, Any],
    messages: list[dict[str, Any]],
    param: str = "",
) -> dict[str, Any]:
    """Insert a thread and its initial messages; return the thread.

    The files they name must be the owner's; ``param`` is where the thread was given
    (``thread`` in create-thread-and-run), for error messages.
    """
    prefix = f"{param}." if param else ""
    check_references(
        conn,
        owner,
        tool_resources=data.get("tool_resources"),
        resources_param=f"{prefix}tool_resources",
        messages=messages,
        messages_param=f"{prefix}messages",
    )
    thread_id = new_id("thread")
    conn.execute(
        insert(db.threads).values(id=thread_id, created_at=now(), data=data, api_key_hash=owner)
    )
    for message in messages:
        insert_message(conn, thread_id, message)
    return rows.thread(owned_thread(conn, owner, thread_id))


def get_thread(conn: Connection, owner: str, thread_id: str) -> dict[str, Any]:
    """One thread."""
    return rows.thread(owned_thread(conn, owner, thread_id))


def modify_thread(
    conn: Connection, owner: str, thread_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``changes`` (metadata, tool resources) into a thread's body."""
    row = owned_thread(conn, owner, thread_id)
    check_references(conn, owner, tool_resources=changes.get("tool_resources"))
    data = {**row.data, **changes}
    update_by_id(conn, db.threads, thread_id, {"data": data})
    return rows.thread(owned_thread(conn, owner, thread_id))


def delete_thread(conn: Connection, owner: str, thread_id: str) -> None:
    """Delete a thread with its messages, runs and steps."""
    owned_thread(conn, owner, thread_id)
    for table in (db.run_steps, db.runs, db.messages):
        conn.execute(delete(table).where(table.c.thread_id == thread_id))
    conn.execute(delete(db.threads).where(db.threads.c.id == thread_id))


# -- messages -----------------------------------------------------------------------------


def insert_message(
    conn: Connection, thread_id: str, message: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """Insert a message (``role``, optional ``status``/``run_id``, body fields).

    Returns its API body and its ``seq`` (its place in the thread). Files it attaches for
    ``file_search`` are queued in the thread's vector store (see ``file_search_attachments``).
    """
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
    columns = {
        "id": message_id,
        "thread_id": thread_id,
        "run_id": run_id,
        "role": role,
        "status": status,
        "created_at": created,
    }
    result = insert_row(conn, db.messages, {**columns, "data": data})
    primary_key = result.inserted_primary_key
    assert primary_key is not None
    add_to_thread_store(conn, thread_id, file_search_attachments(data))
    body = {"object": "thread.message", **columns, **data}
    return body, int(primary_key[0])


def active_run_id(conn: Connection, thread_id: str) -> str | None:
    """Return the id of the run that blocks the thread, if any.

    A run waiting for tool outputs past its deadline no longer blocks it (it is due to expire).
    """
    now_s = now()
    runs = db.runs
    found = conn.execute(
        select(runs.c.id, runs.c.status, runs.c.expires_at).where(
            runs.c.thread_id == thread_id, runs.c.status.in_(rows.ACTIVE_RUN_STATUSES)
        )
    )
    for row in found:
        overdue = row.status == "requires_action" and row.expires_at is not None
        if not (overdue and row.expires_at <= now_s):
            return str(row.id)
    return None


def add_message(
    conn: Connection, owner: str, thread_id: str, message: dict[str, Any]
) -> dict[str, Any]:
    """Add a user/assistant message; :class:`ThreadBusy` while a run is active on the thread."""
    owned_thread(conn, owner, thread_id)
    active = active_run_id(conn, thread_id)
    if active is not None:
        raise ThreadBusy(ACTIVE_RUN_MESSAGE.format(thread_id=thread_id, run_id=active))
    check_references(conn, owner, messages=[message])
    body, _seq = insert_message(conn, thread_id, message)
    return body


def _message_row(conn: Connection, owner: str, thread_id: str, message_id: str) -> Any:
    owned_thread(conn, owner, thread_id)
    return get_row(conn, db.messages, message_id, thread_id=thread_id)


def get_message(conn: Connection, owner: str, thread_id: str, message_id: str) -> dict[str, Any]:
    """One message of the thread."""
    return rows.message(_message_row(conn, owner, thread_id, message_id))


def list_messages(
    conn: Connection, owner: str, thread_id: str, run_id: str | None = None, **page: Any
) -> rows.Page:
    """Return a page of the thread's messages (only those ``run_id`` wrote, if given)."""
    owned_thread(conn, owner, thread_id)
    conditions = [db.messages.c.thread_id == thread_id]
    if run_id is not None:
        conditions.append(db.messages.c.run_id == run_id)
    return list_page(conn, db.messages, conditions, **page)


def modify_message(
    conn: Connection, owner: str, thread_id: str, message_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``changes`` (metadata) into a message's body."""
    row = _message_row(conn, owner, thread_id, message_id)
    data = {**row.data, **changes}
    update_by_id(conn, db.messages, message_id, {"data": data})
    return rows.message(_message_row(conn, owner, thread_id, message_id))


def delete_message(conn: Connection, owner: str, thread_id: str, message_id: str) -> None:
    """Delete one message of the thread."""
    _message_row(conn, owner, thread_id, message_id)
    conn.execute(delete(db.messages).where(db.messages.c.id == message_id))
