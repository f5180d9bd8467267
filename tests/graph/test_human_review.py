"""Human in the loop: with ``interrupt_before_tools`` the graph pauses before the tools and a
person approves, edits or rejects the calls with ``Command(resume=...)`` (SQLite checkpoints)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from assistant_graph.graph import Context, build_graph
from assistant_graph.graph.human_review import parse_review
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.types import Command

REVIEWED = Context(interrupt_before_tools=True)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a fresh SQLite checkpoint file."""
    return tmp_path / "checkpoints.sqlite3"


@pytest.fixture
def saver(db_path: Path) -> Iterator[SqliteSaver]:
    """A SqliteSaver on ``db_path``."""
    connection = sqlite3.connect(db_path, check_same_thread=False)
    yield SqliteSaver(connection)
    connection.close()


def _config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def _context(server) -> Context:
    return Context(base_url=server.base_url, interrupt_before_tools=True)


def _pause(graph, config, context, question="What's 2 + 3?"):
    result = graph.invoke({"messages": [HumanMessage(question)]}, config, context=context)
    assert "__interrupt__" in result, result
    (pending,) = result["__interrupt__"]
    return pending.value


def test_pause_lists_the_calls_and_approve_runs_them(server, saver):
    """The graph stops at ``human_review`` before any tool ran; the interrupt names each call's
    id, tool and arguments and the accepted answers; approving runs the tool and the run
    completes with the answer."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("approve"), _context(server)
    payload = _pause(graph, config, context)
    state = graph.get_state(config)
    assert state.next == ("human_review",)
    assert not any(isinstance(m, ToolMessage) for m in state.values["messages"])
    (call,) = payload["tool_calls"]
    assert call["name"] == "calculator" and call["args"] == {"expression": "2 + 3"}
    assert call["id"] == state.values["messages"][-1].tool_calls[0]["id"]
    assert set(payload["accepted_answers"]) == {"approve", "reject", "edit"}

    result = graph.invoke(Command(resume={"action": "approve"}), config, context=context)
    messages = result["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert messages[2].content == "5"
    assert "5" in messages[-1].content
    assert graph.get_state(config).next == ()


def test_edit_runs_the_call_with_the_new_arguments(server, saver):
    """An edit runs the tool with the edited arguments, and the AI message in state shows them
    (same message id, so it is replaced, not duplicated)."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("edit"), _context(server)
    payload = _pause(graph, config, context)
    call_id = payload["tool_calls"][0]["id"]
    resume = {"action": "edit", "args": {call_id: {"expression": "6 * 7"}}}
    result = graph.invoke(Command(resume=resume), config, context=context)
    messages = result["messages"]
    ai_calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    assert len(ai_calls) == 1
    assert ai_calls[0].tool_calls[0]["args"] == {"expression": "6 * 7"}
    tool_message = next(m for m in messages if isinstance(m, ToolMessage))
    assert tool_message.content == "42" and tool_message.tool_call_id == call_id
    assert "42" in messages[-1].content


def test_reject_sends_the_reason_back_and_the_run_completes(server, saver):
    """A rejection runs no tool: the assistant gets a ToolMessage saying a person rejected the
    call and why; the Assistants run still completes and the model answers from that text."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("reject"), _context(server)
    _pause(graph, config, context)
    resume = {"action": "reject", "reason": "no arithmetic today"}
    result = graph.invoke(Command(resume=resume), config, context=context)
    messages = result["messages"]
    rejection = next(m for m in messages if isinstance(m, ToolMessage))
    assert rejection.status == "error"
    assert "rejected by a person" in rejection.content
    assert "no arithmetic today" in rejection.content
    answer = messages[-1]
    assert isinstance(answer, AIMessage) and not answer.tool_calls
    assert "no arithmetic today" in answer.content
    state = graph.get_state(config).values
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        runs = client.beta.threads.runs.list(state["assistant_thread_id"]).data
        assert [r.status for r in runs] == ["completed"]
    finally:
        client.close()


def test_reject_one_of_two_parallel_calls(server, saver):
    """``call_ids`` rejects only the named call; the other runs; one submit covers both."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("reject-one"), _context(server)
    payload = _pause(graph, config, context, "What's 2 + 3 and what's 4 * 5?")
    first, second = (c["id"] for c in payload["tool_calls"])
    resume = {"action": "reject", "reason": "not this one", "call_ids": [first]}
    result = graph.invoke(Command(resume=resume), config, context=context)
    by_call = {m.tool_call_id: m for m in result["messages"] if isinstance(m, ToolMessage)}
    assert "rejected by a person" in by_call[first].content
    assert by_call[second].content == "20" and by_call[second].status == "success"
    assert isinstance(result["messages"][-1], AIMessage)
    assert not result["messages"][-1].tool_calls


def test_invalid_answer_asks_again_and_loses_nothing(server, saver):
    """An answer that is not approve/reject/edit gives the same pause again with an ``error``
    naming the problem; state is untouched; a valid answer then finishes the turn."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("invalid"), _context(server)
    payload = _pause(graph, config, context)
    before = graph.get_state(config).values
    for bad, problem in [
        ({"action": "maybe"}, "unknown action 'maybe'"),
        ({"action": "edit", "args": {"call_nope": {}}}, "unknown call id"),
        (42, "expected a dict"),
    ]:
        again = graph.invoke(Command(resume=bad), config, context=context)
        (pending,) = again["__interrupt__"]
        assert problem in pending.value["error"]
        assert pending.value["tool_calls"] == payload["tool_calls"]
        assert graph.get_state(config).next == ("human_review",)
        assert graph.get_state(config).values == before
    result = graph.invoke(Command(resume="approve"), config, context=context)
    assert "5" in result["messages"][-1].content


def test_resume_in_a_new_process_from_the_sqlite_file(server, saver, db_path):
    """Paused in this process, approved in another one that opens the same SQLite file."""
    graph = build_graph(checkpointer=saver)
    config, context = _config("cross-process"), _context(server)
    _pause(graph, config, context)
    script = textwrap.dedent(
        f"""
        import json, sqlite3
        from langgraph.checkpoint.sqlite import SqliteSaver
        from langgraph.types import Command
        from assistant_graph.graph import Context, build_graph
        saver = SqliteSaver(sqlite3.connect({str(db_path)!r}, check_same_thread=False))
        graph = build_graph(checkpointer=saver)
        result = graph.invoke(
            Command(resume={{"action": "approve"}}),
            {{"configurable": {{"thread_id": "cross-process"}}}},
            context=Context(interrupt_before_tools=True),
            durability="sync",
        )
        print(json.dumps([m.content for m in result["messages"]]))
        """
    )
    env = {**os.environ, "ASSISTANTS_BASE_URL": server.base_url}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    contents = json.loads(done.stdout.strip().splitlines()[-1])
    assert contents[2] == "5" and "5" in contents[-1]
    assert graph.get_state(config).next == ()


def test_async_pause_and_resume(server):
    """``ainvoke`` pauses and resumes the same way."""
    graph = build_graph(checkpointer=InMemorySaver())
    config, context = _config("async"), _context(server)

    async def go():
        paused = await graph.ainvoke(
            {"messages": [HumanMessage("What's 2 + 3?")]}, config, context=context
        )
        assert "__interrupt__" in paused
        return await graph.ainvoke(Command(resume={"action": "approve"}), config, context=context)

    assert "5" in asyncio.run(go())["messages"][-1].content


def test_option_off_runs_tools_without_pausing(server):
    """Without the option no pause happens (the default)."""
    graph = build_graph(checkpointer=InMemorySaver())
    result = graph.invoke(
        {"messages": [HumanMessage("What's 2 + 3?")]},
        _config("off"),
        context=Context(base_url=server.base_url),
    )
    assert "__interrupt__" not in result
    assert "5" in result["messages"][-1].content


@pytest.mark.parametrize(
    ("answer", "rejected", "edited"),
    [
        ("approve", {}, {}),
        ({"action": "reject"}, {"a": "no reason given", "b": "no reason given"}, {}),
        ({"action": "reject", "call_ids": ["b"], "reason": "x"}, {"b": "x"}, {}),
        ({"action": "edit", "args": {"a": {"n": 1}}}, {}, {"a": {"n": 1}}),
    ],
)
def test_parse_review_accepts_the_documented_answers(answer, rejected, edited):
    """Approve / reject (all or some) / edit answers parse into the decisions they state."""
    calls = [{"id": "a", "name": "t", "args": {}}, {"id": "b", "name": "t", "args": {}}]
    review = parse_review(answer, calls)
    assert review.rejected == rejected and review.edited == edited
