"""The tools node: runs the assistant's tool calls with local ``BaseTool`` objects.

Every failure — an unknown tool, invalid arguments, a tool raising ``ToolException`` or any
other exception — comes back to the assistant as a ``ToolMessage(status="error")`` with a
message the model can act on; the graph never crashes on a tool. Interrupts and other
``GraphBubbleUp`` signals are never swallowed (``ToolNode`` re-raises them before any handler).

Only the calls of the last AI message that have no ToolMessage yet are run: after a person's
review (``assistant_graph.graph.human_review``) the rejected calls already have their answer.

A single call (the usual case) runs in the calling thread: ``ToolNode`` itself starts a
thread pool for every batch of calls, which costs more than a small tool. Several calls still
run in parallel, through ``ToolNode`` unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from assistant_graph.graph.state import State
from langchain_core.messages import AIMessage, AnyMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import get_config_list
from langchain_core.tools import BaseTool, ToolException
from langgraph._internal._runnable import RunnableCallable
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolInvocationError, ToolRuntime
from langgraph.runtime import Runtime

logger = logging.getLogger(__name__)

TOOL_ERROR_MESSAGE = (
    "Error: {error}\nFix the arguments and call the tool again, or answer without it."
)
TOOL_CRASH_MESSAGE = (
    "Error: the tool failed unexpectedly ({kind}: {error}). Try different arguments or answer "
    "without this tool."
)


def tool_error_message(error: Exception) -> str:
    """Tool output for a failed tool call (logged with its traceback when unexpected)."""
    if isinstance(error, ToolException):
        return TOOL_ERROR_MESSAGE.format(error=error)
    if isinstance(error, ToolInvocationError):  # arguments that do not match the schema
        return error.message
    logger.warning(
        "A tool raised %s; returning it to the assistant.", type(error).__name__, exc_info=error
    )
    return TOOL_CRASH_MESSAGE.format(kind=type(error).__name__, error=error)


def unanswered_tool_calls(messages: Sequence[AnyMessage]) -> list[ToolCall]:
    """Tool calls of the last AI message that no later ToolMessage answers."""
    answered: set[str] = set()
    for message in reversed(messages):
        if isinstance(message, ToolMessage):
            answered.add(message.tool_call_id)
        elif isinstance(message, AIMessage):
            return [call for call in message.tool_calls if call["id"] not in answered]
        else:
            return []
    return []


class SingleCallInlineToolNode(ToolNode):
    """``ToolNode`` that runs a lone tool call in the calling thread (sync path).

    The call goes through ``ToolNode``'s own per-call path (injection, error handling,
    ``Command`` outputs), exactly as in its thread pool; only the pool is skipped.
    """

    def _func(
        self,
        input: list[AnyMessage] | dict[str, Any] | Any,
        config: RunnableConfig,
        runtime: Runtime,
    ) -> Any:
        tool_calls, input_type = self._parse_input(input)
        if len(tool_calls) != 1:
            return super()._func(input, config, runtime)
        call = tool_calls[0]
        (call_config,) = get_config_list(config, 1)
        tool_runtime = ToolRuntime(
            state=self._extract_state(input, call_config),
            tool_call_id=call["id"],
            config=call_config,
            context=runtime.context,
            store=runtime.store,
            stream_writer=runtime.stream_writer,
            tools=list(self.tools_by_name.values()),
            execution_info=runtime.execution_info,
            server_info=runtime.server_info,
        )
        output = self._run_one(call, input_type, tool_runtime)  # type: ignore[arg-type]
        return self._combine_tool_outputs([output], input_type)


def build_tool_node(tools: Sequence[BaseTool]) -> RunnableCallable:
    """Build the tools node: a ``ToolNode`` over ``tools``, run on the unanswered calls.

    Every tool failure comes back as tool output (see the module doc).
    """
    tool_node = SingleCallInlineToolNode(
        list(tools), name="run_tool_calls", handle_tool_errors=tool_error_message
    )

    def run_tools(state: State, config: RunnableConfig) -> dict:
        calls = unanswered_tool_calls(state.messages)
        if not calls:
            return {"messages": []}
        return tool_node.invoke(calls, config)

    async def arun_tools(state: State, config: RunnableConfig) -> dict:
        calls = unanswered_tool_calls(state.messages)
        if not calls:
            return {"messages": []}
        return await tool_node.ainvoke(calls, config)

    return RunnableCallable(run_tools, arun_tools, name="tools")
