"""A catalogue of bad requests: each gets the right status, OpenAI's error shape, a helpful
message, and stores nothing."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from server_helpers import sdk_client, stored_rows

# (description, method, path template, json body or raw bytes, status, param, message fragment)
CASES = [
    (
        "malformed JSON",
        "POST",
        "/assistants",
        b'{"model": "m",}',
        400,
        None,
        "could not parse the JSON body",
    ),
    ("body not an object", "POST", "/assistants", b'["model"]', 400, None, "valid dictionary"),
    (
        "missing model",
        "POST",
        "/assistants",
        {"name": "x"},
        400,
        "model",
        "Missing required parameter: 'model'",
    ),
    ("wrong type", "POST", "/assistants", {"model": 5}, 400, "model", "valid string"),
    (
        "unknown tool type",
        "POST",
        "/assistants",
        {"model": "m", "tools": [{"type": "web_browser"}]},
        400,
        "tools[0]",
        "web_browser",
    ),
    (
        "unknown parameter",
        "POST",
        "/assistants",
        {"model": "m", "colour": "red"},
        400,
        "colour",
        "Unknown parameter: 'colour'",
    ),
    (
        "temperature out of range",
        "POST",
        "/assistants",
        {"model": "m", "temperature": 3},
        400,
        "temperature",
        "less than or equal to 2",
    ),
    (
        "17 metadata keys",
        "POST",
        "/assistants",
        {"model": "m", "metadata": {f"k{i}": "v" for i in range(17)}},
        400,
        "metadata",
        "at most 16",
    ),
    (
        "metadata key too long",
        "POST",
        "/threads",
        {"metadata": {"k" * 65: "v"}},
        400,
        "metadata",
        "at most 64",
    ),
    (
        "metadata value too long",
        "POST",
        "/threads",
        {"metadata": {"k": "v" * 513}},
        400,
        "metadata",
        "at most 512",
    ),
    (
        "bad message role",
        "POST",
        "/threads",
        {"messages": [{"role": "system", "content": "x"}]},
        400,
        "messages[0].role",
        "'user' or 'assistant'",
    ),
    (
        "limit too big",
        "GET",
        "/assistants?limit=101",
        None,
        400,
        "limit",
        "less than or equal to 100",
    ),
    ("limit zero", "GET", "/assistants?limit=0", None, 400, "limit", "greater than or equal to 1"),
    ("bad order", "GET", "/assistants?order=up", None, 400, "order", "'asc' or 'desc'"),
    (
        "unknown assistant",
        "GET",
        "/assistants/asst_x",
        None,
        404,
        "assistant_id",
        "No assistant found with id 'asst_x'.",
    ),
    (
        "unknown thread",
        "GET",
        "/threads/thread_x",
        None,
        404,
        "thread_id",
        "No thread found with id 'thread_x'.",
    ),
    (
        "unknown thread for message",
        "POST",
        "/threads/thread_x/messages",
        {"role": "user", "content": "x"},
        404,
        "thread_id",
        "No thread found with id 'thread_x'.",
    ),
    (
        "unknown run",
        "GET",
        "/threads/{thread}/runs/run_x",
        None,
        404,
        "run_id",
        "No run found with id 'run_x'.",
    ),
    (
        "run with unknown assistant",
        "POST",
        "/threads/{thread}/runs",
        {"assistant_id": "asst_x"},
        404,
        "assistant_id",
        "No assistant found with id 'asst_x'.",
    ),
    (
        "run with bad tool",
        "POST",
        "/threads/{thread}/runs",
        {"assistant_id": "{assistant}", "tools": [{"type": "function"}]},
        400,
        "tools[0].function",
        "Missing required parameter",
    ),
    (
        "bad cursor",
        "GET",
        "/threads/{thread}/messages?after=msg_nope",
        None,
        400,
        "after",
        "Invalid 'after'",
    ),
    (
        "unknown route",
        "GET",
        "/nothing-here",
        None,
        404,
        None,
        "Invalid URL (GET /v1/nothing-here)",
    ),
    (
        "oversized body",
        "POST",
        "/threads/{thread}/messages",
        {"role": "user", "content": "x" * 3000},
        413,
        None,
        "larger than this server's limit of 2048 bytes",
    ),
]


SURROGATE = "\ud800"
"""A lone surrogate: JSON can carry it as an escape, UTF-8 (and so the database) cannot."""

SURROGATE_CASES = [
    (
        "message content",
        "POST",
        "/threads/{thread}/messages",
        {"role": "user", "content": "a" + SURROGATE},
        "content",
    ),
    (
        "message text part",
        "POST",
        "/threads/{thread}/messages",
        {"role": "user", "content": [{"type": "text", "text": SURROGATE}]},
        "content[0].text",
    ),
    (
        "message metadata",
        "POST",
        "/threads/{thread}/messages",
        {"role": "user", "content": "x", "metadata": {"k": SURROGATE}},
        "metadata",
    ),
    ("thread metadata", "POST", "/threads", {"metadata": {"k": SURROGATE}}, "metadata"),
    ("thread metadata key", "POST", "/threads", {"metadata": {SURROGATE: "v"}}, "metadata"),
    (
        "modify thread metadata",
        "POST",
        "/threads/{thread}",
        {"metadata": {"k": SURROGATE}},
        "metadata",
    ),
    (
        "create-thread messages",
        "POST",
        "/threads",
        {"messages": [{"role": "user", "content": SURROGATE}]},
        "messages[0].content",
    ),
    (
        "create-thread-and-run messages",
        "POST",
        "/threads/runs",
        {
            "assistant_id": "{assistant}",
            "thread": {
                "messages": [
                    {"role": "user", "content": "ok"},
                    {"role": "user", "content": SURROGATE},
                ]
            },
        },
        "thread.messages[1].content",
    ),
    (
        "additional_messages",
        "POST",
        "/threads/{thread}/runs",
        {
            "assistant_id": "{assistant}",
            "additional_messages": [{"role": "user", "content": SURROGATE}],
        },
        "additional_messages[0].content",
    ),
    (
        "additional_instructions",
        "POST",
        "/threads/{thread}/runs",
        {"assistant_id": "{assistant}", "additional_instructions": SURROGATE},
        "additional_instructions",
    ),
    (
        "tool outputs",
        "POST",
        "/threads/{thread}/runs/run_x/submit_tool_outputs",
        {"tool_outputs": [{"tool_call_id": "call_1", "output": SURROGATE}]},
        "tool_outputs[0].output",
    ),
    (
        "assistant instructions",
        "POST",
        "/assistants",
        {"model": "m", "instructions": "be " + SURROGATE},
        "instructions",
    ),
    ("assistant name", "POST", "/assistants", {"model": SURROGATE}, "model"),
    (
        "assistant tool schema",
        "POST",
        "/assistants",
        {
            "model": "m",
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "f",
                        "parameters": {"type": "object", "description": SURROGATE},
                    },
                }
            ],
        },
        "tools[0].function.parameters",
    ),
    (
        "modify assistant",
        "POST",
        "/assistants/{assistant}",
        {"description": SURROGATE},
        "description",
    ),
]
CASES += [
    (f"lone surrogate in {name}", method, path, payload, 400, param, "lone UTF-16 surrogate")
    for name, method, path, payload, param in SURROGATE_CASES
]

EMPTY_CONTENTS = {
    "empty string": "",
    "whitespace": " \n\t",
    "no parts": [],
    "blank text part": [{"type": "text", "text": "  "}],
}
for label, content in EMPTY_CONTENTS.items():
    CASES += [
        (
            f"{label} content of a new message",
            "POST",
            "/threads/{thread}/messages",
            {"role": "user", "content": content},
            400,
            "content",
            "must not be empty",
        ),
        (
            f"{label} content of a new thread's message",
            "POST",
            "/threads",
            {"messages": [{"role": "user", "content": content}]},
            400,
            "messages[0].content",
            "must not be empty",
        ),
    ]
CASES += [
    (
        "empty content in create-thread-and-run",
        "POST",
        "/threads/runs",
        {"assistant_id": "{assistant}", "thread": {"messages": [{"role": "user", "content": ""}]}},
        400,
        "thread.messages[0].content",
        "must not be empty",
    ),
    (
        "empty assistant message content",
        "POST",
        "/threads/{thread}/messages",
        {"role": "assistant", "content": ""},
        400,
        "content",
        "must not be empty",
    ),
    (
        "empty content in additional_messages",
        "POST",
        "/threads/{thread}/runs",
        {"assistant_id": "{assistant}", "additional_messages": [{"role": "user", "content": " "}]},
        400,
        "additional_messages[0].content",
        "must not be empty",
    ),
    (
        "max_prompt_tokens below 256",
        "POST",
        "/threads/{thread}/runs",
        {"assistant_id": "{assistant}", "max_prompt_tokens": 255},
        400,
        "max_prompt_tokens",
        "greater than or equal to 256",
    ),
    (
        "max_completion_tokens below 256",
        "POST",
        "/threads/runs",
        {"assistant_id": "{assistant}", "max_completion_tokens": 1},
        400,
        "max_completion_tokens",
        "greater than or equal to 256",
    ),
]


@pytest.fixture
def small_server(start_server: Any) -> EmbeddedServer:
    return start_server(max_body_bytes=2048)


def _counts(client: openai.OpenAI, thread_id: str) -> tuple[int, int, int]:
    return (
        len(client.beta.assistants.list(limit=100).data),
        len(client.beta.threads.messages.list(thread_id, limit=100).data),
        len(client.beta.threads.runs.list(thread_id, limit=100).data),
    )


@pytest.mark.parametrize(
    ("description", "method", "path", "payload", "status", "param", "fragment"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_bad_request(
    small_server: EmbeddedServer,
    database_url: str,
    description: str,
    method: str,
    path: str,
    payload: Any,
    status: int,
    param: str | None,
    fragment: str,
) -> None:
    """The server answers with status, OpenAI's error shape and a message saying what is wrong;
    nothing is stored (no row added anywhere in the database)."""
    client = sdk_client(small_server.base_url, small_server.api_key)
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    before = _counts(client, thread.id)
    rows_before = stored_rows(database_url)
    url = small_server.base_url + path.format(thread=thread.id, assistant=assistant.id)
    kwargs: dict[str, Any] = {}
    if isinstance(payload, bytes):
        kwargs = {"content": payload, "headers": {"content-type": "application/json"}}
    elif payload is not None:
        import json

        kwargs = {
            "content": json.dumps(payload)
            .replace("{assistant}", assistant.id)
            .replace("{thread}", thread.id),
            "headers": {"content-type": "application/json"},
        }
    response = httpx.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert fragment in error["message"]
    assert _counts(client, thread.id) == before
    assert stored_rows(database_url) == rows_before


def test_sdk_surfaces_not_found(client: openai.OpenAI) -> None:
    """The SDK raises NotFoundError with the upstream-style message for an unknown id."""
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.assistants.retrieve("asst_missing")
    assert info.value.body["message"] == "No assistant found with id 'asst_missing'."


def test_server_keeps_serving_after_bad_input(
    client: openai.OpenAI, server: EmbeddedServer
) -> None:
    """A burst of garbage bodies does not break the server."""
    for garbage in (b"\xff\xfe", b"{", b"null", b"[]", b'{"model": null}'):
        response = httpx.post(
            server.base_url + "/assistants",
            content=garbage,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 400
    assert client.beta.assistants.create(model="m").model == "m"
