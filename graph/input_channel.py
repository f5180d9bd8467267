"""Validate the graph's input before LangGraph saves it to the checkpoint.

LangGraph 1.2 writes a graph's input into its ``__start__`` channel and saves the "input"
checkpoint right after; reducers and the nodes only see the input later, so an error raised
there leaves the bad input saved in the thread (and a reducer error even makes
``get_state`` raise for that thread). The one place that sees the input before that save is
the ``__start__`` channel's ``update``: :class:`ValidatedInputChannel` checks the input there
and raises :class:`~graph.errors.InvalidInputError`, so a rejected input leaves the thread's
checkpoint exactly as it was. Because the check lives in the compiled graph itself, it
applies to every caller: ``invoke``/``stream``/``astream_events``, and ``langgraph dev``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import is_dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.constants import START
from langgraph.pregel import Pregel

from graph.errors import (
    INPUT_NOT_A_MAPPING,
    INPUT_NOT_A_USER_MESSAGE,
    INVALID_MESSAGE,
    NO_MESSAGES,
    InvalidInputError,
)
from graph.planning import user_text


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
    user_text(last)


class ValidatedInputChannel(EphemeralValue[Any]):
    """The ``__start__`` channel, checking each input before it is stored (see module doc)."""

    def update(self, values: Sequence[Any]) -> bool:
        """Validate, then store like ``EphemeralValue`` (an empty update clears the value)."""
        for value in values:
            validate_graph_input(value)
        return super().update(values)


def install_input_validation(graph: Pregel) -> None:
    """Replace the compiled graph's ``__start__`` channel with :class:`ValidatedInputChannel`."""
    current = graph.channels[START]
    if not isinstance(current, EphemeralValue):
        raise TypeError(f"Unexpected {START} channel {type(current).__name__}")
    channel = ValidatedInputChannel(current.typ, current.guard)
    channel.key = START
    graph.channels[START] = channel


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
