"""The seed's documented way to drive the assistant: ``execute_agent`` over the stock runnable.

The plain ``OpenAIAssistantV2Runnable`` from langchain-community with its upstream defaults
(``check_every_ms=1000``, as_agent), given a sync client and an async client aimed at the
server (its own validator would aim the async client at the public host).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from assistant_graph.assistants_server.embedded import EmbeddedServer
from langchain_core.agents import AgentFinish
from langchain_core.tools import BaseTool

from benchmarks.harness import ANSWER, BENCHMARK_ERROR, QUESTION, async_client, sync_client

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.agents.openai_assistant.base import OpenAIAssistantV2Runnable


def seed_agent(server: EmbeddedServer, tools: Sequence[BaseTool]) -> OpenAIAssistantV2Runnable:
    """Create an assistant the way the seed does and return the runnable driving it."""
    return OpenAIAssistantV2Runnable.create_assistant(
        name="seed benchmark assistant",
        instructions="You are a personal math tutor.",
        tools=list(tools),
        model="offline",
        client=sync_client(server),
        async_client=async_client(server),
        as_agent=True,
    )


def execute_agent(agent: Any, tools: Sequence[BaseTool], input: dict) -> Any:
    """The seed's loop, verbatim in behaviour: invoke, run the tools, submit, until finished."""
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


def seed_conversation(agent: Any, tools: Sequence[BaseTool]) -> Any:
    """One benchmark conversation through the seed loop (checked to reach the answer)."""
    response = execute_agent(agent, tools, {"content": QUESTION})
    if ANSWER not in str(response.return_values.get("output", "")):
        raise RuntimeError(BENCHMARK_ERROR.format(detail=f"seed loop answered {response!r}"))
    return response
