"""A self-hosted OpenAI Assistants v2 server running on any Chat Completions endpoint.

With no endpoint configured it runs a deterministic offline model, so the agent graph
works end to end without a key or a network.
"""

from assistants_server.settings import ServerSettings

__all__ = ["ServerSettings"]
