"""Unit tests of the router after the assistant node."""

from __future__ import annotations

from typing import Any

from assistant_graph.graph import Context
from assistant_graph.graph.router import route_after_assistant
from assistant_graph.graph.state import State
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import START, StateGraph


def test_tool_calls_go_to_the_tools_node():
    """An AI message with tool calls is routed to ``tools``."""
    ai = AIMessage(content="", tool_calls=[{"id": "c1", "name": "calculator", "args": {}}])
    assert route_after_assistant(State(messages=[HumanMessage("q"), ai])) == "tools"


def test_an_answer_ends_the_turn():
    """An AI message without tool calls ends the turn."""
    assert route_after_assistant(State(messages=[HumanMessage("q"), AIMessage("42")])) == "__end__"


def test_anything_else_ends_the_turn():
    """Non-AI last messages (and no messages) end the turn instead of looping."""
    assert route_after_assistant(State(messages=[ToolMessage("1", tool_call_id="c")])) == "__end__"
    assert route_after_assistant(State(messages=[])) == "__end__"


def test_tool_calls_go_to_human_review_when_the_option_is_on():
    """In a graph run with ``interrupt_before_tools`` in the context the tool calls are routed
    to ``human_review`` (also when the context arrives as a dict, as from Studio); answers
    still end the turn."""
    ai = AIMessage(content="", tool_calls=[{"id": "c1", "name": "calculator", "args": {}}])
    on = Context(interrupt_before_tools=True)
    assert _route_in_a_run([HumanMessage("q"), ai], on) == "human_review"
    assert _route_in_a_run([HumanMessage("q"), ai], {"interrupt_before_tools": True}) == (
        "human_review"
    )
    assert _route_in_a_run([HumanMessage("q"), ai], Context()) == "tools"
    assert _route_in_a_run([HumanMessage("q"), AIMessage("42")], on) == "__end__"


def _route_in_a_run(messages: list[Any], context: Any) -> str:
    """Where the router sends ``messages`` in a real graph run with ``context``."""
    taken: list[str] = []
    builder = StateGraph(State, context_schema=Context)
    builder.add_node("assistant", lambda state: {"messages": messages})
    for name in ("human_review", "tools"):
        builder.add_node(name, lambda state, name=name: taken.append(name) or {})
    builder.add_edge(START, "assistant")
    builder.add_conditional_edges("assistant", route_after_assistant)
    builder.compile().invoke({"messages": []}, context=context)
    return taken[0] if taken else "__end__"
