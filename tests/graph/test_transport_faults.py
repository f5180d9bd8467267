"""Broken connections and busy threads: the turn is never lost, cancelled or left raw.

A small proxy (``stream_proxy``) sits between the real ``openai`` SDK and the project's server
and breaks the run event streams for real: it cuts a stream after some events (the socket is
closed mid-body) or drops the ``thread.message.*`` events of a stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest
from assistant_graph.graph import (
    ConnectionLostError,
    Context,
    ConversationBusyError,
    build_graph,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from stream_proxy import Rule, StreamProxy

RULES = [
    {
        "match": "compute",
        "turns": [
            {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
            {"text": "the answer is 42"},
        ],
    },
    {"match": "hello", "turns": [{"text": "hello there, friend"}]},
    {"match": "follow", "turns": [{"text": "a follow-up answer"}]},
]


@pytest.fixture
def proxied(scripted_server) -> Iterator[tuple[StreamProxy, openai.OpenAI, openai.OpenAI]]:
    """(proxy, client through the proxy, client straight to the server)."""
    server = scripted_server(RULES)
    with StreamProxy(server.base_url) as proxy:
        through = openai.OpenAI(base_url=proxy.base_url, api_key=server.api_key, max_retries=0)
        direct = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
        yield proxy, through, direct
        through.close()
        direct.close()


def _config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def _thread(graph, config: dict) -> str:
    return graph.get_state(config).values["assistant_thread_id"]


def _runs_and_roles(direct: openai.OpenAI, thread_id: str) -> tuple[list[str], list[str]]:
    runs = [r.status for r in direct.beta.threads.runs.list(thread_id).data]
    roles = [m.role for m in direct.beta.threads.messages.list(thread_id, order="asc").data]
    return runs, roles


def test_completed_run_without_message_events_reads_its_answer(proxied):
    """A stream that ends at ``thread.run.completed`` without the ``thread.message.*`` events
    does not give an empty answer: the run's messages are read and the answer is the real one."""
    proxy, through, _ = proxied
    proxy.rules.append(Rule("/runs", drop_prefix="thread.message.", times=2))
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    result = graph.invoke({"messages": [HumanMessage("hello")]}, _config("no-messages"))
    assert result["messages"][-1].content == "hello there, friend"
    follow = graph.invoke({"messages": [HumanMessage("follow up")]}, _config("no-messages"))
    assert follow["messages"][-1].content == "a follow-up answer"
    assert len(proxy.applied) == 2, "both streams (create-and-run, create run) lost their messages"


def test_async_completed_run_without_message_events_reads_its_answer(proxied):
    """The async path reads the run's messages the same way."""
    proxy, through, _ = proxied
    proxy.rules.append(Rule("/runs", drop_prefix="thread.message."))
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    result = asyncio.run(
        graph.ainvoke({"messages": [HumanMessage("hello")]}, _config("no-messages-async"))
    )
    assert result["messages"][-1].content == "hello there, friend"


@pytest.mark.parametrize("first_turn", [True, False], ids=["create_and_run", "create_run"])
def test_stream_cut_while_the_run_is_queued_reattaches_and_answers(proxied, first_turn):
    """The create stream is cut right after the run's first events: the graph does not cancel
    the run, it re-attaches to it and the same ``invoke`` answers the question."""
    proxy, through, direct = proxied
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    config = _config(f"cut-{first_turn}")
    if not first_turn:
        graph.invoke({"messages": [HumanMessage("hello")]}, config)
    proxy.rules.append(Rule("/threads/runs" if first_turn else "/runs", cut_after=2))
    result = graph.invoke({"messages": [HumanMessage("compute 6*7 please")]}, config)
    assert proxy.applied, "the stream was cut"
    assert result["messages"][-1].content == "the answer is 42"
    assert [type(m) for m in result["messages"][-3:]] == [AIMessage, ToolMessage, AIMessage]
    runs, roles = _runs_and_roles(direct, _thread(graph, config))
    assert "cancelled" not in runs and set(runs) == {"completed"}
    assert roles.count("user") == (1 if first_turn else 2)


def test_async_stream_cut_reattaches_and_answers(proxied):
    """The async path re-attaches the same way."""
    proxy, through, direct = proxied
    proxy.rules.append(Rule("/threads/runs", cut_after=2))
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    config = _config("cut-async")
    result = asyncio.run(graph.ainvoke({"messages": [HumanMessage("compute 6*7 please")]}, config))
    assert result["messages"][-1].content == "the answer is 42"
    runs, _ = _runs_and_roles(direct, _thread(graph, config))
    assert runs == ["completed"]


def test_stream_cut_before_the_run_is_named_raises_a_resumable_error(proxied):
    """Cut before any event: ``invoke`` raises the graph's ConnectionLostError (no raw httpx
    error) saying how to resume; ``invoke(None, config)`` then answers the same question with
    the same run (one run, one user message, no cancellation)."""
    proxy, through, direct = proxied
    proxy.rules.append(Rule("/threads/runs", cut_after=0))
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    config = _config("cut-early")
    with pytest.raises(ConnectionLostError) as info:
        graph.invoke({"messages": [HumanMessage("compute 6*7 please")]}, config)
    assert "invoke(None, config)" in str(info.value)
    assert proxy.base_url.rstrip("/") in str(info.value)

    result = graph.invoke(None, config)
    assert result["messages"][-1].content == "the answer is 42"
    runs, roles = _runs_and_roles(direct, _thread(graph, config))
    assert runs == ["completed"]
    assert roles == ["user", "assistant"]


def test_stream_cut_during_submit_recovers(proxied):
    """A submit stream cut after its first event re-attaches too: the turn is answered."""
    proxy, through, _ = proxied
    proxy.rules.append(Rule("/submit_tool_outputs", cut_after=1))
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    result = graph.invoke({"messages": [HumanMessage("compute 6*7")]}, _config("cut-submit"))
    assert proxy.applied
    assert result["messages"][-1].content == "the answer is 42"


def test_thread_with_an_active_run_raises_conversation_busy(proxied):
    """A new turn while another run is active on the Assistants thread (another process's
    turn) raises ConversationBusyError naming the thread, not the endpoint's raw 400."""
    _, through, direct = proxied
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    config = _config("busy")
    graph.invoke({"messages": [HumanMessage("hello")]}, config)
    thread_id = _thread(graph, config)
    assistant_id = direct.beta.threads.runs.list(thread_id).data[0].assistant_id
    other = direct.beta.threads.runs.create_and_poll(
        thread_id=thread_id,
        assistant_id=assistant_id,
        additional_messages=[{"role": "user", "content": "compute elsewhere"}],
    )
    assert other.status == "requires_action"
    with pytest.raises(ConversationBusyError) as info:
        graph.invoke({"messages": [HumanMessage("follow up")]}, config)
    assert thread_id in str(info.value) and "busy" in str(info.value)


def test_async_steps_with_only_a_sync_client_reuse_one_async_client(proxied):
    """``build_graph(client=...)`` without ``async_client``: every async step of a three-step
    conversation goes through one async client, so all requests share one kept-alive
    connection (a client made per step would open a connection per step)."""
    proxy, through, _ = proxied
    graph = build_graph(checkpointer=InMemorySaver(), client=through)
    config = _config("one-async-client")

    async def conversation() -> list:
        first = await graph.ainvoke({"messages": [HumanMessage("compute 6*7")]}, config)
        second = await graph.ainvoke({"messages": [HumanMessage("follow up")]}, config)
        return [first["messages"][-1].content, second["messages"][-1].content]

    assert asyncio.run(conversation()) == ["the answer is 42", "a follow-up answer"]
    assert proxy.connections == 1


def test_unreachable_endpoint_mid_conversation_says_how_to_resume(scripted_server):
    """When the endpoint is gone before a step, the step raises the graph's unreachable error
    with the resume hint (not a raw connection error)."""
    from assistant_graph.graph import EndpointUnreachableError

    server = scripted_server(RULES)
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url)
    config = _config("gone")
    graph.invoke({"messages": [HumanMessage("hello")]}, config, context=context)
    server.stop()
    with pytest.raises(EndpointUnreachableError) as info:
        graph.invoke({"messages": [HumanMessage("follow up")]}, config, context=context)
    assert "invoke(None, config)" in str(info.value)
