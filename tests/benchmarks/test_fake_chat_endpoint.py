"""The benchmarks' fake Chat Completions endpoint plays the benchmark conversation.

Driven with the real ``openai`` SDK over HTTP against the endpoint's own child process: two
calculator calls, then the answer, decided by the request alone (so concurrent conversations
cannot disturb each other), each call waiting the latency named in the base URL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import openai
import pytest

from benchmarks.conversation import ANSWER, QUESTION, TOOL_ROUNDS
from benchmarks.fake_chat_endpoint import API_KEY, MODEL, FakeChatEndpoint, fake_chat_endpoint


@pytest.fixture(scope="module")
def endpoint() -> Iterator[FakeChatEndpoint]:
    """The endpoint's child process."""
    with fake_chat_endpoint() as running:
        yield running


def _stream(client: openai.OpenAI, messages: list[dict]) -> tuple[str, list[dict], float]:
    """(text, tool calls, seconds to the first chunk) of one streamed call."""
    start = time.perf_counter()
    first = None
    text, calls = "", {}
    stream = client.chat.completions.create(
        model=MODEL, messages=messages, stream=True, stream_options={"include_usage": True}
    )
    for chunk in stream:
        first = time.perf_counter() - start if first is None else first
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": call.id, "arguments": ""})
                if call.function and call.function.name:
                    entry["name"] = call.function.name
                entry["arguments"] += (call.function and call.function.arguments) or ""
    return text, [calls[i] for i in sorted(calls)], first or 0.0


def test_two_calculator_rounds_then_the_answer(endpoint: FakeChatEndpoint) -> None:
    """No tool result yet → first calculator call; one → second; two → the answer text."""
    with openai.OpenAI(base_url=endpoint.base_url(0), api_key=API_KEY) as client:
        _play(client)


def _play(client: openai.OpenAI) -> None:
    messages: list[dict] = [{"role": "user", "content": QUESTION}]
    for arguments in TOOL_ROUNDS:
        text, calls, _ = _stream(client, messages)
        assert text == ""
        assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [
            ("calculator", arguments)
        ]
        call_id = calls[0]["id"]
        assert call_id
        messages += [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "calculator", "arguments": calls[0]["arguments"]},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": "42"},
        ]
    text, calls, _ = _stream(client, messages)
    assert (text, calls) == (ANSWER, [])
    completion = client.chat.completions.create(model=MODEL, messages=messages)
    assert completion.choices[0].message.content == ANSWER


def test_a_new_user_message_starts_the_script_again(endpoint: FakeChatEndpoint) -> None:
    """Tool results before the latest user message belong to an earlier turn."""
    earlier = [
        {"role": "user", "content": QUESTION},
        {"role": "tool", "tool_call_id": "call_1", "content": "42"},
        {"role": "tool", "tool_call_id": "call_2", "content": "43"},
        {"role": "assistant", "content": ANSWER},
    ]
    with openai.OpenAI(base_url=endpoint.base_url(0), api_key=API_KEY) as client:
        text, calls, _ = _stream(client, [*earlier, {"role": "user", "content": QUESTION}])
    assert text == "" and json.loads(calls[0]["arguments"]) == TOOL_ROUNDS[0]


def test_each_call_waits_the_latency_in_its_base_url(endpoint: FakeChatEndpoint) -> None:
    """With ``/latency/300/v1`` the first chunk comes no sooner than 300 ms after the call."""
    with openai.OpenAI(base_url=endpoint.base_url(300), api_key=API_KEY) as client:
        _, _, first_chunk = _stream(client, [{"role": "user", "content": QUESTION}])
    assert first_chunk >= 0.3
