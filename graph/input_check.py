"""Check the graph's input before LangGraph saves it to the checkpoint.

LangGraph writes a graph's input into the checkpoint before any node or reducer sees it, so an
error raised there would leave the bad input saved in the thread. The compiled graph
(:class:`~assistant_graph.graph.compiled_graph.AssistantGraph`) therefore calls
:func:`check_graph_input` in its ``stream``/``astream`` — the entry points of ``invoke``,
``ainvoke``, ``astream_events`` and ``langgraph dev`` — before handing the input on: a rejected
input raises :class:`~assistant_graph.graph.errors.InvalidInputError` and leaves the thread's
checkpoint exactly as it was.

Besides the shape of the input, it checks what the Assistants endpoint would refuse and can be
known here: text that cannot be encoded (a lone surrogate) and a user message longer than
:data:`MAX_USER_MESSAGE_CHARS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import is_dataclass, replace
from typing import Any

from assistant_graph.graph.errors import (
    INPUT_NOT_A_MAPPING,
    INPUT_NOT_A_USER_MESSAGE,
    INVALID_MESSAGE,
    LONE_SURROGATE,
    MESSAGE_TOO_LONG,
    NO_MESSAGES,
    InvalidInputError,
)
from assistant_graph.graph.planning import user_text
from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langgraph.types import Command

MAX_USER_MESSAGE_CHARS = 256_000
"""Longest user message the graph sends (the hosted Assistants API's limit for a message).

Its JSON stays under the embedded server's default request limit
(``ASSISTANTS_SERVER_MAX_BODY_BYTES``, 4 MiB) whatever the characters.
"""


def check_graph_input(value: Any) -> None:
    """Check a graph input before LangGraph sees it.

    A new turn must pass :func:`validate_graph_input`; ``None`` (resume) and a ``Command`` pass
    unchecked.
    """
    if value is None or isinstance(value, Command):
        return
    validate_graph_input(value)


def validate_graph_input(value: Any) -> None:
    """Raise :class:`InvalidInputError` unless ``value`` starts a turn with user text.

    Accepted: a mapping (or an ``InputState``) whose ``messages`` is one message or a
    non-empty list of messages (objects, ``{"role"/"type", "content"}`` dicts, ``(role,
    text)`` tuples or strings) ending with a user message with non-empty text.
    """
    if isinstance(value, dict):
        messages = value.get("messages")
    elif is_dataclass(value) and not isinstance(value, type) and hasattr(value, "messages"):
        messages = value.messages
    else:
        raise InvalidInputError(INPUT_NOT_A_MAPPING.format(kind=type(value).__name__))
    if messages is None or (isinstance(messages, Sequence) and len(messages) == 0):
        raise InvalidInputError(NO_MESSAGES)
    items = messages if isinstance(messages, list) else [messages]
    for index, item in enumerate(items, start=1):
        _check_message_dict(index, item)
    try:
        converted = convert_to_messages(items)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise InvalidInputError(INVALID_MESSAGE.format(detail=_first_line(exc))) from exc
    last: BaseMessage = converted[-1]
    if not isinstance(last, HumanMessage):
        raise InvalidInputError(INPUT_NOT_A_USER_MESSAGE.format(kind=type(last).__name__))
    text = user_text(last)
    if len(text) > MAX_USER_MESSAGE_CHARS:
        raise InvalidInputError(
            MESSAGE_TOO_LONG.format(length=len(text), limit=MAX_USER_MESSAGE_CHARS)
        )
    for index, message in enumerate(converted, start=1):
        _check_encodable(index, message)


def with_message_ids(value: Any) -> Any:
    """Return a checked new-turn input whose messages all carry an id (a new uuid if none).

    The ids go into the checkpoint with the input, so a turn re-run from that checkpoint sees
    the same ids (``add_messages`` would give new ones each time it runs); ``None`` and a
    ``Command`` are returned as they are.
    """
    if value is None or isinstance(value, Command):
        return value
    messages = value["messages"] if isinstance(value, dict) else value.messages
    items = messages if isinstance(messages, list) else [messages]
    converted = [
        m if m.id else m.model_copy(update={"id": str(uuid.uuid4())})
        for m in convert_to_messages(items)
    ]
    if isinstance(value, dict):
        return {**value, "messages": converted}
    return replace(value, messages=converted)


def _check_message_dict(index: int, item: Any) -> None:
    """Name the problem of a message dict more plainly than the message classes would."""
    if not isinstance(item, dict):
        return
    if "content" not in item:
        detail = f"message {index} has no 'content'"
        raise InvalidInputError(INVALID_MESSAGE.format(detail=detail))
    content = item["content"]
    if not isinstance(content, str | list):
        detail = f"message {index} has content of type {type(content).__name__}, not text"
        raise InvalidInputError(INVALID_MESSAGE.format(detail=detail))


def _check_encodable(index: int, message: BaseMessage) -> None:
    """Reject text that cannot be encoded as UTF-8 (a lone surrogate)."""
    texts = (
        [message.content]
        if isinstance(message.content, str)
        else [
            str(block.get("text", "")) if isinstance(block, dict) else str(block)
            for block in message.content
        ]
    )
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidInputError(LONE_SURROGATE.format(index=index, position=exc.start)) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
