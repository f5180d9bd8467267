"""An OpenAI-Assistants-style agent as a LangGraph workflow.

``graph`` is the compiled graph without a checkpointer (what ``langgraph dev`` loads);
``build_graph(checkpointer=..., tools=...)`` builds one for an app; ``prepare_assistant()``
checks the endpoint and provisions the assistant before a first turn. Importing this package
starts nothing and touches no network: the embedded Assistants server starts on first use.
"""

from __future__ import annotations

from assistant_graph.graph.builder import build_graph, prepare_assistant
from assistant_graph.graph.context import Context
from assistant_graph.graph.errors import (
    AssistantGraphError,
    EndpointUnreachableError,
    InvalidInputError,
    RunGoneError,
    UnknownAssistantError,
)
from assistant_graph.graph.state import InputState, OutputState, State

graph = build_graph()
"""The agent graph compiled without a checkpointer, with the default tools."""

__all__ = [
    "AssistantGraphError",
    "Context",
    "EndpointUnreachableError",
    "InputState",
    "InvalidInputError",
    "OutputState",
    "RunGoneError",
    "State",
    "UnknownAssistantError",
    "build_graph",
    "graph",
    "prepare_assistant",
]
