"""A thread's history as a model request needs it: its messages and tool-call steps, in order."""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from sqlalchemy import Connection, select


def read_history(
    conn: Connection, thread_id: str, last_messages: int | None = None
) -> tuple[list[Any], list[Any]]:
    """Return the thread's message rows and tool-call step rows, oldest first.

    With ``last_messages`` (a run's ``truncation_strategy``), only that many latest messages
    and the tool-call steps recorded after the message before them.
    """
    messages = db.messages
    steps = db.run_steps
    message_rows = list(
        conn.execute(
            select(messages).where(messages.c.thread_id == thread_id).order_by(messages.c.seq)
        )
    )
    tool_steps = list(
        conn.execute(
            select(steps)
            .where(steps.c.thread_id == thread_id, steps.c.type == "tool_calls")
            .order_by(steps.c.seq)
        )
    )
    if last_messages is not None:
        message_rows = message_rows[max(0, len(message_rows) - last_messages) :]
        if last_messages:
            first_seq = message_rows[0].seq if message_rows else 0
            tool_steps = [s for s in tool_steps if s.after_message_seq >= first_seq - 1]
    return message_rows, tool_steps
