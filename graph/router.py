"""Where to go after the assistant node: a person's review, the tools, or the end of the turn."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from graph.context import Context
from graph.state import State


def route_after_assistant(
    state: State, runtime: Runtime[Context] | None = None
) -> Literal["human_review", "tools", "__end__"]:
    """Route the assistant's last message.

    ``human_review`` for tool calls when ``interrupt_before_tools`` is on, ``tools`` for tool
    calls otherwise, ``__end__`` for an answer.
    """
    last = state.messages[-1] if state.messages else None
    if not (isinstance(last, AIMessage) and last.tool_calls):
        return "__end__"
    context = runtime.context if runtime is not None else None
    if isinstance(context, dict):
        context = Context(**context)
    if context is None:
        context = Context()
    return "human_review" if context.interrupt_before_tools else "tools"
