"""Model backends of the assistants server and the factory that picks one from the settings.

* ``offline`` (:class:`OfflineBackend`): deterministic, network-free; arithmetic through the
  assistant's calculator tool, a scripted mode for tests, and otherwise a reply saying how
  to configure a real model.
* ``chat-completions`` (:class:`ChatCompletionsBackend`): any OpenAI-compatible
  ``/chat/completions`` endpoint (OpenAI, Ollama, vLLM, ...), streamed.

``auto`` (the default) means chat-completions when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL``
is set, else offline.
"""

from __future__ import annotations

from assistant_graph.assistants_server.backends.base import (
    ModelBackend,
    ModelError,
    ModelRequest,
    ModelTurn,
    TextDeltaCallback,
    ToolCallRequest,
    Usage,
)
from assistant_graph.assistants_server.backends.chat_completions import (
    OPENAI_BASE_URL,
    ChatCompletionsBackend,
)
from assistant_graph.assistants_server.backends.offline import NOT_CONFIGURED_REPLY, OfflineBackend
from assistant_graph.assistants_server.backends.offline_script import ScriptError
from assistant_graph.assistants_server.settings import ServerSettings

__all__ = [
    "NOT_CONFIGURED_REPLY",
    "OPENAI_BASE_URL",
    "ChatCompletionsBackend",
    "ModelBackend",
    "ModelError",
    "ModelRequest",
    "ModelTurn",
    "OfflineBackend",
    "TextDeltaCallback",
    "ToolCallRequest",
    "Usage",
    "create_backend",
]

BAD_SCRIPT = (
    "ASSISTANTS_SERVER_OFFLINE_SCRIPT (--offline-script) is not usable: {problem} "
    "Fix the file or unset the setting to use the offline model without a script."
)


def create_backend(
    settings: ServerSettings, *, builtin_tools: frozenset[str] = frozenset()
) -> ModelBackend:
    """Return the backend ``settings`` ask for (validated by :class:`ServerSettings`).

    ``builtin_tools``: the built-in tool types the server executes (``code_interpreter`` when
    it has an interpreter); the backend lets the model call them.

    Raise ValueError naming ``ASSISTANTS_SERVER_OFFLINE_SCRIPT`` when its file is not usable.
    """
    if settings.resolved_backend() == "chat-completions":
        return ChatCompletionsBackend(
            settings.model_base_url or OPENAI_BASE_URL,
            settings.model_api_key,
            timeout_seconds=settings.model_timeout_seconds,
            max_retries=settings.model_max_retries,
            default_model=settings.default_model,
            builtin_tools=builtin_tools,
        )
    if not settings.offline_script:
        return OfflineBackend(latency_ms=settings.offline_latency_ms, builtin_tools=builtin_tools)
    try:
        return OfflineBackend.from_script_file(
            settings.offline_script,
            latency_ms=settings.offline_latency_ms,
            builtin_tools=builtin_tools,
        )
    except ScriptError as exc:
        raise ValueError(BAD_SCRIPT.format(problem=exc)) from exc
