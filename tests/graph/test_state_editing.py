"""Editing state without running the graph (``update_state``, as LangGraph Studio's state editing
does) works for the assistant and tools nodes with a SqliteSaver, and the next invocation
continues the Assistants run correctly."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from assistant_graph.graph import Context, build_graph
from assistant_graph.graph.router import route_after_assistant
from assistant_graph.graph.state import State
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command


@pytest.fixture
def saver(tmp_path: Path) -> Iterator[SqliteSaver]:
    """A SqliteSaver on a fresh file."""
    connection = sqlite3.connect(tmp_path / "checkpoints.sqlite3", check_same_thread=False)
    yield SqliteSaver(connection)
    connection.close()


def _config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def _tool_outputs_on_server(server, thread_id: str) -> list[str]:
    """Tool outputs the server received on the thread's runs, oldest run first."""
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        outputs = []
        for run in client.beta.threads.runs.list(thread_id, order="asc").data:
            steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc")
            outputs += [
                call.function.output
                for step in steps.data
                if step.type == "tool_calls"
                for call in step.step_details.tool_calls
            ]
        return outputs
    finally:
        client.close()


def _edited(ai: AIMessage, expression: str) -> AIMessage:
    call = {**ai.tool_calls[0], "args": {"expression": expression}}
    return ai.model_copy(update={"tool_calls": [call]})


def test_edit_tool_call_as_assistant_then_continue(server, saver, request_log):
    """Paused before the tools (``interrupt_before=["tools"]``), the AI message's arguments are
    edited with ``update_state(..., as_node="assistant")``: ``get_state`` shows the edit with
    ``tools`` next; ``invoke(None)`` runs the edited call and submits its output exactly once,
    to the waiting run, which completes with the answer."""
    client = request_log.sync_client(server)
    graph = build_graph(checkpointer=saver, client=client, interrupt_before=["tools"])
    config = _config("edit-assistant")
    graph.invoke({"messages": [HumanMessage("What's 2 + 3?")]}, config)
    paused = graph.get_state(config)
    assert paused.next == ("tools",)
    ai = paused.values["messages"][-1]

    graph.update_state(config, {"messages": [_edited(ai, "6 * 7")]}, as_node="assistant")

    edited = graph.get_state(config)
    assert edited.next == ("tools",)
    assert len(edited.values["messages"]) == 2, "the edit replaces the AI message (same id)"
    assert edited.values["messages"][-1].tool_calls[0]["args"] == {"expression": "6 * 7"}
    assert edited.values["pending_run_id"] == paused.values["pending_run_id"] != ""
    result = graph.invoke(None, config)
    messages = result["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[2].content == "42"
    assert "42" in messages[3].content
    final = graph.get_state(config)
    assert final.next == ()
    assert final.values["pending_run_id"] == ""
    assert len(request_log.matching("POST", "/submit_tool_outputs")) == 1
    assert _tool_outputs_on_server(server, final.values["assistant_thread_id"]) == ["42"]


def test_tool_results_written_as_tools_are_submitted(server, saver):
    """Tool results written with ``update_state(..., as_node="tools")`` instead of running the
    tools put ``assistant`` next; ``invoke(None)`` submits exactly those results to the waiting
    run, and the answer uses them."""
    graph = build_graph(checkpointer=saver, interrupt_before=["tools"])
    config, context = _config("edit-tools"), Context(base_url=server.base_url)
    graph.invoke({"messages": [HumanMessage("What's 2 + 3?")]}, config, context=context)
    call = graph.get_state(config).values["messages"][-1].tool_calls[0]
    answer = ToolMessage("1234", tool_call_id=call["id"], name=call["name"], id="manual-result")

    graph.update_state(config, {"messages": [answer]}, as_node="tools")

    edited = graph.get_state(config)
    assert edited.next == ("assistant",)
    assert edited.values["messages"][-1].content == "1234"
    result = graph.invoke(None, config, context=context)
    assert [type(m) for m in result["messages"]] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
    ]
    assert "1234" in result["messages"][-1].content
    thread_id = graph.get_state(config).values["assistant_thread_id"]
    assert _tool_outputs_on_server(server, thread_id) == ["1234"]
    assert graph.get_state(config).next == ()


def test_edited_answer_stays_and_the_conversation_continues(server, saver):
    """Replacing the answer of a finished turn (``as_node="assistant"``) ends nothing and runs
    nothing: ``get_state`` shows the edit with no next node, and the next turn continues on the
    same Assistants thread."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("edit-answer"), Context(base_url=server.base_url)
    first = graph.invoke({"messages": [HumanMessage("What's 2 + 3?")]}, config, context=context)
    answer = first["messages"][-1]
    thread_id = graph.get_state(config).values["assistant_thread_id"]

    graph.update_state(config, {"messages": [AIMessage("five", id=answer.id)]}, as_node="assistant")

    edited = graph.get_state(config)
    assert edited.next == ()
    assert [m.content for m in edited.values["messages"]][-1] == "five"
    assert len(edited.values["messages"]) == len(first["messages"])
    second = graph.invoke({"messages": [HumanMessage("What's 4 * 5?")]}, config, context=context)
    assert "20" in second["messages"][-1].content
    assert len(second["messages"]) == 8
    assert graph.get_state(config).values["assistant_thread_id"] == thread_id


def test_edit_during_human_review_keeps_the_review(server, saver):
    """With ``interrupt_before_tools`` (per-invocation context), an edit of the paused tool call
    as ``assistant`` routes to ``human_review`` again (the edit has no context; the last step's
    setting is kept in state), and approving runs the edited call."""
    graph = build_graph(checkpointer=saver)
    config = _config("edit-review")
    context = Context(base_url=server.base_url, interrupt_before_tools=True)
    graph.invoke({"messages": [HumanMessage("What's 2 + 3?")]}, config, context=context)
    paused = graph.get_state(config)
    assert paused.next == ("human_review",)

    graph.update_state(
        config, {"messages": [_edited(paused.values["messages"][-1], "4 * 5")]}, as_node="assistant"
    )

    assert graph.get_state(config).next == ("human_review",)
    result = graph.invoke(Command(resume="approve"), config, context=context)
    tool_message = next(m for m in result["messages"] if isinstance(m, ToolMessage))
    assert tool_message.content == "20"
    assert "20" in result["messages"][-1].content


def test_router_without_runtime_follows_state_then_environment(monkeypatch):
    """Outside a graph run (no runtime in the config) tool calls go to ``human_review`` when the
    last assistant step had review on or ``ASSISTANT_INTERRUPT_BEFORE_TOOLS`` is set, else to
    ``tools``; with a runtime, its context decides."""
    ai = AIMessage(content="", tool_calls=[{"id": "c1", "name": "calculator", "args": {}}])
    plain = State(messages=[HumanMessage("q"), ai])
    reviewed = State(messages=[HumanMessage("q"), ai], review_tool_calls=True)
    assert route_after_assistant(plain) == "tools"
    assert route_after_assistant(reviewed) == "human_review"
    monkeypatch.setenv("ASSISTANT_INTERRUPT_BEFORE_TOOLS", "1")
    assert route_after_assistant(plain) == "human_review"
