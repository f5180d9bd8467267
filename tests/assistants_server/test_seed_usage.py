"""The runnable's documented usage (the seed's execute_agent loop) works against this server
as written, with a local calculator BaseTool and the offline model."""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server.embedded import EmbeddedServer
from langchain_community.agents.openai_assistant import OpenAIAssistantV2Runnable
from langchain_core.agents import AgentFinish
from langchain_core.tools import tool
from server_helpers import sdk_client


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression such as '10 - 4 ** 2.7'."""
    allowed = set("0123456789+-*/.() ")
    if not set(expression) <= allowed:
        return f"error: unsupported characters in {expression!r}"
    # A tiny evaluator for + - * / ** and parentheses, without eval.
    import ast
    import operator

    ops = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.Pow: operator.pow,
        ast.USub: operator.neg,
    }

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Constant):
            return float(node.value)
        if isinstance(node, ast.BinOp):
            return ops[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            return ops[type(node.op)](ev(node.operand))
        raise ValueError(expression)

    return str(round(ev(ast.parse(expression, mode="eval").body), 6))


def execute_agent(agent: Any, tools: list[Any], input: dict[str, Any]) -> Any:
    """The seed's loop, verbatim in behaviour."""
    tool_map = {tool.name: tool for tool in tools}
    response = agent.invoke(input)
    while not isinstance(response, AgentFinish):
        tool_outputs = []
        for action in response:
            tool_output = tool_map[action.tool].invoke(action.tool_input)
            tool_outputs.append({"output": tool_output, "tool_call_id": action.tool_call_id})
        response = agent.invoke(
            {"tool_outputs": tool_outputs, "run_id": action.run_id, "thread_id": action.thread_id}
        )
    return response


def test_seed_execute_agent_two_turns(start_server: Any) -> None:
    """create_assistant(..., tools=[calculator, code_interpreter], as_agent=True) and two turns of
    execute_agent."""
    server: EmbeddedServer = start_server()  # default backend: the offline model
    tools = [calculator]
    agent = OpenAIAssistantV2Runnable.create_assistant(
        name="langchain assistant",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[calculator, {"type": "code_interpreter"}],
        model="gpt-4-1106-preview",
        client=sdk_client(server.base_url, server.api_key),
        as_agent=True,
        check_every_ms=10,
    )
    response = execute_agent(agent, tools, {"content": "What's 10 - 4 raised to the 2.7"})
    first_value = calculator.invoke("10 - 4 ** 2.7")
    assert first_value in response.return_values["output"]
    next_response = execute_agent(
        agent, tools, {"content": "now add 17.241", "thread_id": response.thread_id}
    )
    assert next_response.thread_id == response.thread_id
    expected = calculator.invoke(f"{first_value} + 17.241")
    assert expected in next_response.return_values["output"]
