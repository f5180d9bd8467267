"""Keyed streaming requests record their run on the key in the run's own transaction.

A streamed run creation or tool-output submission with an ``Idempotency-Key`` stores the run on
the key (state ``stream``) together with the run itself, so a repeat streams that run as it is
now instead of starting a second run or submitting again.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import openai
from scripted_backend import ScriptedBackend
from server_helpers import CALCULATOR_TOOL

from assistants_server.backends.base import ModelTurn, ToolCallRequest


def _key_rows(database_url: str) -> dict[str, tuple[str, str | None]]:
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT key, state, run_id FROM idempotency_keys").fetchall()
    conn.close()
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
