"""The tool registry: fresh instances, unique names, clean function schemas, ToolNode use."""

from __future__ import annotations

import pytest
from assistant_graph.tools import calculator, default_tools, tools_by_name
from jsonschema import Draft202012Validator
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

EXPECTED_NAMES = {
    "calculator",
    "current_datetime",
    "days_between",
    "unit_converter",
    "text_statistics",
}


def test_default_tools_are_fresh_on_every_call() -> None:
    """Each call returns a new list of new instances; reconfiguring one leaks nowhere."""
    first, second = default_tools(), default_tools()
    assert first is not second
    assert all(a is not b for a, b in zip(first, second, strict=True))
    first[0].handle_tool_error = True
    assert second[0].handle_tool_error is False
    assert calculator.handle_tool_error is False


def test_names_are_unique_and_as_documented() -> None:
    """The shipped tool names are unique and exactly the documented set."""
    names = [tool.name for tool in default_tools()]
    assert len(names) == len(set(names))
    assert set(names) == EXPECTED_NAMES


@pytest.mark.parametrize("tool", default_tools(), ids=lambda tool: tool.name)
def test_function_schema_is_valid_and_fully_described(tool: BaseTool) -> None:
    """convert_to_openai_tool yields a valid JSON schema describing every argument."""
    definition = convert_to_openai_tool(tool)
    assert definition["type"] == "function"
    function = definition["function"]
    assert function["name"] == tool.name
    assert len(function["description"]) >= 40
    parameters = function["parameters"]
    Draft202012Validator.check_schema(parameters)
    assert parameters["type"] == "object"
    assert parameters["properties"]
    for name, prop in parameters["properties"].items():
        assert prop.get("description", "").strip(), f"{tool.name}.{name} has no description"
        assert prop["type"] in {"string", "number"}
    assert set(parameters.get("required", [])) <= set(parameters["properties"])


@pytest.mark.parametrize("tool", default_tools(), ids=lambda tool: tool.name)
def test_errors_are_left_to_the_tool_node(tool: BaseTool) -> None:
    """No tool swallows its own errors: handle_tool_error is False on each."""
    assert tool.handle_tool_error is False


def test_calculator_is_recognisable_by_the_offline_model() -> None:
    """The calculator is named 'calculator' and takes one required string, 'expression'."""
    parameters = convert_to_openai_tool(calculator)["function"]["parameters"]
    assert calculator.name == "calculator"
    assert list(parameters["properties"]) == ["expression"]
    assert parameters["properties"]["expression"]["type"] == "string"
    assert parameters["required"] == ["expression"]


def test_tools_by_name_indexes_and_rejects_duplicates() -> None:
    """tools_by_name maps names to tools and refuses two tools with the same name."""
    index = tools_by_name()
    assert set(index) == EXPECTED_NAMES
    assert index["calculator"].invoke({"expression": "6 * 7"}) == "42"
    with pytest.raises(ValueError, match="Two tools are named 'calculator'"):
        tools_by_name([calculator, calculator])


def _run_tool_node(tool_calls: list[dict], **tool_node_options: object) -> list[ToolMessage]:
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode(default_tools(), **tool_node_options))
    builder.add_edge(START, "tools")
    graph = builder.compile()
    result = graph.invoke({"messages": [AIMessage(content="", tool_calls=tool_calls)]})
    return [m for m in result["messages"] if isinstance(m, ToolMessage)]


def test_every_tool_runs_inside_a_tool_node() -> None:
    """A ToolNode given default_tools() answers one call per tool, matched by call id."""
    calls = [
        {"name": "calculator", "args": {"expression": "10 - 4 ** 2.7"}, "id": "c1"},
        {"name": "current_datetime", "args": {"timezone": "UTC"}, "id": "c2"},
        {
            "name": "days_between",
            "args": {"start_date": "2024-02-01", "end_date": "2024-03-01"},
            "id": "c3",
        },
        {
            "name": "unit_converter",
            "args": {"value": 1, "from_unit": "in", "to_unit": "cm"},
            "id": "c4",
        },
        {"name": "text_statistics", "args": {"text": "two words"}, "id": "c5"},
    ]
    messages = {m.tool_call_id: m for m in _run_tool_node(calls)}
    assert set(messages) == {"c1", "c2", "c3", "c4", "c5"}
    assert all(m.status == "success" for m in messages.values())
    assert messages["c1"].content == "-32.22425314473263"
    assert messages["c2"].content.endswith(" in UTC")
    assert messages["c3"].content.startswith("29 days")
    assert messages["c4"].content == "1 in = 2.54 cm"
    assert '"words": 2' in messages["c5"].content


def test_tool_node_can_return_tool_exceptions_to_the_model() -> None:
    """With handle_tool_errors=ToolException the model receives the tool's own message."""
    calls = [{"name": "calculator", "args": {"expression": "9**9**9"}, "id": "bad"}]
    (message,) = _run_tool_node(calls, handle_tool_errors=ToolException)
    assert message.status == "error"
    assert "Result too large" in message.content


def test_tool_node_by_default_propagates_tool_exceptions() -> None:
    """ToolNode's default error handling re-raises a ToolException (the graph must choose)."""
    calls = [{"name": "calculator", "args": {"expression": "1/0"}, "id": "bad"}]
    with pytest.raises(ToolException, match="Division by zero"):
        _run_tool_node(calls)
