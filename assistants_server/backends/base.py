"""The contract between the run worker and a model backend.

The worker turns a run's thread into a :class:`ModelRequest` (chat-completions shaped
messages plus the run's tools), calls :meth:`ModelBackend.complete` once per model step,
and records what comes back as run steps and messages. Backends never touch storage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

TextDeltaCallback = Callable[[str], Awaitable[None]]
"""Called with each piece of assistant text as the backend produces it (for streaming)."""


@dataclass(frozen=True)
class ModelRequest:
    """Everything a backend needs for one model call of a run."""

    model: str
    """Model name from the run (run override, else the assistant's)."""
    messages: list[dict[str, Any]]
    """Chat Completions messages, oldest first: an optional leading ``system`` message
    (assistant instructions + run ``additional_instructions``), then ``user``,
    ``assistant`` (with ``tool_calls``) and ``tool`` (with ``tool_call_id``) messages."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    """The run's tools in Assistants format: ``{"type": "function", "function": {...}}``
    and built-ins such as ``{"type": "code_interpreter"}``."""
    temperature: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool = True
    max_completion_tokens: int | None = None
    tool_choice: Any = None
    """``None``/"auto"/"none"/"required" or ``{"type": "function", "function": {"name": ...}}``."""
    max_prompt_tokens: int | None = None
    """The run's prompt budget. The worker already dropped the oldest turns so that
    ``messages`` fits it by its estimate (``assistants_server.prompt_budget``); a backend may
    use it to check with a real tokenizer."""


@dataclass(frozen=True)
class ToolCallRequest:
    """A tool call the model asks for. The worker assigns the public ``call_`` id."""

    name: str
    arguments: str
    """JSON text, exactly as the model produced it."""
    type: str = "function"
    """``"function"``, or a built-in tool type (``"code_interpreter"``, ``"file_search"``)."""


@dataclass(frozen=True)
class Usage:
    """Token counts of one model call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class ModelTurn:
    """What one model call produced: text, tool calls, or both."""

    text: str = ""
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    incomplete_reason: str | None = None
    """``"max_completion_tokens"`` or ``"max_prompt_tokens"`` when the model stopped early."""


class ModelError(Exception):
    """A model call failed; the worker ends the run ``failed`` with this as ``last_error``.

    ``code`` is one of the Assistants ``last_error`` codes: ``"server_error"``,
    ``"rate_limit_exceeded"`` or ``"invalid_prompt"``. ``retryable`` tells the backend's own
    retry loop (and nobody else) whether trying again may help.
    """

    def __init__(self, message: str, *, code: str = "server_error", retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable


@runtime_checkable
class ModelBackend(Protocol):
    """A source of model turns. Implementations: offline (deterministic) and chat-completions."""

    name: str
    """Short name shown in logs and ``assistant-graph serve --help`` (``"offline"``, ...)."""

    supported_builtin_tools: frozenset[str]
    """Built-in tool types this backend can execute itself (empty for both shipped backends)."""

    async def complete(
        self, request: ModelRequest, on_text_delta: TextDeltaCallback | None = None
    ) -> ModelTurn:
        """Run one model call. Raise :class:`ModelError` on failure (after any retries)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
