"""A model backend for any OpenAI-compatible Chat Completions endpoint (OpenAI, Ollama, vLLM...).

One model call is one streamed ``POST {base_url}/chat/completions`` through the openai SDK's
``AsyncOpenAI`` client, whose retries with exponential backoff (honouring ``Retry-After``)
cover 429, 5xx, connection errors and timeouts. The body
(:meth:`ChatCompletionsBackend.request_body`) is already the wire JSON, so it goes through the
client's generic ``post`` with the SDK's typed stream of ``ChatCompletionChunk``:
``chat.completions.create`` would first walk every message and tool schema against its request
``TypedDict`` union (≈2.4 ms of CPU per call on a short conversation), a pass that changes
nothing in plain JSON. Text deltas go to ``on_text_delta`` as they arrive; tool-call deltas
are accumulated by index into :class:`ToolCallRequest` objects.

Function tools are sent as they are; a built-in Assistants tool the server executes
(``code_interpreter``, ``file_search``) is offered as the function of
:mod:`~assistants_server.backends.builtin_functions`, and the model's calls of it come back as
calls of the built-in type. A run with a built-in tool the server cannot execute (one this
backend was not given) fails with :data:`UNSUPPORTED_BUILTIN` rather than leaving the tool
out without a word. Failures that survive the retries become
:class:`ModelError` with a message saying what happened and what to do. The API key never
appears in messages or logs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import openai
from assistant_graph.assistants_server.backends.base import (
    ModelError,
    ModelRequest,
    ModelTurn,
    TextDeltaCallback,
    ToolCallRequest,
    Usage,
)
from assistant_graph.assistants_server.backends.builtin_functions import BUILTIN_FUNCTIONS
from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletion, ChatCompletionChunk

logger = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_API_KEY = "no-key"
"""Sent when no key is configured: local servers (Ollama, vLLM) ignore it, the SDK needs one."""

AUTH_REJECTED = "The model endpoint at {url} rejected the API key ({status}). Check OPENAI_API_KEY."
PERMISSION_DENIED = (
    "The model endpoint at {url} refused the request ({status}): {detail} Check that "
    "OPENAI_API_KEY may use model '{model}'."
)
RATE_LIMITED = (
    "The model endpoint at {url} is rate limiting requests (429) and still refused after "
    "{retries} retries: {detail} Wait and try again, lower the request rate, or raise the "
    "quota (ASSISTANTS_SERVER_MODEL_MAX_RETRIES sets how often to retry)."
)
SERVER_FAILED = (
    "The model endpoint at {url} failed with HTTP {status} after {retries} retries: {detail} "
    "Try again later or check the endpoint's logs."
)
MODEL_NOT_FOUND = (
    "The model endpoint at {url} does not know the model '{model}' (404): {detail} Use a model "
    "the endpoint serves (for example set the assistant's model, or "
    "ASSISTANTS_SERVER_DEFAULT_MODEL / --default-model)."
)
PATH_NOT_FOUND = (
    "The model endpoint returned 404 for {url}/chat/completions: {detail} Check "
    "OPENAI_BASE_URL; it usually ends in /v1 (e.g. http://localhost:11434/v1 for Ollama)."
)
BAD_REQUEST = "The model endpoint at {url} rejected the request ({status}): {detail}"
OTHER_STATUS = "The model endpoint at {url} answered HTTP {status}: {detail}"
TIMED_OUT = (
    "The model endpoint at {url} did not respond within {timeout:g} s (tried {attempts} "
    "times). Check that it is running and not overloaded, or raise "
    "ASSISTANTS_SERVER_MODEL_TIMEOUT."
)
CONNECTION_FAILED = (
    "Could not connect to the model endpoint at {url} (tried {attempts} times: {detail}). "
    "Check OPENAI_BASE_URL and that the server is running."
)
STREAM_ERROR = "The model endpoint at {url} reported an error while streaming: {detail}"
UNSUPPORTED_BUILTIN = (
    "The run has the {tool} tool, which this server cannot execute with the chat-completions "
    "backend yet. Remove {tool} from the assistant's (or the run's) tools, or declare a "
    "function tool that does the same and run it on the client."
)
NO_MODEL = (
    "No model to call: the assistant names none and ASSISTANTS_SERVER_DEFAULT_MODEL is empty. "
    "Set the assistant's model or ASSISTANTS_SERVER_DEFAULT_MODEL."
)

_SECRET_LIKE = re.compile(r"\b(sk|pk|rk)-[A-Za-z0-9_\-*.]{6,}")
_MODEL_WORD = re.compile(r"\bmodel", re.IGNORECASE)


def display_url(url: str) -> str:
    """``url`` without credentials, query or fragment (safe to show in messages and logs)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


@dataclass
class _PartialToolCall:
    id: str = ""
    type: str = "function"
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _attr(obj: Any, name: str) -> Any:
    """``obj.name``, or ``None`` when the endpoint left the field out."""
    return getattr(obj, name, None) if obj is not None else None


class ChatCompletionsBackend:
    """Model turns from an OpenAI-compatible ``/chat/completions`` endpoint (streamed)."""

    name = "chat-completions"

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_seconds: float = 60.0,
        max_retries: int = 2,
        default_model: str = "",
        builtin_tools: frozenset[str] = frozenset(),
    ):
        """Create a backend for the endpoint at ``base_url`` (``.../v1``).

        ``timeout_seconds`` bounds connecting and each wait for data (a long stream that keeps
        producing tokens is not cut); ``max_retries`` is the SDK's retry count;
        ``default_model`` replaces a run's empty model and, once the endpoint has answered
        404 for a model, that model too. ``builtin_tools``: built-in tool types the server
        executes; those with a function form are offered to the model.
        """
        self.supported_builtin_tools = frozenset(builtin_tools) & frozenset(BUILTIN_FUNCTIONS)
        self._builtin_names = {
            BUILTIN_FUNCTIONS[kind]["name"]: kind for kind in self.supported_builtin_tools
        }
        self.base_url = (base_url or OPENAI_BASE_URL).rstrip("/")
        self.url = display_url(self.base_url)
        self.timeout_seconds = float(timeout_seconds)
        self.max_retries = int(max_retries)
        self.default_model = default_model
        self._api_key = api_key
        self._unknown_models: set[str] = set()
        self._client = AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY,
            base_url=self.base_url,
            timeout=self.timeout_seconds,
            max_retries=self.max_retries,
        )

    def __repr__(self) -> str:
        return (
            f"ChatCompletionsBackend(base_url={self.url!r}, default_model={self.default_model!r})"
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.close()

    def _model_for(self, requested: str) -> str:
        if self.default_model and (not requested or requested in self._unknown_models):
            return self.default_model
        return requested

    async def complete(
        self, request: ModelRequest, on_text_delta: TextDeltaCallback | None = None
    ) -> ModelTurn:
        """Stream one completion; raise :class:`ModelError` when it fails after retries."""
        model = self._model_for(request.model)
        if not model:
            raise ModelError(NO_MODEL, code="invalid_prompt")
        try:
            return await self._stream(model, request, on_text_delta)
        except openai.NotFoundError as exc:
            if self._is_model_not_found(exc) and self.default_model and model != self.default_model:
                logger.warning(
                    "Model %r is unknown to %s; using ASSISTANTS_SERVER_DEFAULT_MODEL %r instead.",
                    model,
                    self.url,
                    self.default_model,
                )
                self._unknown_models.add(model)
                try:
                    return await self._stream(self.default_model, request, on_text_delta)
                except openai.OpenAIError as retry_exc:
                    raise self._model_error(retry_exc, self.default_model) from retry_exc
            raise self._model_error(exc, model) from exc
        except openai.OpenAIError as exc:
            raise self._model_error(exc, model) from exc

    def request_body(self, model: str, request: ModelRequest) -> dict[str, Any]:
        """Return the JSON body of ``POST /chat/completions`` for ``request``.

        Raise :class:`ModelError` when the run has a built-in tool the server cannot execute.
        """
        functions = []
        for tool in request.tools:
            kind = tool.get("type")
            if kind == "function" and isinstance(tool.get("function"), dict):
                functions.append({"type": "function", "function": tool["function"]})
            elif kind in self.supported_builtin_tools:
                functions.append({"type": "function", "function": BUILTIN_FUNCTIONS[kind]})
            elif kind != "function":
                raise ModelError(UNSUPPORTED_BUILTIN.format(tool=kind), code="invalid_prompt")
        body: dict[str, Any] = {
            "model": model,
            "messages": list(request.messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if functions:
            body["tools"] = functions
            body["parallel_tool_calls"] = request.parallel_tool_calls
            tool_choice = request.tool_choice
            if isinstance(tool_choice, dict) and tool_choice.get("type") in BUILTIN_FUNCTIONS:
                name = BUILTIN_FUNCTIONS[tool_choice["type"]]["name"]
                tool_choice = {"type": "function", "function": {"name": name}}
            if tool_choice in ("auto", "none", "required") or (
                isinstance(tool_choice, dict) and tool_choice.get("type") == "function"
            ):
                body["tool_choice"] = tool_choice
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.max_completion_tokens is not None:
            body["max_completion_tokens"] = request.max_completion_tokens
        return body

    async def _stream(
        self, model: str, request: ModelRequest, on_text_delta: TextDeltaCallback | None
    ) -> ModelTurn:
        stream = await self._client.post(
            "/chat/completions",
            body=self.request_body(model, request),
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )
        text: list[str] = []
        calls: list[_PartialToolCall] = []
        by_index: dict[int, _PartialToolCall] = {}
        usage = Usage()
        finish_reason = None
        async with stream:
            async for chunk in stream:
                chunk_usage = _attr(chunk, "usage")
                if chunk_usage is not None:
                    usage = Usage(
                        prompt_tokens=int(_attr(chunk_usage, "prompt_tokens") or 0),
                        completion_tokens=int(_attr(chunk_usage, "completion_tokens") or 0),
                    )
                for choice in _attr(chunk, "choices") or []:
                    if (_attr(choice, "index") or 0) != 0:
                        continue
                    finish_reason = _attr(choice, "finish_reason") or finish_reason
                    delta = _attr(choice, "delta")
                    content = _attr(delta, "content")
                    if content:
                        text.append(content)
                        if on_text_delta is not None:
                            await on_text_delta(content)
                    for call_delta in _attr(delta, "tool_calls") or []:
                        _accumulate(call_delta, calls, by_index)
        tool_calls = [
            ToolCallRequest(
                name=call.name,
                arguments="".join(call.arguments) or "{}",
                type=self._builtin_names.get(call.name, "function"),
            )
            for call in calls
            if call.name
        ]
        incomplete = "max_completion_tokens" if finish_reason == "length" else None
        return ModelTurn(
            text="".join(text), tool_calls=tool_calls, usage=usage, incomplete_reason=incomplete
        )

    @staticmethod
    def _is_model_not_found(exc: openai.NotFoundError) -> bool:
        return exc.code == "model_not_found" or bool(_MODEL_WORD.search(exc.message or ""))

    def _redact(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return _SECRET_LIKE.sub(lambda m: f"{m.group(1)}-***", text)

    def _detail(self, exc: openai.APIError) -> str:
        detail = self._redact(str(exc.message or "").strip()) or "(no message)"
        return detail if detail.endswith((".", "!", "?")) else detail + "."

    def _model_error(self, exc: openai.OpenAIError, model: str) -> ModelError:
        """Map an SDK failure to a ModelError saying what happened and what to do; log it."""
        url, retries, attempts = self.url, self.max_retries, self.max_retries + 1
        if isinstance(exc, openai.APITimeoutError):
            error = ModelError(
                TIMED_OUT.format(url=url, timeout=self.timeout_seconds, attempts=attempts)
            )
        elif isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            detail = self._redact(str(cause)) if cause is not None and str(cause) else exc.message
            error = ModelError(CONNECTION_FAILED.format(url=url, attempts=attempts, detail=detail))
        elif isinstance(exc, openai.APIStatusError):
            error = self._status_error(exc, model, url, retries)
        elif isinstance(exc, openai.APIError):
            error = ModelError(STREAM_ERROR.format(url=url, detail=self._detail(exc)))
        else:
            error = ModelError(STREAM_ERROR.format(url=url, detail=self._redact(str(exc))))
        logger.warning("Model call failed: %s", error.message)
        return error

    def _status_error(
        self, exc: openai.APIStatusError, model: str, url: str, retries: int
    ) -> ModelError:
        status = exc.status_code
        detail = self._detail(exc)
        if status == 401:
            return ModelError(AUTH_REJECTED.format(url=url, status=status))
        if status == 403:
            return ModelError(
                PERMISSION_DENIED.format(url=url, status=status, detail=detail, model=model)
            )
        if status == 429:
            return ModelError(
                RATE_LIMITED.format(url=url, retries=retries, detail=detail),
                code="rate_limit_exceeded",
            )
        if status == 404:
            if isinstance(exc, openai.NotFoundError) and self._is_model_not_found(exc):
                return ModelError(
                    MODEL_NOT_FOUND.format(url=url, model=model, detail=detail),
                    code="invalid_prompt",
                )
            return ModelError(PATH_NOT_FOUND.format(url=url, detail=detail))
        if status in (400, 413, 422):
            return ModelError(
                BAD_REQUEST.format(url=url, status=status, detail=detail), code="invalid_prompt"
            )
        if status >= 500:
            return ModelError(
                SERVER_FAILED.format(url=url, status=status, retries=retries, detail=detail)
            )
        return ModelError(OTHER_STATUS.format(url=url, status=status, detail=detail))


def _accumulate(
    call_delta: Any, calls: list[_PartialToolCall], by_index: dict[int, _PartialToolCall]
) -> None:
    """Merge one streamed tool-call delta into the calls being built.

    Deltas are grouped by ``index``; endpoints that omit it get a new call whenever a new
    ``id`` (or a name without an id) starts, else the delta continues the last call.
    """
    index = _attr(call_delta, "index")
    call_id = _attr(call_delta, "id")
    function = _attr(call_delta, "function")
    name = _attr(function, "name")
    if isinstance(index, int):
        call = by_index.get(index)
        if call is None:
            call = by_index[index] = _PartialToolCall()
            calls.append(call)
    elif (
        calls
        and not (call_id and call_id != calls[-1].id)
        and not (name and not call_id and calls[-1].name)
    ):
        call = calls[-1]
    else:
        call = _PartialToolCall()
        calls.append(call)
    if call_id:
        call.id = call_id
    call_type = _attr(call_delta, "type")
    if call_type:
        call.type = call_type
    if name and name != call.name:
        call.name = call.name + name if call.name and not name.startswith(call.name) else name
    arguments = _attr(function, "arguments")
    if arguments:
        call.arguments.append(arguments)
