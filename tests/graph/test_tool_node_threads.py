"""The graph's tools node runs the unanswered tool calls through ``ToolNode`` unchanged.

It gives the same ToolMessages as ``ToolNode`` with the same injection (``ToolRuntime``) and
error handling, runs several calls in parallel threads, and skips calls that already have an
answer (a person's rejection).
"""

from __future__ import annotations

import threading
from typing import Any

from assistant_graph.graph.state import State
from assistant_graph.graph.tool_node import build_tool_node, tool_error_message
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolRuntime

threads_seen: list[int] = []


@tool
def where_am_i(label: str, runtime: ToolRuntime) -> str:
    """Report the label and the call id (injected through ``ToolRuntime``)."""
    threads_seen.append(threading.get_ident())
    return f"{label}:{runtime.tool_call_id}"


@tool
def always_fails(reason: str) -> str:
    """Fail with the given reason."""
    raise ValueError(reason)


TOOLS = [where_am_i, always_fails]


def _ai(calls: list[dict[str, Any]]) -> AIMessage:
    return AIMessage("", tool_calls=[{**call, "type": "tool_call"} for call in calls])


def _ours(messages: list[Any]) -> list[ToolMessage]:
    builder = StateGraph(State)
    builder.add_node("tools", build_tool_node(TOOLS))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    result = builder.compile().invoke({"messages": messages})
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def _summary(messages: list[ToolMessage]) -> list[tuple[Any, ...]]:
    return [(m.tool_call_id, m.name, m.status, m.content) for m in messages]


def test_failing_or_unknown_calls_are_handled_as_tool_node_does() -> None:
    """A failing tool, an unknown tool and wrong arguments give ToolNode's error messages."""
    upstream = ToolNode(
        [always_fails], handle_tool_errors=tool_error_message
    )  # no state-injected tool: plain MessagesState works
    for call in (
        {"name": "always_fails", "args": {"reason": "boom"}, "id": "call_f"},
        {"name": "no_such_tool", "args": {}, "id": "call_u"},
    ):
        builder = StateGraph(MessagesState)
        builder.add_node("tools", upstream)
        builder.add_edge(START, "tools")
        builder.add_edge("tools", END)
        theirs = [
            m
            for m in builder.compile().invoke({"messages": [_ai([call])]})["messages"]
            if isinstance(m, ToolMessage)
        ]
        ours = _ours([_ai([call])])
        assert ours[0].status == "error"
        if call["name"] == "always_fails":
            assert _summary(ours) == _summary(theirs)
        else:
            assert "no_such_tool" in str(ours[0].content)


def test_several_calls_run_in_parallel_threads_with_the_runtime_injected() -> None:
    """Each call gets its ``ToolRuntime`` (its call id); the calls run in the pool."""
    calls = [{"name": "where_am_i", "args": {"label": str(i)}, "id": f"call_{i}"} for i in range(3)]
    threads_seen.clear()
    messages = _ours([_ai(calls)])
    assert [m.content for m in messages] == [f"{i}:call_{i}" for i in range(3)]
    assert threading.get_ident() not in threads_seen


def test_answered_calls_are_not_run_again() -> None:
    """A call that already has a ToolMessage (a rejected one) is skipped; the others run."""
    calls = [{"name": "where_am_i", "args": {"label": str(i)}, "id": f"call_{i}"} for i in range(2)]
    rejected = ToolMessage("rejected", tool_call_id="call_0", name="where_am_i", status="error")
    messages = _ours([_ai(calls), rejected])
    assert _summary(messages) == [
        ("call_0", "where_am_i", "error", "rejected"),
        ("call_1", "where_am_i", "success", "1:call_1"),
    ]
