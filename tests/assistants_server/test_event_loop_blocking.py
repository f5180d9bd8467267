"""The server never blocks its event loop: a full session passes under blockbuster.

``langgraph dev`` activates blockbuster process-wide; it raises ``BlockingError`` when a
blocking call (sync SQLite, ``time.sleep``, blocking file or socket I/O) runs inside any
running event loop — including the embedded server's loop thread. Here blockbuster's default
(strictest) rule set is active while the embedded server starts, serves a streamed run with
tool calls, idempotent replays, listings, a cancel and a shutdown. Any blocking call would
surface as a 500 response, a failed run or an error log record.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from blockbuster import BlockingError, blockbuster_ctx
from scripted_backend import HOLD, ScriptedBackend
from server_helpers import CALCULATOR_TOOL, make_client, wait_for_status


@pytest.fixture
def blockbuster() -> Iterator[None]:
    """Blockbuster's default rules, active for the whole test (server start to stop)."""
    with blockbuster_ctx():
        yield


@pytest.fixture
def server_errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[str]]:
    """Error records the server (or uvicorn) logged during the test."""
    caplog.set_level(logging.ERROR)

    def errors() -> list[str]:
        return [
            f"{r.name}: {r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if r.levelno >= logging.ERROR
        ]

    return errors


def test_blockbuster_catches_sync_sqlite_in_an_event_loop(
    blockbuster: None, tmp_path: Path
) -> None:
    """The detector is active here: sync SQLite inside a running loop raises BlockingError."""

    async def blocking_query() -> None:
        with sqlite3.connect(tmp_path / "x.sqlite3") as conn:
            conn.execute("SELECT 1")

    with pytest.raises(BlockingError):
        asyncio.run(blocking_query())


def test_full_session_under_blockbuster(
    blockbuster: None,
    start_server: Callable[..., EmbeddedServer],
    server_errors: Callable[[], list[str]],
) -> None:
    """Streamed run with parallel tool calls, submit, idempotent replays, lists, cancel, stop."""
    backend = ScriptedBackend(
        ModelTurn(
            tool_calls=[
                ToolCallRequest("calculator", '{"expression": "1+1"}'),
                ToolCallRequest("calculator", '{"expression": "2*3"}'),
            ]
        ),
        ModelTurn(text="The answers are 2 and 6."),
        HOLD,
    )
    server = start_server(backend=backend)
    client = make_client(server)
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    thread = client.beta.threads.create()
    headers = {"Idempotency-Key": "blockbuster-message"}
    message = client.beta.threads.messages.create(
        thread.id, role="user", content="1+1 and 2*3?", extra_headers=headers
    )
    replayed = client.beta.threads.messages.create(
        thread.id, role="user", content="1+1 and 2*3?", extra_headers=headers
    )
    assert replayed.id == message.id

    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        extra_headers={"Idempotency-Key": "blockbuster-run"},
    ) as stream:
        first_events = [event.event for event in stream]
        run = stream.current_run
    assert run is not None and run.status == "requires_action"
    assert first_events[-1] == "thread.run.requires_action"
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert len(calls) == 2

    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[
            {"tool_call_id": calls[0].id, "output": "2"},
            {"tool_call_id": calls[1].id, "output": "6"},
        ],
    ) as stream:
        second_events = [event.event for event in stream]
        final = stream.current_run
    assert final is not None and final.status == "completed"
    assert "thread.message.delta" in second_events
    assert second_events[-1] == "thread.run.completed"

    # The repeated streaming request replays the existing (now completed) run.
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        extra_headers={"Idempotency-Key": "blockbuster-run"},
    ) as stream:
        replay_events = [event.event for event in stream]
        assert stream.current_run is not None and stream.current_run.id == run.id
    assert replay_events == ["thread.run.completed"]

    messages = client.beta.threads.messages.list(thread.id, order="asc")
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages.data[1].content[0].text.value == "The answers are 2 and 6."
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    assert sorted(s.type for s in steps) == ["message_creation", "tool_calls"]

    # A run held in the model, cancelled: the cancel path runs on the loop too.
    client.beta.threads.messages.create(thread.id, role="user", content="wait")
    held = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    wait_for_status(client, thread.id, held.id, {"in_progress"})
    client.beta.threads.runs.cancel(held.id, thread_id=thread.id)
    wait_for_status(client, thread.id, held.id, {"cancelled"})

    server.stop()  # graceful shutdown (worker stop, store close) under blockbuster as well
    assert server_errors() == []


def test_offline_model_run_under_blockbuster(
    blockbuster: None,
    start_server: Callable[..., EmbeddedServer],
    server_errors: Callable[[], list[str]],
) -> None:
    """The zero-configuration setup (offline model) answers a tool round trip without blocking."""
    server = start_server()  # default backend: the offline model
    client = make_client(server)
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "What is 6 times 7?"}]},
        poll_interval_ms=10,
    )
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "42"}],
        poll_interval_ms=10,
    )
    assert run.status == "completed"
    answer = client.beta.threads.messages.list(run.thread_id, run_id=run.id).data[0]
    assert "42" in answer.content[0].text.value
    server.stop()
    assert server_errors() == []
