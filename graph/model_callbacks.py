"""Report an assistant step to LangChain callbacks the way a chat model does.

LangGraph's ``stream_mode="messages"`` (and ``langgraph dev``'s ``messages-tuple`` stream that
Studio's chat view reads) and ``astream_events`` are fed by chat-model callbacks. The assistant
node is not a LangChain chat model, so it reports each step itself: ``on_chat_model_start``
with the conversation, one ``on_llm_new_token`` per streamed text delta (an ``AIMessageChunk``
whose id is the Assistants message id, which is also the id of the final ``AIMessage``), then
``on_llm_end`` with the step's ``AIMessage`` (the answer, or the tool calls with the text the
model wrote alongside them). Because the chunks and the final message share one id, LangGraph's
message stream does not send the final message a second time; so when a step streamed text and
also called tools, one last chunk under that id carries the calls (``tool_call_chunks``, as a
streaming chat model sends them), and the chunks add up to the final message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, LLMResult
from langchain_core.runnables import RunnableConfig

MODEL_RUN_NAME = "assistants-run"
"""Name of the chat-model run reported for each assistant step (seen in traces and events)."""
PROVIDER = "openai-assistants"

_SERIALIZED: dict[str, Any] = {
    "lc": 1,
    "type": "not_implemented",
    "id": ["graph", "assistant_node", "AssistantNode"],
    "name": MODEL_RUN_NAME,
}


def _configure_kwargs(config: RunnableConfig, model: str) -> dict[str, Any]:
    return {
        "inheritable_callbacks": config.get("callbacks"),
        "inheritable_tags": config.get("tags"),
        "inheritable_metadata": config.get("metadata"),
        "local_metadata": {
            "ls_provider": PROVIDER,
            "ls_model_name": model,
            "ls_model_type": "chat",
        },
    }


def _chunk(message_id: str, text: str) -> ChatGenerationChunk:
    return ChatGenerationChunk(message=AIMessageChunk(content=text, id=message_id))


def _step_message(update: dict[str, Any]) -> AIMessage | None:
    messages = [m for m in update.get("messages", []) if isinstance(m, AIMessage)]
    return messages[-1] if messages else None


def _result(update: dict[str, Any]) -> LLMResult:
    message = _step_message(update)
    return LLMResult(generations=[[ChatGeneration(message=message)]] if message else [[]])


def _tool_calls_chunk(update: dict[str, Any], streamed: set[str]) -> ChatGenerationChunk | None:
    """Return the closing chunk with the calls of a step whose text was streamed, or None."""
    message = _step_message(update)
    if message is None or not message.tool_calls or message.id not in streamed:
        return None
    return ChatGenerationChunk(
        message=AIMessageChunk(
            content="",
            id=message.id,
            tool_call_chunks=[
                {
                    "name": call["name"],
                    "args": json.dumps(call["args"]),
                    "id": call["id"],
                    "index": index,
                    "type": "tool_call_chunk",
                }
                for index, call in enumerate(message.tool_calls)
            ],
        )
    )


class ModelRun:
    """One assistant step as a chat-model run (sync callbacks)."""

    def __init__(self, config: RunnableConfig, messages: Sequence[BaseMessage], model: str):
        """Start the run: ``on_chat_model_start`` with the conversation so far."""
        manager = CallbackManager.configure(**_configure_kwargs(config, model))
        runs = manager.on_chat_model_start(
            _SERIALIZED,
            [list(messages)],
            invocation_params={"model": model, "_type": PROVIDER},
            name=MODEL_RUN_NAME,
        )
        self._run: CallbackManagerForLLMRun = runs[0]
        self._streamed: set[str] = set()

    def token(self, message_id: str, text: str) -> None:
        """Report a streamed text delta of Assistants message ``message_id``."""
        self._streamed.add(message_id)
        self._run.on_llm_new_token(text, chunk=_chunk(message_id, text))

    def end(self, update: dict[str, Any]) -> None:
        """Finish with the step's AI message (after a chunk with its tool calls, if streamed)."""
        closing = _tool_calls_chunk(update, self._streamed)
        if closing is not None:
            self._run.on_llm_new_token("", chunk=closing)
        self._run.on_llm_end(_result(update))

    def error(self, error: BaseException) -> None:
        """Finish with an error."""
        self._run.on_llm_error(error)


class AsyncModelRun:
    """One assistant step as a chat-model run (async callbacks); create with :meth:`start`."""

    def __init__(self, run: AsyncCallbackManagerForLLMRun) -> None:
        """Wrap a started run (use :meth:`start`)."""
        self._run = run
        self._streamed: set[str] = set()

    @classmethod
    async def start(
        cls, config: RunnableConfig, messages: Sequence[BaseMessage], model: str
    ) -> AsyncModelRun:
        """Start the run: ``on_chat_model_start`` with the conversation so far."""
        manager = AsyncCallbackManager.configure(**_configure_kwargs(config, model))
        runs = await manager.on_chat_model_start(
            _SERIALIZED,
            [list(messages)],
            invocation_params={"model": model, "_type": PROVIDER},
            name=MODEL_RUN_NAME,
        )
        return cls(runs[0])

    async def token(self, message_id: str, text: str) -> None:
        """Report a streamed text delta of Assistants message ``message_id``."""
        self._streamed.add(message_id)
        await self._run.on_llm_new_token(text, chunk=_chunk(message_id, text))

    async def end(self, update: dict[str, Any]) -> None:
        """Finish with the step's AI message (after a chunk with its tool calls, if streamed)."""
        closing = _tool_calls_chunk(update, self._streamed)
        if closing is not None:
            await self._run.on_llm_new_token("", chunk=closing)
        await self._run.on_llm_end(_result(update))

    async def error(self, error: BaseException) -> None:
        """Finish with an error."""
        await self._run.on_llm_error(error)
