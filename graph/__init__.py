"""An OpenAI-Assistants-style agent as a LangGraph workflow.

``graph`` is the compiled graph without a checkpointer (what ``langgraph dev`` loads);
``build_graph(checkpointer=..., tools=...)`` builds one for an app; ``prepare_assistant()``
checks the endpoint and provisions the assistant before a first turn. Importing this package
imports nothing else, starts nothing and touches no network: each name is imported on first
access, ``graph`` is built on first access, and the embedded Assistants server starts on first
use. Inside a LangGraph server (``langgraph dev``), which reads the module's namespace rather
than its attributes, ``graph`` is built at import.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant_graph.graph.builder import build_graph, prepare_assistant
    from assistant_graph.graph.context import Context
    from assistant_graph.graph.errors import (
        AssistantGraphError,
        ConnectionLostError,
        ConversationBusyError,
        EndpointUnreachableError,
        InvalidInputError,
        RunGoneError,
        UnknownAssistantError,
    )
    from assistant_graph.graph.input_channel import AssistantGraph
    from assistant_graph.graph.state import InputState, OutputState, State

    graph: AssistantGraph
    """The agent graph compiled without a checkpointer, with the default tools."""

_EXPORTS = {
    "AssistantGraphError": "errors",
    "ConnectionLostError": "errors",
    "ConversationBusyError": "errors",
    "Context": "context",
    "EndpointUnreachableError": "errors",
    "InputState": "state",
    "InvalidInputError": "errors",
    "OutputState": "state",
    "RunGoneError": "errors",
    "State": "state",
    "UnknownAssistantError": "errors",
    "build_graph": "builder",
    "prepare_assistant": "builder",
}
"""Public name → the module of this package that defines it."""

__all__ = [
    "AssistantGraphError",
    "ConnectionLostError",
    "Context",
    "ConversationBusyError",
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


LANGGRAPH_SERVER_MODULE = "langgraph_api"
"""Loaded in a LangGraph server (``langgraph dev``), which reads ``module.__dict__["graph"]``
directly (langgraph.json's ``assistant_graph.graph:graph``), bypassing ``__getattr__``."""


def __getattr__(name: str) -> Any:
    """Import a public name on first access; build ``graph`` on first access (then keep it)."""
    if name == "graph":
        from assistant_graph.graph.builder import build_graph

        value: Any = build_graph()
    elif name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        value = getattr(module, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names (imported or built on first access) with the module's own."""
    return sorted({*globals(), *__all__})


if LANGGRAPH_SERVER_MODULE in sys.modules:  # the server needs the graph now: build it
    __getattr__("graph")
