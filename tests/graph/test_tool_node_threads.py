"""The tools node runs a lone tool call in the calling thread, exactly as ``ToolNode`` would.

``ToolNode`` starts a thread pool for every batch of calls; the graph's node skips it for a
single call (the usual case) and must give the same ToolMessage, with the same injection
(``ToolRuntime``) and error handling. Several calls still run in parallel in the pool.
"""

from __future__ import annotations

import threading
from typing import Any

from assistant_graph.graph.tool_node import SingleCallInlineToolNode, tool_error_message
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolRuntime

threads_seen: list[int] = []


@tool
def where_am_i(label: str, runtime: ToolRuntime) -> str:
    """Report the label, the call id and how many messages the state holds."""
    threads_seen.append(threading.get_ident())
    return f"{label}:{runtime.tool_call_id}:{len(runtime.state['messages'])}"


@tool
def always_fails(reason: str) -> str:
    """Fail with the given reason."""
    raise ValueError(reason)


def _run(node: ToolNode, calls: list[dict[str, Any]]) -> list[ToolMessage]:
    builder = StateGraph(MessagesState)
    builder.add_node("tools", node)
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    ai = AIMessage("", tool_calls=[{**call, "type": "tool_call"} for call in calls])
    result = builder.compile().invoke({"messages": [ai]})
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def _nodes() -> tuple[ToolNode, ToolNode]:
    tools = [where_am_i, always_fails]
    return (
        SingleCallInlineToolNode(tools, handle_tool_errors=tool_error_message),
        ToolNode(tools, handle_tool_errors=tool_error_message),
    )


def _summary(messages: list[ToolMessage]) -> list[tuple[Any, ...]]:
    return [(m.tool_call_id, m.name, m.status, m.content) for m in messages]


def test_a_single_call_runs_in_the_calling_thread_with_the_same_result() -> None:
    inline, upstream = _nodes()
    call = {"name": "where_am_i", "args": {"label": "x"}, "id": "call_1"}
    threads_seen.clear()
    ours = _run(inline, [call])
    ours_thread = threads_seen[-1]
    theirs = _run(upstream, [call])
    theirs_thread = threads_seen[-1]

    assert _summary(ours) == _summary(theirs) == [("call_1", "where_am_i", "success", "x:call_1:1")]
    assert ours_thread == threading.get_ident()
    assert theirs_thread != threading.get_ident()


def test_a_single_failing_or_unknown_call_is_handled_as_tool_node_does() -> None:
    inline, upstream = _nodes()
    for call in (
        {"name": "always_fails", "args": {"reason": "boom"}, "id": "call_f"},
        {"name": "no_such_tool", "args": {}, "id": "call_u"},
        {"name": "where_am_i", "args": {"wrong": 1}, "id": "call_a"},
    ):
        ours, theirs = _run(inline, [call]), _run(upstream, [call])
        assert _summary(ours) == _summary(theirs)
        assert ours[0].status == "error"


def test_several_calls_still_run_in_parallel_threads() -> None:
    inline, _ = _nodes()
    calls = [{"name": "where_am_i", "args": {"label": str(i)}, "id": f"call_{i}"} for i in range(3)]
    threads_seen.clear()
    messages = _run(inline, calls)
    assert [m.content for m in messages] == [f"{i}:call_{i}:1" for i in range(3)]
    assert threading.get_ident() not in threads_seen
