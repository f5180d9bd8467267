"""A self-hosted OpenAI Assistants v2 server running on any Chat Completions endpoint.

With no endpoint configured it runs a deterministic offline model, so the agent graph
works end to end without a key or a network. Importing this package is cheap: the server
parts (``create_app``, ``EmbeddedServer``, ``shared_embedded_server``) load on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.settings import ServerSettings

if TYPE_CHECKING:
    from assistant_graph.assistants_server.app import create_app
    from assistant_graph.assistants_server.embedded import EmbeddedServer, shared_embedded_server

__all__ = ["EmbeddedServer", "ServerSettings", "create_app", "shared_embedded_server"]

_LAZY = {
    "create_app": "assistant_graph.assistants_server.app",
    "EmbeddedServer": "assistant_graph.assistants_server.embedded",
    "shared_embedded_server": "assistant_graph.assistants_server.embedded",
}


def __getattr__(name: str) -> Any:
    """Import the server parts on first use."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'assistants_server' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
