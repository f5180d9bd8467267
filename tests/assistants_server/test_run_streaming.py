"""Streaming runs through the SDK's AssistantEventHandler (sync and async), and raw SSE frames
validated against the spec's event schemas."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest
from openapi_contract import Contract
from scripted_backend import ScriptedBackend
from server_helpers import CALCULATOR_TOOL
from typing_extensions import override

CALL = ToolCallRequest("calculator", '{"expression": "6*7"}')


class Recorder(openai.AssistantEventHandler):
    """Records event names, text deltas and tool calls."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.tool_calls: list[Any] = []

    @override
    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    @override
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)

    @override
    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_calls.append(tool_call)


class AsyncRecorder(openai.AsyncAssistantEventHandler):
    """Async twin of Recorder."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []

    @override
    async def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    @override
    async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)


TEXT_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.message.created",
    "thread.message.in_progress",
    "thread.message.delta",
    "thread.message.delta",
    "thread.message.delta",
    "thread.message.completed",
    "thread.run.step.completed",
    "thread.run.completed",
]
TOOL_EVENTS = [
    "thread.run.created",
    "thread.run.queued",
    "thread.run.in_progress",
    "thread.run.step.created",
    "thread.run.step.in_progress",
    "thread.run.step.delta",
    "thread.run.requires_action",
]


def test_runs_stream_and_submit_tool_outputs_stream(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """runs.stream stops at requires_action with the tool call; submit_tool_outputs_stream streams
    the answer."""
    backend.add(ModelTurn(tool_calls=[CALL]), ModelTurn(text="it is 42"))
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "6*7?"}])
    handler = Recorder()
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        stream.until_done()
    assert handler.events == TOOL_EVENTS
    run = stream.current_run
    assert run is not None and run.status == "requires_action"
    assert [c.function.name for c in handler.tool_calls] == ["calculator"]
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
    assert handler.tool_calls[0].id == call_id
    second = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": call_id, "output": "42"}],
        event_handler=second,
    ) as stream:
        stream.until_done()
    assert second.events[0] == "thread.run.queued" and second.events[-1] == "thread.run.completed"
    assert "".join(second.deltas) == "it is 42" and second.deltas == ["it ", "is ", "42"]
    assert stream.get_final_messages()[0].content[0].text.value == "it is 42"


def test_create_and_run_stream(client: openai.OpenAI, backend: ScriptedBackend) -> None:
    """create_and_run_stream starts with thread.created and delivers the whole text run."""
    backend.add(ModelTurn(text="one two three"))
    assistant = client.beta.assistants.create(model="m")
    handler = Recorder()
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "count"}]},
        event_handler=handler,
    ) as stream:
        stream.until_done()
    assert handler.events == ["thread.created", *TEXT_EVENTS]
    assert "".join(handler.deltas) == "one two three"
    run = stream.current_run
    assert run is not None and run.status == "completed"
    assert client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id).status == "completed"


def test_async_stream_handler(server: Any, backend: ScriptedBackend) -> None:
    """The async client's runs.stream drives an AsyncAssistantEventHandler to completion."""
    backend.add(ModelTurn(text="async works fine"))

    async def scenario() -> AsyncRecorder:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=server.api_key, max_retries=0
        ) as aclient:
            assistant = await aclient.beta.assistants.create(model="m")
            thread = await aclient.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            handler = AsyncRecorder()
            async with aclient.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                await stream.until_done()
            return handler

    handler = asyncio.run(scenario())
    assert handler.events == TEXT_EVENTS
    assert "".join(handler.deltas) == "async works fine"


def _frames(lines: list[str]) -> list[tuple[str | None, str]]:
    frames, event, data = [], None, []
    for line in lines:
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            data.append(line[len("data: ") :])
        elif line == "" and (event or data):
            frames.append((event, "\n".join(data)))
            event, data = None, []
    return frames


def test_raw_stream_frames_follow_the_spec(
    client: openai.OpenAI, backend: ScriptedBackend, contract: Contract
) -> None:
    """Every frame has an event: line; payloads validate against their schemas; the stream ends with
    done/[DONE]."""
    backend.add(ModelTurn(tool_calls=[CALL]), ModelTurn(text="the answer is 42"))
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "6*7?"}])
    with client.beta.threads.runs.with_streaming_response.create(
        thread.id, assistant_id=assistant.id, stream=True
    ) as response:
        frames = _frames(list(response.iter_lines()))
    assert frames[-1] == ("done", "[DONE]")
    for event, data in frames[:-1]:
        assert event is not None
        contract.check_event(event, json.loads(data))
    run = json.loads(frames[-2][1])
    call_id = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    with client.beta.threads.runs.with_streaming_response.submit_tool_outputs(
        run["id"],
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": call_id, "output": "42"}],
        stream=True,
    ) as response:
        frames = _frames(list(response.iter_lines()))
    assert frames[-1] == ("done", "[DONE]")
    names = [event for event, _ in frames[:-1]]
    assert "thread.message.delta" in names and names[-1] == "thread.run.completed"
    for event, data in frames[:-1]:
        contract.check_event(event, json.loads(data))


def test_a_stream_delivers_every_event_before_the_run_ends(
    start_server: Any, monkeypatch: Any
) -> None:
    """With the idle state check running all the time and many concurrent runs, every
    streamed completed run has its ``thread.message.completed`` before ``thread.run.completed``:
    the state check never ends a stream ahead of the events already published."""
    monkeypatch.setattr("assistant_graph.assistants_server.events.STATE_CHECK_SECONDS", 0)
    server = start_server(offline_latency_ms=2)

    async def one_run(aclient: openai.AsyncOpenAI, assistant_id: str) -> list[str]:
        thread = await aclient.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        handler = AsyncRecorder()
        async with aclient.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant_id, event_handler=handler
        ) as stream:
            await stream.until_done()
        return handler.events

    async def scenario() -> list[list[str]]:
        async with openai.AsyncOpenAI(
            base_url=server.base_url, api_key=server.api_key, max_retries=0
        ) as aclient:
            assistant = await aclient.beta.assistants.create(model="m")
            runs: list[list[str]] = []
            for _ in range(4):
                runs += await asyncio.gather(*(one_run(aclient, assistant.id) for _ in range(16)))
            return runs

    runs = asyncio.run(scenario())
    assert len(runs) == 64
    for events in runs:
        assert events[-1] == "thread.run.completed", events
        assert "thread.message.completed" in events, events
        assert "thread.run.step.completed" in events, events
