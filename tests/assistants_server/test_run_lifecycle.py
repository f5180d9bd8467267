"""Run status transitions, expiry, cancellation in every active state, failures and
active-run rules."""

from __future__ import annotations

import re
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.backends.base import (
    ModelError,
    ModelTurn,
    ToolCallRequest,
    Usage,
)
from scripted_backend import HOLD, ScriptedBackend
from server_helpers import CALCULATOR_TOOL, sdk_client, wait_for_status


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


CALL = ToolCallRequest("calculator", '{"expression": "6*7"}')


def _run(client: openai.OpenAI, assistant: Any, text: str = "go") -> tuple[str, Any]:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": text}])
    return thread.id, client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)


def test_completed_run_records_steps_message_and_usage(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """queued → in_progress → completed; one message_creation step; usage summed."""
    backend.add(ModelTurn(text="forty two", usage=Usage(3, 2)))
    thread_id, run = _run(client, assistant)
    assert run.status == "queued"
    done = wait_for_status(client, thread_id, run.id, {"completed"})
    assert done.started_at is not None and done.completed_at is not None
    assert done.usage.prompt_tokens == 3 and done.usage.completion_tokens == 2
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [(s.type, s.status, s.usage.total_tokens) for s in steps] == [
        ("message_creation", "completed", 5)
    ]
    message = client.beta.threads.messages.retrieve(
        steps[0].step_details.message_creation.message_id, thread_id=thread_id
    )
    assert (
        message.run_id == run.id
        and message.assistant_id == assistant.id
        and message.content[0].text.value == "forty two"
    )


def test_requires_action_then_submit_completes(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """requires_action with a call_ id → submit every output → queued → completed."""
    backend.add(ModelTurn(tool_calls=[CALL]), ModelTurn(text="42"))
    thread_id, run = _run(client, assistant)
    waiting = wait_for_status(client, thread_id, run.id, {"requires_action"})
    assert waiting.expires_at is not None
    call_id = waiting.required_action.submit_tool_outputs.tool_calls[0].id
    after = client.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": call_id, "output": "42"}]
    )
    assert after.status in {"queued", "in_progress", "completed"} and after.required_action is None
    assert wait_for_status(client, thread_id, run.id, {"completed"}).status == "completed"


def test_requires_action_expires_after_configured_time(
    start_server: Any, backend: ScriptedBackend
) -> None:
    """With run_expiry_seconds=1 a waiting run becomes expired, its step expired, and the thread is
    free."""
    server = start_server(backend=backend, run_expiry_seconds=1)
    client = sdk_client(server.base_url, server.api_key)
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    backend.add(ModelTurn(tool_calls=[CALL]))
    thread_id, run = _run(client, assistant)
    wait_for_status(client, thread_id, run.id, {"requires_action"})
    expired = wait_for_status(client, thread_id, run.id, {"expired"})
    assert expired.required_action is None
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert [s.status for s in steps] == ["expired"] and steps[0].expired_at is not None
    with pytest.raises(
        openai.BadRequestError,
        match=re.escape('Runs in status "expired" do not accept tool outputs.'),
    ):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": "call_x", "output": "1"}]
        )
    client.beta.threads.messages.create(thread_id, role="user", content="still here")


@pytest.mark.parametrize("state", ["queued", "in_progress", "requires_action"])
def test_cancel_in_every_active_state(start_server: Any, state: str) -> None:
    """cancel → cancelling → cancelled from queued, in_progress (model call abandoned) and
    requires_action."""
    backend = ScriptedBackend(HOLD if state != "requires_action" else ModelTurn(tool_calls=[CALL]))
    server = start_server(backend=backend)
    client = sdk_client(server.base_url, server.api_key)
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    if state == "queued":
        # A queued run: cancelled by the same request cycle that created it (before the worker
        # starts).
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        assert cancelling.status in {"cancelling", "cancelled"}
    else:
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        if state == "in_progress":
            assert backend.call_started.wait(10)
        wait_for_status(client, thread.id, run.id, {state})
        cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        assert cancelling.status == "cancelling"
    cancelled = wait_for_status(client, thread.id, run.id, {"cancelled"})
    assert cancelled.cancelled_at is not None
    if state == "in_progress":
        assert backend.cancelled_calls == 1
    for step in client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data:
        assert step.status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    client.beta.threads.messages.create(thread.id, role="user", content="thread is free again")


def test_model_error_fails_run_with_last_error(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """A ModelError ends the run failed with last_error {code, message}."""
    backend.add(ModelError("upstream overloaded", code="rate_limit_exceeded"))
    thread_id, run = _run(client, assistant)
    failed = wait_for_status(client, thread_id, run.id, {"failed"})
    assert (
        failed.last_error.code == "rate_limit_exceeded"
        and failed.last_error.message == "upstream overloaded"
    )
    assert failed.failed_at is not None


def test_unsupported_builtin_tool_call_fails_run_clearly(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """A code_interpreter call the backend cannot execute fails the run, naming the tool and
    backend."""
    backend.add(
        ModelTurn(tool_calls=[ToolCallRequest("code_interpreter", "{}", type="code_interpreter")])
    )
    thread_id, run = _run(client, assistant)
    failed = wait_for_status(client, thread_id, run.id, {"failed"})
    assert (
        "code_interpreter tool, which this server's scripted backend cannot execute"
        in failed.last_error.message
    )


def test_tool_choice_forcing_unsupported_builtin_fails(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """tool_choice forcing code_interpreter fails before any model call."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    run = client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, tool_choice={"type": "code_interpreter"}
    )
    failed = wait_for_status(client, thread.id, run.id, {"failed"})
    assert (
        "forces the code_interpreter tool" in failed.last_error.message and backend.requests == []
    )


def test_incomplete_turn_marks_run_and_message_incomplete(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """ModelTurn.incomplete_reason → run incomplete with incomplete_details; message incomplete."""
    backend.add(ModelTurn(text="partial", incomplete_reason="max_completion_tokens"))
    thread_id, run = _run(client, assistant)
    incomplete = wait_for_status(client, thread_id, run.id, {"incomplete"})
    assert incomplete.incomplete_details.reason == "max_completion_tokens"
    message = client.beta.threads.messages.list(thread_id, run_id=run.id).data[0]
    assert message.status == "incomplete" and message.incomplete_details.reason == "max_tokens"


def test_active_run_blocks_messages_and_runs(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """While a run waits for tool outputs the thread refuses new messages and runs (upstream
    wording)."""
    backend.add(ModelTurn(tool_calls=[CALL]))
    thread_id, run = _run(client, assistant)
    wait_for_status(client, thread_id, run.id, {"requires_action"})
    with pytest.raises(openai.BadRequestError) as message_error:
        client.beta.threads.messages.create(thread_id, role="user", content="more")
    assert (
        message_error.value.body["message"]
        == f"Can't add messages to {thread_id} while a run {run.id} is active."
    )
    with pytest.raises(openai.BadRequestError) as run_error:
        client.beta.threads.runs.create(thread_id, assistant_id=assistant.id)
    assert (
        run_error.value.body["message"] == f"Thread {thread_id} already has an active run {run.id}."
    )
    assert len(client.beta.threads.messages.list(thread_id).data) == 1
    assert len(client.beta.threads.runs.list(thread_id).data) == 1


def test_submit_rules(client: openai.OpenAI, backend: ScriptedBackend, assistant: Any) -> None:
    """Submits must cover every pending id, name only pending ids, and target a waiting run."""
    backend.add(ModelTurn(tool_calls=[CALL, ToolCallRequest("calculator", '{"expression": "1"}')]))
    thread_id, run = _run(client, assistant)
    waiting = wait_for_status(client, thread_id, run.id, {"requires_action"})
    ids = [c.id for c in waiting.required_action.submit_tool_outputs.tool_calls]
    with pytest.raises(
        openai.BadRequestError, match="Submit one output for every pending tool call"
    ):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": ids[0], "output": "1"}]
        )
    with pytest.raises(openai.BadRequestError, match="No tool call found with id 'call_nope'"):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": "call_nope", "output": "1"}]
        )
    assert (
        client.beta.threads.runs.retrieve(run.id, thread_id=thread_id).status == "requires_action"
    )
    client.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": i, "output": "1"} for i in ids]
    )
    wait_for_status(client, thread_id, run.id, {"completed"})
    with pytest.raises(
        openai.BadRequestError,
        match=re.escape('Runs in status "completed" do not accept tool outputs.'),
    ):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": ids[0], "output": "1"}]
        )
