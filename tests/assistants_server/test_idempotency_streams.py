"""Keyed run requests claim their key in the run's own transaction.

A streamed run creation or tool-output submission with an ``Idempotency-Key`` claims the key and
stores the run on it (state ``stream``) in the transaction that creates or re-queues the run, so
a repeat streams that run as it is now instead of starting a second run or submitting again,
and a clash leaves nothing behind.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest
from scripted_backend import Gate, ScriptedBackend
from server_helpers import CALCULATOR_TOOL, query


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


def _key_rows(database_url: str) -> dict[str, tuple[str, str | None]]:
    rows = query(database_url, "SELECT key, state, run_id FROM idempotency_keys")
    return {key: (state, run_id) for key, state, run_id in rows}


def test_a_repeated_streamed_submit_streams_the_run_instead_of_submitting_again(
    client: openai.OpenAI, backend: ScriptedBackend, database_url: str
) -> None:
    """The key of a streamed submit holds the run; its repeat gets the run's current state."""
    backend.add(
        ModelTurn(tool_calls=[ToolCallRequest("calculator", '{"expression": "1+1"}')]),
        ModelTurn(text="2"),
    )
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "1+1?"}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers={"Idempotency-Key": "c"}
    ) as stream:
        stream.until_done()
    run = stream.current_run
    assert run is not None and run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    outputs: Any = [{"tool_call_id": call.id, "output": "2"}]
    submit_headers = {"Idempotency-Key": "s"}
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id, thread_id=thread.id, tool_outputs=outputs, extra_headers=submit_headers
    ) as first:
        first.until_done()
    assert first.current_run is not None and first.current_run.status == "completed"
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id, thread_id=thread.id, tool_outputs=outputs, extra_headers=submit_headers
    ) as again:
        events = [event.event for event in again]

    assert events == ["thread.run.completed"]
    assert _key_rows(database_url) == {"c": ("stream", run.id), "s": ("stream", run.id)}
    assert len(backend.requests) == 2, "the repeat did not make the model run again"


def test_a_refused_streamed_submit_is_remembered_as_its_error(
    client: openai.OpenAI, backend: ScriptedBackend, database_url: str
) -> None:
    """A streamed submit refused with 400 records the error, not a stream; a repeat gets it."""
    backend.add(ModelTurn(text="no tools needed"))
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
        s.until_done()
    run = s.current_run
    assert run is not None and run.status == "completed"
    errors = []
    for _ in range(2):
        try:
            with client.beta.threads.runs.submit_tool_outputs_stream(
                run_id=run.id,
                thread_id=thread.id,
                tool_outputs=[{"tool_call_id": "call_x", "output": "1"}],
                extra_headers={"Idempotency-Key": "late"},
            ) as stream:
                stream.until_done()
        except openai.BadRequestError as exc:
            errors.append(exc)
    assert len(errors) == 2
    assert errors[1].response.headers.get("idempotent-replayed") == "true"
    assert _key_rows(database_url) == {"late": ("done", None)}


def _count(database_url: str, table: str) -> int:
    [(count,)] = query(database_url, f"SELECT COUNT(*) FROM {table}")
    return int(count)


def test_a_streamed_run_request_reusing_a_key_with_another_body_creates_nothing(
    client: openai.OpenAI, backend: ScriptedBackend, database_url: str
) -> None:
    """The key is claimed inside the run's transaction: a clash rolls all of it back."""
    backend.add(ModelTurn(text="first"))
    assistant = client.beta.assistants.create(model="m")
    headers = {"Idempotency-Key": "shared"}
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant.id,
        thread={"messages": [{"role": "user", "content": "one"}]},
        extra_headers=headers,
    ) as stream:
        stream.until_done()
    counts = {table: _count(database_url, table) for table in ("threads", "messages", "runs")}

    with pytest.raises(openai.BadRequestError) as info:
        with client.beta.threads.create_and_run_stream(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "two"}]},
            extra_headers=headers,
        ) as again:
            again.until_done()

    assert info.value.code == "idempotency_key_reused"
    assert {table: _count(database_url, table) for table in counts} == counts
    assert len(backend.requests) == 1


def test_identical_streamed_run_requests_at_once_start_one_run(
    client: openai.OpenAI, backend: ScriptedBackend, database_url: str
) -> None:
    """Two copies of a keyed streamed create-and-run sent together stream the same run."""
    gate = Gate(ModelTurn(text="only once"))
    backend.add(gate)
    assistant = client.beta.assistants.create(model="m")

    def send() -> str:
        with client.beta.threads.create_and_run_stream(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "hello"}]},
            extra_headers={"Idempotency-Key": "twice"},
        ) as stream:
            stream.until_done()
        assert stream.current_run is not None
        assert stream.current_run.status == "completed"
        return stream.current_run.id

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(send) for _ in range(2)]
        assert backend.call_started.wait(10)
        gate.open()
        run_ids = {future.result(timeout=30) for future in futures}

    assert len(run_ids) == 1
    assert _count(database_url, "runs") == 1 and _count(database_url, "threads") == 1
    assert len(backend.requests) == 1
