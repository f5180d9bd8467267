"""The command line's saved conversations: list, delete and export them.

Conversations live in the SQLite checkpoint file the graph writes (``SqliteSaver``) or in a
PostgreSQL database (``PostgresSaver``, a ``postgresql://`` URL given as ``--db``). Reading them
needs only LangGraph's checkpoint reader, never the graph, LangChain's models or ``openai``,
so ``threads`` stays fast. Times are shown in the local time zone, with its UTC offset.
Deleting removes the conversation from the file; the Assistants thread it used stays on the
endpoint.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from assistant_graph.graph.checkpointers import (
    ConversationBusy,
    conversation_lock,
    is_postgres,
    open_checkpointer,
)

__all__ = ["ConversationBusy", "UsageError", "conversation_lock"]

UNKNOWN_THREAD = (
    "Unknown thread {thread!r} in {db}. Run `assistant-graph threads` to list saved "
    "conversations, or omit --thread to start a new one."
)
UNKNOWN_SAVED_THREAD = (
    "Unknown thread {thread!r} in {db}. Run `assistant-graph threads` to list saved "
    "conversations (--db names another conversation file)."
)
NO_CONVERSATIONS = "No saved conversations in {db}."
NOT_A_CONVERSATION_FILE = (
    "assistant-graph: {db} is not a conversation file ({reason}). Point --db at a file that "
    "`assistant-graph ask` wrote (default <data dir>/conversations.sqlite3), or omit --db."
)
DELETED = "Deleted conversation {thread} from {db}."
DELETE_BUSY = (
    "assistant-graph: conversation {thread} is busy: a turn is running on it. Wait for it to "
    "finish, then delete it again."
)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"
"""How ``threads`` shows when a conversation was last updated (local time, UTC offset)."""


class UsageError(Exception):
    """Bad usage found before any turn; the message is printed and the exit status is 2."""


@dataclass(frozen=True)
class ThreadRow:
    """One saved conversation as ``threads`` lists it."""

    thread: str
    messages: int
    updated: datetime
    first_message: str


def list_threads(db: Path | str, out: TextIO) -> int:
    """Print saved conversations: thread id, message count, last update, first user message."""
    rows = thread_rows(db) if is_conversation_file(db) else []
    if not rows:
        print(NO_CONVERSATIONS.format(db=db), file=out)
        return 0
    print(f"{'THREAD':<34} {'MESSAGES':>8}  {'UPDATED':<25}  FIRST MESSAGE", file=out)
    for row in rows:
        first = row.first_message[:60] + ("…" if len(row.first_message) > 60 else "")
        updated = row.updated.strftime(TIME_FORMAT)
        print(f"{row.thread:<34} {row.messages:>8}  {updated:<25}  {first}", file=out)
    return 0


def delete_thread(db: Path | str, thread: str, out: TextIO) -> int:
    """Delete a saved conversation (every checkpoint of it) from ``db``."""
    check_thread(db, thread, required=True)
    try:
        with conversation_lock(db, thread), open_checkpointer(db) as saver:
            saver.delete_thread(thread)
    except ConversationBusy as exc:
        raise UsageError(DELETE_BUSY.format(thread=thread)) from exc
    print(DELETED.format(thread=thread, db=db), file=out)
    return 0


def export_thread(db: Path | str, thread: str, out: TextIO) -> int:
    """Print a saved conversation as one JSON object (its messages in chat-message shape)."""
    check_thread(db, thread, required=True)
    saved = _latest(db, thread)
    values = saved.checkpoint["channel_values"] if saved else {}
    document = {
        "thread_id": thread,
        "assistant_thread_id": values.get("assistant_thread_id") or None,
        "updated_at": _local_time(saved.checkpoint["ts"]).isoformat() if saved else None,
        "messages": [message_json(m) for m in values.get("messages", [])],
    }
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")
    return 0


def message_json(message: Any) -> dict[str, Any]:
    """Return a LangChain message as a chat message (role, content, tool calls, call answered)."""
    role = {"human": "user", "ai": "assistant", "tool": "tool"}.get(message.type, message.type)
    item: dict[str, Any] = {"id": message.id, "role": role, "content": message.content}
    if role == "assistant" and message.tool_calls:
        item["tool_calls"] = [
            {"id": call["id"], "name": call["name"], "args": call["args"]}
            for call in message.tool_calls
        ]
    if role == "assistant" and message.response_metadata.get("assistant_run_status"):
        item["run_status"] = message.response_metadata["assistant_run_status"]
    if role == "tool":
        item.update(tool_call_id=message.tool_call_id, name=message.name, status=message.status)
    return item


def turn_result(saved: Any, thread: str) -> dict[str, Any] | None:
    """Summarise the conversation's latest turn for ``ask --json`` (None if it has no answer).

    ``saved`` is the graph's state snapshot; the turn is everything after the last user
    message: its tool calls (each with its output) and the final answer or the run's error.
    """
    messages = saved.values.get("messages", [])
    start = max((i for i, m in enumerate(messages) if m.type == "human"), default=-1)
    turn = messages[start + 1 :]
    if not turn or turn[-1].type != "ai" or turn[-1].tool_calls:
        return None
    outputs = {m.tool_call_id: m for m in turn if m.type == "tool"}
    calls = []
    for message in turn:
        for call in message.tool_calls if message.type == "ai" else []:
            output = outputs.get(call["id"])
            calls.append(
                {
                    "id": call["id"],
                    "name": call["name"],
                    "args": call["args"],
                    "output": output.content if output is not None else None,
                    "status": output.status if output is not None else None,
                }
            )
    final = turn[-1]
    status = final.response_metadata.get("assistant_run_status") or "completed"
    return {
        "thread_id": thread,
        "status": status,
        "answer": final.content if status == "completed" else None,
        "error": None if status == "completed" else final.content,
        "tool_calls": calls,
        "assistant_thread_id": saved.values.get("assistant_thread_id") or None,
    }


def is_conversation_file(db: Path | str) -> bool:
    """Tell whether ``db`` holds saved conversations, without creating or writing anything.

    A missing file holds none; a file that is no SQLite checkpoint file raises
    :class:`UsageError`.
    """
    if isinstance(db, str):  # a PostgreSQL URL: its tables are made on first use
        return True
    if not db.exists():
        return False
    if not db.is_file():
        raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason="not a file"))
    try:
        with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason=exc)) from exc
    if tables and "checkpoints" not in tables:
        reason = "an SQLite database without saved conversations"
        raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason=reason))
    return "checkpoints" in tables


def check_thread(db: Path | str, thread: str | None, *, required: bool = False) -> None:
    """Raise :class:`UsageError` unless ``thread`` (if given; always if ``required``) is saved.

    ``required`` is for the commands that name a conversation to act on (delete, export).
    """
    unknown = UsageError(
        (UNKNOWN_SAVED_THREAD if required else UNKNOWN_THREAD).format(thread=thread, db=db)
    )
    if not is_conversation_file(db):
        if thread or required:
            raise unknown
        return
    if thread and not any(row.thread == thread for row in thread_rows(db, thread)):
        raise unknown


def thread_rows(db: Path | str, only: str | None = None) -> list[ThreadRow]:
    """List the saved conversations (or only ``only``), most recently updated first."""
    if is_postgres(db):
        threads = _postgres_threads(str(db), only)
    else:
        query = (
            "SELECT thread_id, MAX(checkpoint_id) AS latest FROM checkpoints "
            "WHERE checkpoint_ns = '' AND (? IS NULL OR thread_id = ?) "
            "GROUP BY thread_id ORDER BY latest DESC"
        )
        with _read_only(Path(db)) as conn:
            try:
                threads = [row[0] for row in conn.execute(query, (only, only))]
            except sqlite3.DatabaseError as exc:
                raise UsageError(NOT_A_CONVERSATION_FILE.format(db=db, reason=exc)) from exc
    rows = []
    for thread in threads:
        saved = _latest(db, thread)
        if saved is None:
            continue
        messages = saved.checkpoint["channel_values"].get("messages", [])
        first = next((m.content for m in messages if m.type == "human"), "")
        updated = _local_time(saved.checkpoint["ts"])
        rows.append(ThreadRow(thread, len(messages), updated, " ".join(str(first).split())))
    return rows


def _postgres_threads(url: str, only: str | None) -> list[str]:
    """Return a PostgreSQL database's saved threads (``PostgresSaver``'s tables), newest first."""
    query = (
        "SELECT thread_id, MAX(checkpoint_id) AS latest FROM checkpoints "
        "WHERE checkpoint_ns = '' AND (%(only)s::text IS NULL OR thread_id = %(only)s) "
        "GROUP BY thread_id ORDER BY latest DESC"
    )
    with open_checkpointer(url) as saver:
        return [row["thread_id"] for row in saver.conn.execute(query, {"only": only}).fetchall()]


def _latest(db: Path | str, thread: str) -> Any:
    """Read the latest checkpoint tuple of ``thread`` (None if it has none)."""
    config = {"configurable": {"thread_id": thread}}
    if is_postgres(db):
        with open_checkpointer(db) as saver:
            return saver.get_tuple(config)
    from langgraph.checkpoint.sqlite import SqliteSaver

    with _read_only(Path(db)) as conn:
        return SqliteSaver(conn).get_tuple(config)


@contextmanager
def _read_only(db: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    try:
        yield conn
    finally:
        conn.close()


def _local_time(timestamp: str) -> datetime:
    """Convert a checkpoint's ISO timestamp (UTC) to the local time zone."""
    return datetime.fromisoformat(timestamp).astimezone()
