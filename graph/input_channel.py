"""Validate the graph's input before LangGraph saves it to the checkpoint.

LangGraph 1.2 writes a graph's input into its ``__start__`` channel and saves the "input"
checkpoint right after; reducers and the nodes only see the input later, so an error raised
there leaves the bad input saved in the thread (and a reducer error even makes
``get_state`` raise for that thread). The one place that sees the input before that save is
the ``__start__`` channel's ``update``: :class:`ValidatedInputChannel` checks the input there
and raises :class:`~graph.errors.InvalidInputError`, so a rejected input leaves the thread's
checkpoint exactly as it was. Because the check lives in the compiled graph itself, it
applies to every caller: ``invoke``/``stream``/``astream_events``, and ``langgraph dev``.

Drawing the graph (``get_graph``) feeds an empty input ``{}`` through the same channel;
:class:`AssistantGraph` marks that call so the channel lets that one input through.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import is_dataclass
from typing import Any

from assistant_graph.graph.context import Context
from assistant_graph.graph.errors import (
    INPUT_NOT_A_MAPPING,
    INPUT_NOT_A_USER_MESSAGE,
    INVALID_MESSAGE,
    NO_MESSAGES,
    InvalidInputError,
)
from assistant_graph.graph.planning import user_text
from assistant_graph.graph.state import InputState, OutputState, State
from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.graph import Graph
from langgraph.channels.ephemeral_value import EphemeralValue
from langgraph.constants import START
from langgraph.graph.state import CompiledStateGraph

_drawing: ContextVar[bool] = ContextVar("assistant_graph_drawing", default=False)
"""True while :class:`AssistantGraph` draws itself (its empty drawing input is not a turn)."""


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
            if value == {} and _drawing.get():
                continue
            validate_graph_input(value)
        return super().update(values)


class AssistantGraph(CompiledStateGraph[State, Context, InputState, OutputState]):
    """The compiled agent graph; its input channel validates each input (see module doc).

    ``copy()`` (used by ``with_config`` and by ``langgraph dev``) keeps this class and the
    validating channel.
    """

    def get_graph(self, config: RunnableConfig | None = None, *, xray: int | bool = False) -> Graph:
        """Draw the graph (its empty drawing input passes the input check)."""
        token = _drawing.set(True)
        try:
            return super().get_graph(config, xray=xray)
        finally:
            _drawing.reset(token)

    async def aget_graph(
        self, config: RunnableConfig | None = None, *, xray: int | bool = False
    ) -> Graph:
        """Async :meth:`get_graph`."""
        token = _drawing.set(True)
        try:
            return await super().aget_graph(config, xray=xray)
        finally:
            _drawing.reset(token)


def with_input_validation(
    compiled: CompiledStateGraph[State, Context, InputState, OutputState],
) -> AssistantGraph:
    """Return ``compiled`` as an :class:`AssistantGraph` with a validating ``__start__``."""
    attrs = {k: v for k, v in compiled.__dict__.items() if k != "__orig_class__"}
    graph = AssistantGraph(**attrs)
    graph.channels = dict(graph.channels)
    current = graph.channels[START]
    if not isinstance(current, EphemeralValue):
        raise TypeError(f"Unexpected {START} channel {type(current).__name__}")
    channel = ValidatedInputChannel(current.typ, current.guard)
    channel.key = START
    graph.channels[START] = channel
    return graph


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
