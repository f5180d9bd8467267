"""The model backends behind the real server, driven by the real openai SDK over HTTP.

The chat-completions backend talks to the scripted local endpoint; the offline backend runs
the seed's two questions with the project's calculator computing the tool outputs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.tools.calculator import calculate
from fake_chat_completions import FakeChatCompletions

MODEL_KEY = "test-key"
CALCULATOR = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression. Supports sqrt(x).",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
}
TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete", "requires_action"}


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., openai.OpenAI]]:
    """Start an embedded server with the given settings; return an SDK client for it."""
    servers: list[EmbeddedServer] = []
    clients: list[openai.OpenAI] = []

    def start(**settings: Any) -> openai.OpenAI:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path}/a.db",
            "port": 0,
            "log_level": "warning",
        }
        values.update(settings)
        server = EmbeddedServer(ServerSettings(**values)).start()
        servers.append(server)
        client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop()


def settle(client: openai.OpenAI, thread_id: str, run_id: str) -> Any:
    """Poll the run until it stops (or waits for tool outputs)."""
    for _ in range(3000):
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status in TERMINAL:
            return run
        time.sleep(0.01)
    raise AssertionError(f"run {run_id} stayed {run.status}")


def latest_text(client: openai.OpenAI, thread_id: str) -> str:
    (message,) = client.beta.threads.messages.list(thread_id, order="desc", limit=1).data
    assert message.role == "assistant"
    return "".join(part.text.value for part in message.content if part.type == "text")


def test_model_tokens_stream_into_message_deltas(serve):
    """Tokens from the endpoint arrive as thread.message.delta events, in order, then complete."""
    with FakeChatCompletions(api_key=MODEL_KEY) as fake:
        fake.add_text("Paris is the capital.", chunks=["Par", "is", " is the", " capital."])
        client = serve(
            backend="chat-completions", model_base_url=fake.base_url, model_api_key=MODEL_KEY
        )
        assistant = client.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "Capital of France?"}]
        )
        events = list(
            client.beta.threads.runs.create(thread.id, assistant_id=assistant.id, stream=True)
        )
        names = [event.event for event in events]
        deltas = [
            part.text.value
            for event in events
            if event.event == "thread.message.delta"
            for part in event.data.delta.content or []
            if part.type == "text"
        ]
        assert deltas == ["Par", "is", " is the", " capital."]
        assert names[-1] == "thread.run.completed"
        assert latest_text(client, thread.id) == "Paris is the capital."
        (received,) = fake.requests
        assert received.body["messages"] == [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
        ]
        assert received.body["model"] == "gpt-4o"


def test_parallel_tool_calls_round_trip(serve):
    """Parallel tool calls -> requires_action -> both outputs submitted, seen by the model."""
    with FakeChatCompletions() as fake:
        fake.add_tool_calls(
            ("calculator", {"expression": "2+2"}), ("calculator", {"expression": "3*5"})
        )
        fake.add_text("2+2 is 4 and 3*5 is 15.")
        client = serve(
            backend="chat-completions", model_base_url=fake.base_url, model_api_key=MODEL_KEY
        )
        assistant = client.beta.assistants.create(
            model="gpt-4o", tools=[CALCULATOR, {"type": "code_interpreter"}]
        )
        thread = client.beta.threads.create(
            messages=[{"role": "user", "content": "What's 2+2 and 3*5?"}]
        )
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        run = settle(client, thread.id, run.id)
        assert run.status == "requires_action"
        calls = run.required_action.submit_tool_outputs.tool_calls
        assert [c.function.arguments for c in calls] == [
            '{"expression": "2+2"}',
            '{"expression": "3*5"}',
        ]
        outputs = {"2+2": "4", "3*5": "15"}
        run = client.beta.threads.runs.submit_tool_outputs(
            run.id,
            thread_id=thread.id,
            tool_outputs=[
                {
                    "tool_call_id": c.id,
                    "output": outputs[json.loads(c.function.arguments)["expression"]],
                }
                for c in calls
            ],
        )
        run = settle(client, thread.id, run.id)
        assert run.status == "completed"
        assert latest_text(client, thread.id) == "2+2 is 4 and 3*5 is 15."

        first, second = (r.body for r in fake.requests)
        assert [t["function"]["name"] for t in first["tools"]] == ["calculator", "code_interpreter"]
        assert first["parallel_tool_calls"] is True
        assistant_turn, *tool_messages = second["messages"][-3:]
        assert [c["id"] for c in assistant_turn["tool_calls"]] == [c.id for c in calls]
        assert tool_messages == [
            {"role": "tool", "tool_call_id": calls[0].id, "content": "4"},
            {"role": "tool", "tool_call_id": calls[1].id, "content": "15"},
        ]


def test_rejected_model_key_fails_the_run_with_a_clear_error(serve):
    """A 401 from the model endpoint fails the run; last_error says what to fix, not the key."""
    with FakeChatCompletions(api_key="the-right-key") as fake:
        client = serve(
            backend="chat-completions", model_base_url=fake.base_url, model_api_key=MODEL_KEY
        )
        assistant = client.beta.assistants.create(model="gpt-4o")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "Hi"}])
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        run = settle(client, thread.id, run.id)
    assert run.status == "failed"
    assert run.last_error.code == "server_error"
    assert run.last_error.message == (
        f"The model endpoint at {fake.base_url} rejected the API key (401). Check OPENAI_API_KEY."
    )
    assert MODEL_KEY not in run.last_error.message


def test_offline_model_answers_the_seed_questions(serve):
    """Offline (no configuration): the seed's question and follow-up through the calculator."""
    client = serve()
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[CALCULATOR])
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "What's 10 - 4 raised to the 2.7"}]
    )
    answers = []
    for follow_up in (None, "now add 17.241"):
        if follow_up:
            client.beta.threads.messages.create(thread.id, role="user", content=follow_up)
        run = settle(
            client,
            thread.id,
            client.beta.threads.runs.create(thread.id, assistant_id=assistant.id).id,
        )
        assert run.status == "requires_action"
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        expression = json.loads(call.function.arguments)["expression"]
        run = client.beta.threads.runs.submit_tool_outputs(
            run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call.id, "output": calculate(expression)}],
        )
        assert settle(client, thread.id, run.id).status == "completed"
        answers.append((expression, latest_text(client, thread.id)))

    first_result = calculate("10 - 4 ** 2.7")
    second_expression = f"({first_result}) + 17.241"
    assert answers == [
        ("10 - 4 ** 2.7", f"10 - 4 ** 2.7 = {first_result}"),
        (second_expression, f"{second_expression} = {calculate(second_expression)}"),
    ]
