"""Runs that fail or expire, and inputs that cannot start a turn."""

from __future__ import annotations

import time

import openai
import pytest
from assistant_graph.graph import (
    Context,
    InvalidInputError,
    RunGoneError,
    UnknownAssistantError,
    build_graph,
)
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver


def _config(thread_id: str = "outcomes") -> dict:
    return {"configurable": {"thread_id": thread_id}}


def test_failed_run_becomes_an_ai_message_and_the_thread_stays_usable(scripted_server):
    """A run failing with a model error gives an AI message naming the failure and its
    last_error; the Assistants thread is not blocked, so the next turn works."""
    server = scripted_server(
        [
            {"match": "explode", "turns": [{"error": {"message": "boom", "code": "server_error"}}]},
            {"match": "again", "turns": [{"text": "still here"}]},
        ]
    )
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url)
    failed = graph.invoke({"messages": [HumanMessage("explode now")]}, _config(), context=context)
    answer = failed["messages"][-1]
    assert isinstance(answer, AIMessage)
    assert "failed" in answer.content and "boom" in answer.content
    assert answer.response_metadata["assistant_run_status"] == "failed"
    assert graph.get_state(_config()).values["pending_run_id"] == ""

    again = graph.invoke({"messages": [HumanMessage("again please")]}, _config(), context=context)
    assert again["messages"][-1].content == "still here"


def test_expired_run_is_replaced_by_a_new_run_carrying_the_tool_results(scripted_server):
    """When the run waiting for tool outputs expired (graph paused before the tools), resuming
    starts a new run on the same thread whose user message states the tool results."""
    server = scripted_server(
        [
            {
                "match": "compute slowly",
                "turns": [
                    {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
                    {"text": "the original run should not answer"},
                ],
            },
            {"match": "expired before", "turns": [{"text": "answer from the carried results"}]},
        ],
        run_expiry_seconds=0.3,
    )
    graph = build_graph(checkpointer=InMemorySaver(), interrupt_before=["tools"])
    context = Context(base_url=server.base_url)
    graph.invoke({"messages": [HumanMessage("compute slowly")]}, _config(), context=context)
    paused = graph.get_state(_config())
    assert paused.next == ("tools",)
    thread_id = paused.values["assistant_thread_id"]
    run_id = paused.values["pending_run_id"]

    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        for _ in range(200):  # wait (bounded) until the server expires the run
            if client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "expired":
                break
            time.sleep(0.05)
        assert client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status == "expired"

        result = graph.invoke(None, _config(), context=context)
        assert result["messages"][-1].content == "answer from the carried results"
        assert isinstance(result["messages"][-2], ToolMessage)
        assert graph.get_state(_config()).values["assistant_thread_id"] == thread_id

        runs = client.beta.threads.runs.list(thread_id, order="asc").data
        assert [r.status for r in runs] == ["expired", "completed"]
        user_texts = [
            m.content[0].text.value
            for m in client.beta.threads.messages.list(thread_id, order="asc").data
            if m.role == "user"
        ]
        assert len(user_texts) == 2
        assert "calculator" in user_texts[1] and "42" in user_texts[1]
    finally:
        client.close()


def test_a_bad_turn_does_not_spoil_the_thread(server):
    """After a rejected input, a valid message on the same thread is answered normally."""
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url)
    with pytest.raises(InvalidInputError):
        graph.invoke({"messages": [{"role": "user", "content": ""}]}, _config(), context=context)
    result = graph.invoke({"messages": [HumanMessage("What's 1 + 2?")]}, _config(), context=context)
    assert "3" in result["messages"][-1].content


def test_unknown_assistant_id_names_the_id_and_the_endpoint(server):
    """A configured assistant id the endpoint does not know is a clear error."""
    graph = build_graph(checkpointer=InMemorySaver())
    with pytest.raises(UnknownAssistantError) as info:
        graph.invoke(
            {"messages": [HumanMessage("hi")]},
            _config(),
            context=Context(base_url=server.base_url, assistant_id="asst_does_not_exist"),
        )
    assert "asst_does_not_exist" in str(info.value)
    assert server.base_url in str(info.value)


def test_tool_outputs_for_a_run_that_is_gone(server):
    """Tool outputs pending for a run the endpoint does not know: RunGoneError naming the run."""
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url)
    graph.invoke({"messages": [HumanMessage("hello")]}, _config(), context=context)
    call = {"id": "call_1", "name": "calculator", "args": {"expression": "1+1"}}
    graph.update_state(
        _config(),
        {
            "messages": [AIMessage("", tool_calls=[call]), ToolMessage("2", tool_call_id="call_1")],
            "pending_run_id": "run_vanished",
        },
        as_node="tools",
    )
    with pytest.raises(RunGoneError, match="run_vanished"):
        graph.invoke(None, _config(), context=context)


def test_new_message_cancels_a_run_left_waiting_for_tool_outputs(scripted_server):
    """A user message arriving while the previous run awaits tool outputs (graph paused before
    the tools) cancels that run, so the thread is not blocked and the new turn is answered."""
    server = scripted_server(
        [
            {
                "match": "first",
                "turns": [
                    {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]},
                ],
            },
            {"match": "second", "turns": [{"text": "second answered"}]},
        ]
    )
    graph = build_graph(checkpointer=InMemorySaver(), interrupt_before=["tools"])
    context = Context(base_url=server.base_url)
    graph.invoke({"messages": [HumanMessage("first question")]}, _config(), context=context)
    paused = graph.get_state(_config()).values
    abandoned = paused["pending_run_id"]
    assert abandoned

    result = graph.invoke(
        {"messages": [HumanMessage("second question")]}, _config(), context=context
    )
    assert result["messages"][-1].content == "second answered"
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        run = client.beta.threads.runs.retrieve(abandoned, thread_id=paused["assistant_thread_id"])
        assert run.status == "cancelled"
    finally:
        client.close()
