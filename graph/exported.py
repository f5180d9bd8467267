"""The graph ``langgraph dev`` and LangGraph Studio load (``langgraph.json``).

``graph`` is the agent compiled without a checkpointer (the API server brings its own) with the
default tools, built when this module is imported: LangGraph's server reads it from the
module's namespace. ``from assistant_graph.graph import graph`` returns this same object.
"""

from __future__ import annotations

from assistant_graph.graph.builder import build_graph

graph = build_graph()
"""The agent graph compiled without a checkpointer, with the default tools."""
