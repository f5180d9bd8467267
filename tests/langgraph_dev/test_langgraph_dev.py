"""The graph served by a real ``langgraph dev`` (the server LangGraph Studio talks to).

``langgraph dev`` runs as a subprocess in a temporary working directory holding a copy of the
repository's ``langgraph.json`` (which loads the installed module
``assistant_graph.graph.exported``), offline, and is driven over HTTP with ``langgraph-sdk``.
Most tests share one server whose ``.env`` points the graph at an Assistants server started by
the test module (the real server over HTTP), which also proves the ``"env": ".env"`` wiring.
Two tests start it with no ``.env`` at all, the zero-configuration path a new user takes: it
starts, serves the graph and stops on SIGINT, and a run answers through the embedded
Assistants server started inside ``langgraph dev``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.graph import Context
from langgraph_dev_process import (
    REPO_CONFIG,
    LanggraphDev,
    clean_env,
    offline_env,
    prepare_workdir,
    running_langgraph_dev,
    start_langgraph_dev,
    stop_langgraph_dev,
)
from langgraph_sdk import get_client

pytestmark = pytest.mark.slow

GRAPH_ID = "assistant"
FIRST_QUESTION = "What's 10 - 4 raised to the 2.7?"
FIRST_ANSWER = "-32.22"
FOLLOW_UP = "now add 17.241"
FOLLOW_UP_ANSWER = "-14.98"


def user_turn(text: str) -> dict[str, Any]:
    """Run input carrying one user message."""
    return {"messages": [{"role": "user", "content": text}]}


def last_message(values: dict[str, Any]) -> dict[str, Any]:
    """The last message of a state/values payload."""
    return values["messages"][-1]


@pytest.fixture(scope="module")
def assistants_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A real Assistants server (offline model, SQLite in a temp dir) outside ``langgraph dev``."""
    data = tmp_path_factory.mktemp("assistants-server")
    settings = ServerSettings(
        host="127.0.0.1",
        port=0,
        database_url=f"sqlite:///{data / 'assistants.sqlite3'}",
        backend="offline",
        log_level="warning",
    )
    with EmbeddedServer(settings) as server:
        yield server


@pytest.fixture(scope="module")
def dev_server(
    tmp_path_factory: pytest.TempPathFactory, assistants_server: EmbeddedServer
) -> Iterator[LanggraphDev]:
    """``langgraph dev`` whose ``.env`` sets ``ASSISTANTS_BASE_URL`` to ``assistants_server``."""
    workdir = tmp_path_factory.mktemp("langgraph-dev")
    prepare_workdir(workdir)
    (workdir / ".env").write_text(f"ASSISTANTS_BASE_URL={assistants_server.base_url}\n")
    env = offline_env(clean_env(), ASSISTANT_GRAPH_HOME=str(workdir / "home"))
    dev = start_langgraph_dev(workdir, env)
    try:
        yield dev
    finally:
        stop_langgraph_dev(dev)


def run(coro: Any) -> Any:
    """Run one coroutine of SDK calls to completion."""
    return asyncio.run(coro)


def test_langgraph_json_exports_the_installed_graph_module() -> None:
    """langgraph.json loads ``assistant_graph.graph.exported:graph`` (module syntax) + .env;
    it is the graph ``from assistant_graph.graph import graph`` returns.

    The exported graph carries no checkpointer (``langgraph dev`` refuses one) and the CLI's own
    validator accepts the file.
    """
    from assistant_graph.graph import graph as exported
    from assistant_graph.graph.exported import graph as loaded
    from langgraph_cli.config import validate_config_file

    config = json.loads(REPO_CONFIG.read_text())
    assert config["graphs"] == {GRAPH_ID: "assistant_graph.graph.exported:graph"}
    assert config["env"] == ".env"
    assert config["python_version"] == "3.11"
    assert config["dependencies"] == ["."]
    validated = validate_config_file(REPO_CONFIG)
    assert validated["graphs"] == config["graphs"]
    assert exported is loaded
    assert exported.checkpointer is None


def test_assistant_exposes_chat_and_context_schemas(dev_server: LanggraphDev) -> None:
    """Studio gets a chat view (``messages`` in and out) and every Context field, described."""

    async def fetch() -> tuple[list[dict], dict]:
        async with get_client(url=dev_server.url) as client:
            assistants = await client.assistants.search(graph_id=GRAPH_ID)
            schemas = await client.assistants.get_schemas(assistants[0]["assistant_id"])
        return assistants, schemas

    assistants, schemas = run(fetch())
    assert [a["graph_id"] for a in assistants] == [GRAPH_ID]
    assert set(schemas["input_schema"]["properties"]) == {"messages"}
    assert set(schemas["output_schema"]["properties"]) == {"messages"}
    context_fields = schemas["context_schema"]["properties"]
    expected = {f.name: f.metadata["description"] for f in dataclasses.fields(Context)}
    assert {name: spec.get("description") for name, spec in context_fields.items()} == expected


def test_run_wait_answers_with_the_tool_result(
    dev_server: LanggraphDev, assistants_server: EmbeddedServer
) -> None:
    """``runs.wait`` returns the conversation: question, calculator call, its result, answer.

    The Assistants thread behind it lives on the server named in ``.env`` (not an embedded one).
    """

    async def ask() -> tuple[dict, dict]:
        async with get_client(url=dev_server.url) as client:
            thread = await client.threads.create()
            result = await client.runs.wait(
                thread["thread_id"], GRAPH_ID, input=user_turn(FIRST_QUESTION)
            )
            state = await client.threads.get_state(thread["thread_id"])
        return result, state

    result, state = run(ask())
    types = [m["type"] for m in result["messages"]]
    assert types == ["human", "ai", "tool", "ai"]
    call = result["messages"][1]["tool_calls"][0]
    assert call["name"] == "calculator"
    assert result["messages"][2]["tool_call_id"] == call["id"]
    assert FIRST_ANSWER in result["messages"][2]["content"]
    assert FIRST_ANSWER in last_message(result)["content"]

    assistants_thread_id = state["values"]["assistant_thread_id"]
    assert assistants_thread_id.startswith("thread_")
    client = openai.OpenAI(base_url=assistants_server.base_url, api_key=assistants_server.api_key)
    texts = [
        block.text.value
        for message in client.beta.threads.messages.list(assistants_thread_id, order="asc").data
        for block in message.content
        if block.type == "text"
    ]
    assert texts[0] == FIRST_QUESTION
    assert FIRST_ANSWER in texts[-1]


def test_stream_shows_tool_call_and_tool_result_as_separate_steps(dev_server: LanggraphDev) -> None:
    """``runs.stream`` with updates/values/messages-tuple: assistant call → tools → answer."""

    async def stream() -> list[Any]:
        async with get_client(url=dev_server.url) as client:
            thread = await client.threads.create()
            return [
                part
                async for part in client.runs.stream(
                    thread["thread_id"],
                    GRAPH_ID,
                    input=user_turn(FIRST_QUESTION),
                    stream_mode=["updates", "values", "messages-tuple"],
                )
            ]

    parts = run(stream())
    events = {part.event for part in parts}
    assert {"updates", "values", "messages"} <= events, events
    updates = [part.data for part in parts if part.event == "updates"]
    assert [next(iter(update)) for update in updates] == ["assistant", "tools", "assistant"]
    (call_message,) = updates[0]["assistant"]["messages"]
    assert call_message["tool_calls"][0]["name"] == "calculator"
    (tool_message,) = updates[1]["tools"]["messages"]
    assert tool_message["tool_call_id"] == call_message["tool_calls"][0]["id"]
    assert FIRST_ANSWER in tool_message["content"]
    assert FIRST_ANSWER in updates[2]["assistant"]["messages"][-1]["content"]

    # Studio's chat view: the tool call and its result as whole messages, then the answer
    # token by token — at least two chunks, all with the final message's id, adding up to it.
    streamed_messages = [part.data[0] for part in parts if part.event == "messages"]
    assert [m["type"] for m in streamed_messages[:2]] == ["ai", "tool"]
    answer_chunks = streamed_messages[2:]
    assert len(answer_chunks) >= 2, answer_chunks
    assert {m["type"] for m in answer_chunks} == {"AIMessageChunk"}
    final_answer = updates[2]["assistant"]["messages"][-1]
    assert {m["id"] for m in answer_chunks} == {final_answer["id"]}
    assert "".join(m["content"] for m in answer_chunks) == final_answer["content"]
    final_values = [part.data for part in parts if part.event == "values"][-1]
    assert [m["type"] for m in final_values["messages"]] == ["human", "ai", "tool", "ai"]


def test_thread_state_persists_between_runs(dev_server: LanggraphDev) -> None:
    """A second run on the same thread continues the conversation; state and history show both."""

    async def converse() -> tuple[dict, dict, dict, list[dict]]:
        async with get_client(url=dev_server.url) as client:
            thread = await client.threads.create()
            thread_id = thread["thread_id"]
            first = await client.runs.wait(thread_id, GRAPH_ID, input=user_turn(FIRST_QUESTION))
            first_state = await client.threads.get_state(thread_id)
            await client.runs.wait(thread_id, GRAPH_ID, input=user_turn(FOLLOW_UP))
            state = await client.threads.get_state(thread_id)
            history = await client.threads.get_history(thread_id, limit=50)
        return first, first_state, state, history

    first, first_state, state, history = run(converse())
    assert FIRST_ANSWER in last_message(first)["content"]
    messages = state["values"]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"] * 2
    assert messages[4]["content"] == FOLLOW_UP
    assert FOLLOW_UP_ANSWER in messages[-1]["content"]
    assert state["values"]["assistant_thread_id"] == first_state["values"]["assistant_thread_id"]
    assert state["values"]["pending_run_id"] == ""
    assert state["next"] == []

    # Newest first: the end of turn 2, …, the end of turn 1 (4 messages), …, the empty start.
    lengths = [len(snapshot["values"].get("messages", [])) for snapshot in history]
    assert lengths[0] == 8
    assert 4 in lengths
    assert lengths == sorted(lengths, reverse=True)
    turn_one_end = next(s for s in history if len(s["values"].get("messages", [])) == 4)
    assert turn_one_end["values"]["messages"] == first_state["values"]["messages"]


def test_starts_without_env_file_from_the_repo_config_and_stops_on_sigint(tmp_path: Path) -> None:
    """No ``.env`` in the working directory is fine; ``--config`` may point at the repo's file.

    The server keeps its data in ``.langgraph_api/`` under the working directory, and SIGINT to
    its process group ends it cleanly (exit code 0, no SIGKILL needed).
    """
    env = offline_env(clean_env(), ASSISTANT_GRAPH_HOME=str(tmp_path / "home"))
    dev = start_langgraph_dev(tmp_path, env, extra_args=["--config", str(REPO_CONFIG)])
    try:
        assert not (tmp_path / ".env").exists()

        async def search() -> list[dict]:
            async with get_client(url=dev.url) as client:
                return await client.assistants.search(graph_id=GRAPH_ID)

        assert [a["graph_id"] for a in run(search())] == [GRAPH_ID]
    finally:
        stopped = stop_langgraph_dev(dev)
    assert dev.process.poll() is not None
    assert stopped.signal == signal.SIGINT, dev.log_tail()
    assert stopped.returncode == 0, dev.log_tail()
    assert (tmp_path / ".langgraph_api").is_dir()


def test_zero_configuration_run_uses_the_embedded_server(tmp_path: Path) -> None:
    """With nothing configured, a run under ``langgraph dev`` answers via the embedded server.

    ``langgraph dev`` rejects blocking calls on any event loop in its process, including the
    embedded server's own: the server must keep its database work off its loop.
    """
    prepare_workdir(tmp_path)
    env = offline_env(clean_env(), ASSISTANT_GRAPH_HOME=str(tmp_path / "home"))
    with running_langgraph_dev(tmp_path, env) as dev:

        async def ask() -> dict:
            async with get_client(url=dev.url) as client:
                thread = await client.threads.create()
                return await client.runs.wait(
                    thread["thread_id"], GRAPH_ID, input=user_turn(FIRST_QUESTION)
                )

        result = run(ask())
    assert "__error__" not in result, result
    assert FIRST_ANSWER in last_message(result)["content"]
    # langgraph dev's detector logs blocking calls even where they do not fail the run.
    assert "BlockingError" not in dev.log_text(), dev.log_tail()


def test_human_review_pauses_and_resumes_through_the_api(dev_server: LanggraphDev) -> None:
    """With ``interrupt_before_tools`` in the run's context the dev server stops at human_review
    (as Studio shows it); a rejection resumed with ``Command`` reaches the assistant as tool
    output and the run finishes; an approval on the next turn runs the tool."""

    async def review() -> tuple[dict, dict, dict, dict]:
        async with get_client(url=dev_server.url) as client:
            thread = await client.threads.create()
            thread_id = thread["thread_id"]
            context = {"interrupt_before_tools": True}
            await client.runs.wait(
                thread_id, GRAPH_ID, input=user_turn(FIRST_QUESTION), context=context
            )
            paused = await client.threads.get_state(thread_id)
            await client.runs.wait(
                thread_id,
                GRAPH_ID,
                command={"resume": {"action": "reject", "reason": "not now"}},
                context=context,
            )
            rejected = await client.threads.get_state(thread_id)
            await client.runs.wait(
                thread_id, GRAPH_ID, input=user_turn(FIRST_QUESTION), context=context
            )
            await client.runs.wait(
                thread_id, GRAPH_ID, command={"resume": {"action": "approve"}}, context=context
            )
            approved = await client.threads.get_state(thread_id)
        return thread, paused, rejected, approved

    _, paused, rejected, approved = run(review())
    assert paused["next"] == ["human_review"]
    (interrupt,) = [i for task in paused["tasks"] for i in task["interrupts"]]
    (pending,) = interrupt["value"]["tool_calls"]
    assert pending["name"] == "calculator"

    assert rejected["next"] == []
    tool_message = rejected["values"]["messages"][2]
    assert tool_message["type"] == "tool" and "rejected" in tool_message["content"]
    assert "not now" in tool_message["content"]

    assert approved["next"] == []
    assert FIRST_ANSWER in approved["values"]["messages"][-2]["content"]  # the tool's result
    assert FIRST_ANSWER in approved["values"]["messages"][-1]["content"]
