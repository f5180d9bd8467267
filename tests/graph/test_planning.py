"""Unit tests of the assistant node's planning: what to do next, and bad input rejected early."""

from __future__ import annotations

import pytest
from assistant_graph.graph.errors import (
    EMPTY_CONTENT,
    NO_MESSAGES,
    NO_PENDING_RUN,
    InvalidInputError,
)
from assistant_graph.graph.planning import NewTurn, SubmitToolOutputs, plan_step
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage


def _calls(*ids: str) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"id": i, "name": "calculator", "args": {"expression": i}} for i in ids],
    )


def test_a_user_message_starts_a_turn():
    """The last message being a HumanMessage means: send it as a new user message."""
    step = plan_step([HumanMessage("What's 2+2?")], "")
    assert step == NewTurn(content="What's 2+2?", stale_run_id="")


def test_a_user_message_while_a_run_waits_names_the_stale_run():
    """A new user message abandons a run still awaiting tool outputs (it will be cancelled)."""
    step = plan_step([HumanMessage("a"), _calls("c1"), HumanMessage("b")], "run_1")
    assert step == NewTurn(content="b", stale_run_id="run_1")


def test_text_blocks_are_joined():
    """List content made of text blocks is accepted as text."""
    message = HumanMessage(content=[{"type": "text", "text": "one"}, "two"])
    assert plan_step([message], "") == NewTurn(content="one\ntwo", stale_run_id="")


def test_tool_messages_become_one_submit_in_call_order():
    """Every call of the last AI message gets its output, in the AI message's call order."""
    messages = [
        HumanMessage("q"),
        _calls("c1", "c2"),
        ToolMessage("4", tool_call_id="c2"),
        ToolMessage("boom", tool_call_id="c1", status="error"),
    ]
    step = plan_step(messages, "run_9")
    assert isinstance(step, SubmitToolOutputs)
    assert step.run_id == "run_9"
    assert step.tool_outputs() == [
        {"tool_call_id": "c1", "output": "boom"},
        {"tool_call_id": "c2", "output": "4"},
    ]
    assert [r.is_error for r in step.results] == [True, False]
    assert step.tool_outputs(only={"c2"}) == [{"tool_call_id": "c2", "output": "4"}]


def test_no_messages_is_a_clear_error():
    """An input without messages cannot start a turn."""
    with pytest.raises(InvalidInputError) as info:
        plan_step([], "")
    assert str(info.value) == NO_MESSAGES


@pytest.mark.parametrize("content", ["", "   \n"])
def test_empty_user_message_is_rejected(content):
    """Empty or whitespace-only user text is rejected before anything is sent."""
    with pytest.raises(InvalidInputError) as info:
        plan_step([HumanMessage(content)], "")
    assert str(info.value) == EMPTY_CONTENT


def test_non_text_blocks_are_rejected():
    """Content blocks that are not text (e.g. images) are named in the error."""
    message = HumanMessage(content=[{"type": "image_url", "image_url": {"url": "http://x"}}])
    with pytest.raises(InvalidInputError, match="image_url block"):
        plan_step([message], "")


def test_tool_messages_without_a_pending_run_are_rejected():
    """Tool outputs need the run that asked for them."""
    with pytest.raises(InvalidInputError) as info:
        plan_step([HumanMessage("q"), _calls("c1"), ToolMessage("1", tool_call_id="c1")], "")
    assert str(info.value) == NO_PENDING_RUN


def test_a_missing_tool_output_is_named():
    """One submit must cover every pending call: a missing output is named by call id."""
    messages = [HumanMessage("q"), _calls("c1", "c2"), ToolMessage("1", tool_call_id="c1")]
    with pytest.raises(InvalidInputError, match="c2"):
        plan_step(messages, "run_1")


@pytest.mark.parametrize("last", [AIMessage("done"), SystemMessage("be nice")])
def test_other_last_messages_are_rejected(last):
    """Only a user message or tool outputs can continue a conversation."""
    with pytest.raises(InvalidInputError, match=type(last).__name__):
        plan_step([HumanMessage("q"), last], "")
