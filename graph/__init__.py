"""An OpenAI-Assistants-style agent as a LangGraph workflow.

``graph`` is the compiled graph without a checkpointer (what ``langgraph dev`` loads);
``build_graph(checkpointer=..., tools=...)`` builds one for an app; ``prepare_assistant()``
checks the endpoint and provisions the assistant before a first turn. Importing this package
starts nothing and touches no network: the embedded Assistants server starts on first use.

The names below are imported on first access (PEP 562), so importing a light submodule (the
command line, ``errors``, ``context``) does not load LangChain and LangGraph; ``graph`` is
compiled once, when first asked for (it is ``assistant_graph.graph.exported.graph``, the graph
``langgraph.json`` names).
"""

from __future__ import annotations

from importlib import import_module
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
    from assistant_graph.graph.state import InputState, OutputState, State
    from langgraph.graph.state import CompiledStateGraph

    graph: CompiledStateGraph
    """The agent graph compiled without a checkpointer, with the default tools."""

_EXPORTS = {
    "AssistantGraphError": "errors",
    "ConnectionLostError": "errors",
    "ConversationBusyError": "errors",
    "EndpointUnreachableError": "errors",
    "InvalidInputError": "errors",
    "RunGoneError": "errors",
    "UnknownAssistantError": "errors",
    "Context": "context",
    "InputState": "state",
    "OutputState": "state",
    "State": "state",
    "build_graph": "builder",
    "prepare_assistant": "builder",
}
"""Public name → the submodule that defines it."""

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


def __getattr__(name: str) -> Any:
    """Import a public name on first use; compile ``graph`` once."""
    if name == "graph":
        from assistant_graph.graph.exported import graph as value
    elif name in _EXPORTS:
        value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's names, the lazily imported ones included."""
    return sorted({*globals(), *__all__})
