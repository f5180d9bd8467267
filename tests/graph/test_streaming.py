"""Streaming: the answer token by token on ``stream_mode="messages"`` and ``astream_events``,
one step per node on ``stream_mode="updates"``; a new conversation is one create-and-run POST."""

from __future__ import annotations

import asyncio

from assistant_graph.graph import Context, build_graph
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

QUESTION = "What's 10 - 4 raised to the 2.7?"


def _config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def test_messages_mode_streams_the_answer_token_by_token(server):
    """Sync ``stream_mode="messages"``: the tool-call AI message, the tool result, then the
    answer as ≥ 2 AIMessageChunks (all carrying the final message's id) whose text joins to
    the final answer; the final AIMessage itself is not sent a second time."""
    graph = build_graph(checkpointer=InMemorySaver())
    config = _config("messages-sync")
    items = list(
        graph.stream(
            {"messages": [HumanMessage(QUESTION)]},
            config,
            context=Context(base_url=server.base_url),
            stream_mode="messages",
        )
    )
    final = graph.get_state(config).values["messages"][-1]
    chunks = [m for m, _ in items if isinstance(m, AIMessageChunk)]
    assert len(chunks) >= 2
    assert "".join(c.content for c in chunks) == final.content
    assert {c.id for c in chunks} == {final.id}
    assert all(meta["langgraph_node"] == "assistant" for m, meta in items if m in chunks)
    whole = [m for m, _ in items if type(m) is AIMessage]
    assert len(whole) == 1 and whole[0].tool_calls, "only the tool-call message arrives whole"
    assert [type(m) for m, _ in items][:2] == [AIMessage, ToolMessage]


def test_async_messages_mode_streams_the_answer(server):
    """``astream(stream_mode="messages")`` gives the same token chunks on the async path."""
    graph = build_graph(checkpointer=InMemorySaver())
    config = _config("messages-async")

    async def collect() -> list:
        return [
            item
            async for item in graph.astream(
                {"messages": [HumanMessage(QUESTION)]},
                config,
                context=Context(base_url=server.base_url),
                stream_mode="messages",
            )
        ]

    items = asyncio.run(collect())
    final = graph.get_state(config).values["messages"][-1]
    chunks = [m for m, _ in items if isinstance(m, AIMessageChunk)]
    assert len(chunks) >= 2
    assert "".join(c.content for c in chunks) == final.content
    assert not any(type(m) is AIMessage and m.id == final.id for m, _ in items)


def test_astream_events_reports_chat_model_stream_events(server):
    """``astream_events(version="v2")`` on the compiled graph: each assistant step is a chat
    model run; its ``on_chat_model_stream`` chunks join to the answer, ``on_chat_model_end``
    carries the tool calls, then the answer."""
    graph = build_graph(checkpointer=InMemorySaver())

    async def collect() -> list[dict]:
        return [
            event
            async for event in graph.astream_events(
                {"messages": [HumanMessage(QUESTION)]},
                _config("events"),
                context=Context(base_url=server.base_url),
                version="v2",
            )
        ]

    events = asyncio.run(collect())
    model_events = [e["event"] for e in events if e["event"].startswith("on_chat_model")]
    assert model_events[0] == "on_chat_model_start"
    assert model_events.count("on_chat_model_start") == 2
    assert model_events.count("on_chat_model_end") == 2
    deltas = [e["data"]["chunk"].content for e in events if e["event"] == "on_chat_model_stream"]
    ends = [e["data"]["output"] for e in events if e["event"] == "on_chat_model_end"]
    assert ends[0].tool_calls[0]["name"] == "calculator"
    assert len(deltas) >= 2
    assert "".join(deltas) == ends[1].content
    assert "-32.224" in ends[1].content


def test_updates_mode_shows_each_tool_call_and_result_as_a_step(server):
    """``stream_mode="updates"``: assistant (tool call) → tools (tool result) → assistant
    (answer), one update per step."""
    graph = build_graph(checkpointer=InMemorySaver())
    updates = list(
        graph.stream(
            {"messages": [HumanMessage(QUESTION)]},
            _config("updates"),
            context=Context(base_url=server.base_url),
            stream_mode="updates",
        )
    )
    assert [list(u) for u in updates] == [["assistant"], ["tools"], ["assistant"]]
    call = updates[0]["assistant"]["messages"][0]
    result = updates[1]["tools"]["messages"][0]
    answer = updates[2]["assistant"]["messages"][0]
    assert call.tool_calls[0]["args"] == {"expression": "10 - 4 ** 2.7"}
    assert isinstance(result, ToolMessage) and result.tool_call_id == call.tool_calls[0]["id"]
    assert "-32.224" in answer.content and not answer.tool_calls


def test_new_conversation_starts_with_one_create_and_run_request(server, request_log):
    """The first turn creates the thread and its run in one ``POST /threads/runs`` (with an
    Idempotency-Key); a later turn adds its message and a run to the same thread in one
    ``POST /threads/{id}/runs`` (``additional_messages``)."""
    graph = build_graph(checkpointer=InMemorySaver(), client=request_log.sync_client(server))
    config = _config("create-and-run")
    graph.invoke({"messages": [HumanMessage("hello there")]}, config)
    posts = [i for i, r in enumerate(request_log.requests) if r[0] == "POST"]
    paths = [request_log.requests[i][1] for i in posts]
    assert [p for p in paths if "/threads" in p] == ["/v1/threads/runs"]
    key = request_log.headers[posts[paths.index("/v1/threads/runs")]].get("idempotency-key")
    assert key and key.endswith(":thread_run")

    thread_id = graph.get_state(config).values["assistant_thread_id"]
    request_log.clear()
    graph.invoke({"messages": [HumanMessage("hello again")]}, config)
    posted = [r[1] for r in request_log.requests if r[0] == "POST"]
    assert posted == [f"/v1/threads/{thread_id}/runs"]
    sdk = request_log.sync_client(server)
    user_texts = [
        m.content[0].text.value
        for m in sdk.beta.threads.messages.list(thread_id, order="asc")
        if m.role == "user"
    ]
    assert user_texts == ["hello there", "hello again"]
