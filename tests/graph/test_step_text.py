"""A model step that writes text AND calls tools ("Let me compute that." + a tool call), as real
chat models do: the text belongs to that step's tool-call message (same id as its streamed
chunks), and the final answer holds only the text written after the last tool submit.

The model is the server's chat-completions backend talking to ``FakeChatCompletions`` (a
scripted local Chat Completions endpoint standing in for a hosted model), so each reply is one
real ``chat.completion`` stream with text and tool calls together.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from assistant_graph.graph import Context, build_graph
from assistant_graph.graph.runnable import AssistantRunnable
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

FIRST_TEXT = "Let me compute that."
SECOND_TEXT = "Now the product."
ANSWER = "2 + 3 = 5 and 4 * 5 = 20."
WORKER = Path(__file__).with_name("crash_worker.py")


def _queue_two_rounds(fake) -> None:
    """Step 1: text + call, step 2: text + call, step 3: the answer."""
    fake.add_tool_calls(("calculator", {"expression": "2 + 3"}), text=FIRST_TEXT)
    fake.add_tool_calls(("calculator", {"expression": "4 * 5"}), text=SECOND_TEXT)
    fake.add_text(ANSWER)


def _config(thread_id: str) -> dict:
    return {"configurable": {"thread_id": thread_id}}


def _server_assistant_message_ids(base_url: str, thread_id: str) -> list[str]:
    with openai.OpenAI(base_url=base_url, api_key="embedded") as client:
        listed = client.beta.threads.messages.list(thread_id, order="asc", limit=100).data
    return [m.id for m in listed if m.role == "assistant"]


def test_step_text_streams_under_the_tool_call_message_id(chat_model_server):
    """``stream_mode="messages"``: each step's text arrives as chunks whose id is the id of
    that step's tool-call AIMessage in state, which holds the text as its content; a closing
    chunk under the same id carries the tool calls, so nothing arrives twice. The final answer
    is only the last step's text; ids are the server's message ids, in order."""
    _queue_two_rounds(chat_model_server.fake)
    graph = build_graph(checkpointer=InMemorySaver())
    config = _config("step-text")
    items = list(
        graph.stream(
            {"messages": [HumanMessage("what are 2 + 3 and 4 * 5?")]},
            config,
            context=Context(base_url=chat_model_server.base_url),
            stream_mode="messages",
        )
    )
    state = graph.get_state(config).values
    messages = state["messages"]
    assert [type(m) for m in messages] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
    ]
    first, second, answer = messages[1], messages[3], messages[5]
    assert (first.content, second.content, answer.content) == (FIRST_TEXT, SECOND_TEXT, ANSWER)
    assert [c["args"] for c in first.tool_calls + second.tool_calls] == [
        {"expression": "2 + 3"},
        {"expression": "4 * 5"},
    ]
    assert (messages[2].content, messages[4].content) == ("5", "20")
    assert [first.id, second.id, answer.id] == _server_assistant_message_ids(
        chat_model_server.base_url, state["assistant_thread_id"]
    )

    chunks = [m for m, _ in items if isinstance(m, AIMessageChunk)]
    for message in (first, second, answer):
        own = [c for c in chunks if c.id == message.id]
        assert len(own) >= 2
        assert "".join(c.content for c in own) == message.content
        joined = own[0]
        for chunk in own[1:]:
            joined = joined + chunk
        assert [(c["name"], c["args"], c["id"]) for c in joined.tool_calls] == [
            (c["name"], c["args"], c["id"]) for c in message.tool_calls
        ]
    whole = [m for m, _ in items if type(m) is AIMessage]
    assert whole == [], "every AI message arrived as chunks; none is sent a second time"


def test_async_stream_gives_the_same_messages(chat_model_server):
    """``astream(stream_mode="messages")``: the same step texts and ids on the async path."""
    _queue_two_rounds(chat_model_server.fake)
    graph = build_graph(checkpointer=InMemorySaver())
    config = _config("step-text-async")

    async def collect() -> list:
        return [
            item
            async for item in graph.astream(
                {"messages": [HumanMessage("what are 2 + 3 and 4 * 5?")]},
                config,
                context=Context(base_url=chat_model_server.base_url),
                stream_mode="messages",
            )
        ]

    items = asyncio.run(collect())
    messages = graph.get_state(config).values["messages"]
    ai = [m for m in messages if isinstance(m, AIMessage)]
    assert [m.content for m in ai] == [FIRST_TEXT, SECOND_TEXT, ANSWER]
    chunk_ids = {m.id for m, _ in items if isinstance(m, AIMessageChunk)}
    assert chunk_ids == {m.id for m in ai}
    assert not [m for m, _ in items if type(m) is AIMessage]


def test_run_read_without_its_stream_gives_the_same_step(chat_model_server, request_log):
    """Reading a run (as a resumed step does) gives the same text and message ids as its
    stream gave, step by step: the second round's tool calls carry only the second step's
    text, and the answer only the last step's. The read lists the run's messages and steps."""
    _queue_two_rounds(chat_model_server.fake)
    client = request_log.sync_client(chat_model_server.server)
    assistant = client.beta.assistants.create(model="fake-model", tools=[_calculator_tool()])
    runnable = AssistantRunnable(client=client, assistant_id=assistant.id)

    def read(run_id: str, thread_id: str):
        request_log.clear()
        response = runnable.wait_for_response(runnable.retrieve_run(thread_id, run_id))
        paths = [r[1].rsplit("/", 1)[-1] for r in request_log.requests]
        assert paths == [run_id, "messages", "steps"], request_log.requests
        return response

    first = runnable.invoke({"content": "what are 2 + 3 and 4 * 5?"})
    assert (first[0].log, len(first[0].message_ids)) == (FIRST_TEXT, 1)
    again = read(first[0].run_id, first[0].thread_id)
    assert [(a.log, a.message_ids, a.tool_call_id) for a in again] == [
        (a.log, a.message_ids, a.tool_call_id) for a in first
    ]

    second = runnable.invoke(_submit(first, "5"))
    assert (second[0].log, len(second[0].message_ids)) == (SECOND_TEXT, 1)
    assert second[0].message_ids != first[0].message_ids
    again = read(second[0].run_id, second[0].thread_id)
    assert [(a.log, a.message_ids) for a in again] == [(SECOND_TEXT, second[0].message_ids)]

    finish = runnable.invoke(_submit(second, "20"))
    assert finish.return_values["output"] == ANSWER
    assert len(finish.return_values["message_ids"]) == 1
    again = read(finish.run_id, finish.thread_id)
    assert again.return_values["output"] == ANSWER
    assert again.return_values["message_ids"] == finish.return_values["message_ids"]


def test_async_run_read_gives_the_same_step(chat_model_server):
    """The async read path (``await_for_response``) takes the same messages as the stream."""
    _queue_two_rounds(chat_model_server.fake)
    base_url = chat_model_server.base_url

    async def go() -> tuple:
        async with openai.AsyncOpenAI(base_url=base_url, api_key="embedded") as client:
            assistant = await client.beta.assistants.create(
                model="fake-model", tools=[_calculator_tool()]
            )
            runnable = AssistantRunnable(
                client=openai.OpenAI(base_url=base_url, api_key="embedded"),
                async_client=client,
                assistant_id=assistant.id,
            )
            first = await runnable.ainvoke({"content": "what are 2 + 3 and 4 * 5?"})
            second = await runnable.ainvoke(_submit(first, "5"))
            run = await runnable.aretrieve_run(second[0].thread_id, second[0].run_id)
            reread = await runnable.await_for_response(run)
            finish = await runnable.ainvoke(_submit(second, "20"))
            run = await runnable.aretrieve_run(finish.thread_id, finish.run_id)
            return second, reread, finish, await runnable.await_for_response(run)

    second, reread, finish, refinished = asyncio.run(go())
    assert [(a.log, a.message_ids) for a in reread] == [(SECOND_TEXT, second[0].message_ids)]
    assert finish.return_values["output"] == refinished.return_values["output"] == ANSWER
    assert refinished.return_values["message_ids"] == finish.return_values["message_ids"]


@pytest.mark.slow
@pytest.mark.parametrize("point", ["after_first_run", "after_submit"])
def test_step_rerun_after_a_crash_keeps_the_message_ids(
    chat_model_server, tmp_path, monkeypatch, point
):
    """Kill the process (SIGKILL) after a text-and-tool-call step reached ``requires_action``
    but before it was saved (``after_first_run``: the first step; ``after_submit``: the second,
    reached by a submit); a new process re-runs the step from the checkpoint file, reading the
    run instead of streaming it, and gets the same message ids and texts: the conversation
    holds each step once, ids equal to the server's messages, the answer only its own text."""
    _queue_two_rounds(chat_model_server.fake)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", chat_model_server.base_url)
    env = dict(os.environ)
    database = tmp_path / "conversations.sqlite3"

    def run_worker(mode: str, kill_point: str) -> subprocess.CompletedProcess:
        args = [sys.executable, str(WORKER), str(database), "t", mode, kill_point]
        args.append(str(tmp_path / "requests.log"))
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)

    crashed = run_worker("start", point)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = run_worker("resume", "none")
    assert resumed.returncode == 0, resumed.stderr
    printed = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert [content for kind, content in printed if kind == "AIMessage"] == [
        FIRST_TEXT,
        SECOND_TEXT,
        ANSWER,
    ]

    with SqliteSaver.from_conn_string(str(database)) as saver:
        state = build_graph(checkpointer=saver).get_state(_config("t")).values
    ai = [m for m in state["messages"] if isinstance(m, AIMessage)]
    assert len(state["messages"]) == 6
    assert [m.id for m in ai] == _server_assistant_message_ids(
        chat_model_server.base_url, state["assistant_thread_id"]
    )
    requests = (tmp_path / "requests.log").read_text().splitlines()
    assert sum(r.endswith("/submit_tool_outputs") for r in requests) == 2, requests


def _submit(actions, output: str) -> dict:
    return {
        "thread_id": actions[0].thread_id,
        "run_id": actions[0].run_id,
        "tool_outputs": [{"tool_call_id": actions[0].tool_call_id, "output": output}],
    }


def _calculator_tool() -> dict:
    return {
        "type": "function",
        "function": {
            "name": "calculator",
            "parameters": {"type": "object", "properties": {"expression": {"type": "string"}}},
        },
    }
