"""The compiled graph against the project's Assistants server, through the real SDK over HTTP."""

from __future__ import annotations

import asyncio

import pytest
from assistant_graph.graph import Context, build_graph
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

SEED_QUESTION = "What's 10 - 4 raised to the 2.7?"
SEED_FOLLOW_UP = "now add 17.241"


def _config(thread_id: str = "conversation-1") -> dict:
    return {"configurable": {"thread_id": thread_id}}


def test_seed_conversation_runs_the_tool_loop_on_one_thread(server):
    """Two turns on one LangGraph thread: Human → AI(tool call) → Tool → AI answer, twice,
    on a single Assistants thread; the second turn builds on the first result."""
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url)

    first = graph.invoke({"messages": [HumanMessage(SEED_QUESTION)]}, _config(), context=context)
    messages = first["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[1].tool_calls[0]["name"] == "calculator"
    assert messages[1].tool_calls[0]["args"] == {"expression": "10 - 4 ** 2.7"}
    assert messages[2].content.startswith("-32.224")
    assert "-32.224" in messages[3].content
    state = graph.get_state(_config()).values
    thread_id = state["assistant_thread_id"]
    assert thread_id.startswith("thread_")
    assert state["pending_run_id"] == ""

    second = graph.invoke({"messages": [HumanMessage(SEED_FOLLOW_UP)]}, _config(), context=context)
    assert len(second["messages"]) == 8
    assert "-14.983" in second["messages"][-1].content
    assert graph.get_state(_config()).values["assistant_thread_id"] == thread_id
    assert set(second) == {"messages"}, "the output schema exposes only messages"


def test_async_path_never_touches_the_sync_client(server, request_log):
    """``ainvoke`` runs the whole loop with the async client only (a sync client that raises
    on any use is never touched) and gets the same answers."""

    class ForbiddenSyncClient:
        def __getattr__(self, name):
            raise AssertionError(f"sync client used on the async path: {name}")

    async def conversation():
        async_client = request_log.async_client(server)
        graph = build_graph(
            checkpointer=InMemorySaver(), client=ForbiddenSyncClient(), async_client=async_client
        )
        async with async_client:
            first = await graph.ainvoke({"messages": [HumanMessage(SEED_QUESTION)]}, _config())
            second = await graph.ainvoke({"messages": [HumanMessage(SEED_FOLLOW_UP)]}, _config())
        return first, second

    first, second = asyncio.run(conversation())
    assert "-32.224" in first["messages"][-1].content
    assert "-14.983" in second["messages"][-1].content
    assert request_log.matching("POST", "/submit_tool_outputs"), (
        "requests went through the async client"
    )


def test_async_default_clients_reach_the_configured_endpoint(server):
    """Without injected clients the async path uses the context's endpoint (not the public host)."""
    graph = build_graph(checkpointer=InMemorySaver())
    result = asyncio.run(
        graph.ainvoke(
            {"messages": [HumanMessage(SEED_QUESTION)]},
            _config(),
            context=Context(base_url=server.base_url),
        )
    )
    assert "-32.224" in result["messages"][-1].content


def test_streamed_turn_reads_nothing_back(server, request_log):
    """A streamed turn costs only its POSTs, also late in a conversation: the answer is built
    from the stream's ``thread.message.completed`` events (no message listing), runs are
    streamed (no status polling), and the run this process just streamed to
    ``requires_action`` is not read again before the submit."""
    graph = build_graph(checkpointer=InMemorySaver(), client=request_log.sync_client(server))
    for turn in range(3):
        request_log.clear()
        question = SEED_QUESTION if turn == 0 else SEED_FOLLOW_UP
        result = graph.invoke({"messages": [HumanMessage(question)]}, _config())
        assert isinstance(result["messages"][-1], AIMessage)
        assert request_log.matching("GET", "/messages") == [], request_log.requests
        runs_read = [r for r in request_log.requests if r[0] == "GET" and "/runs/" in r[1]]
        # a resume after a crash does read the run first (see
        # test_crash_resume); a run read without its stream lists its messages
        # (see test_step_text)
        assert runs_read == [], request_log.requests
        assert len(request_log.matching("POST", "/submit_tool_outputs")) == 1
        conversation = [r[1] for r in request_log.requests if "/assistants" not in r[1]]
        # turn 1: create-and-run, submit; later turns: create run (the user's message goes as
        # its additional_messages), submit
        assert len(conversation) == 2, request_log.requests
        assert request_log.matching("POST", "/messages") == [], request_log.requests


def test_parallel_tool_calls_are_submitted_together(server, request_log):
    """Several questions in one message: one AI message with two tool calls, two ToolMessages,
    and a single submit covering both."""
    graph = build_graph(checkpointer=InMemorySaver(), client=request_log.sync_client(server))
    result = graph.invoke({"messages": [HumanMessage("What's 2 + 3 and what's 4 * 5?")]}, _config())
    messages = result["messages"]
    ai_calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    assert len(ai_calls) == 1
    assert len(ai_calls[0].tool_calls) == 2
    tool_messages = [m for m in messages if isinstance(m, ToolMessage)]
    assert sorted(m.content for m in tool_messages) == ["20", "5"]
    assert len(request_log.matching("POST", "/submit_tool_outputs")) == 1
    assert "5" in messages[-1].content and "20" in messages[-1].content


def test_graph_without_checkpointer_answers_one_shot(server):
    """The exported graph (no checkpointer) answers a single invocation end to end."""
    from assistant_graph.graph import graph

    result = graph.invoke(
        {"messages": [{"role": "user", "content": SEED_QUESTION}]},
        context=Context(base_url=server.base_url),
    )
    assert "-32.224" in result["messages"][-1].content


def test_embedded_server_is_used_when_nothing_is_configured():
    """With no endpoint configured the graph starts the embedded server itself (offline model)."""
    graph = build_graph(checkpointer=InMemorySaver())
    result = graph.invoke({"messages": [HumanMessage(SEED_QUESTION)]}, _config())
    assert "-32.224" in result["messages"][-1].content


@pytest.mark.parametrize("question", ["hello there"])
def test_plain_text_reply_without_tools(server, question):
    """A message the offline model cannot compute gets a text reply and no tool calls."""
    graph = build_graph(checkpointer=InMemorySaver())
    result = graph.invoke(
        {"messages": [HumanMessage(question)]}, _config(), context=Context(base_url=server.base_url)
    )
    assert [type(m) for m in result["messages"]] == [HumanMessage, AIMessage]
    assert result["messages"][-1].content
