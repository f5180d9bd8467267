"""Local tools the agent graph runs in its ToolNode.

The assistant's function definitions are generated from these same ``BaseTool`` objects, so
each tool's name, description and argument schema are the single source of truth.

Every tool raises :class:`~langchain_core.tools.ToolException` for input the model can fix,
and has ``handle_tool_error=False``: the graph's ToolNode decides how errors are returned.
None of them touches the network or the filesystem.
"""

from __future__ import annotations

from collections.abc import Iterable

from assistant_graph.tools.calculator import calculator, make_calculator_tool
from assistant_graph.tools.clock import current_datetime, make_current_datetime_tool
from assistant_graph.tools.days_between import days_between, make_days_between_tool
from assistant_graph.tools.text_statistics import make_text_statistics_tool, text_statistics
from assistant_graph.tools.unit_converter import make_unit_converter_tool, unit_converter
from langchain_core.tools import BaseTool

__all__ = [
    "calculator",
    "current_datetime",
    "days_between",
    "default_tools",
    "make_calculator_tool",
    "make_current_datetime_tool",
    "make_days_between_tool",
    "make_text_statistics_tool",
    "make_unit_converter_tool",
    "text_statistics",
    "tools_by_name",
    "unit_converter",
]


def default_tools() -> list[BaseTool]:
    """Return fresh instances of every shipped tool, in a new list on each call.

    Fresh instances mean a caller may reconfigure its tools (e.g. ``handle_tool_error``)
    without affecting anyone else's.
    """
    return [
        make_calculator_tool(),
        make_current_datetime_tool(),
        make_days_between_tool(),
        make_unit_converter_tool(),
        make_text_statistics_tool(),
    ]


def tools_by_name(tools: Iterable[BaseTool] | None = None) -> dict[str, BaseTool]:
    """Index ``tools`` (default: :func:`default_tools`) by name; duplicate names are an error."""
    index: dict[str, BaseTool] = {}
    for tool in default_tools() if tools is None else tools:
        if tool.name in index:
            raise ValueError(f"Two tools are named {tool.name!r}; tool names must be unique.")
        index[tool.name] = tool
    return index
