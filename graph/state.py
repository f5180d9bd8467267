"""The graph's state: chat messages plus the plain string ids that tie it to an Assistants thread.

Only checkpoint-safe types live here (LangChain messages and strings), so any LangGraph
checkpointer can store and restore it. The input and output schemas expose only ``messages``,
which is what LangGraph Studio's chat view needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, cast

from assistant_graph.graph.errors import INVALID_MESSAGE, InvalidInputError
from langchain_core.messages import AnyMessage, convert_to_messages
from langgraph.graph import add_messages
from langgraph.graph.message import Messages


def add_valid_messages(left: Messages, right: Messages) -> Messages:
    """``add_messages``, but a message that cannot be read is an :class:`InvalidInputError`.

    The graph's input is checked before it is saved (``graph.input_check``); this reducer
    guards the other writers (``update_state``, nodes) so no unreadable message enters state.
    """
    try:
        new = convert_to_messages(right if isinstance(right, list) else [right])
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise InvalidInputError(INVALID_MESSAGE.format(detail=str(exc).splitlines()[0])) from exc
    return add_messages(left, cast(Messages, new))


@dataclass
class InputState:
    """What callers send: the new message(s) of a turn."""

    messages: Annotated[Sequence[AnyMessage], add_valid_messages] = field(default_factory=list)
    """The conversation: Human → AI with ``tool_calls`` → Tool messages → … → AI answer.

    A new turn appends one user message; ``add_messages`` merges by message id, so a step that
    is re-run after a crash replaces its messages instead of duplicating them.
    """


@dataclass
class OutputState:
    """What the graph returns: the conversation so far."""

    messages: Annotated[Sequence[AnyMessage], add_valid_messages] = field(default_factory=list)
    """The whole conversation, ending with the assistant's answer for this turn."""


@dataclass
class State(InputState):
    """The full state saved in checkpoints."""

    assistant_thread_id: str = ""
    """Id of the Assistants thread that holds this conversation server-side (``thread_…``).

    Empty until the first turn creates it; one per LangGraph thread, so the conversation
    continues across invocations and process restarts.
    """

    pending_run_id: str = ""
    """Id of the run waiting in ``requires_action`` for the tool outputs of the last AI message.

    Empty when no run awaits tool outputs (between turns, or after the run finished).
    """

    review_tool_calls: bool = False
    """Whether the last assistant step ran with ``interrupt_before_tools`` on.

    Routes its tool calls when state is written without running the graph (``update_state``,
    forks, Studio's state editing), where the invocation's context is not available.
    """
