"""The tools node: runs the assistant's tool calls with local ``BaseTool`` objects.

Every failure — an unknown tool, invalid arguments, a tool raising ``ToolException`` or any
other exception — comes back to the assistant as a ``ToolMessage(status="error")`` with a
message the model can act on; the graph never crashes on a tool. Interrupts and other
``GraphBubbleUp`` signals are never swallowed (``ToolNode`` re-raises them before any handler).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from langchain_core.tools import BaseTool, ToolException
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolInvocationError

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


def build_tool_node(tools: Sequence[BaseTool]) -> ToolNode:
    """Build a ``ToolNode`` over ``tools`` that returns every tool failure as tool output."""
    return ToolNode(list(tools), name="tools", handle_tool_errors=tool_error_message)
