"""Unit tests of the router after the assistant node."""

from __future__ import annotations

from assistant_graph.graph import Context
from assistant_graph.graph.router import route_after_assistant
from assistant_graph.graph.state import State
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph._internal._constants import CONFIG_KEY_RUNTIME
from langgraph.runtime import Runtime


def test_tool_calls_go_to_the_tools_node():
    """An AI message with tool calls is routed to ``tools``."""
    ai = AIMessage(content="", tool_calls=[{"id": "c1", "name": "calculator", "args": {}}])
    assert route_after_assistant(State(messages=[HumanMessage("q"), ai]), {}) == "tools"


def test_an_answer_ends_the_turn():
    """An AI message without tool calls ends the turn."""
    assert (
        route_after_assistant(State(messages=[HumanMessage("q"), AIMessage("42")]), {}) == "__end__"
    )


def test_anything_else_ends_the_turn():
    """Non-AI last messages (and no messages) end the turn instead of looping."""
    assert (
        route_after_assistant(State(messages=[ToolMessage("1", tool_call_id="c")]), {}) == "__end__"
    )
    assert route_after_assistant(State(messages=[]), {}) == "__end__"


def test_tool_calls_go_to_human_review_when_the_option_is_on():
    """With ``interrupt_before_tools`` the tool calls are routed to ``human_review`` (also when
    the context arrives as a dict, as from Studio); answers still end the turn."""
    ai = AIMessage(content="", tool_calls=[{"id": "c1", "name": "calculator", "args": {}}])
    state = State(messages=[HumanMessage("q"), ai])
    on = _config(Context(interrupt_before_tools=True))
    assert route_after_assistant(state, on) == "human_review"
    assert route_after_assistant(state, _config({"interrupt_before_tools": True})) == (
        "human_review"
    )
    assert route_after_assistant(state, _config(Context())) == "tools"
    answer = State(messages=[HumanMessage("q"), AIMessage("42")])
    assert route_after_assistant(answer, on) == "__end__"


def _config(context: object) -> dict:
    """A config carrying a graph runtime, as LangGraph passes it to the router in a run."""
    return {"configurable": {CONFIG_KEY_RUNTIME: Runtime(context=context)}}
