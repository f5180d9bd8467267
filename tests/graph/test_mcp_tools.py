"""MCP tools join the local tools: declared to the assistant, run by the tools node.

The MCP server is a real subprocess (``mcp_test_server.py``, written with FastMCP) started by
``langchain-mcp-adapters`` over stdio; the assistant is the project's server with a scripted
offline model that asks for the MCP tools. Every test runs the sync and the async graph path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.graph import Context, build_graph, prepare_assistant
from assistant_graph.graph.errors import ConfigurationError
from assistant_graph.graph.mcp_tools import clear_cache
from assistant_graph.graph.provisioning import FINGERPRINT_KEY
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

TEST_SERVER = Path(__file__).with_name("mcp_test_server.py")

RULES = [
    {
        "match": "reverse",
        "turns": [
            {"tool_calls": [{"name": "reverse_text", "arguments": {"text": "stressed"}}]},
            {"text": "reversed it"},
        ],
    },
    {
        "match": "explode",
        "turns": [
            {"tool_calls": [{"name": "explode", "arguments": {"reason": "testing"}}]},
            {"text": "the tool failed, moving on"},
        ],
    },
    {
        "match": "add",
        "turns": [
            {"tool_calls": [{"name": "calculator", "arguments": {"expression": "2+3"}}]},
            {"text": "added"},
        ],
    },
]


@pytest.fixture(autouse=True)
def fresh_mcp_cache():
    """Each test lists the MCP tools as a new process would."""
    clear_cache()
    yield
    clear_cache()


def write_config(path: Path, servers: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def test_server(**extra: Any) -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(TEST_SERVER)], **extra}


test_server.__test__ = False  # a helper, not a test


def ask(graph, question: str, context: Context, thread: str, use_async: bool) -> list:
    config = {"configurable": {"thread_id": thread}}
    graph_input = {"messages": [HumanMessage(question)]}
    if use_async:
        result = asyncio.run(graph.ainvoke(graph_input, config, context=context))
    else:
        result = graph.invoke(graph_input, config, context=context)
    return result["messages"]


def tool_messages(messages: list) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def submitted_outputs(server, messages: list) -> list[str]:
    """The tool outputs the project's server received for the turn's run."""
    ai = next(m for m in messages if isinstance(m, AIMessage) and m.tool_calls)
    run_id = ai.response_metadata["assistant_run_id"]
    thread_id = ai.response_metadata["assistant_thread_id"]
    with openai.OpenAI(base_url=server.base_url, api_key=server.api_key) as client:
        steps = client.beta.threads.runs.steps.list(run_id, thread_id=thread_id).data
    return [
        call.function.output
        for step in steps
        if step.type == "tool_calls"
        for call in step.step_details.tool_calls
    ]


@pytest.mark.slow
@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
def test_an_mcp_tool_call_goes_through_the_graph(scripted_server, tmp_path, use_async):
    """The model's call of an MCP tool runs on the MCP server; its result is a successful
    ToolMessage, is submitted to the run, and the run completes with the model's answer."""
    server = scripted_server(RULES)
    config = write_config(tmp_path / "mcp.json", {"tests": test_server()})
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url, mcp_config=str(config))
    messages = ask(graph, "please reverse stressed", context, "mcp-ok", use_async)
    (result,) = tool_messages(messages)
    assert result.name == "reverse_text"
    assert result.status == "success"
    assert "desserts" in str(result.content)
    assert submitted_outputs(server, messages) == ["desserts"]
    assert messages[-1].content == "reversed it"


@pytest.mark.slow
@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
def test_an_mcp_tool_that_raises_reaches_the_model_as_a_tool_error(
    scripted_server, tmp_path, use_async
):
    """An MCP tool that raises comes back as ToolMessage(status="error") carrying the
    server's message; the model gets it as tool output and the run completes."""
    server = scripted_server(RULES)
    config = write_config(tmp_path / "mcp.json", {"tests": test_server()})
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url, mcp_config=str(config))
    messages = ask(graph, "explode please", context, "mcp-raise", use_async)
    (result,) = tool_messages(messages)
    assert result.status == "error"
    assert "exploded on purpose: testing" in result.content
    (output,) = submitted_outputs(server, messages)
    assert output.startswith("Error") and "exploded on purpose: testing" in output
    assert messages[-1].content == "the tool failed, moving on"


@pytest.mark.slow
@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
def test_a_server_that_fails_to_start_is_left_out_and_the_graph_still_answers(
    scripted_server, tmp_path, use_async, caplog
):
    """A configured server whose command does not exist, and one that exits at once, are left
    out with an error logged naming each; the local tools still work and nothing crashes."""
    server = scripted_server(RULES)
    config = write_config(
        tmp_path / "mcp.json",
        {
            "missing": {"command": str(tmp_path / "no-such-program"), "args": []},
            "exits": {"command": sys.executable, "args": ["-c", "raise SystemExit(2)"]},
        },
    )
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url, mcp_config=str(config))
    with caplog.at_level(logging.ERROR, logger="assistant_graph.graph.mcp_tools"):
        messages = ask(graph, "add two numbers", context, "mcp-down", use_async)
    (result,) = tool_messages(messages)
    assert (result.name, result.content, result.status) == ("calculator", "5", "success")
    assert messages[-1].content == "added"
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert "MCP server 'missing'" in warnings and "no-such-program" in warnings
    assert "MCP server 'exits'" in warnings


@pytest.mark.slow
@pytest.mark.parametrize("use_async", [False, True], ids=["invoke", "ainvoke"])
def test_a_server_that_fails_to_start_for_a_call_reaches_the_model_as_a_tool_error(
    scripted_server, tmp_path, use_async
):
    """When the MCP server listed its tools but cannot start for the call, the call comes back
    as a ToolMessage(status="error") naming the server, and the run completes."""
    server = scripted_server(RULES)
    refuse = tmp_path / "refuse-start"
    config = write_config(
        tmp_path / "mcp.json",
        {"tests": test_server(env={"MCP_TEST_REFUSE_START_FILE": str(refuse)})},
    )
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url, mcp_config=str(config))
    prepare_assistant(context)  # lists the tools while the server still starts
    refuse.touch()
    messages = ask(graph, "please reverse stressed", context, "mcp-refuse", use_async)
    (result,) = tool_messages(messages)
    assert result.status == "error"
    assert "MCP server 'tests' failed while running reverse_text" in result.content
    assert messages[-1].content == "reversed it"


@pytest.mark.slow
def test_mcp_tools_are_declared_and_change_the_assistants_fingerprint(server, tmp_path):
    """With an MCP servers file the assistant's function tools are the local tools plus the
    MCP tools, and its fingerprint differs; emptying the file is seen at the next use and
    brings the fingerprint back."""
    with openai.OpenAI(base_url=server.base_url, api_key=server.api_key) as client:

        def declared() -> tuple[list[str], str]:
            assistant_id = prepare_assistant(context)
            assistant = client.beta.assistants.retrieve(assistant_id)
            names = sorted(t.function.name for t in assistant.tools if t.type == "function")
            return names, assistant.metadata[FINGERPRINT_KEY]

        config = tmp_path / "mcp.json"
        write_config(config, {})
        context = Context(
            base_url=server.base_url, assistant_name="mcp-fingerprint", mcp_config=str(config)
        )
        local_names, local_fingerprint = declared()
        write_config(config, {"tests": test_server()})
        names, fingerprint = declared()
        assert names == sorted([*local_names, "explode", "reverse_text"])
        assert fingerprint != local_fingerprint
        write_config(config, {})
        assert declared() == (local_names, local_fingerprint)


def test_an_unreadable_or_malformed_servers_file_is_a_clear_configuration_error(tmp_path):
    """A missing file, non-JSON, and a server with neither command nor url are refused with a
    ConfigurationError that names the file and what to change."""
    missing = tmp_path / "absent.json"
    with pytest.raises(ConfigurationError, match="Cannot read the MCP servers file") as caught:
        prepare_assistant(Context(mcp_config=str(missing)))
    assert str(missing) in str(caught.value) and "ASSISTANT_MCP_CONFIG" in str(caught.value)

    not_json = tmp_path / "broken.json"
    not_json.write_text("{mcpServers:")
    with pytest.raises(ConfigurationError, match="is not valid: it is not JSON"):
        prepare_assistant(Context(mcp_config=str(not_json)))

    no_command = write_config(tmp_path / "shape.json", {"x": {"args": ["a"]}})
    with pytest.raises(ConfigurationError, match="server 'x' needs either \"command\""):
        prepare_assistant(Context(mcp_config=str(no_command)))
