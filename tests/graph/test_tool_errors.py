"""Tool failures go back to the assistant as tool output; the run completes and nothing crashes."""

from __future__ import annotations

import openai
from assistant_graph.graph import Context, build_graph
from assistant_graph.tools import calculator
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import StructuredTool, ToolException
from langgraph.checkpoint.memory import InMemorySaver


def _broken(value: str) -> str:
    """A tool that crashes with an unexpected exception."""
    raise ZeroDivisionError(f"cannot handle {value}")


def _refusing(value: str) -> str:
    """A tool that reports a problem the model can fix."""
    raise ToolException(f"value {value!r} is not allowed; use a number")


BROKEN = StructuredTool.from_function(_broken, name="broken")
REFUSING = StructuredTool.from_function(_refusing, name="refusing")

RULES = [
    {
        "match": "break everything",
        "turns": [
            {
                "tool_calls": [
                    {"name": "no_such_tool", "arguments": {"x": 1}},
                    {"name": "calculator", "arguments": {"wrong_field": "1+1"}},
                    {"name": "broken", "arguments": {"value": "x"}},
                    {"name": "refusing", "arguments": {"value": "y"}},
                    {"name": "calculator", "arguments": "{not json"},
                ]
            },
            {"text": "recovered from the tool errors"},
        ],
    }
]


def test_every_kind_of_tool_failure_becomes_an_error_tool_message(scripted_server):
    """Unknown tool, invalid arguments, unparsable JSON arguments, an unexpected exception and a
    ToolException each come back as ``ToolMessage(status="error")`` with an actionable message;
    all five are submitted to the run, which then completes with the model's answer."""
    server = scripted_server(RULES)
    graph = build_graph(checkpointer=InMemorySaver(), tools=[calculator, BROKEN, REFUSING])
    config = {"configurable": {"thread_id": "errors"}}
    result = graph.invoke(
        {"messages": [HumanMessage("please break everything")]},
        config,
        context=Context(base_url=server.base_url),
    )
    messages = result["messages"]
    tool_messages = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    calls = next(m for m in messages if isinstance(m, AIMessage) and m.tool_calls).tool_calls
    by_call = [tool_messages[c["id"]] for c in calls]
    assert [m.status for m in by_call] == ["error"] * 5
    unknown, invalid, broken, refusing, unparsable = (m.content for m in by_call)
    assert "no_such_tool is not a valid tool" in unknown and "calculator" in unknown
    assert "expression" in invalid and "fix" in invalid.lower()
    assert "ZeroDivisionError" in broken and "cannot handle x" in broken
    assert "is not allowed; use a number" in refusing
    assert "expression" in unparsable
    assert messages[-1].content == "recovered from the tool errors"

    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        state = graph.get_state(config).values
        runs = client.beta.threads.runs.list(state["assistant_thread_id"]).data
        assert [r.status for r in runs] == ["completed"]
        steps = client.beta.threads.runs.steps.list(runs[0].id, thread_id=runs[0].thread_id).data
        outputs = [
            call.function.output
            for step in steps
            if step.type == "tool_calls"
            for call in step.step_details.tool_calls
        ]
        assert len(outputs) == 5
        assert all(o and o.startswith("Error") for o in outputs), outputs
    finally:
        client.close()
