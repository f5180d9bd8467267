"""The tools node: runs the assistant's tool calls with local ``BaseTool`` objects.

Every failure — an unknown tool, invalid arguments, a tool raising ``ToolException`` or any
other exception — comes back to the assistant as a ``ToolMessage(status="error")`` with a
message the model can act on; the graph never crashes on a tool. Interrupts and other
``GraphBubbleUp`` signals are never swallowed (``ToolNode`` re-raises them before any handler).

Only the calls of the last AI message that have no ToolMessage yet are run: after a person's
review (``assistant_graph.graph.human_review``) the rejected calls already have their answer.

The calls run through ``ToolNode`` unchanged (in parallel when there are several), with its
``handle_tool_errors`` option set to :func:`tool_error_message`. Its tools are the local tools
plus those of the context's MCP servers file (``graph.mcp_tools``): one ``ToolNode`` per list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

from assistant_graph.graph.context import Context, context_of
from assistant_graph.graph.mcp_tools import (
    McpTools,
    amcp_tools_for,
    mcp_tools_for,
    tool_names,
    usable_tools,
)
from assistant_graph.graph.state import State
from langchain_core.messages import AIMessage, AnyMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool, ToolException
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolInvocationError
from langgraph.runtime import get_runtime

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


def build_tool_node(tools: Sequence[BaseTool]) -> RunnableLambda:
    """Build the tools node: a ``ToolNode`` over ``tools``, run on the unanswered calls.

    The context's MCP tools join ``tools``. Every tool failure comes back as tool output
    (see the module doc).
    """
    local_tools = tuple(tools)
    local_names = tool_names(local_tools)

    @lru_cache(maxsize=16)
    def tool_node_for(mcp: McpTools) -> ToolNode:
        every_tool = [*local_tools, *usable_tools(local_names, mcp)]
        return ToolNode(every_tool, name="run_tool_calls", handle_tool_errors=tool_error_message)

    def run_tools(state: State, config: RunnableConfig) -> dict:
        calls = unanswered_tool_calls(state.messages)
        if not calls:
            return {"messages": []}
        mcp = mcp_tools_for(_context())
        return tool_node_for(mcp).invoke(calls, config)

    async def arun_tools(state: State, config: RunnableConfig) -> dict:
        calls = unanswered_tool_calls(state.messages)
        if not calls:
            return {"messages": []}
        mcp = await amcp_tools_for(_context())
        return await tool_node_for(mcp).ainvoke(calls, config)

    return RunnableLambda(run_tools, arun_tools, name="tools")


def _context() -> Context:
    return context_of(get_runtime(Context))
