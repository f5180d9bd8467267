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

import math
from urllib.parse import urlsplit

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
BAD_LATENCY = (
    "ASSISTANTS_SERVER_OFFLINE_LATENCY_MS (--offline-latency-ms) must be a non-negative "
    "number of milliseconds, got {value!r}."
)
BAD_BASE_URL = (
    "OPENAI_BASE_URL (--model-base-url) must be an http:// or https:// URL of an "
    "OpenAI-compatible endpoint, such as http://localhost:11434/v1 for Ollama; got {value!r}."
)
MISSING_OPENAI_KEY = (
    "The chat-completions backend would call OpenAI at https://api.openai.com/v1, but "
    "OPENAI_API_KEY is empty. Set OPENAI_API_KEY, set OPENAI_BASE_URL (--model-base-url) to "
    "another OpenAI-compatible endpoint (Ollama, vLLM, ...), or use --backend offline."
)
BAD_TIMEOUT = "ASSISTANTS_SERVER_MODEL_TIMEOUT must be a positive number of seconds, got {value!r}."
BAD_RETRIES = "ASSISTANTS_SERVER_MODEL_MAX_RETRIES must be a whole number >= 0, got {value!r}."


def create_backend(settings: ServerSettings) -> ModelBackend:
    """Return the backend ``settings`` ask for; raise ValueError naming a wrong setting."""
    if settings.resolved_backend() == "offline":
        return _offline(settings)
    return _chat_completions(settings)


def _offline(settings: ServerSettings) -> OfflineBackend:
    latency = settings.offline_latency_ms
    if (
        isinstance(latency, bool)
        or not isinstance(latency, int | float)
        or not math.isfinite(latency)
        or latency < 0
    ):
        raise ValueError(BAD_LATENCY.format(value=latency))
    if not settings.offline_script:
        return OfflineBackend(latency_ms=latency)
    try:
        return OfflineBackend.from_script_file(settings.offline_script, latency_ms=latency)
    except ScriptError as exc:
        raise ValueError(BAD_SCRIPT.format(problem=exc)) from exc


def _chat_completions(settings: ServerSettings) -> ChatCompletionsBackend:
    base_url = settings.model_base_url.strip()
    if base_url:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(BAD_BASE_URL.format(value=base_url))
    elif not settings.model_api_key:
        raise ValueError(MISSING_OPENAI_KEY)
    timeout = settings.model_timeout_seconds
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(BAD_TIMEOUT.format(value=timeout))
    retries = settings.model_max_retries
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(BAD_RETRIES.format(value=retries))
    return ChatCompletionsBackend(
        base_url or OPENAI_BASE_URL,
        settings.model_api_key,
        timeout_seconds=timeout,
        max_retries=retries,
        default_model=settings.default_model,
    )
