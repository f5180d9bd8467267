"""Where to go after the assistant node: the tools, or the end of the turn."""

from __future__ import annotations

from typing import Literal

from langchain_core.messages import AIMessage

from graph.state import State


def route_after_assistant(state: State) -> Literal["tools", "__end__"]:
    """``tools`` when the assistant's last message asks for tool calls, else ``__end__``."""
    last = state.messages[-1] if state.messages else None
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    return "__end__"
