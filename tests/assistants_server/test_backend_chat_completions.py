"""The chat-completions backend over real HTTP against a scripted local endpoint.

The endpoint (``fake_chat_completions.FakeChatCompletions``) answers in the official wire
format; the backend talks to it through the openai SDK exactly as it would to OpenAI.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from assistant_graph.assistants_server.backends import (
    ChatCompletionsBackend,
    ModelError,
    ModelRequest,
    ModelTurn,
    ToolCallRequest,
    Usage,
)
from fake_chat_completions import FakeChatCompletions, Reply, ScriptedToolCall

KEY = "sk-test-0123456789abcdef"
CALCULATOR = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate arithmetic.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
}
CONVERSATION = [
    {"role": "system", "content": "You are a personal math tutor."},
    {"role": "user", "content": "What's 2+2?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "calculator", "arguments": '{"expression": "2+2"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "4"},
]


@pytest.fixture
def fake() -> Iterator[FakeChatCompletions]:
    with FakeChatCompletions() as endpoint:
        yield endpoint


def request(**fields: Any) -> ModelRequest:
    values: dict[str, Any] = {
        "model": "test-model",
        "messages": [{"role": "user", "content": "Hello"}],
    }
    values.update(fields)
    return ModelRequest(**values)


def call(
    base_url: str, model_request: ModelRequest, *, api_key: str = KEY, **options: Any
) -> tuple[ModelTurn, list[str]]:
    """One model call on a fresh backend (closed afterwards); returns the turn and text deltas."""
    deltas: list[str] = []

    async def on_delta(text: str) -> None:
        deltas.append(text)

    async def scenario() -> ModelTurn:
        backend = ChatCompletionsBackend(base_url, api_key, **options)
        try:
            return await backend.complete(model_request, on_delta)
        finally:
            await backend.aclose()

    return asyncio.run(scenario()), deltas


def failure(base_url: str, model_request: ModelRequest, **options: Any) -> ModelError:
    with pytest.raises(ModelError) as caught:
        call(base_url, model_request, **options)
    return caught.value


# -- what is sent --------------------------------------------------------------------------


def test_request_carries_the_conversation_and_function_tools_only(fake):
    """Messages go as given; function tools as declared; sampling options and auth are sent."""
    fake.add_text("2+2 is 4.")
    call(
        fake.base_url,
        request(
            messages=CONVERSATION,
            tools=[CALCULATOR],
            temperature=0.2,
            top_p=0.9,
            max_completion_tokens=50,
            parallel_tool_calls=False,
            tool_choice="auto",
        ),
    )
    (received,) = fake.requests
    body = received.body
    assert received.path == "/v1/chat/completions"
    assert received.headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == "test-model"
    assert body["messages"] == CONVERSATION
    assert body["tools"] == [CALCULATOR]
    assert body["parallel_tool_calls"] is False
    assert (body["temperature"], body["top_p"], body["max_completion_tokens"]) == (0.2, 0.9, 50)
    assert body["tool_choice"] == "auto"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_without_tools_no_tool_fields_are_sent(fake):
    """No tools: no tools, parallel_tool_calls or tool_choice in the body."""
    fake.add_text("Hi.")
    call(fake.base_url, request(tool_choice="required"))
    body = fake.requests[0].body
    assert not {"tools", "parallel_tool_calls", "tool_choice", "temperature"} & set(body)


def test_code_interpreter_is_offered_as_a_function_and_its_calls_map_back(fake):
    """With the server executing code_interpreter, the model gets it as a documented function
    (a ``code`` parameter), tool_choice forcing it names that function, and the model's call
    comes back as a code_interpreter call."""
    fake.add_tool_calls(("code_interpreter", {"code": "print(6 * 7)"}), ("calculator", "{}"))
    turn, _ = call(
        fake.base_url,
        request(
            tools=[CALCULATOR, {"type": "code_interpreter"}],
            tool_choice={"type": "code_interpreter"},
        ),
        builtin_tools=frozenset({"code_interpreter"}),
    )
    body = fake.requests[0].body
    offered = body["tools"][1]["function"]
    assert body["tools"][0] == CALCULATOR
    assert offered["name"] == "code_interpreter" and "/mnt/data" in offered["description"]
    assert offered["parameters"]["required"] == ["code"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "code_interpreter"}}
    assert turn.tool_calls == [
        ToolCallRequest("code_interpreter", '{"code": "print(6 * 7)"}', type="code_interpreter"),
        ToolCallRequest("calculator", "{}"),
    ]


@pytest.mark.parametrize("builtin", ["code_interpreter", "file_search"])
def test_a_builtin_tool_the_server_cannot_execute_fails_the_call(fake, builtin):
    """A built-in tool the server does not execute is never dropped silently: the call fails
    naming it (invalid_prompt) and nothing is sent."""
    with pytest.raises(ModelError) as caught:
        call(fake.base_url, request(tools=[CALCULATOR, {"type": builtin}]))
    assert caught.value.code == "invalid_prompt"
    assert f"has the {builtin} tool, which this server cannot execute" in caught.value.message
    assert fake.requests == []


def test_default_model_replaces_an_empty_model(fake):
    """A run without a model uses default_model; with neither, no request is made."""
    fake.add_text("Hi.")
    call(fake.base_url, request(model=""), default_model="llama3.2")
    assert fake.requests[0].body["model"] == "llama3.2"
    error = failure(fake.base_url, request(model=""))
    assert error.code == "invalid_prompt" and "ASSISTANTS_SERVER_DEFAULT_MODEL" in error.message
    assert len(fake.requests) == 1


# -- what comes back -----------------------------------------------------------------------


def test_text_is_streamed_as_it_arrives(fake):
    """Each streamed content delta reaches on_text_delta; usage comes from the usage chunk."""
    fake.add_text("Hello world, friend", chunks=["Hel", "lo", " world", ",", " friend"])
    turn, deltas = call(fake.base_url, request())
    assert deltas == ["Hel", "lo", " world", ",", " friend"]
    assert turn.text == "Hello world, friend"
    assert turn.tool_calls == []
    assert turn.incomplete_reason is None
    assert turn.usage == Usage(prompt_tokens=1, completion_tokens=3)


def test_parallel_tool_calls_are_accumulated_from_deltas(fake):
    """Argument pieces of several streamed tool calls are joined per call, in order."""
    first = json.dumps({"expression": "10 - 4 ** 2.7"})
    second = json.dumps({"expression": "(3 + 5) * 12.5"})
    fake.add_tool_calls(("calculator", first), ("calculator", second))
    turn, deltas = call(fake.base_url, request(tools=[CALCULATOR]))
    assert turn.tool_calls == [
        ToolCallRequest(name="calculator", arguments=first),
        ToolCallRequest(name="calculator", arguments=second),
    ]
    assert turn.text == "" and deltas == []


def test_tolerates_missing_ids_null_content_and_no_usage(fake):
    """Tool calls without ids, content null and no usage chunk still make a turn."""
    fake.add(
        Reply(
            tool_calls=[
                ScriptedToolCall("calculator", '{"expression": "1+1"}', id=None),
                ScriptedToolCall("calculator", '{"expression": "2+2"}', id=None),
            ],
            include_usage=False,
        )
    )
    turn, _ = call(fake.base_url, request(tools=[CALCULATOR]))
    assert [call.arguments for call in turn.tool_calls] == [
        '{"expression": "1+1"}',
        '{"expression": "2+2"}',
    ]
    assert turn.usage == Usage()


def test_finish_reason_length_means_incomplete(fake):
    """finish_reason "length" becomes incomplete_reason "max_completion_tokens"."""
    fake.add(Reply(text="This answer was cut", finish_reason="length"))
    turn, _ = call(fake.base_url, request(max_completion_tokens=4))
    assert turn.incomplete_reason == "max_completion_tokens"
    assert turn.text == "This answer was cut"


# -- failures ------------------------------------------------------------------------------


def test_server_errors_and_rate_limits_are_retried(fake):
    """A 500 and a 429 are retried by the SDK; the third attempt's answer is returned."""
    fake.add_error(500).add_error(429).add_text("Finally.")
    turn, _ = call(fake.base_url, request(), max_retries=2)
    assert turn.text == "Finally."
    assert len(fake.requests) == 3


def test_server_error_after_retries_names_status_and_endpoint(fake):
    """Persistent 5xx: a server_error that names the status, the endpoint and the retries."""
    for _ in range(3):
        fake.add_error(503, message="Upstream overloaded")
    error = failure(fake.base_url, request(), max_retries=2)
    assert error.code == "server_error"
    assert "HTTP 503" in error.message and fake.base_url in error.message
    assert "after 2 retries" in error.message and "Upstream overloaded" in error.message
    assert len(fake.requests) == 3


def test_rate_limit_after_retries(fake):
    """Persistent 429: rate_limit_exceeded, saying what to do."""
    fake.add_error(429, message="Rate limit reached").add_error(429, message="Rate limit reached")
    error = failure(fake.base_url, request(), max_retries=1)
    assert error.code == "rate_limit_exceeded"
    assert "429" in error.message and "Rate limit reached" in error.message
    assert len(fake.requests) == 2


def test_rejected_key_gives_a_helpful_error_without_the_key(caplog):
    """401: the message names the endpoint and OPENAI_API_KEY; the key is in no message or log."""
    caplog.set_level(logging.DEBUG)
    with FakeChatCompletions(api_key="the-right-key") as endpoint:
        error = failure(endpoint.base_url, request())
        assert error.message == (
            f"The model endpoint at {endpoint.base_url} rejected the API "
            "key (401). Check OPENAI_API_KEY."
        )
        assert len(endpoint.requests) == 1  # not retried
    assert KEY not in error.message
    assert KEY not in caplog.text
    assert "rejected the API key" in caplog.text


def test_endpoint_messages_are_redacted(fake):
    """An endpoint message repeating the configured key, or any sk- key, is passed on masked."""
    local_key = "local-secret-token-42"
    fake.add_error(403, message=f"Key {local_key} may not use model test-model")
    fake.add_error(403, message="Key sk-proj-abcdef0123456789 is disabled")
    first = failure(fake.base_url, request(), api_key=local_key)
    second = failure(fake.base_url, request(), api_key=local_key)
    assert local_key not in first.message
    assert "may not use model test-model" in first.message
    assert "sk-proj-abcdef0123456789" not in second.message and "is disabled" in second.message


def test_timeout_gives_a_server_error_naming_the_timeout(fake):
    """An endpoint slower than the timeout: retried, then server_error naming URL and timeout."""
    fake.add_text("late", delay_seconds=5).add_text("late", delay_seconds=5)
    error = failure(fake.base_url, request(), timeout_seconds=0.3, max_retries=1)
    assert error.code == "server_error"
    assert "did not respond within 0.3 s" in error.message
    assert fake.base_url in error.message and "ASSISTANTS_SERVER_MODEL_TIMEOUT" in error.message
    assert len(fake.requests) == 2


def test_unreachable_endpoint():
    """Nothing listening: a server_error saying it could not connect and what to check."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = failure(f"http://127.0.0.1:{port}/v1", request(), max_retries=0)
    assert error.code == "server_error"
    assert f"Could not connect to the model endpoint at http://127.0.0.1:{port}/v1" in error.message
    assert "OPENAI_BASE_URL" in error.message


def test_bad_request_is_invalid_prompt(fake):
    """400: invalid_prompt carrying the endpoint's message."""
    fake.add_error(400, message="This model's maximum context length is 8192 tokens.")
    error = failure(fake.base_url, request())
    assert error.code == "invalid_prompt"
    assert "maximum context length is 8192 tokens" in error.message


def test_unknown_model_names_the_model(fake):
    """404 for a model: invalid_prompt naming the model and how to choose another."""
    fake.add_error(404, message="The model `gpt-4o` does not exist.", error_code="model_not_found")
    error = failure(fake.base_url, request(model="gpt-4o"))
    assert error.code == "invalid_prompt"
    assert "'gpt-4o'" in error.message and "ASSISTANTS_SERVER_DEFAULT_MODEL" in error.message


def test_unknown_model_falls_back_to_the_default_model(fake):
    """With default_model set, a model the endpoint does not know is replaced, and remembered."""
    fake.add_error(404, message='model "gpt-4o" not found, try pulling it first')
    fake.add_text("First.").add_text("Second.")

    async def scenario() -> list[str]:
        backend = ChatCompletionsBackend(fake.base_url, "", default_model="llama3.2")
        try:
            first = await backend.complete(request(model="gpt-4o"))
            second = await backend.complete(request(model="gpt-4o"))
            return [first.text, second.text]
        finally:
            await backend.aclose()

    assert asyncio.run(scenario()) == ["First.", "Second."]
    assert [r.body["model"] for r in fake.requests] == ["gpt-4o", "llama3.2", "llama3.2"]
    assert fake.requests[0].headers["authorization"] == "Bearer no-key"


def test_wrong_path_points_at_the_base_url(fake):
    """A 404 that is not about a model suggests checking OPENAI_BASE_URL (usually .../v1)."""
    fake.add_error(404, message="404 page not found")
    error = failure(fake.base_url, request())
    assert "OPENAI_BASE_URL" in error.message and "/v1" in error.message


def test_error_in_the_middle_of_a_stream(fake):
    """An error event inside the stream fails the call after the text already streamed."""
    fake.add(Reply(text="Partial answer", stream_error="The engine crashed."))
    deltas: list[str] = []

    async def scenario() -> None:
        async def on_delta(text: str) -> None:
            deltas.append(text)

        backend = ChatCompletionsBackend(fake.base_url, KEY)
        try:
            await backend.complete(request(), on_delta)
        finally:
            await backend.aclose()

    with pytest.raises(ModelError) as caught:
        asyncio.run(scenario())
    assert "The engine crashed." in caught.value.message
    assert "".join(deltas) == "Partial answer"


def test_backend_identity_and_close(fake):
    """The backend names itself, offers the built-ins it has a function for, hides its key and
    closes its client."""

    async def scenario() -> bool:
        backend = ChatCompletionsBackend(fake.base_url, KEY)
        assert backend.name == "chat-completions"
        assert backend.supported_builtin_tools == frozenset()
        interpreting = ChatCompletionsBackend(
            fake.base_url, KEY, builtin_tools=frozenset({"code_interpreter", "file_search", "x"})
        )
        assert interpreting.supported_builtin_tools == frozenset(
            {"code_interpreter", "file_search"}
        )
        await interpreting.aclose()
        assert KEY not in repr(backend)
        await backend.aclose()
        return backend._client.is_closed()

    assert asyncio.run(scenario())


def test_a_call_in_flight_can_be_cancelled(fake):
    """Cancelling the task of a model call waiting on a slow endpoint ends it promptly."""
    fake.add_text("too late", delay_seconds=60)

    async def scenario() -> bool:
        backend = ChatCompletionsBackend(fake.base_url, KEY, timeout_seconds=120)
        try:
            task = asyncio.create_task(backend.complete(request()))
            while not fake.requests:
                await asyncio.sleep(0.01)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=30)
            return task in done and task.cancelled()
        finally:
            await backend.aclose()

    assert asyncio.run(scenario())
