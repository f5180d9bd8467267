"""Run-time configuration of the graph (LangGraph ``context_schema``).

Pass it per invocation, ``graph.invoke(input, config, context=Context(model="..."))``, or let
fields fall back to environment variables (listed in ``.env.example``). A field left at its
default is read from its variable when the context is created.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from typing import Any

from assistant_graph.graph.errors import INVALID_BOOLEAN, INVALID_CHECK_EVERY_MS, ConfigurationError

DEFAULT_ASSISTANT_NAME = "assistant-graph"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_INSTRUCTIONS = (
    "You are a helpful assistant. Use the provided tools for arithmetic and for the current "
    "date and time, then answer briefly."
)
DEFAULT_CHECK_EVERY_MS = 1000.0
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

ENV_VARIABLES = {
    "assistant_id": "ASSISTANT_ID",
    "assistant_name": "ASSISTANT_NAME",
    "model": "ASSISTANT_MODEL",
    "instructions": "ASSISTANT_INSTRUCTIONS",
    "base_url": "ASSISTANTS_BASE_URL",
    "api_key": "ASSISTANTS_API_KEY",
    "check_every_ms": "ASSISTANT_CHECK_EVERY_MS",
    "interrupt_before_tools": "ASSISTANT_INTERRUPT_BEFORE_TOOLS",
    "mcp_config": "ASSISTANT_MCP_CONFIG",
}
"""Context field → environment variable used when the field is left at its default."""


def _default_of(name: str) -> object:
    for f in fields(Context):
        if f.name == name:
            return f.default
    raise KeyError(name)


@dataclass(kw_only=True)
class Context:
    """Which assistant to run, and where."""

    assistant_id: str = field(
        default="",
        metadata={
            "description": "Id of an existing assistant to run (env ASSISTANT_ID). Empty: the "
            "graph creates (or reuses) one named `assistant_name` with the graph's tools."
        },
    )
    assistant_name: str = field(
        default=DEFAULT_ASSISTANT_NAME,
        metadata={
            "description": "Name of the assistant the graph provisions (env ASSISTANT_NAME)."
        },
    )
    model: str = field(
        default=DEFAULT_MODEL,
        metadata={"description": "Model of the provisioned assistant (env ASSISTANT_MODEL)."},
    )
    instructions: str = field(
        default=DEFAULT_INSTRUCTIONS,
        metadata={
            "description": "System instructions of the provisioned assistant "
            "(env ASSISTANT_INSTRUCTIONS)."
        },
    )
    base_url: str = field(
        default="",
        metadata={
            "description": "Base URL of an external Assistants v2 endpoint, e.g. "
            "http://host:8321/v1 (env ASSISTANTS_BASE_URL). Empty: the embedded server, "
            "started in-process on first use."
        },
    )
    api_key: str = field(
        default="",
        repr=False,
        metadata={
            "description": "API key for the Assistants endpoint (env ASSISTANTS_API_KEY). "
            "Ignored for the embedded server."
        },
    )
    check_every_ms: float = field(
        default=DEFAULT_CHECK_EVERY_MS,
        metadata={
            "description": "Wait between two status checks of a run that cannot be "
            "streamed: a replayed request, or a run re-attached after its event stream broke "
            "(env ASSISTANT_CHECK_EVERY_MS). At the default the server's openai-poll-after-ms "
            "header wins when present."
        },
    )

    interrupt_before_tools: bool = field(
        default=False,
        metadata={
            "description": "Pause before running tools so a person can approve, edit or reject "
            "the assistant's tool calls (env ASSISTANT_INTERRUPT_BEFORE_TOOLS; needs a "
            "checkpointer). Resume with Command(resume={'action': 'approve'}), "
            "{'action': 'reject', 'reason': '...'} or {'action': 'edit', 'args': {call_id: {...}}}."
        },
    )

    mcp_config: str = field(
        default="",
        metadata={
            "description": "Path of a JSON file in the MCP clients' usual shape, "
            '{"mcpServers": {name: {"command", "args", "env"} | {"url", "transport"}}}, whose '
            "servers' tools join the local tools (env ASSISTANT_MCP_CONFIG). Empty: no MCP tools."
        },
    )

    def __post_init__(self) -> None:
        """Fill fields left at their defaults from the environment and validate them."""
        for name, variable in ENV_VARIABLES.items():
            if getattr(self, name) != _default_of(name):
                continue
            raw = os.environ.get(variable, "").strip()
            if not raw:
                continue
            if name == "check_every_ms":
                setattr(self, name, _parse_check_every_ms(raw))
            elif name == "interrupt_before_tools":
                setattr(self, name, _parse_boolean(variable, raw))
            else:
                setattr(self, name, raw)
        if not isinstance(self.check_every_ms, int | float) or self.check_every_ms <= 0:
            raise ConfigurationError(INVALID_CHECK_EVERY_MS.format(raw=self.check_every_ms))
        self.base_url = self.base_url.rstrip("/")


def context_of(runtime: Any) -> Context:
    """Return the context of a graph runtime (a dict is converted; none → env/defaults)."""
    context = getattr(runtime, "context", None)
    if context is None:
        return Context()
    if isinstance(context, dict):
        return Context(**context)
    return context


def _parse_boolean(variable: str, raw: str) -> bool:
    word = raw.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigurationError(INVALID_BOOLEAN.format(variable=variable, raw=raw))


def _parse_check_every_ms(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(INVALID_CHECK_EVERY_MS.format(raw=raw)) from exc
    if value <= 0:
        raise ConfigurationError(INVALID_CHECK_EVERY_MS.format(raw=raw))
    return value
